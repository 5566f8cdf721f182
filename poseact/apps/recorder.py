"""Record a gesture dataset from a webcam or a video: countdown, clip, save, repeat.

`record_dataset` runs one MediaPipe landmarker (VIDEO mode) over the whole stream and
cuts it into fixed-length clips, label after label, each preceded by a countdown::

    root/<label>/<label>_001.npz      landmarks (`LandmarkSequence.save`, atomic)
    video_root/<label>/<label>_001.mp4  the raw frames of the same clip (optional)

With `subject="alice"` the clips are `<label>_alice_001.npz` and each file stores the
subject (`LandmarkSequence.subject`), so `Dataset.from_folder` splits by person.

`root` is then ready for `Dataset.from_folder(root)`. The videos go to a separate tree
(by default `<root>-videos`, beside `root`) so that `from_folder(root)` does not count
each clip twice; that tree is itself a dataset folder of videos, so the recording can
be re-extracted later with other options (e.g. hands).

Clip numbers continue from the highest number already in either tree, so a second
session adds clips. Whatever stops a recording (Ctrl+C, the "q" key, closing the
preview, an unplugged camera, the end of a video file) leaves the finished clips intact
and removes the clip in progress: no partial file under a final name, no temp file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from poseact.apps.frames import iter_frames, open_frames
from poseact.core.atomic import (
    atomic_path,
    is_temp_file,
)
from poseact.core.errors import PoseactError
from poseact.core.sequence import LandmarkSequence
from poseact.extract.extractor import LandmarkExtractor
from poseact.extract.layout_choice import implausible_body_frames
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import FrameSource, is_camera
from poseact.extract.video import VideoWriter, import_cv2

__all__ = [
    "RecorderOptions",
    "RecordedClip",
    "record_dataset",
    "next_clip_number",
    "source_seconds",
]

logger = logging.getLogger(__name__)

# Timing tolerance in seconds: a phase of d seconds ends at the first frame whose time
# since the phase start is >= d - _TOLERANCE (absorbs millisecond rounding of timestamps).
_TOLERANCE = 1e-3
_QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc
_START_KEYS = (ord(" "), 13, 10)  # space or Enter
_VIDEO_SUFFIX = ".mp4"
_ERROR = "an error occurred"  # why a recording stopped, when it raised


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class RecorderOptions:
    """What to record and how.

    Attributes:
        labels: the gestures to record, in order; each becomes a folder of `root`. A
            background class ("none", "idle") is just another label.
        repetitions: clips per label in this session.
        clip_seconds: length of every clip, in seconds (fixed).
        countdown_seconds: countdown shown before each clip, in seconds; None: 3 s
            from a camera, 0 from a video file or another frame source (clips are cut
            back to back by time).
        pause_seconds: extra rest between the end of one clip and the next countdown,
            in seconds; None: 1 s from a camera, 0 otherwise.
        interleave: cycle through the labels (a, b, a, b, ...) instead of recording all
            repetitions of one label before the next (a, a, b, b, ...).
        save_video: also keep each clip's raw frames as an `.mp4`.
        preview: show an OpenCV window with the skeleton, label, clip counter and
            countdown ("q" or Esc stops); False for headless recording.
        wait_for_key: before each clip, wait in the preview until SPACE (or Enter) is
            pressed, then count down. Needs `preview`.
        extractor: landmark extraction options (layout, models, confidences);
            `frame_step` > 1 processes every n-th frame of the stream.
        window_name: title of the preview window.
        subject: who is recorded, e.g. "alice": part of every clip's name
            (`<label>_<subject>_NNN`) and stored in it, so that splits hold out whole
            people. None: no subject (each clip is its own group).
        background: the label recorded as "no gesture" (standing, fidgeting, leaving
            the frame), or None: its clips may show nobody, so they get no warnings
            about who is (not) in them.
    """

    labels: tuple[str, ...]
    repetitions: int = 5
    clip_seconds: float = 2.0
    countdown_seconds: float | None = None
    pause_seconds: float | None = None
    interleave: bool = False
    save_video: bool = False
    preview: bool = True
    wait_for_key: bool = False
    extractor: ExtractorOptions = field(default_factory=ExtractorOptions)
    window_name: str = "poseact record"
    subject: str | None = None
    background: str | None = None

    def __post_init__(self) -> None:
        labels = (self.labels,) if isinstance(self.labels, str) else tuple(self.labels)
        if not labels:
            raise ValueError("RecorderOptions.labels is empty; give at least one label")
        for label in labels:
            if not isinstance(label, str) or not label.strip() or label != label.strip():
                raise ValueError(
                    f"RecorderOptions.labels: {label!r} is not a usable label (a non-empty"
                    " name without surrounding spaces)"
                )
            if label.startswith(".") or any(c in label for c in '/\\:*?"<>|\0'):
                raise ValueError(
                    f"RecorderOptions.labels: {label!r} cannot be a folder name (no leading"
                    ' dot, no / \\ : * ? " < > |)'
                )
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"RecorderOptions.labels has duplicates: {duplicates}")
        object.__setattr__(self, "labels", labels)
        if (
            not isinstance(self.repetitions, (int, np.integer))
            or isinstance(self.repetitions, bool)
            or self.repetitions < 1
        ):
            raise ValueError(
                f"RecorderOptions.repetitions must be an int >= 1, got {self.repetitions!r}"
            )
        if not _is_number(self.clip_seconds) or not (
            math.isfinite(self.clip_seconds) and self.clip_seconds > 0
        ):
            raise ValueError(
                f"RecorderOptions.clip_seconds must be > 0 seconds, got {self.clip_seconds!r}"
            )
        if self.subject is not None and (
            not isinstance(self.subject, str)
            or not self.subject.strip()
            or self.subject != self.subject.strip()
            or self.subject.startswith(".")
            or any(c in self.subject for c in '/\\:*?"<>|\0')
        ):
            raise ValueError(
                f"RecorderOptions.subject: {self.subject!r} cannot be part of a file name"
                ' (a non-empty name without surrounding spaces, no leading dot, no / \\ : * ? " < > |)'
            )
        for name in ("countdown_seconds", "pause_seconds"):
            value = getattr(self, name)
            if value is None:
                continue
            if not _is_number(value) or not (math.isfinite(value) and value >= 0):
                raise ValueError(f"RecorderOptions.{name} must be >= 0 seconds, got {value!r}")
        for name in ("interleave", "save_video", "preview", "wait_for_key"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"RecorderOptions.{name} must be True or False, got {getattr(self, name)!r}"
                )
        if self.wait_for_key and not self.preview:
            raise ValueError(
                "RecorderOptions.wait_for_key needs preview=True (keys are read from the"
                " preview window)"
            )
        if not isinstance(self.extractor, ExtractorOptions):
            raise ValueError(
                "RecorderOptions.extractor must be an ExtractorOptions, got"
                f" {type(self.extractor).__name__}"
            )

    @property
    def total_clips(self) -> int:
        """Clips in a complete session: len(labels) × repetitions."""
        return len(self.labels) * self.repetitions

    def for_source(self, live: bool) -> RecorderOptions:
        """These options with the countdown and pause that are None made concrete:
        3 s and 1 s for a `live` camera, 0 for a video file (clips back to back)."""
        return dataclasses.replace(
            self,
            countdown_seconds=self.countdown_seconds
            if self.countdown_seconds is not None
            else (3.0 if live else 0.0),
            pause_seconds=self.pause_seconds
            if self.pause_seconds is not None
            else (1.0 if live else 0.0),
        )

    def clips_that_fit(self, seconds: float) -> int:
        """How many clips a stream of `seconds` has room for, in this session's order
        (countdown, clip, pause, ...), with the countdown and pause as set (None: 0)."""
        countdown, pause = self.countdown_seconds or 0.0, self.pause_seconds or 0.0
        t, n = 0.0, 0
        while n < self.total_clips:
            t += countdown
            if t + self.clip_seconds > seconds + _TOLERANCE:
                break
            n += 1
            t += self.clip_seconds + pause
        return n

    def clip_prefix(self, label: str) -> str:
        """The part of a clip's file name before its number: `<label>[_<subject>]`."""
        return f"{label}_{self.subject}" if self.subject else label

    def plan(self) -> list[tuple[str, int]]:
        """The session's clips in recording order, as (label, repetition from 1)."""
        if self.interleave:
            return [(label, r + 1) for r in range(self.repetitions) for label in self.labels]
        return [(label, r + 1) for label in self.labels for r in range(self.repetitions)]


