"""Helpers of the whole-input extractors: progress reporting, reading an image file
safely, and the checks that an input gave landmarks and decoded completely.

`extract_video`, `extract_image`, `extract_frames` and `extract_people` (in
`poseact.extract.extractor`) use them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from poseact.core.archives import ArchiveLimitError, check_image, special_file_problem
from poseact.core.errors import NoPoseDetected, VideoReadError
from poseact.core.sequence import LandmarkSequence
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import FrameSource, VideoFileSource
from poseact.extract.video import import_cv2

ProgressCallback = Callable[[int, "int | None"], None]


def _progress_callback(
    progress: ProgressCallback | bool | None, total: int | None, name: str
) -> tuple[ProgressCallback | None, Callable[[], None]]:
    """(callback(done, total), close) for a user callback, a tqdm bar (True) or nothing."""
    if progress is None or progress is False:
        return None, lambda: None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=Path(name).name or name, unit="frame", leave=False)

        def update(done: int, _total: int | None) -> None:
            bar.update(done - bar.n)

        return update, bar.close
    if callable(progress):
        return progress, lambda: None
    raise TypeError(f"progress must be a callable, True, False or None, got {progress!r}")


def _progress_of(
    source: FrameSource, step: int, name: str, progress: ProgressCallback | bool | None
) -> tuple[int | None, ProgressCallback | None, Callable[[], None]]:
    """(frames to process or None, progress callback, close) for a source."""
    total = getattr(source, "frame_count", None)
    if total is not None and step > 1 and not isinstance(source, VideoFileSource):
        total = int(math.ceil(total / step))
    callback, finish = _progress_callback(progress, total, name)
    return total, callback, finish


def _check_detected(sequence: LandmarkSequence, options: ExtractorOptions, name: str) -> None:
    if options.require_detection and not sequence.detected.any():
        what = {"pose": "person", "hands": "hand", "pose+hands": "person or hand"}[options.layout]
        frames = "the image" if len(sequence) == 1 else f"any of the {len(sequence)} frames"
        raise NoPoseDetected(
            f"no {what} detected in {frames} of {name} (layout {options.layout!r},"
            f" min_detection_confidence={options.min_detection_confidence}); check that"
            " the body or hands are visible, or pass require_detection=False"
        )


#: Containers whose frame count is read from an index, not estimated from the duration.
_INDEXED_CONTAINERS = (".mp4", ".m4v", ".mov", ".avi")


def _check_complete(source: VideoFileSource, frames: int) -> None:
    """Raise VideoReadError if decoding stopped well before the container's frame count."""
    expected = source.frame_count
    if expected is None or Path(source.name).suffix.lower() not in _INDEXED_CONTAINERS:
        return
    if expected - frames > max(1, round(0.02 * expected)):
        raise VideoReadError(
            f"{source.name}: decoding stopped after {frames} of the {expected} frames its"
            " container lists; the file is truncated or corrupt (download or copy it again;"
            " re-encoding it, e.g. with ffmpeg, keeps the readable part)"
        )


def _read_image(path: str | os.PathLike) -> np.ndarray:
    name = os.fspath(path)
    file = Path(name)
    problem = special_file_problem(file)
    if problem:
        raise VideoReadError(f"image file {name} {problem}")
    if not file.is_file():
        raise VideoReadError(
            f"image file {name} not found" if not file.exists() else f"{name} is not a file"
        )
    try:
        data = np.fromfile(file, dtype=np.uint8)
    except PermissionError:
        raise VideoReadError(f"cannot read image file {name}: permission denied") from None
    if data.size == 0:
        raise VideoReadError(f"image file {name} is empty (0 bytes)")
    try:
        check_image(data[: 1 << 16].tobytes(), name)
    except ArchiveLimitError as exc:
        raise VideoReadError(str(exc)) from None
    cv2 = import_cv2()
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise VideoReadError(f"cannot decode {name}: not an image OpenCV can read")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
