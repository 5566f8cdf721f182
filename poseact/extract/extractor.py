"""The extract stage: videos, images and cameras to MediaPipe landmarks.

MediaPipe and OpenCV are imported inside the functions that need them, so importing
this module stays cheap; MediaPipe through `poseact.extract.mp.import_mediapipe`, which
keeps TensorFlow out (about 1 s instead of 5-10 s).

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

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.archives import ArchiveLimitError, check_image, special_file_problem
from poseact.core.errors import ModelAssetError, NoPoseDetected, VideoReadError
from poseact.core.native import hidden_native_logs, hides_native_logs
from poseact.core.sequence import LandmarkSequence
from poseact.extract.assets import resolve_model
from poseact.extract.mp import import_mediapipe
from poseact.extract.options import _NUM_HAND_POINTS, _NUM_POSE_POINTS, ExtractorOptions
from poseact.extract.reader import read_ahead
from poseact.extract.sources import FrameSource, VideoFileSource, _as_rgb
from poseact.extract.video import import_cv2

__all__ = [
    "FrameLandmarks",
    "LandmarkExtractor",
    "extract_video",
    "extract_image",
    "extract_frames",
]

logger = logging.getLogger(__name__)

_HAND_SLOTS = {"Left": 0, "Right": 1}  # MediaPipe handedness label -> slot in "hands"

ProgressCallback = Callable[[int, "int | None"], None]


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

    Each landmarker created is logged at DEBUG level ("created PoseLandmarker from ...",
    logger `poseact.extract.extractor`), so `--debug` shows when MediaPipe runs.
    """

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
    @hides_native_logs
    def open(self) -> LandmarkExtractor:
        """Resolve the model files and create the landmarker(s); returns self."""
        if self._stack is not None:
            return self
        options = self.options
        models = _required_models(options)
        mp = import_mediapipe()
        vision, BaseOptions = mp.tasks.vision, mp.tasks.BaseOptions

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
        except BaseException:
            self._pose = self._hands = None
            stack.close()
            raise
        self._stack = stack
        self._last_ms = -1
        self._clock_start = None
        return self

    @hides_native_logs
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
        # MediaPipe logs as its graphs first run and first find someone (~30 us a frame)
        with hidden_native_logs():
            return self._process(rgb, timestamp_s)

    def _process(self, rgb: np.ndarray, timestamp_s: float | None) -> FrameLandmarks:
        if self._stack is None:
            raise RuntimeError(
                "LandmarkExtractor is not open: use `with LandmarkExtractor(...) as x:`"
                " or call open()"
            )
        mp = import_mediapipe()
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
    logger.debug("created %s from %s", landmarker_class.__name__, model_path)
    with landmarker:
        yield landmarker


def _downscale(image: np.ndarray, max_side: int | None) -> np.ndarray:
    height, width = image.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    cv2 = import_cv2()
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
            # decoding overlaps MediaPipe: the reader thread stays a few frames ahead
            for i, (t, rgb) in enumerate(read_ahead(source)):
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


@hides_native_logs
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
        _warn_implausible_rate(sequence, os.fspath(path))
        return sequence


#: Frame rates above this are not a camera's: the container's timing is wrong.
_IMPLAUSIBLE_FPS = 1000.0


def _warn_implausible_rate(sequence: LandmarkSequence, name: str) -> None:
    """Warn when the frames' timestamps imply more than `_IMPLAUSIBLE_FPS`.

    A video whose metadata claims 12,800 fps has its 20 frames within 1.6 ms, so a
    model resampling to 30 fps sees one frame: the result would be silently wrong.
    """
    if len(sequence) < 3:
        return
    dt = float(np.median(np.diff(sequence.timestamps)))
    if dt <= 0 or 1.0 / dt <= _IMPLAUSIBLE_FPS:
        return
    duration = float(sequence.timestamps[-1] - sequence.timestamps[0])
    logger.warning(
        "%s: its timestamps imply %.0f fps (%d frames in %.4f s); the video's frame rate"
        " metadata is probably wrong, and a model at 30 fps would see %d frame(s) of it"
        " (re-encode it with the right rate, e.g. ffmpeg -r 30)",
        name,
        1.0 / dt,
        len(sequence),
        duration,
        int(duration * 30) + 1,
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
