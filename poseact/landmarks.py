"""The extract stage: videos, images and cameras to MediaPipe landmarks.

This is the only module that imports MediaPipe and OpenCV, and it imports them inside
the functions that need them, so `import poseact.landmarks` stays cheap (importing
MediaPipe takes seconds because it pulls in TensorFlow).

The pieces, from small to large:

- `ExtractorOptions`: which landmarks (layout, models, confidences, frame step).
- Frame sources (`VideoFileSource`, `CameraSource`, `ArraySource`, `open_source`): yield
  `(timestamp_seconds, rgb)` pairs, so nothing needs a real camera in tests.
- `LandmarkExtractor`: owns the MediaPipe landmarker(s); `process(rgb, t)` turns one
  frame into a `FrameLandmarks` (what a live recognizer calls per frame).
- `extract_video`, `extract_image`, `extract_frames`: whole inputs to a
  `LandmarkSequence`, keeping frames where nobody was found as NaN rows.
- `LandmarkCache`, `extract_cached`, `extract_many`: content-addressed `.npz` cache and
  batch extraction, optionally in parallel processes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from poseact._atomic import atomic_path, is_temp_file, sha256_file
from poseact.assets import resolve_model, user_cache_dir
from poseact.errors import (
    LandmarkFormatError,
    ModelAssetError,
    NoPoseDetected,
    PoseactError,
    VideoReadError,
    WriteError,
)
from poseact.sequence import LandmarkSequence, get_layout

__all__ = [
    "write_video",
    "ExtractorOptions",
    "FrameLandmarks",
    "FrameSource",
    "VideoFileSource",
    "CameraSource",
    "ArraySource",
    "open_source",
    "LandmarkExtractor",
    "extract_video",
    "extract_image",
    "extract_frames",
    "LandmarkCache",
    "extract_cached",
    "extract_many",
    "extraction_pool",
]

logger = logging.getLogger(__name__)

_SUPPORTED_LAYOUTS = ("pose", "hands", "pose+hands")
_NUM_POSE_POINTS = 33
_NUM_HAND_POINTS = 21
_HAND_SLOTS = {"Left": 0, "Right": 1}  # MediaPipe handedness label -> slot in "hands"
_CACHE_FORMAT = 1

ProgressCallback = Callable[[int, "int | None"], None]


# ---------------------------------------------------------------------------- options
@dataclass(frozen=True, kw_only=True)
class ExtractorOptions:
    """What to extract and how.

    Attributes:
        layout: "pose" (33 body points), "hands" (42: left hand 0-20, right 21-41, by
            MediaPipe's handedness label) or "pose+hands" (75).
        pose_model: model name for `resolve_model` ("pose_full", "pose_lite",
            "pose_heavy") or the path of a pose landmarker `.task` file.
        hand_model: model name ("hand_full", "hand_lite") or path of a hand `.task`.
        min_detection_confidence: MediaPipe's minimum detector score, in [0, 1].
        min_presence_confidence: minimum landmark presence score, in [0, 1].
        min_tracking_confidence: minimum score to keep tracking between video frames
            instead of running the detector again, in [0, 1].
        num_hands: most hands to detect, 1 or 2.
        world_landmarks: also return MediaPipe's world landmarks (metres).
        max_image_side: frames whose longer side exceeds this many pixels are scaled
            down (keeping the aspect ratio) before detection; None keeps full size.
        frame_step: process every n-th frame of a video (1 = all frames).
        require_detection: raise `NoPoseDetected` when nothing is found in any frame.
    """

    layout: str = "pose"
    pose_model: str = "pose_full"
    hand_model: str = "hand_full"
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    num_hands: int = 2
    world_landmarks: bool = False
    max_image_side: int | None = 1280
    frame_step: int = 1
    require_detection: bool = True

    def __post_init__(self) -> None:
        if self.layout not in _SUPPORTED_LAYOUTS:
            raise ValueError(
                f"ExtractorOptions.layout must be one of {_SUPPORTED_LAYOUTS}, got {self.layout!r}"
            )
        for name in ("pose_model", "hand_model"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
            elif not isinstance(value, str) or not value:
                raise ValueError(
                    f"ExtractorOptions.{name} must be a model name or path, got {value!r}"
                )
        for name in (
            "min_detection_confidence",
            "min_presence_confidence",
            "min_tracking_confidence",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"ExtractorOptions.{name} must be a number, got {value!r}")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"ExtractorOptions.{name} must be in [0, 1], got {value!r}")
            object.__setattr__(self, name, float(value))
        if not _is_int(self.num_hands) or self.num_hands not in (1, 2):
            raise ValueError(f"ExtractorOptions.num_hands must be 1 or 2, got {self.num_hands!r}")
        if self.max_image_side is not None and (
            not _is_int(self.max_image_side) or self.max_image_side < 16
        ):
            raise ValueError(
                "ExtractorOptions.max_image_side must be None or an int >= 16,"
                f" got {self.max_image_side!r}"
            )
        if not _is_int(self.frame_step) or self.frame_step < 1:
            raise ValueError(
                f"ExtractorOptions.frame_step must be an int >= 1, got {self.frame_step!r}"
            )
        for name in ("world_landmarks", "require_detection"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"ExtractorOptions.{name} must be True or False, got {getattr(self, name)!r}"
                )

    @property
    def uses_pose(self) -> bool:
        """True if the layout needs the pose landmarker."""
        return "pose" in self.layout

    @property
    def uses_hands(self) -> bool:
        """True if the layout needs the hand landmarker."""
        return "hands" in self.layout

    @property
    def num_points(self) -> int:
        """K, the number of points of the layout."""
        return get_layout(self.layout).num_points

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON-serializable dict (used in cache keys)."""
        return dataclasses.asdict(self)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- frames
def _cv2() -> Any:
    import cv2

    return cv2


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
        if not _is_url(self.name):
            file = Path(self.name)
            if not file.exists():
                raise VideoReadError(f"video file {self.name} not found")
            if file.is_dir():
                raise VideoReadError(f"{self.name} is a folder, not a video file")
            if file.stat().st_size == 0:
                raise VideoReadError(f"video file {self.name} is empty (0 bytes)")
        self._cap: Any = None
        self._first: np.ndarray | None = None
        self._first_pos = 0.0
        self._open()
        cv2 = _cv2()
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps: float | None = fps if math.isfinite(fps) and 0.0 < fps < 1000.0 else None
        count = float(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        self.frame_count = (
            int(math.ceil(count / self.frame_step)) if math.isfinite(count) and count > 0 else None
        )
        height, width = self._first.shape[:2]
        self.size: tuple[int, int] = (int(width), int(height))

    def _open(self) -> None:
        cv2 = _cv2()
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
        cv2 = _cv2()
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
        cv2 = _cv2()
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
        cv2 = _cv2()
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


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 30.0) -> Path:
    """Write RGB frames to an `.mp4` (codec mp4v) with OpenCV, atomically.

    Handy for making test clips or saving what a `FrameSource` produced.

    Args:
        path: destination `.mp4`.
        frames: (T, H, W, 3) uint8 RGB, or an iterable of (H, W, 3) frames of one size.
        fps: frame rate written into the file, frames per second.

    Raises:
        WriteError: OpenCV cannot write the file; nothing is left under `path`.
    """
    cv2 = _cv2()
    path = Path(path)
    with atomic_path(path, suffix=path.suffix or ".mp4") as tmp:
        writer = None
        try:
            for frame in frames:
                if writer is None:
                    height, width = frame.shape[:2]
                    fourcc = cv2.VideoWriter_fourcc(*"mp4v")
                    writer = cv2.VideoWriter(str(tmp), fourcc, float(fps), (width, height))
                    if not writer.isOpened():
                        raise WriteError(f"OpenCV cannot write an mp4v video to {path}")
                writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        finally:
            if writer is not None:
                writer.release()
        if writer is None:
            raise WriteError(f"no frames to write to {path}")
    return path


def open_source(spec: int | str | os.PathLike, **kwargs: Any) -> FrameSource:
    """Open a frame source from a camera index (int or digit string), file or URL.

    Args:
        spec: 0, "1" → `CameraSource`; anything else → `VideoFileSource`.
        **kwargs: passed to the source's constructor (e.g. `frame_step`, `width`).

    Raises:
        VideoReadError: the camera or file cannot be opened.
    """
    if _is_int(spec) or (isinstance(spec, str) and spec.strip().isdigit()):
        return CameraSource(int(spec), **kwargs)
    return VideoFileSource(spec, **kwargs)


# ---------------------------------------------------------------------------- extractor
@dataclass(frozen=True, eq=False)
class FrameLandmarks:
    """Landmarks of one frame.

    Attributes:
        landmarks: (K, 3) float32 normalized x, y, z; NaN where not found.
        visibility: (K,) float32 in [0, 1]; 0 where not found.
        world: (K, 3) float32 world landmarks in metres, or None if not requested.
        image_size: (width, height) of the frame given to `process`, in pixels.
        timestamp: the frame's time in seconds.
        layout: the layout name (K = its number of points).
    """

    landmarks: np.ndarray
    visibility: np.ndarray
    world: np.ndarray | None
    image_size: tuple[int, int]
    timestamp: float = 0.0
    layout: str = "pose"

    @property
    def detected(self) -> bool:
        """True if at least one point was found."""
        return bool(np.any(np.isfinite(self.landmarks[:, 0])))


class LandmarkExtractor:
    """Owns MediaPipe landmarker(s) and turns frames into `FrameLandmarks`.

    Use it as a context manager (the landmarkers are native objects that must be closed):

        with LandmarkExtractor(ExtractorOptions(layout="hands")) as extractor:
            for t, rgb in source:
                frame = extractor.process(rgb, t)

    Args:
        options: what to extract; default `ExtractorOptions()`.
        running_mode: "video" (tracking between frames; timestamps must increase) or
            "image" (each frame independent).

    Attributes:
        landmarkers_created: class-wide count of MediaPipe landmarkers created in this
            process (lets tests check that cached results need none).
    """

    landmarkers_created: ClassVar[int] = 0

    def __init__(
        self, options: ExtractorOptions | None = None, running_mode: str = "video"
    ) -> None:
        if running_mode not in ("video", "image"):
            raise ValueError(f"running_mode must be 'video' or 'image', got {running_mode!r}")
        self.options = options if options is not None else ExtractorOptions()
        self.running_mode = running_mode
        self._stack: contextlib.ExitStack | None = None
        self._pose: Any = None
        self._hands: Any = None
        self._last_ms = -1
        self._clock_start: float | None = None

    # -------------------------------------------------------------- lifecycle
    def open(self) -> LandmarkExtractor:
        """Resolve the model files and create the landmarker(s); returns self."""
        if self._stack is not None:
            return self
        options = self.options
        models = _required_models(options)
        from mediapipe.tasks.python import BaseOptions, vision

        mode = (
            vision.RunningMode.VIDEO if self.running_mode == "video" else vision.RunningMode.IMAGE
        )
        stack = contextlib.ExitStack()
        try:
            if "pose" in models:
                pose_options = vision.PoseLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(models["pose"])),
                    running_mode=mode,
                    num_poses=1,
                    min_pose_detection_confidence=options.min_detection_confidence,
                    min_pose_presence_confidence=options.min_presence_confidence,
                    min_tracking_confidence=options.min_tracking_confidence,
                    output_segmentation_masks=False,
                )
                self._pose = stack.enter_context(
                    _create(vision.PoseLandmarker, pose_options, models["pose"])
                )
                LandmarkExtractor.landmarkers_created += 1
            if "hand" in models:
                hand_options = vision.HandLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(models["hand"])),
                    running_mode=mode,
                    num_hands=options.num_hands,
                    min_hand_detection_confidence=options.min_detection_confidence,
                    min_hand_presence_confidence=options.min_presence_confidence,
                    min_tracking_confidence=options.min_tracking_confidence,
                )
                self._hands = stack.enter_context(
                    _create(vision.HandLandmarker, hand_options, models["hand"])
                )
                LandmarkExtractor.landmarkers_created += 1
        except BaseException:
            self._pose = self._hands = None
            stack.close()
            raise
        self._stack = stack
        self._last_ms = -1
        self._clock_start = None
        return self

    def close(self) -> None:
        """Close the landmarker(s) (idempotent)."""
        stack, self._stack = self._stack, None
        self._pose = self._hands = None
        if stack is not None:
            stack.close()

    def __enter__(self) -> LandmarkExtractor:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -------------------------------------------------------------- per frame
    def process(self, rgb: np.ndarray, timestamp_s: float | None = None) -> FrameLandmarks:
        """Landmarks of one RGB frame.

        Args:
            rgb: (H, W, 3) uint8 RGB image (grey (H, W) and RGBA are converted).
            timestamp_s: the frame's time in seconds; in video mode it must increase
                from call to call (it is rounded to whole milliseconds, and nudged
                forward by 1 ms if that would not increase). None uses a monotonic
                clock. Ignored in image mode.

        Returns:
            The frame's landmarks; all NaN (visibility 0) if nothing was found.

        Raises:
            RuntimeError: the extractor is not open.
            VideoReadError: `rgb` is not an image array.
        """
        if self._stack is None:
            raise RuntimeError(
                "LandmarkExtractor is not open: use `with LandmarkExtractor(...) as x:`"
                " or call open()"
            )
        import mediapipe as mp

        image = _as_rgb(rgb, "frame")
        height, width = image.shape[:2]
        if timestamp_s is None:
            now = time.monotonic()
            if self._clock_start is None:
                self._clock_start = now
            timestamp_s = now - self._clock_start
        image = _downscale(image, self.options.max_image_side)
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
        options = self.options
        k = options.num_points
        landmarks = np.full((k, 3), np.nan, dtype=np.float32)
        visibility = np.zeros((k,), dtype=np.float32)
        world = np.full((k, 3), np.nan, dtype=np.float32) if options.world_landmarks else None

        if self.running_mode == "video":
            ms = max(int(round(float(timestamp_s) * 1000.0)), self._last_ms + 1)
            self._last_ms = ms

            def detect(landmarker: Any) -> Any:
                return landmarker.detect_for_video(mp_image, ms)
        else:

            def detect(landmarker: Any) -> Any:
                return landmarker.detect(mp_image)

        offset = 0
        if self._pose is not None:
            result = detect(self._pose)
            if result.pose_landmarks:
                points = result.pose_landmarks[0]
                landmarks[:_NUM_POSE_POINTS] = [(p.x, p.y, p.z) for p in points]
                visibility[:_NUM_POSE_POINTS] = [
                    1.0 if p.visibility is None else p.visibility for p in points
                ]
                if world is not None and result.pose_world_landmarks:
                    world[:_NUM_POSE_POINTS] = [
                        (p.x, p.y, p.z) for p in result.pose_world_landmarks[0]
                    ]
            offset = _NUM_POSE_POINTS
        if self._hands is not None:
            result = detect(self._hands)
            best: dict[int, tuple[float, int]] = {}  # slot -> (score, hand index)
            for i, categories in enumerate(result.handedness or []):
                if not categories:
                    continue
                slot = _HAND_SLOTS.get(categories[0].category_name)
                if slot is None:
                    continue
                score = float(categories[0].score)
                if slot not in best or score > best[slot][0]:
                    best[slot] = (score, i)
            for slot, (score, i) in best.items():
                start = offset + slot * _NUM_HAND_POINTS
                stop = start + _NUM_HAND_POINTS
                landmarks[start:stop] = [(p.x, p.y, p.z) for p in result.hand_landmarks[i]]
                visibility[start:stop] = score
                if world is not None and i < len(result.hand_world_landmarks or []):
                    world[start:stop] = [(p.x, p.y, p.z) for p in result.hand_world_landmarks[i]]

        np.clip(visibility, 0.0, 1.0, out=visibility)
        visibility[np.isnan(landmarks[:, 0])] = 0.0
        return FrameLandmarks(
            landmarks=landmarks,
            visibility=visibility,
            world=world,
            image_size=(int(width), int(height)),
            timestamp=float(timestamp_s),
            layout=options.layout,
        )


