"""One way to open each kind of file poseact reads: models, datasets, single clips."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from poseact.core.archives import special_file_problem
from poseact.core.errors import LandmarkFormatError, ModelFormatError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import IMAGE_SUFFIXES, VIDEO_SUFFIXES, Dataset, read_landmark_csv
from poseact.data.registry import DATASET_FORMATS, detect_format, read_dataset
from poseact.runtime.model_file import is_tflite

__all__ = [
    "DATASET_FORMATS",
    "detect_format",
    "DEFAULT_DATASET",
    "default_dataset_path",
    "load_default_dataset",
    "load_dataset",
    "load_model",
    "load_sequence",
]

logger = logging.getLogger(__name__)

#: The embedded synthetic dataset, relative to the repository root.
DEFAULT_DATASET = Path("datasets") / "synthetic_activities.npz"


def default_dataset_path() -> Path:
    """Where the embedded dataset lives: the repository's `datasets/` folder if this
    poseact runs from a checkout, else a copy regenerated into the user cache."""
    repo_copy = Path(__file__).resolve().parents[1] / DEFAULT_DATASET
    if repo_copy.is_file():
        return repo_copy
    from poseact.extract.assets import user_cache_dir

    return user_cache_dir() / DEFAULT_DATASET.name


def load_default_dataset() -> Dataset:
    """The embedded synthetic activity dataset (regenerated bit for bit if missing)."""
    path = default_dataset_path()
    if not path.is_file():
        from poseact.data.synthetic import generate_activities

        logger.info("regenerating the synthetic dataset into %s", path)
        generate_activities().save(path, precision="float16")
    return Dataset.load(path)


def load_dataset(
    path: str | os.PathLike,
    *,
    format: str = "auto",
    layout: str | None = None,
    background: str | None = "auto",
    **folder_options,
) -> Dataset:
    """A dataset in any format poseact reads (`DATASET_FORMATS`); see
    `poseact.data.registry.read_dataset`.

    Args:
        path: a dataset folder `root/<label>/<clip>`, a file written by `Dataset.save`,
            or a public format (Holistic recordings, landmark tables, skeleton pickles).
        format: a key of `DATASET_FORMATS`, or "auto" to detect it from the path.
        layout: the landmark layout to read a Holistic dataset in ("pose", "hands",
            "pose+hands"); default the converter's. For folders of videos, give
            `options` (ExtractorOptions) instead.
        background: the "no gesture" label; "auto": the one the data stores, else a
            label named "none" or "background"; None: none.
        **folder_options: passed to `Dataset.from_folder` for folders.

    Raises:
        DatasetError: missing path, an unknown format, or a file that is not in the
            format given; the message names the file and the formats.
    """
    return read_dataset(path, format=format, layout=layout, background=background, **folder_options)


def load_sequence(path: str | os.PathLike, options=None, *, cache=None) -> LandmarkSequence:
    """Landmarks of one clip from a video (extracted, cached), image, `.npz` or `.csv`.

    Args:
        path: the input file.
        options: `ExtractorOptions` for videos and images.
        cache: `LandmarkCache` for videos (default: the user cache; False for none).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    problem = special_file_problem(path)
    if problem:
        raise LandmarkFormatError(f"input {path} {problem}")
    if suffix == ".npz":
        return LandmarkSequence.load(path)
    if suffix == ".csv":
        return read_landmark_csv(path)
    from poseact.extract.cache import extract_cached
    from poseact.extract.extractor import extract_image

    if suffix in IMAGE_SUFFIXES:
        return extract_image(path, options)
    if suffix in VIDEO_SUFFIXES or not suffix:
        kwargs = {} if cache is None else {"cache": cache}
        return extract_cached(path, options, **kwargs)
    raise LandmarkFormatError(
        f"{path}: unsupported input type {suffix!r}; give a video {VIDEO_SUFFIXES},"
        f" an image {IMAGE_SUFFIXES}, or landmarks (.npz, .csv)"
    )


def load_model(path: str | os.PathLike):
    """A trained model: `.tflite` → `TFLiteGestureModel` (LiteRT), else a saved
    `GestureClassifier` (Keras).

    Raises:
        ModelFormatError: missing file or not a poseact model.
    """
    path = Path(path)
    problem = special_file_problem(path)
    if problem:
        raise ModelFormatError(f"model file {path} {problem}")
    if not path.is_file():
        raise ModelFormatError(f"model file {path} does not exist")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if is_tflite(head):
        from poseact.runtime.model import TFLiteGestureModel

        return TFLiteGestureModel(path)
    if not zipfile.is_zipfile(path):
        raise ModelFormatError(
            f"{path} is neither an exported .tflite nor a saved poseact classifier"
        )
    from poseact.train.classifier import GestureClassifier

    return GestureClassifier.load(path)