@dataclass(frozen=True, eq=False)
class RecordedClip:
    """One saved clip, as passed to `record_dataset`'s `on_clip` callback.

    Attributes:
        label: the gesture.
        number: the clip's number in its label folder (the NNN of `<label>_NNN`).
        repetition: which repetition of the label in this session, from 1.
        index: position in the session, from 1 (of `RecorderOptions.total_clips`).
        path: the saved landmark file `root/<label>/<label>_NNN.npz`.
        video_path: the saved `.mp4`, or None without `save_video`.
        sequence: the clip's landmarks, timestamps from 0 at the clip's first frame.
        start: the clip's first frame time in stream seconds (source timestamps).
    """

    label: str
    number: int
    repetition: int
    index: int
    path: Path
    video_path: Path | None
    sequence: LandmarkSequence
    start: float


ClipCallback = Callable[[RecordedClip], None]


def _clip_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}_(\d+)\.(?:npz|mp4)$", re.IGNORECASE)


def next_clip_number(label: str, *folders: str | os.PathLike) -> int:
    """The first clip number above every `<label>_NNN.npz|.mp4` in `folders`.

    Args:
        label: the clip name's prefix: the gesture label, or `<label>_<subject>`
            (`RecorderOptions.clip_prefix`).
        *folders: label folders to look in (missing folders are skipped).

    Returns:
        1 for empty folders, else the highest number found + 1.
    """
    pattern = _clip_pattern(label)
    highest = 0
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if is_temp_file(path):
                continue
            match = pattern.match(path.name)
            if match:
                highest = max(highest, int(match.group(1)))
    return highest + 1


