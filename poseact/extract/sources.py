"""Frame sources: video files, cameras and arrays yield `(timestamp_s, rgb)` pairs.

Everything that reads frames takes a `FrameSource`, so nothing needs a real camera in
tests. OpenCV is imported inside the functions that need it."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from poseact.core.archives import special_file_problem
from poseact.core.errors import VideoReadError
from poseact.extract.options import _is_int
from poseact.extract.video import import_cv2

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- frames
def _as_rgb(image: Any, what: str) -> np.ndarray:
    """`image` as a C-contiguous (H, W, 3) uint8 RGB array (grey and RGBA accepted)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise VideoReadError(f"{what} has dtype {array.dtype}, expected uint8 RGB (H, W, 3)")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise VideoReadError(f"{what} has shape {array.shape}, expected (H, W, 3) uint8 RGB")
    return np.ascontiguousarray(array)


def is_url(video: str | os.PathLike) -> bool:
    """True for a stream address (\"rtsp://...\", \"http://...\") rather than a file."""
    return "://" in os.fspath(video)


def is_camera(source: Any) -> bool:
    """True for a camera: an index (0, "1", numpy integers) or an open `CameraSource`;
    False for files, URLs and other sources."""
    if _is_int(source):
        return True
    if isinstance(source, str):
        return source.strip().isdigit()
    return isinstance(source, CameraSource)


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields video frames: `for t, rgb in source`.

    Iterating yields `(timestamp_seconds, rgb)` pairs: the timestamp is a float in
    seconds, strictly increasing; `rgb` is an (H, W, 3) uint8 array. Sources are context
    managers and are released by `close()`.

    Attributes:
        name: what the frames come from (a file name), used in messages.
    """

    name: str

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, *exc_info: object) -> None: ...


class _SourceBase:
    name: str = "<frames>"
    #: Expected number of frames yielded (after any frame step), or None if unknown.
    frame_count: int | None = None

    def close(self) -> None:
        """Release the underlying resources (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class VideoFileSource(_SourceBase):
    """Frames of a video file (or a URL OpenCV can stream), decoded with OpenCV.

    Timestamps are the frames' presentation times (`CAP_PROP_POS_MSEC`) relative to the
    first frame while these are sane and increasing; otherwise (or from the first frame
    on which they are not) they continue as frame index / fps. The file is opened and
    its first frame decoded in the constructor, so unreadable inputs fail early.

    Args:
        path: video file or URL.
        frame_step: yield every n-th frame; the others are skipped without conversion.

    Attributes:
        fps: frames per second stated by the container, or None.
        frame_count: number of frames that will be yielded according to the container
            (an estimate), or None.
        size: (width, height) in pixels.

    Raises:
        VideoReadError: the file is missing, empty, a folder, not a video, corrupt, or
            has no decodable frame; the message names the file.
    """

    def __init__(self, path: str | os.PathLike, *, frame_step: int = 1) -> None:
        if not _is_int(frame_step) or frame_step < 1:
            raise ValueError(f"frame_step must be an int >= 1, got {frame_step!r}")
        self.path = path
        self.name = os.fspath(path)
        self.frame_step = int(frame_step)
        if not is_url(self.name):
            file = Path(self.name)
            if not file.exists():
                raise VideoReadError(f"video file {self.name} not found")
            if file.is_dir():
                raise VideoReadError(f"{self.name} is a folder, not a video file")
            problem = special_file_problem(file)
            if problem:
                raise VideoReadError(f"video file {self.name} {problem}")
            if file.stat().st_size == 0:
                raise VideoReadError(f"video file {self.name} is empty (0 bytes)")
            try:  # OpenCV says only "cannot open" for a file it may not read
                open(file, "rb").close()
            except PermissionError:
                raise VideoReadError(
                    f"cannot read video file {self.name}: permission denied"
                ) from None
        self._cap: Any = None
        self._first: np.ndarray | None = None
        self._first_pos = 0.0
        self._open()
        cv2 = import_cv2()
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps: float | None = fps if math.isfinite(fps) and 0.0 < fps < 1000.0 else None
        count = float(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        self.frame_count = (
            int(math.ceil(count / self.frame_step)) if math.isfinite(count) and count > 0 else None
        )
        height, width = self._first.shape[:2]
        self.size: tuple[int, int] = (int(width), int(height))

    def _open(self) -> None:
        cv2 = import_cv2()
        cap = cv2.VideoCapture(self.name)
        if not cap.isOpened():
            cap.release()
            raise VideoReadError(
                f"cannot open {self.name}: not a video OpenCV can decode"
                " (no frames, truncated, corrupt, unsupported codec, or not a video file)"
            )
        ok, frame = cap.read()
        if not ok or frame is None or frame.size == 0:
            cap.release()
            raise VideoReadError(
                f"{self.name} has no decodable video frames (zero frames, corrupt,"
                " or not a video file)"
            )
        self._cap = cap
        self._first = frame
        self._first_pos = float(cap.get(cv2.CAP_PROP_POS_MSEC))

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        if self._cap is None or self._first is None:  # closed or iterated: start again
            self.close()
            self._open()
        return self._frames()

    def _frames(self) -> Iterator[tuple[float, np.ndarray]]:
        cv2 = import_cv2()
        cap = self._cap
        frame, pos = self._first, self._first_pos
        self._first = None
        step = self.frame_step
        fps = self.fps or 30.0
        index = 0
        t0: float | None = None
        last_t = -math.inf
        fallback: tuple[int, float] | None = None  # (base index, base time)
        while True:
            # Timestamp of frame `index` from its presentation time when sane.
            if fallback is None and math.isfinite(pos) and pos >= 0.0:
                if t0 is None:
                    t0 = pos / 1000.0
                t = pos / 1000.0 - t0
                if t <= last_t:
                    fallback = (index - 1, last_t) if index > 0 else (-1, -1.0 / fps)
                    logger.debug(
                        "%s: frame %d has timestamp %.4f s <= previous %.4f s;"
                        " using frame index / fps from here on",
                        self.name,
                        index,
                        t,
                        last_t,
                    )
            elif fallback is None:
                fallback = (index - 1, last_t) if index > 0 else (-1, -1.0 / fps)
            if fallback is not None:
                t = fallback[1] + (index - fallback[0]) / fps
            last_t = t
            if frame is not None:
                yield t, np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
            if index % step == 0:
                ok, frame = cap.read()
                ok = ok and frame is not None
            else:
                ok, frame = cap.grab(), None
            if not ok:
                break
            pos = float(cap.get(cv2.CAP_PROP_POS_MSEC))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CameraSource(_SourceBase):
    """Live frames from a camera, timestamped with a monotonic clock from the first frame.

    Args:
        index: OpenCV camera index (0 is the default camera).
        width: requested frame width in pixels, or None for the camera's default.
        height: requested frame height in pixels, or None.

    Raises:
        VideoReadError: the camera cannot be opened.
    """

    def __init__(
        self, index: int = 0, *, width: int | None = None, height: int | None = None
    ) -> None:
        cv2 = import_cv2()
        self.index = int(index)
        self.name = f"camera {self.index}"
        self._cap = cv2.VideoCapture(self.index)
        if not self._cap.isOpened():
            self._cap.release()
            self._cap = None
            raise VideoReadError(f"cannot open camera {self.index}")
        if width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(width))
        if height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(height))

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        cv2 = import_cv2()
        start: float | None = None
        last_t = -math.inf
        while self._cap is not None:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                break
            now = time.monotonic()
            if start is None:
                start = now
            t = max(now - start, last_t + 1e-6)
            last_t = t
            yield t, np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ArraySource(_SourceBase):
    """Frames from memory: an array (T, H, W, 3) or any iterable of (H, W, 3) uint8 RGB.

    Args:
        frames: the RGB frames.
        fps: frames per second (timestamps i / fps), or
        timestamps: (T,) seconds, strictly increasing.
        name: label used in messages and as the sequence's source.

    Raises:
        ValueError: neither or both of fps and timestamps, or bad timestamps.
    """

    def __init__(
        self,
        frames: np.ndarray | Iterable[np.ndarray],
        *,
        fps: float | None = None,
        timestamps: Sequence[float] | np.ndarray | None = None,
        name: str = "<array>",
    ) -> None:
        if (fps is None) == (timestamps is None):
            raise ValueError("ArraySource needs exactly one of fps or timestamps")
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"ArraySource fps must be > 0, got {fps!r}")
        self._frames = frames
        self.fps = float(fps) if fps is not None else None
        self.name = name
        self._timestamps = None
        if timestamps is not None:
            ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(ts)) or (ts.size > 1 and np.any(np.diff(ts) <= 0)):
                raise ValueError(f"{name}: timestamps must be finite and strictly increasing")
            self._timestamps = ts
        length = len(frames) if hasattr(frames, "__len__") else None
        if length is not None and self._timestamps is not None and length != len(self._timestamps):
            raise ValueError(f"{name}: {length} frames but {len(self._timestamps)} timestamps")
        self.frame_count = length

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for i, frame in enumerate(self._frames):
            if self._timestamps is not None:
                if i >= len(self._timestamps):
                    raise ValueError(f"{self.name}: more frames than timestamps")
                t = float(self._timestamps[i])
            else:
                t = i / self.fps
            yield t, _as_rgb(frame, f"frame {i} of {self.name}")


def open_source(spec: int | str | os.PathLike, **kwargs: Any) -> FrameSource:
    """Open a frame source from a camera index (int or digit string), file or URL.

    Args:
        spec: 0, "1" → `CameraSource`; anything else → `VideoFileSource`.
        **kwargs: passed to the source's constructor (e.g. `frame_step`, `width`).

    Raises:
        VideoReadError: the camera or file cannot be opened.
    """
    if is_camera(spec):
        return CameraSource(int(spec), **kwargs)
    return VideoFileSource(spec, **kwargs)