@contextlib.contextmanager
def _create(landmarker_class: Any, options: Any, model_path: Path) -> Iterator[Any]:
    try:
        landmarker = landmarker_class.create_from_options(options)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelAssetError(
            f"MediaPipe could not load the model {model_path} as a"
            f" {landmarker_class.__name__} bundle: {exc}"
        ) from None
    with landmarker:
        yield landmarker


def _downscale(image: np.ndarray, max_side: int | None) -> np.ndarray:
    height, width = image.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    cv2 = _cv2()
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def _required_models(options: ExtractorOptions) -> dict[str, Path]:
    """Resolved model files the options need: {"pose": path, "hand": path}."""
    models: dict[str, Path] = {}
    if options.uses_pose:
        models["pose"] = resolve_model(options.pose_model)
    if options.uses_hands:
        models["hand"] = resolve_model(options.hand_model)
    return models


# ---------------------------------------------------------------------------- whole inputs
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


def _run(
    source: FrameSource,
    options: ExtractorOptions,
    *,
    step: int,
    name: str,
    progress: ProgressCallback | bool | None = None,
) -> LandmarkSequence:
    total = getattr(source, "frame_count", None)
    if total is not None and step > 1 and not isinstance(source, VideoFileSource):
        total = int(math.ceil(total / step))
    callback, finish = _progress_callback(progress, total, name)
    timestamps: list[float] = []
    landmarks: list[np.ndarray] = []
    visibility: list[np.ndarray] = []
    world: list[np.ndarray] = []
    image_size: tuple[int, int] | None = None
    try:
        with LandmarkExtractor(options, "video") as extractor:
            for i, (t, rgb) in enumerate(source):
                if i % step:
                    continue
                frame = extractor.process(rgb, t)
                if image_size is None:
                    image_size = frame.image_size
                timestamps.append(float(t))
                landmarks.append(frame.landmarks)
                visibility.append(frame.visibility)
                if frame.world is not None:
                    world.append(frame.world)
                if callback is not None:
                    callback(len(timestamps), total)
    finally:
        finish()
    if not timestamps:
        raise VideoReadError(f"{name} has no frames")
    sequence = LandmarkSequence(
        timestamps=np.asarray(timestamps, dtype=np.float64),
        landmarks=np.stack(landmarks),
        visibility=np.stack(visibility),
        layout=options.layout,
        image_size=image_size,
        world=np.stack(world) if options.world_landmarks else None,
        source=name,
    )
    _check_detected(sequence, options, name)
    logger.debug(
        "%s: %d/%d frames with landmarks (%s)",
        name,
        int(sequence.detected.sum()),
        len(sequence),
        options.layout,
    )
    return sequence