@dataclass
class _Clip:
    """The clip being recorded."""

    label: str
    repetition: int
    index: int
    number: int
    start: float
    path: Path
    video: VideoWriter | None
    timestamps: list[float] = field(default_factory=list)
    landmarks: list[np.ndarray] = field(default_factory=list)
    visibility: list[np.ndarray] = field(default_factory=list)
    world: list[np.ndarray] = field(default_factory=list)
    image_size: tuple[int, int] | None = None

    def covers(self, seconds: float) -> bool:
        """True if the frames so far span `seconds` (the last frame lasting one interval)."""
        if len(self.timestamps) < 2:
            return False
        dt = float(np.median(np.diff(self.timestamps)))
        return self.timestamps[-1] - self.start + dt >= seconds - _TOLERANCE

    def discard(self) -> None:
        if self.video is not None:
            self.video.discard()


class _Stop(Exception):
    """The user asked to stop (key or closed window)."""


class _Session:
    """The phase machine: [wait] → countdown → record → [pause → [wait] → countdown ...]."""

    def __init__(
        self,
        root: Path,
        video_root: Path | None,
        options: RecorderOptions,
        on_clip: ClipCallback | None,
        source_fps: float | None,
    ) -> None:
        self.root = root
        self.video_root = video_root
        self.options = options
        self.on_clip = on_clip
        self.source_fps = source_fps
        self.plan = options.plan()
        self.position = 0  # index into plan of the next / current clip
        self.phase = "wait" if options.wait_for_key else "countdown"
        self.phase_start: float | None = None
        self.clip: _Clip | None = None
        self.saved: list[Path] = []
        self.numbers: dict[str, int] = {}
        self.intervals: list[float] = []  # recent frame intervals, for the video fps
        self.last_t: float | None = None

    @property
    def done(self) -> bool:
        return self.position >= len(self.plan)

    # ---------------------------------------------------------------- time
    def advance(self, t: float) -> None:
        """Move through the phases that end at or before stream time `t`."""
        options = self.options
        if self.last_t is not None:
            self.intervals = (self.intervals + [t - self.last_t])[-30:]
        self.last_t = t
        while not self.done:
            if self.phase == "wait":
                return  # until start_key()
            if self.phase_start is None:
                self.phase_start = t
            elapsed = t - self.phase_start
            if self.phase == "pause" and elapsed >= options.pause_seconds - _TOLERANCE:
                self._enter("wait" if options.wait_for_key else "countdown", t)
            elif self.phase == "countdown" and elapsed >= options.countdown_seconds - _TOLERANCE:
                self._enter("record", t)
                self._open_clip(t)
            elif self.phase == "record" and elapsed >= options.clip_seconds - _TOLERANCE:
                self._finish_clip()
                self._enter("pause", t)
            else:
                return

    def _enter(self, phase: str, t: float | None) -> None:
        self.phase, self.phase_start = phase, t

    def start_key(self) -> None:
        """SPACE in the preview: leave the wait phase; the countdown starts next frame."""
        if self.phase == "wait":
            self._enter("countdown", None)

    def seconds_left(self, t: float) -> float:
        duration = {
            "pause": self.options.pause_seconds,
            "countdown": self.options.countdown_seconds,
            "record": self.options.clip_seconds,
        }.get(self.phase)
        if duration is None or self.phase_start is None:
            return 0.0
        return max(0.0, duration - (t - self.phase_start))

    # ---------------------------------------------------------------- clips
    def _number_for(self, label: str) -> int:
        prefix = self.options.clip_prefix(label)
        if label not in self.numbers:
            folders = [self.root / label]
            if self.video_root is not None:
                folders.append(self.video_root / label)
            self.numbers[label] = next_clip_number(prefix, *folders)
        number = self.numbers[label]
        while (self.root / label / f"{prefix}_{number:03d}.npz").exists() or (
            self.video_root is not None
            and (self.video_root / label / f"{prefix}_{number:03d}{_VIDEO_SUFFIX}").exists()
        ):
            number += 1  # someone else wrote this number meanwhile: never overwrite
        return number

    def _video_fps(self) -> float:
        if self.source_fps:
            return float(self.source_fps)
        positive = [d for d in self.intervals if d > 0]
        if positive:
            return float(np.clip(1.0 / np.median(positive), 1.0, 240.0))
        return 30.0

    def _open_clip(self, t: float) -> None:
        label, repetition = self.plan[self.position]
        number = self._number_for(label)
        name = f"{self.options.clip_prefix(label)}_{number:03d}"
        self.clip = _Clip(
            label=label,
            repetition=repetition,
            index=self.position + 1,
            number=number,
            start=t,
            path=self.root / label / f"{name}.npz",
            video=None,
        )
        logger.debug("recording %s (clip %d/%d)", name, self.position + 1, len(self.plan))

    def add_frame(self, t: float, frame: Any, bgr: np.ndarray | None) -> None:
        """Append one extracted frame to the clip in progress (if recording)."""
        clip = self.clip
        if clip is None or self.phase != "record":
            return
        if clip.image_size is None:
            clip.image_size = frame.image_size
        clip.timestamps.append(t)
        clip.landmarks.append(frame.landmarks)
        clip.visibility.append(frame.visibility)
        if frame.world is not None:
            clip.world.append(frame.world)
        if self.video_root is not None and bgr is not None:
            if clip.video is None:
                clip.video = VideoWriter(
                    self.video_root / clip.label / f"{clip.path.stem}{_VIDEO_SUFFIX}",
                    self._video_fps(),
                )
            clip.video.write(bgr)

    def _finish_clip(self) -> None:
        clip, self.clip = self.clip, None
        self.position += 1
        if clip is None:
            return
        if not clip.timestamps:
            logger.warning("clip %s got no frames; skipped", clip.path.name)
            clip.discard()
            return
        try:
            sequence = LandmarkSequence(
                timestamps=np.asarray(clip.timestamps, dtype=np.float64) - clip.start,
                landmarks=np.stack(clip.landmarks),
                visibility=np.stack(clip.visibility),
                layout=self.options.extractor.layout,
                image_size=clip.image_size,
                world=np.stack(clip.world)
                if clip.world and len(clip.world) == len(clip.timestamps)
                else None,
                source=str(clip.path),
                subject=self.options.subject,
            )
            if clip.video is not None:  # verified before anything is published
                clip.video.finish()
            number, path, video_path = self._publish(clip, sequence)
        except BaseException:
            clip.discard()
            raise
        self.saved.append(path)
        self.numbers[clip.label] = number + 1
        if number != clip.number:
            sequence = dataclasses.replace(sequence, source=str(path))
        detected = int(sequence.detected.sum())
        logger.info(
            "saved %s: %d frames, %.2f s, %s (clip %d/%d)",
            path,
            len(sequence),
            len(sequence) / max(sequence.fps, 1e-9) if len(sequence) > 1 else 0.0,
            f"detected in {detected}" if detected else "NOTHING DETECTED",
            clip.index,
            len(self.plan),
        )
        what = {"hands": "a hand"}.get(self.options.extractor.layout, "the person")
        if clip.label == self.options.background:
            pass  # "no gesture" may well be nobody there
        elif detected == 0:
            logger.warning(
                "nobody was detected in %s; check the camera framing (the clip is kept)",
                path,
            )
        elif detected < len(sequence) / 2:
            logger.warning(
                "%s: %s is in %d of %d frames only (fewer than half); check the"
                " framing and the light (the clip is kept)",
                path,
                what,
                detected,
                len(sequence),
            )
        elif implausible_body_frames(sequence).sum() > len(sequence) / 2:
            logger.warning(
                "%s: the body's core points (shoulders, hips) are missing or implausible"
                " in %d of %d frames: on a close-up of a hand MediaPipe's pose model draws"
                " a 'body' on the palm; for hand gestures record with --layout hands",
                path,
                int(implausible_body_frames(sequence).sum()),
                len(sequence),
            )
        if self.on_clip is not None:
            self.on_clip(
                RecordedClip(
                    label=clip.label,
                    number=number,
                    repetition=clip.repetition,
                    index=clip.index,
                    path=path,
                    video_path=video_path,
                    sequence=sequence,
                    start=clip.start,
                )
            )

    def _video_path(self, label: str, number: int) -> Path:
        prefix = self.options.clip_prefix(label)
        return self.video_root / label / f"{prefix}_{number:03d}{_VIDEO_SUFFIX}"

    def _publish(self, clip: _Clip, sequence: LandmarkSequence) -> tuple[int, Path, Path | None]:
        """Save the clip under the first free number from `clip.number` on.

        Another recorder may write into the same folder at the same time: each name is
        claimed atomically (`overwrite=False`: a hard link that fails if the name is
        taken), so two sessions never overwrite each other's clips.

        Returns:
            (number, .npz path, .mp4 path or None).
        """
        number = clip.number
        while True:
            name = f"{self.options.clip_prefix(clip.label)}_{number:03d}"
            path = self.root / clip.label / f"{name}.npz"
            video_path = self._video_path(clip.label, number) if clip.video else None
            if path.exists() or (video_path is not None and video_path.exists()):
                number += 1
                continue
            claimed = dataclasses.replace(sequence, source=str(path))
            try:
                with atomic_path(path, suffix=".npz", overwrite=False) as tmp:
                    claimed.save(tmp)
            except FileExistsError:
                number += 1  # another session took this number meanwhile
                continue
            if clip.video is not None:
                try:
                    clip.video.publish_as(video_path)
                except FileExistsError:
                    path.unlink()
                    number += 1
                    continue
                except BaseException:
                    with contextlib.suppress(OSError):
                        path.unlink()
                    raise
            return number, path, video_path

    def end_of_stream(self) -> None:
        """The source ended: keep a clip that already spans its length, else discard it."""
        clip = self.clip
        if clip is None:
            return
        if clip.covers(self.options.clip_seconds):
            self._finish_clip()
        else:
            self.discard(
                f"the stream ended {clip.timestamps[-1] - clip.start:.2f} s into it"
                if clip.timestamps
                else "the stream ended"
            )

    def discard(self, why: str, *, quiet: bool = False) -> None:
        clip, self.clip = self.clip, None
        if clip is not None:
            clip.discard()
            (logger.debug if quiet else logger.warning)(
                "discarded unfinished clip %s: %s", clip.path.name, why
            )

    # ---------------------------------------------------------------- preview
    def status_lines(self, t: float) -> list[str]:
        total = len(self.plan)
        if self.done:
            return [f"done: {len(self.saved)} clips saved"]
        label, repetition = self.plan[self.position]
        reps = self.options.repetitions
        lines = [
            f"{label}  ({repetition}/{reps})",
            f"clip {self.position + 1}/{total}   saved {len(self.saved)}",
        ]
        if self.phase == "wait":
            lines.append("SPACE: start   q: quit")
        elif self.phase == "record":
            lines.append(f"REC {self.seconds_left(t):.1f} s")
        elif self.phase == "pause":
            lines.append(f"next in {self.seconds_left(t) + self.options.countdown_seconds:.1f} s")
        else:
            lines.append("get ready")
        return lines


