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
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.errors import ModelAssetError, NoPoseDetected, VideoReadError
from poseact.core.native import hidden_native_logs, hides_native_logs
from poseact.core.sequence import LandmarkSequence
from poseact.core.tracking import Tracker, TrackerOptions, TrackRecorder
from poseact.extract.assets import resolve_model
from poseact.extract.inputs import (
    ProgressCallback,
    _check_complete,
    _check_detected,
    _progress_of,
    _read_image,
)
from poseact.extract.mp import import_mediapipe
from poseact.extract.options import ExtractorOptions
from poseact.extract.people import PoseFollowers
from poseact.extract.people_detection import _blank, _one_person, _people
from poseact.extract.reader import read_ahead
from poseact.extract.sources import FrameSource, VideoFileSource, _as_rgb
from poseact.extract.video import import_cv2

__all__ = [
    "FrameLandmarks",
    "LandmarkExtractor",
    "extract_video",
    "extract_image",
    "extract_images",
    "extract_frames",
    "extract_people",
]

logger = logging.getLogger(__name__)


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

                def pose_options(mode: Any, poses: int) -> Any:
                    return vision.PoseLandmarkerOptions(
                        base_options=BaseOptions(model_asset_path=str(models["pose"])),
                        running_mode=mode,
                        num_poses=poses,
                        min_pose_detection_confidence=options.min_detection_confidence,
                        min_pose_presence_confidence=options.min_presence_confidence,
                        min_tracking_confidence=options.min_tracking_confidence,
                        output_segmentation_masks=False,
                    )

                def pose_landmarker(mode: Any, poses: int) -> Any:
                    return stack.enter_context(
                        _create(vision.PoseLandmarker, pose_options(mode, poses), models["pose"])
                    )

                people = options.max_people
                if people > 1 and self.running_mode == "video":
                    # one VIDEO-mode tracker per person (see poseact.extract.people)
                    self._pose = PoseFollowers(
                        pose_landmarker(vision.RunningMode.IMAGE, people),
                        [pose_landmarker(mode, 1) for _ in range(people)],
                        (mp.Image, mp.ImageFormat.SRGB),
                    )
                else:
                    self._pose = pose_landmarker(mode, people)
            if "hand" in models:
                hand_options = vision.HandLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(models["hand"])),
                    running_mode=mode,
                    num_hands=options.num_hands * options.max_people,
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
            The frame's landmarks; all NaN (visibility 0) if nothing was found. With
            `max_people` > 1, the first person of `process_people`.

        Raises:
            RuntimeError: the extractor is not open.
            VideoReadError: `rgb` is not an image array.
        """
        # MediaPipe logs as its graphs first run and first find someone (~30 us a frame)
        with hidden_native_logs():
            return self._detect(rgb, timestamp_s, keep_empty=True)[0]

    def process_people(
        self, rgb: np.ndarray, timestamp_s: float | None = None
    ) -> list[FrameLandmarks]:
        """Landmarks of every person in one RGB frame (up to `options.max_people`).

        With the "pose+hands" layout each hand goes to the body whose wrist is nearest
        its own (and within 1.5 shoulder widths); with "hands", a left and a right hand
        whose wrists are within 6 hand lengths are one person. A hand with no body or
        partner near it is a person of its own. The order is MediaPipe's: link people
        from frame to frame with `poseact.core.tracking.Tracker`.

        Args:
            rgb: (H, W, 3) uint8 RGB image.
            timestamp_s: the frame's time in seconds (as in `process`).

        Returns:
            One `FrameLandmarks` per person found ([] when nobody is found); with
            `max_people` 1, the one person as `process` finds them (if found).

        Raises:
            RuntimeError: the extractor is not open.
            VideoReadError: `rgb` is not an image array.
        """
        with hidden_native_logs():
            people = self._detect(rgb, timestamp_s, keep_empty=False)
        return [person for person in people if person.detected]

    def _detect(
        self, rgb: np.ndarray, timestamp_s: float | None, *, keep_empty: bool
    ) -> list[FrameLandmarks]:
        """Every person of the frame; with `max_people` 1, or nobody found and
        `keep_empty`, exactly one (maybe all NaN)."""
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

        if self.running_mode == "video":
            ms = max(int(round(float(timestamp_s) * 1000.0)), self._last_ms + 1)
            self._last_ms = ms

            def detect(landmarker: Any) -> Any:
                return landmarker.detect_for_video(mp_image, ms)
        else:

            def detect(landmarker: Any) -> Any:
                return landmarker.detect(mp_image)

        pose = detect(self._pose) if self._pose is not None else None
        hands = detect(self._hands) if self._hands is not None else None
        if options.max_people == 1:
            arrays = [_one_person(options, pose, hands)]
        else:
            arrays = _people(options, pose, hands, (width, height))
            if not arrays and keep_empty:
                arrays = [_blank(options)]
        people = []
        for landmarks, visibility, world in arrays:
            np.clip(visibility, 0.0, 1.0, out=visibility)
            visibility[np.isnan(landmarks[:, 0])] = 0.0
            people.append(
                FrameLandmarks(
                    landmarks=landmarks,
                    visibility=visibility,
                    world=world,
                    image_size=(int(width), int(height)),
                    timestamp=float(timestamp_s),
                    layout=options.layout,
                )
            )
        return people


def stack_people(people: list[FrameLandmarks], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The people of a frame as arrays: (N, K, 3) landmarks and (N, K) visibility
    (N = 0 when nobody was found), what `Tracker.update` and `PeopleRecognizer.push`
    take."""
    landmarks = np.array([p.landmarks for p in people], np.float32).reshape(-1, k, 3)
    visibility = np.array([p.visibility for p in people], np.float32).reshape(-1, k)
    return landmarks, visibility


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
def _run(
    source: FrameSource,
    options: ExtractorOptions,
    *,
    step: int,
    name: str,
    progress: ProgressCallback | bool | None = None,
) -> LandmarkSequence:
    total, callback, finish = _progress_of(source, step, name, progress)
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