def _check_detected(sequence: LandmarkSequence, options: ExtractorOptions, name: str) -> None:
    if options.require_detection and not sequence.detected.any():
        what = {"pose": "person", "hands": "hand", "pose+hands": "person or hand"}[options.layout]
        frames = "the image" if len(sequence) == 1 else f"any of the {len(sequence)} frames"
        raise NoPoseDetected(
            f"no {what} detected in {frames} of {name} (layout {options.layout!r},"
            f" min_detection_confidence={options.min_detection_confidence}); check that"
            " the body or hands are visible, or pass require_detection=False"
        )


def extract_frames(
    source: FrameSource,
    options: ExtractorOptions | None = None,
    *,
    progress: ProgressCallback | bool | None = None,
) -> LandmarkSequence:
    """Landmarks of every frame (every `options.frame_step`-th) of a frame source.

    Args:
        source: yields `(timestamp_seconds, (H, W, 3) uint8 RGB)`; it is not closed.
        options: what to extract; default `ExtractorOptions()`.
        progress: None/False, True for a tqdm bar, or a callable `(done, total)`.

    Returns:
        A (T, K, 3) sequence in VIDEO mode with the source's timestamps; frames with
        nothing found are NaN rows (visibility 0), never dropped.

    Raises:
        VideoReadError: the source yields no frames.
        NoPoseDetected: nothing found in any frame and `options.require_detection`.
        ModelAssetError: a MediaPipe model cannot be found or loaded.
    """
    options = options if options is not None else ExtractorOptions()
    name = getattr(source, "name", "<frames>")
    return _run(source, options, step=options.frame_step, name=name, progress=progress)