def source_seconds(source: Any) -> float | None:
    """Length in seconds of a video file source (frame count × step / frame rate), or
    None for cameras, URLs and sources that do not know it."""
    count, fps = getattr(source, "frame_count", None), getattr(source, "fps", None)
    if not count or not fps or count <= 0 or fps <= 0:
        return None
    step = max(1, int(getattr(source, "frame_step", 1) or 1))
    return float(count * step / fps)


def record_dataset(
    source: int | str | os.PathLike | FrameSource,
    root: str | os.PathLike,
    options: RecorderOptions,
    *,
    video_root: str | os.PathLike | None = None,
    on_clip: ClipCallback | None = None,
) -> list[Path]:
    """Record labelled clips from a camera or video into a dataset folder.

    For each label and repetition (see `RecorderOptions.plan`): a countdown of
    `countdown_seconds`, then `clip_seconds` of frames saved as
    `root/<label>/<label>_NNN.npz` (timestamps from 0 at the clip's first frame), then
    `pause_seconds` of rest. Phases are timed by the source's timestamps, so a video
    file is cut the same way at any processing speed. One `LandmarkExtractor` in VIDEO
    mode sees every frame, so tracking carries across clips.

    Stopping early is safe: Ctrl+C (KeyboardInterrupt, also from `on_clip`), "q"/Esc
    or closing the preview window, a camera that stops delivering frames, or the end
    of a video file all end the recording; the clip in progress is discarded (unless
    the stream ended just as it was complete) and the saved clips are returned.

    Args:
        source: a camera index (0, "1"), a video file or URL, or a frame source
            yielding `(timestamp_seconds, (H, W, 3) uint8 RGB)` (not closed here).
        root: dataset folder; label folders are created as needed.
        options: what to record.
        video_root: where the `.mp4` clips go with `options.save_video`, as
            `video_root/<label>/<label>_NNN.mp4`; default `<root>-videos` beside
            `root`. Ignored without `save_video`.
        on_clip: called with a `RecordedClip` after each clip is saved.

    Returns:
        The saved `.npz` files, in recording order.

    Raises:
        VideoReadError: the camera or video file cannot be opened.
        ModelAssetError: a MediaPipe model cannot be found or loaded.
        PoseactError: a clip video cannot be written.
        ValueError: `root` exists and is not a folder.
        TypeError: `options` is not a `RecorderOptions`, or `source` is no source.
        Exception: whatever `on_clip` or the source raise (other than
            KeyboardInterrupt); clips saved before stay, the clip in progress is removed.
    """
    if not isinstance(options, RecorderOptions):
        raise TypeError(f"options must be RecorderOptions, got {type(options).__name__}")
    options = options.for_source(is_camera(source))
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"dataset folder {root} exists and is not a folder")
    # checked before anything opens: Qt aborts the process when it finds no display
    preview = options.preview and _preview_possible(options.wait_for_key)
    videos: Path | None = None
    if options.save_video:
        videos = Path(video_root) if video_root is not None else root.parent / f"{root.name}-videos"
    extractor_options = options.extractor
    frame_source, owned, step = open_frames(source, extractor_options.frame_step)
    session = _Session(root, videos, options, on_clip, getattr(frame_source, "fps", None))
    name = getattr(frame_source, "name", "<frames>")
    seconds = source_seconds(frame_source)
    foretold = seconds is not None and options.clips_that_fit(seconds) < options.total_clips
    if foretold:
        logger.warning(
            "%s: %.1f s of video has room for %d of the %d clips asked (%.1f s each)",
            name,
            seconds,
            options.clips_that_fit(seconds),
            options.total_clips,
            options.clip_seconds,
        )
    window = options.window_name if preview else None
    cv2 = import_cv2() if (preview or options.save_video) else None
    logger.info(
        "recording %d clips (%s × %d, %.2f s each) from %s into %s",
        options.total_clips,
        ", ".join(options.labels),
        options.repetitions,
        options.clip_seconds,
        name,
        root,
    )
    stopped = _ERROR  # why the recording stopped early; "" when complete
    try:
        with LandmarkExtractor(extractor_options, "video") as extractor:
            for t, rgb in iter_frames(frame_source, step):
                session.advance(t)
                if session.done:
                    stopped = ""
                    break
                frame = extractor.process(rgb, t)
                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if cv2 is not None else None
                session.add_frame(t, frame, bgr if videos is not None else None)
                if window is not None:
                    _show(cv2, window, bgr, frame, session, t, extractor_options.layout)
            else:
                session.end_of_stream()
                stopped = "" if session.done else "the stream ended"
    except _Stop:
        stopped = "stopped from the preview window"
    except KeyboardInterrupt:
        stopped = "interrupted (Ctrl+C)"
    finally:
        # after an error, the error says what happened: no second message
        session.discard(stopped or "recording stopped", quiet=stopped == _ERROR)
        if window is not None:
            with contextlib.suppress(Exception):
                cv2.destroyWindow(window)
                cv2.waitKey(1)
        if owned:
            frame_source.close()
    if (
        stopped == "the stream ended"
        and foretold
        and len(session.saved) >= options.clips_that_fit(seconds)
    ):
        # said before recording: the video has room for this many
        logger.info(
            "recorded %d clips into %s (all the video had room for)", len(session.saved), root
        )
    elif stopped:
        logger.warning(
            "recording ended early (%s): %d of %d clips saved",
            stopped,
            len(session.saved),
            options.total_clips,
        )
    else:
        logger.info("recorded %d clips into %s", len(session.saved), root)
    return list(session.saved)


