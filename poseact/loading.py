"""One way to open each kind of file poseact reads: models, datasets, single clips."""

from __future__ import annotations

import dataclasses
import logging
import os
import zipfile
from pathlib import Path

from poseact.core.archives import special_file_problem
from poseact.core.errors import DatasetError, LandmarkFormatError, ModelFormatError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import VIDEO_SUFFIXES, Dataset, read_landmark_csv
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

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
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


def _is_dataset_npz(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
        return {"header.npy", "offsets.npy"} <= names
    except Exception:
        return False


#: Every dataset format `load_dataset` reads: name (as `--format` takes it) → what it is.
DATASET_FORMATS: dict[str, str] = {
    "folder": "a folder root/<label>/<clip> of videos, .npz or .csv clips",
    "poseact": "a packed poseact dataset .npz (Dataset.save)",
    "holistic-npz": "MediaPipe Holistic recordings in one .npz (pose, hands, labels, classes)",
    "holistic-folder": "MediaPipe Holistic vectors, <action>/<sequence>/<frame>.npy",
    "landmark-table": "a 'label, x0, y0, ...' landmark CSV",
    "pyskl": "a pyskl / mmaction2 COCO-17 skeleton pickle (.pkl)",
    "point-history": "fingertip tracks, 'label, x0, y0, ..., x15, y15' per row (or their folder)",
}


def _format_list() -> str:
    return ", ".join(DATASET_FORMATS)


def detect_format(path: str | os.PathLike) -> str:
    """The name (a key of `DATASET_FORMATS`) of the format of a dataset path.

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
            with zipfile.ZipFile(path) as zf:
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


def load_dataset(
    path: str | os.PathLike,
    *,
    format: str = "auto",
    layout: str | None = None,
    background: str | None = None,
    **folder_options,
) -> Dataset:
    """A dataset in any format poseact reads (`DATASET_FORMATS`).

    Args:
        path: a dataset folder `root/<label>/<clip>`, a file written by `Dataset.save`,
            or a public format (Holistic recordings, landmark tables, skeleton pickles).
        format: a key of `DATASET_FORMATS`, or "auto" to detect it from the path.
        layout: the landmark layout to read a Holistic or converted dataset in
            ("pose", "hands", "pose+hands"); default the converter's. For folders of
            videos, give `options` (ExtractorOptions) instead.
        background: the "no gesture" class, if the data has one.
        **folder_options: passed to `Dataset.from_folder` for folders.

    Raises:
        DatasetError: missing path, an unknown format, or a file that is not in the
            format given; the message names the file and the formats.
    """
    path = Path(path)
    if format != "auto" and format not in DATASET_FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}; expected auto, {_format_list()}")
    kind = detect_format(path) if format == "auto" else format
    if kind == "folder":
        if not path.is_dir():
            raise DatasetError(f"{path} is not a folder (format 'folder')")
        return Dataset.from_folder(path, background=background, **folder_options)
    try:
        if kind == "poseact":
            data = Dataset.load(path)
        else:
            from poseact.data import formats
            from poseact.data.point_history import read_point_history

            options = {"layout": layout} if layout and kind.startswith("holistic") else {}
            reader = {
                "holistic-npz": formats.read_holistic_npz,
                "holistic-folder": formats.read_holistic_folder,
                "landmark-table": formats.read_landmark_table,
                "pyskl": formats.read_pyskl_pickle,
                "point-history": read_point_history,
            }[kind]
            data = reader(path, **options)
    except (DatasetError, LandmarkFormatError) as exc:
        if format == "auto":
            raise
        raise DatasetError(f"{path} is not a {kind} dataset ({exc})") from None
    if background is not None and data.background != background:
        data = dataclasses.replace(data, background=background)
    return data


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