def extract_video(
    path: str | os.PathLike,
    options: ExtractorOptions | None = None,
    *,
    progress: ProgressCallback | bool | None = None,
) -> LandmarkSequence:
    """Landmarks of a video file, frame by frame (MediaPipe VIDEO mode).

    Args:
        path: video file (anything OpenCV/FFmpeg decodes) or URL.
        options: what to extract; `options.frame_step` skips frames cheaply.
        progress: None/False, True for a tqdm bar, or a callable `(done, total)`.

    Returns:
        A sequence with the frames' real timestamps (seconds from the first frame),
        `image_size` (width, height) and `source=str(path)`; frames with nobody are NaN.

    Raises:
        VideoReadError: the file is missing, empty, corrupt or not a video, or decoding
            stops early in an .mp4/.mov/.avi (truncated); the message names the file.
        NoPoseDetected: nothing found in any frame and `options.require_detection`.
        ModelAssetError: a MediaPipe model cannot be found or loaded.
    """
    options = options if options is not None else ExtractorOptions()
    with VideoFileSource(path, frame_step=options.frame_step) as source:
        sequence = _run(source, options, step=1, name=os.fspath(path), progress=progress)
        _check_complete(source, len(sequence))
        return sequence


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
    if not file.is_file():
        raise VideoReadError(
            f"image file {name} not found" if not file.exists() else f"{name} is not a file"
        )
    data = np.fromfile(file, dtype=np.uint8)
    if data.size == 0:
        raise VideoReadError(f"image file {name} is empty (0 bytes)")
    cv2 = _cv2()
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise VideoReadError(f"cannot decode {name}: not an image OpenCV can read")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def extract_image(
    image: str | os.PathLike | np.ndarray, options: ExtractorOptions | None = None
) -> LandmarkSequence:
    """Landmarks of one still image (MediaPipe IMAGE mode), as a sequence of T=1.

    Args:
        image: an image file (JPEG, PNG, ...) or an (H, W, 3) uint8 RGB array.
        options: what to extract (`frame_step` is ignored).

    Returns:
        A one-frame sequence at timestamp 0 with `image_size` set.

    Raises:
        VideoReadError: the file is missing, empty or not an image; or a bad array.
        NoPoseDetected: nothing found and `options.require_detection`.
        ModelAssetError: a MediaPipe model cannot be found or loaded.
    """
    options = options if options is not None else ExtractorOptions()
    if isinstance(image, np.ndarray):
        name = "<array>"
        rgb = _as_rgb(image, "image array")
    else:
        name = os.fspath(image)
        rgb = _read_image(image)
    with LandmarkExtractor(options, "image") as extractor:
        frame = extractor.process(rgb, 0.0)
    sequence = LandmarkSequence(
        timestamps=np.zeros(1),
        landmarks=frame.landmarks[None],
        visibility=frame.visibility[None],
        layout=options.layout,
        image_size=frame.image_size,
        world=frame.world[None] if frame.world is not None else None,
        source=name,
    )
    _check_detected(sequence, options, name)
    return sequence


