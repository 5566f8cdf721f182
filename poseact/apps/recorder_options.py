"""What a recording session records, and what it saves: `RecorderOptions` (labels,
repetitions, clip, countdown and pause lengths, the session's plan), `RecordedClip` (one
saved clip) and `next_clip_number` (clip numbers continue across sessions).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.atomic import is_temp_file
from poseact.core.sequence import LandmarkSequence
from poseact.extract.options import ExtractorOptions

__all__ = [
    "RecorderOptions",
    "RecordedClip",
    "ClipCallback",
    "next_clip_number",
]

# Timing tolerance in seconds: a phase of d seconds ends at the first frame whose time
# since the phase start is >= d - _TOLERANCE (absorbs millisecond rounding of timestamps).
_TOLERANCE = 1e-3


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
        path: the saved landmark file `root/<label>/<label>_NNN.npz`; with
            `extractor.max_people` > 1, one clip per person, `<label>_NNN_p<id>.npz`
            (`sequence.person` is the track id).
        video_path: the saved `.mp4`, or None without `save_video`.
        sequence: the clip's landmarks, timestamps from 0 at the clip's first frame
            (a person's clip covers the frames from their first detection in the
            clip to their last).
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
    return re.compile(rf"^{re.escape(prefix)}_(\d+)(?:_p\d+)?\.(?:npz|mp4)$", re.IGNORECASE)


def next_clip_number(label: str, *folders: str | os.PathLike) -> int:
    """The first clip number above every `<label>_NNN[_p<id>].npz|.mp4` in `folders`.

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