def extract_people(
    video: str | os.PathLike | FrameSource,
    options: ExtractorOptions | None = None,
    *,
    tracker: TrackerOptions | None = None,
    min_frames: int = 5,
    progress: ProgressCallback | bool | None = None,
) -> list[LandmarkSequence]:
    """Every person of a video, tracked: one `LandmarkSequence` per track.

    Up to `options.max_people` people are found per frame (MediaPipe VIDEO mode) and
    linked from frame to frame by `poseact.core.tracking.Tracker`.

    Args:
        video: a video file (or URL), or a frame source (not closed here).
        options: what to extract; `max_people` is the most people per frame.
        tracker: how detections are linked; default `TrackerOptions()`.
        min_frames: tracks with fewer detected frames are left out (a face in a
            poster seen for a moment, a detection that flickered).
        progress: None/False, True for a tqdm bar, or a callable `(done, total)`.

    Returns:
        The tracks by id: each sequence's `person` is its track id, its timestamps
        are the video's (from the frame where the person appears to the one where
        they were last seen), frames where they were hidden are NaN.

    Raises:
        VideoReadError: the file is missing, empty, corrupt or not a video.
        NoPoseDetected: nobody found in any frame and `options.require_detection`.
        ModelAssetError: a MediaPipe model cannot be found or loaded.
    """
    options = options if options is not None else ExtractorOptions()
    if not _is_count(min_frames):
        raise ValueError(f"min_frames must be an int >= 1, got {min_frames!r}")
    if isinstance(video, (str, os.PathLike)):
        name = os.fspath(video)
        with VideoFileSource(video, frame_step=options.frame_step) as source:
            tracks, frames = _run_people(source, options, tracker, 1, name, progress)
            _check_complete(source, frames)
    else:
        name = getattr(video, "name", "<frames>")
        tracks, frames = _run_people(video, options, tracker, options.frame_step, name, progress)
    if frames == 0:
        raise VideoReadError(f"{name} has no frames")
    sequences = tracks.sequences(min_frames)
    if options.require_detection and not sequences:
        what = {"pose": "person", "hands": "hand", "pose+hands": "person or hand"}[options.layout]
        raise NoPoseDetected(
            f"no {what} detected in {min_frames} or more of the {frames} frames of {name}"
            f" (layout {options.layout!r}, max_people={options.max_people}); check that"
            " the people are visible, or pass require_detection=False"
        )
    logger.debug("%s: %d track(s) in %d frames", name, len(sequences), frames)
    return sequences


def _is_count(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def _run_people(
    source: FrameSource,
    options: ExtractorOptions,
    tracker_options: TrackerOptions | None,
    step: int,
    name: str,
    progress: ProgressCallback | bool | None,
) -> tuple[TrackRecorder, int]:
    total, callback, finish = _progress_of(source, step, name, progress)
    tracker = Tracker.for_layout(options.layout, tracker_options)
    recorder: TrackRecorder | None = None
    frames = 0
    k = options.num_points
    try:
        with LandmarkExtractor(options, "video") as extractor:
            for i, (t, rgb) in enumerate(read_ahead(source)):
                if i % step:
                    continue
                people = extractor.process_people(rgb, t)
                if recorder is None:
                    size = (int(rgb.shape[1]), int(rgb.shape[0]))
                    recorder = TrackRecorder(
                        options.layout,
                        image_size=size,
                        source=name,
                        world=options.world_landmarks,
                    )
                landmarks, visibility = stack_people(people, k)
                world = (
                    np.array([p.world for p in people], np.float32).reshape(-1, k, 3)
                    if options.world_landmarks
                    else None
                )
                ids = tracker.update(t, landmarks, visibility, recorder.image_size).ids
                recorder.add(t, ids, landmarks, visibility, world)
                frames += 1
                if callback is not None:
                    callback(frames, total)
    finally:
        finish()
    if recorder is None:
        recorder = TrackRecorder(options.layout, source=name)
    return recorder, frames


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
    return extract_images([image], options)[0]


def extract_images(
    images: list[str | os.PathLike | np.ndarray], options: ExtractorOptions | None = None
) -> list[LandmarkSequence]:
    """Landmarks of several still images with one set of landmarkers (IMAGE mode): one
    one-frame sequence each, as `extract_image` gives. Each file is size-checked from
    its header before it is decoded, and decoded only when its turn comes.

    Raises:
        As `extract_image`, for the first image that fails.
    """
    options = options if options is not None else ExtractorOptions()
    sequences = []
    with LandmarkExtractor(options, "image") as extractor:
        for image in images:
            if isinstance(image, np.ndarray):
                name = "<array>"
                rgb = _as_rgb(image, "image array")
            else:
                name = os.fspath(image)
                rgb = _read_image(image)
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
            sequences.append(sequence)
    return sequences