def _preview_possible(wait_for_key: bool) -> bool:
    """True when a preview window can open; else a warning (or an error when the
    recording waits for keys typed into that window)."""
    from poseact.apps.drawing import display_problem

    problem = display_problem()
    if problem is None:
        return True
    if wait_for_key:
        raise PoseactError(
            f"cannot open the preview window: {problem}; waiting for a key"
            " (wait_for_key, --wait-for-key) needs it: record where a display is available"
        )
    logger.warning("%s: recording without the preview window (as with --no-preview)", problem)
    return False


def _show(
    cv2: Any,
    window: str,
    bgr: np.ndarray,
    frame: Any,
    session: _Session,
    t: float,
    layout: str,
) -> None:
    """Draw the preview and handle its keys; raises `_Stop` on q/Esc or a closed window."""
    from poseact.apps.drawing import draw_banner, draw_landmarks, draw_status

    view = bgr.copy()
    draw_landmarks(view, frame.landmarks, frame.visibility, layout)
    draw_status(view, session.status_lines(t))
    if session.phase == "countdown":
        draw_banner(view, str(max(1, math.ceil(session.seconds_left(t) - _TOLERANCE))))
    elif session.phase == "record":
        cv2.circle(view, (view.shape[1] - 24, 24), 10, (0, 0, 255), -1, cv2.LINE_AA)
    elif session.phase == "wait":
        draw_banner(view, "press SPACE", scale=max(0.8, view.shape[0] / 400.0))
    cv2.imshow(window, view)
    key = cv2.waitKey(1) & 0xFF
    if key in _QUIT_KEYS:
        raise _Stop
    if key in _START_KEYS:
        session.start_key()
    with contextlib.suppress(cv2.error):
        if cv2.getWindowProperty(window, cv2.WND_PROP_VISIBLE) < 1:
            raise _Stop
