"""The background rule: which label of a dataset means "no gesture".

`Dataset.from_folder`, `load_dataset` and `poseact train` all decide it here, so the
API and the command line pick the same class from the same folder.
"""

from __future__ import annotations

from collections.abc import Sequence

from poseact.core.errors import DatasetError

__all__ = ["AUTO", "BACKGROUND_NAMES", "choose_background"]

#: `background="auto"`: the label the data stores, else one named as in
#: `BACKGROUND_NAMES`, else none.
AUTO = "auto"

#: Labels that mean "no gesture" unless told otherwise (`record`, `train`, `from_folder`).
BACKGROUND_NAMES = ("none", "background")


def choose_background(
    background: str | None, classes: Sequence[str], *, stored: str | None = None
) -> str | None:
    """The background label of a dataset with labels `classes`.

    Args:
        background: a label (must be one of `classes`), None for no background, or
            "auto": the one the data stores (`stored`), else the first label named as
            in `BACKGROUND_NAMES`, else none.
        classes: the dataset's labels.
        stored: the background the data already names (a packed dataset), or None.

    Raises:
        DatasetError: `background` names no label of the dataset.
    """
    if background is None:
        return None
    if background != AUTO:
        if background not in classes:
            raise DatasetError(
                f"background {background!r} is not a label of the dataset (labels: {list(classes)})"
            )
        return background
    if stored is not None:
        return stored
    return next((name for name in BACKGROUND_NAMES if name in classes), None)