# ---------------------------------------------------------------------------- cache
_hash_lock = threading.Lock()
_file_hashes: dict[tuple[str, int, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process per (path, size, mtime, inode)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _hash_lock:
        cached = _file_hashes.get(key)
    if cached is None:
        cached = sha256_file(path)
        with _hash_lock:
            _file_hashes[key] = cached
    return cached


def _is_url(video: str | os.PathLike) -> bool:
    return "://" in os.fspath(video)


class LandmarkCache:
    """A folder of extracted sequences (`.npz`), keyed by content.

    The key of an entry is a sha256 of the video file's content, the options
    (`ExtractorOptions.to_dict()`) and the sha256 of each MediaPipe model used, so a
    renamed video still hits and a changed model or option misses. Entries are written
    atomically (several processes may write the same entry); a corrupt entry is a miss
    and is replaced by the next `put`.

    Args:
        directory: the cache folder; default `user_cache_dir() / "landmarks"`.
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = (
            Path(directory) if directory is not None else user_cache_dir() / "landmarks"
        )

    def __repr__(self) -> str:
        return f"LandmarkCache({str(self.directory)!r})"

    def key(self, video: str | os.PathLike, options: ExtractorOptions) -> str:
        """Hex sha256 identifying the landmarks of `video` extracted with `options`.

        Raises:
            VideoReadError: the video file does not exist.
            ModelAssetError: a model the options need cannot be found.
        """
        file = Path(video)
        if not file.is_file():
            raise VideoReadError(
                f"video file {os.fspath(video)} not found"
                if not file.exists()
                else f"{os.fspath(video)} is not a file"
            )
        models = {role: _file_sha256(path) for role, path in _required_models(options).items()}
        payload = {
            "format": _CACHE_FORMAT,
            "video": _file_sha256(file),
            "options": options.to_dict(),
            "models": models,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def path_for(self, video: str | os.PathLike, options: ExtractorOptions) -> Path:
        """The entry's file path (it may not exist)."""
        return self.directory / f"{self.key(video, options)}.npz"

    def get(self, video: str | os.PathLike, options: ExtractorOptions) -> LandmarkSequence | None:
        """The cached sequence of `video`, or None on a miss (or a corrupt entry).

        The returned sequence's `source` is `str(video)`, as if freshly extracted.
        """
        if _is_url(video):
            return None
        path = self.path_for(video, options)
        if not path.is_file():
            return None
        try:
            sequence = LandmarkSequence.load(path)
        except LandmarkFormatError as exc:
            logger.warning("ignoring corrupt landmark cache entry %s: %s", path, exc)
            return None
        if sequence.layout != options.layout:
            logger.warning(
                "ignoring landmark cache entry %s: layout %r, expected %r",
                path,
                sequence.layout,
                options.layout,
            )
            return None
        logger.debug("landmark cache hit for %s (%s)", video, path.name)
        return sequence.replace(source=os.fspath(video))

    def put(
        self, video: str | os.PathLike, options: ExtractorOptions, sequence: LandmarkSequence
    ) -> Path | None:
        """Store `sequence` as the entry of (`video`, `options`); returns its path.

        URLs are not cached (their content is not known without downloading): None.
        The cache only saves time, so an entry that cannot be written (disk full, no
        permission) is logged as a warning and gives None; nothing partial is left.
        """
        if _is_url(video):
            return None
        path = self.path_for(video, options)
        try:
            sequence.save(path)
        except WriteError as exc:
            logger.warning("landmark cache entry of %s not saved: %s", os.fspath(video), exc)
            return None
        return path

    def entries(self) -> list[Path]:
        """The entry files, skipping temporary files of unfinished writes."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p for p in self.directory.glob("*.npz") if p.is_file() and not is_temp_file(p)
        )

    def clear(self) -> int:
        """Delete every entry; returns how many were deleted."""
        removed = 0
        for path in self.entries():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed


class _DefaultCache:
    def __repr__(self) -> str:
        return "<default cache>"


#: Sentinel for "use `LandmarkCache()` in the user cache folder".
DEFAULT_CACHE: Any = _DefaultCache()


def _as_cache(cache: LandmarkCache | None | bool | Any) -> LandmarkCache | None:
    if cache is DEFAULT_CACHE or cache is True:
        return LandmarkCache()
    if cache is None or cache is False:
        return None
    if isinstance(cache, LandmarkCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return LandmarkCache(cache)
    raise TypeError(f"cache must be a LandmarkCache, a folder, None or False, got {cache!r}")


def _extract_named(path: str | os.PathLike, options: ExtractorOptions) -> LandmarkSequence:
    """`extract_video`, with any unexpected error turned into one naming the file."""
    try:
        return extract_video(path, options)
    except PoseactError:
        raise
    except Exception as exc:
        raise PoseactError(
            f"extracting landmarks from {os.fspath(path)} failed: {type(exc).__name__}: {exc}"
        ) from exc


def extract_cached(
    path: str | os.PathLike,
    options: ExtractorOptions | None = None,
    cache: LandmarkCache | None | bool | Any = DEFAULT_CACHE,
) -> LandmarkSequence:
    """`extract_video` through a `LandmarkCache`: load the entry or extract and store it.

    Args:
        path: the video file.
        options: what to extract.
        cache: a `LandmarkCache` (or its folder); the default is `LandmarkCache()`;
            None or False extracts without caching.
    """
    options = options if options is not None else ExtractorOptions()
    store = _as_cache(cache)
    if store is not None:
        hit = store.get(path, options)
        if hit is not None:
            return hit
    sequence = _extract_named(path, options)
    if store is not None:
        store.put(path, options, sequence)
    return sequence


def extract_many(
    paths: Iterable[str | os.PathLike],
    options: ExtractorOptions | None = None,
    *,
    cache: LandmarkCache | None | bool | Any = DEFAULT_CACHE,
    workers: int = 1,
    progress: bool = True,
    executor: concurrent.futures.Executor | None = None,
) -> list[LandmarkSequence]:
    """Landmarks of many videos, from the cache where possible, in input order.

    Cached entries are loaded without creating any MediaPipe landmarker. The others are
    extracted one after the other (`workers=1`) or in `workers` spawned processes, each
    creating its own landmarker per video, so results are the same either way; new
    results are stored in the cache. Each new process spends seconds importing
    MediaPipe before its first video: to pay that once for several calls, pass a
    long-lived pool from `extraction_pool` as `executor`.

    Args:
        paths: video files.
        options: what to extract; default `ExtractorOptions()`.
        cache: a `LandmarkCache` (or its folder); the default is `LandmarkCache()`;
            None or False disables caching.
        workers: number of processes (1 = in this process).
        progress: show a tqdm progress bar over the videos.
        executor: run the extractions on this pool (e.g. `extraction_pool(2)`) instead
            of starting processes; `workers` is then ignored and the pool left open.

    Returns:
        One sequence per path, in the order of `paths`.

    Raises:
        VideoReadError, NoPoseDetected, ModelAssetError, PoseactError: the first
            failure; the message names the file. Remaining work is cancelled.
    """
    options = options if options is not None else ExtractorOptions()
    if not _is_int(workers) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    store = _as_cache(cache)
    paths = list(paths)
    results: list[LandmarkSequence | None] = [None] * len(paths)
    with _video_bar(len(paths), progress) as bar:
        todo: list[int] = []
        for i, path in enumerate(paths):
            hit = store.get(path, options) if store is not None else None
            if hit is None:
                todo.append(i)
            else:
                results[i] = hit
                bar.update(1)
        if todo:
            logger.info(
                "extracting landmarks from %d of %d videos (%d cached)",
                len(todo),
                len(paths),
                len(paths) - len(todo),
            )
            _required_models(options)  # resolve (download) models once, before workers

        def finished(i: int, sequence: LandmarkSequence) -> None:
            if store is not None:
                store.put(paths[i], options, sequence)
            results[i] = sequence
            bar.update(1)

        if executor is None and (workers == 1 or len(todo) <= 1):
            for i in todo:
                finished(i, _extract_named(paths[i], options))
        elif todo:
            with contextlib.ExitStack() as stack:
                pool = executor
                if pool is None:
                    pool = stack.enter_context(
                        concurrent.futures.ProcessPoolExecutor(
                            max_workers=min(workers, len(todo)),
                            mp_context=multiprocessing.get_context("spawn"),
                        )
                    )
                # Longest videos first, so that no worker is left alone with a long one.
                order = sorted(todo, key=lambda i: _file_size(paths[i]), reverse=True)
                futures = {pool.submit(_extract_named, paths[i], options): i for i in order}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        i = futures[future]
                        try:
                            sequence = future.result()
                        except concurrent.futures.BrokenExecutor as exc:
                            raise PoseactError(
                                f"the worker process extracting {os.fspath(paths[i])} died: {exc}"
                            ) from exc
                        finished(i, sequence)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    if executor is None:
                        pool.shutdown(wait=True, cancel_futures=True)
                    raise
    return results  # type: ignore[return-value]


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass


def _video_bar(total: int, show: bool) -> Any:
    """A tqdm bar over videos, or a stand-in (tqdm takes a while to import)."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="landmarks", unit="video")


def _file_size(path: str | os.PathLike) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # a URL, or a file that is gone (its extraction will say so)
        return 0


def _warm_worker() -> int:
    """Import MediaPipe and OpenCV in a pool worker; returns its process id."""
    import cv2  # noqa: F401
    import mediapipe  # noqa: F401

    time.sleep(0.05)  # hold this worker, so that the next warm-up call reaches another
    return os.getpid()


def extraction_pool(
    workers: int = 2, *, timeout: float = 300.0
) -> concurrent.futures.ProcessPoolExecutor:
    """A process pool for `extract_many(..., executor=pool)`, its workers ready.

    Spawns `workers` processes and waits until each has imported MediaPipe (seconds
    each, since MediaPipe imports TensorFlow), so that batches run on the pool start at
    full speed and repeated batches pay the start-up once. Use it as a context manager
    (or call `shutdown()`)::

        with extraction_pool(2) as pool:
            for folder in folders:
                extract_many(videos_in(folder), options, executor=pool)

    Args:
        workers: number of processes (>= 1).
        timeout: seconds to wait for the workers to start.

    Raises:
        ValueError: `workers` is not an int >= 1.
        PoseactError: the workers did not start within `timeout` seconds.
    """
    if not _is_int(workers) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=int(workers), mp_context=multiprocessing.get_context("spawn")
    )
    ready: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(ready) < workers:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PoseactError(
                    f"extraction_pool: {len(ready)} of {workers} workers started"
                    f" within {timeout:.0f} s"
                )
            batch = [pool.submit(_warm_worker) for _ in range(workers)]
            try:
                ready.update(future.result(timeout=left) for future in batch)
            except (TimeoutError, concurrent.futures.BrokenExecutor) as exc:
                raise PoseactError(
                    f"extraction_pool: {len(ready)} of {workers} workers started"
                    f" ({type(exc).__name__}: {exc or 'timed out'})"
                ) from exc
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool
