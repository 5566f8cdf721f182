"""The one dataset resolver: the formats poseact reads and what a folder's labels mean.

Every way in (`load_dataset`, `poseact train/evaluate/export --format`, `compare`, `demo`)
goes through `read_dataset`: a format is detected from the path (`detect_format`) or
named, and read by its reader (`FORMATS`). The background rule lives here too
(`choose_background`): a label named "none" or "background" is the "no gesture" class
unless the caller names another or none, so the API and the command line agree.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from poseact.core.archives import special_file_problem
from poseact.core.errors import DatasetError, LandmarkFormatError
from poseact.core.layouts import is_builtin_layout
from poseact.data.background import AUTO, BACKGROUND_NAMES, choose_background
from poseact.data.dataset import Dataset

__all__ = [
    "AUTO",
    "BACKGROUND_NAMES",
    "DATASET_FORMATS",
    "DatasetFormat",
    "FORMATS",
    "choose_background",
    "detect_format",
    "read_dataset",
    "read_public_dataset",
]


@dataclass(frozen=True)
class DatasetFormat:
    """One dataset format poseact reads.

    Attributes:
        name: as `--format` and `read_dataset(format=...)` take it.
        description: what it is, in a user's words.
        read: `read(path, **options) -> Dataset`.
    """

    name: str
    description: str
    read: Callable[..., Dataset]


def _read_folder(path: Path, *, background: str | None = AUTO, **options) -> Dataset:
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder (format 'folder')")
    return Dataset.from_folder(path, background=background, **options)


def _converter(module: str, name: str, *, layouts: bool | str = False) -> Callable[..., Dataset]:
    """A reader that imports its converter when used. It passes `layout` where the
    format has layouts (`layouts="custom"`: only a layout that is not built in, which
    the format cannot find from its data), and of the other options those the
    converter takes (a command passes its folder options, such as `workers`, to every
    format)."""

    def read(path: Path, *, layout: str | None = None, **options) -> Dataset:
        import importlib
        import inspect

        convert = getattr(importlib.import_module(module), name)
        taken = inspect.signature(convert).parameters
        given = {k: v for k, v in options.items() if k in taken and k != "layout"}
        if layout and (layouts is True or (layouts == "custom" and not is_builtin_layout(layout))):
            given["layout"] = layout
        return convert(path, **given)

    return read


#: Every dataset format poseact reads, by name.
FORMATS: dict[str, DatasetFormat] = {
    f.name: f
    for f in (
        DatasetFormat(
            "folder", "a folder root/<label>/<clip> of videos, .npz or .csv clips", _read_folder
        ),
        DatasetFormat(
            "poseact",
            "a packed poseact dataset .npz (Dataset.save)",
            lambda path, **_: Dataset.load(path),
        ),
        DatasetFormat(
            "holistic-npz",
            "MediaPipe Holistic recordings in one .npz (pose, hands, labels, classes)",
            _converter("poseact.data.formats", "read_holistic_npz", layouts=True),
        ),
        DatasetFormat(
            "holistic-folder",
            "MediaPipe Holistic vectors, <action>/<sequence>/<frame>.npy",
            _converter("poseact.data.formats", "read_holistic_folder", layouts=True),
        ),
        DatasetFormat(
            "landmark-table",
            "a 'label, x0, y0, ...' landmark CSV",
            _converter("poseact.data.formats", "read_landmark_table", layouts="custom"),
        ),
        DatasetFormat(
            "pyskl",
            "a pyskl / mmaction2 COCO-17 skeleton pickle (.pkl)",
            _converter("poseact.data.formats", "read_pyskl_pickle"),
        ),
        DatasetFormat(
            "point-history",
            "fingertip tracks, 'label, x0, y0, ..., x15, y15' per row (or their folder)",
            _converter("poseact.data.point_history", "read_point_history"),
        ),
    )
}

#: name → what it is (the `--format` choices and their help).
DATASET_FORMATS: dict[str, str] = {name: f.description for name, f in FORMATS.items()}


def _format_list() -> str:
    return ", ".join(FORMATS)


def detect_format(path: str | os.PathLike) -> str:
    """The name (a key of `FORMATS`) of the format of a dataset path.

    Raises:
        DatasetError: the path does not exist or is in no format poseact reads; the
            message names the formats and `--format`.
    """
    path = Path(path)
    problem = special_file_problem(path)
    if problem:
        raise DatasetError(f"dataset {path} {problem}")
    if path.is_dir():
        if next(path.glob("*/*/*.npy"), None) is not None:
            return "holistic-folder"
        if (path / "point_history.csv").is_file():
            return "point-history"
        return "folder"
    if not path.exists():
        raise DatasetError(f"dataset {path} does not exist (give a folder or a file)")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as zf:  # the names only: nothing is inflated
                keys = {n[:-4] if n.endswith(".npy") else n for n in zf.namelist()}
        except Exception as exc:
            raise DatasetError(
                f"{path} is not a readable .npz ({type(exc).__name__}: {exc})"
            ) from None
        if {"header", "offsets"} <= keys:
            return "poseact"
        if {"pose", "hands", "labels", "classes"} <= keys:
            return "holistic-npz"
        if {"timestamps", "landmarks"} <= keys:
            raise DatasetError(
                f"{path} is a landmark clip, not a dataset: give the dataset's folder"
                " (root/<label>/<clip>), or a file written by Dataset.save"
            )
        raise DatasetError(
            f"{path}: an .npz with arrays {sorted(keys)} is no dataset format poseact reads"
            f" ({_format_list()}); pass --format to force one"
        )
    if suffix == ".csv":
        return _csv_format(path)
    if suffix in (".pkl", ".pickle"):
        return "pyskl"
    raise DatasetError(
        f"{path}: {suffix or 'a file without suffix'} is no dataset format poseact reads"
        f" ({_format_list()}); pass --format to force one"
    )


def _csv_format(path: Path) -> str:
    """ "landmark-table", or "point-history" for rows of a label and 16 (x, y) steps of
    one point (a width no landmark table has)."""
    from poseact.data.formats import _TABLE_SHAPES

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    values = len(first.split(",")) - 1
    if path.stem == "point_history" or (values not in _TABLE_SHAPES and values == 32):
        return "point-history"
    return "landmark-table"


def read_dataset(
    path: str | os.PathLike,
    *,
    format: str = AUTO,
    background: str | None = AUTO,
    layout: str | None = None,
    **options,
) -> Dataset:
    """A dataset in any format poseact reads (`FORMATS`).

    Args:
        path: a dataset folder `root/<label>/<clip>`, a file written by `Dataset.save`,
            or a public format (Holistic recordings, landmark tables, skeleton pickles).
        format: a key of `FORMATS`, or "auto" to detect it from the path.
        background: the "no gesture" label, None for none, or "auto" (see
            `choose_background`).
        layout: the landmark layout to read a Holistic dataset in ("pose", "hands",
            "pose+hands"); default the converter's. A custom layout (registered, e.g.
            from `--layout FILE.json`) is the layout of a landmark table's points. For folders of videos, give
            `options=ExtractorOptions(...)` instead.
        **options: passed to the format's reader: all to `Dataset.from_folder` for
            folders; to a public format's converter those it takes (`group_pattern`,
            ...), so the extraction options of a folder are ignored for files.

    Raises:
        DatasetError: missing path, an unknown format, a file that is not in the
            format given, or a background that is no label; the message names the file.
    """
    path = Path(path)
    if format != AUTO and format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}; expected auto, {_format_list()}")
    kind = detect_format(path) if format == AUTO else format
    if kind == "folder":
        return _read_folder(path, background=background, **options)
    try:
        data = FORMATS[kind].read(path, layout=layout, **options)
    except (DatasetError, LandmarkFormatError) as exc:
        if format == AUTO:
            raise
        raise DatasetError(f"{path} is not a {kind} dataset ({exc})") from None
    chosen = choose_background(background, data.classes, stored=data.background)
    if chosen != data.background:
        data = dataclasses.replace(data, background=chosen)
    return data


def read_public_dataset(path: str | os.PathLike, **options) -> Dataset:
    """Read a public-format dataset, its converter chosen from the path (`detect_format`).

    - `.csv` → `read_landmark_table` (or `read_point_history`);
    - `.pkl` / `.pickle` → `read_pyskl_pickle`;
    - `.npz` with `pose` and `hands` arrays → `read_holistic_npz`;
    - a folder of `<action>/<sequence>/<frame>.npy` → `read_holistic_folder`.

    Args:
        path: the file or folder.
        **options: passed to the converter.

    Raises:
        DatasetError: a path no converter recognizes.
    """
    kind = detect_format(path)
    if kind in ("folder", "poseact"):
        raise DatasetError(
            f"{path}: not a public format poseact converts (.csv table, pyskl .pkl, holistic"
            " .npz, or a <action>/<sequence>/<frame>.npy folder)"
        )
    return read_dataset(path, format=kind, **options)
