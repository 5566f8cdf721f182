"""The recording's phase machine: [wait] → countdown → record → [pause → ...] over the
stream's timestamps, and the clips it writes (landmarks `.npz`, optional `.mp4`, each
name claimed atomically so that sessions never overwrite each other's clips). With
several people (`extractor.max_people` > 1) a clip is one `.npz` per person's track,
`<label>_NNN_p<id>.npz`, beside one `.mp4` of the whole frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from poseact.apps.recorder_options import (
    _TOLERANCE,
    ClipCallback,
    RecordedClip,
    RecorderOptions,
    next_clip_number,
)
from poseact.core.atomic import atomic_path
from poseact.core.sequence import LandmarkSequence
from poseact.core.tracking import TrackRecorder
from poseact.extract.layout_choice import implausible_body_frames
from poseact.extract.video import VideoWriter

# the recorder's one logger: its records keep the name they always had
logger = logging.getLogger("poseact.apps.recorder")

_VIDEO_SUFFIX = ".mp4"
#: A person's track needs this many detected frames in a clip to be saved (as for
#: `extract_people`: a face in a poster seen for a moment is no person).
_MIN_TRACK_FRAMES = 5


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
    people: TrackRecorder | None = None  # with several people: each track's frames

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
        while self._taken(label, number, video=self.video_root is not None):
            number += 1  # someone else wrote this number meanwhile: never overwrite
        return number

    def _taken(self, label: str, number: int, *, video: bool) -> bool:
        """True if clip `number` of `label` exists: its .npz, a person's, or its .mp4."""
        name = f"{self.options.clip_prefix(label)}_{number:03d}"
        folder = self.root / label
        if (folder / f"{name}.npz").exists() or (
            folder.is_dir() and any(folder.glob(f"{name}_p*.npz"))
        ):
            return True
        return video and self._video_path(label, number).exists()

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
        self._write_video(clip, bgr)

    def add_people(
        self,
        t: float,
        ids: np.ndarray,
        people: list[Any],
        image_size: tuple[int, int],
        bgr: np.ndarray | None,
    ) -> None:
        """Append one frame's people (`FrameLandmarks`, with their (N,) track ids) to
        the clip in progress (if recording)."""
        clip = self.clip
        if clip is None or self.phase != "record":
            return
        extractor = self.options.extractor
        if clip.people is None:
            clip.image_size = image_size
            clip.people = TrackRecorder(
                extractor.layout,
                image_size=image_size,
                source=str(clip.path),
                world=extractor.world_landmarks,
            )
        k = extractor.num_points
        clip.timestamps.append(t)
        clip.people.add(
            t,
            ids,
            np.array([p.landmarks for p in people], np.float32).reshape(-1, k, 3),
            np.array([p.visibility for p in people], np.float32).reshape(-1, k),
            np.array([p.world for p in people], np.float32).reshape(-1, k, 3)
            if extractor.world_landmarks
            else None,
        )
        self._write_video(clip, bgr)

    def _write_video(self, clip: _Clip, bgr: np.ndarray | None) -> None:
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
        if clip.people is not None:
            self._finish_people(clip)
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
            number, (path,), video_path = self._publish(clip, [("", sequence)])
        except BaseException:
            clip.discard()
            raise
        self.saved.append(path)
        self.numbers[clip.label] = number + 1
        if number != clip.number:
            sequence = dataclasses.replace(sequence, source=str(path))
        self._report(clip, number, path, video_path, sequence)

    def _finish_people(self, clip: _Clip) -> None:
        """Save one clip per person's track (timestamps from the clip's start)."""
        tracks = clip.people.sequences(_MIN_TRACK_FRAMES) if clip.people is not None else []
        if not tracks:
            logger.warning(
                "nobody was detected in %d or more frames of clip %s; nothing saved for it;"
                " check the camera framing",
                _MIN_TRACK_FRAMES,
                clip.path.stem,
            )
            clip.discard()
            return
        try:
            people = [
                (
                    f"_p{track.person}",
                    dataclasses.replace(
                        track,
                        timestamps=track.timestamps - clip.start,
                        subject=self.options.subject,
                    ),
                )
                for track in tracks
            ]
            if clip.video is not None:
                clip.video.finish()
            number, paths, video_path = self._publish(clip, people)
        except BaseException:
            clip.discard()
            raise
        self.saved += paths
        self.numbers[clip.label] = number + 1
        for path, (_, sequence) in zip(paths, people):
            sequence = dataclasses.replace(sequence, source=str(path))
            self._report(clip, number, path, video_path, sequence)

    def _report(
        self,
        clip: _Clip,
        number: int,
        path: Path,
        video_path: Path | None,
        sequence: LandmarkSequence,
    ) -> None:
        """Log a saved clip, warn about what looks wrong in it, call `on_clip`."""
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

    def _publish(
        self, clip: _Clip, sequences: list[tuple[str, LandmarkSequence]]
    ) -> tuple[int, list[Path], Path | None]:
        """Save the clip under the first free number from `clip.number` on.

        Another recorder may write into the same folder at the same time: each name is
        claimed atomically (`overwrite=False`: a hard link that fails if the name is
        taken), so two sessions never overwrite each other's clips.

        Args:
            clip: the clip.
            sequences: (name suffix, landmarks) of each file: ("", ...) for one
                person, ("_p<id>", ...) for each person's track.

        Returns:
            (number, the .npz paths in the order of `sequences`, .mp4 path or None).
        """
        number = clip.number
        while True:
            name = f"{self.options.clip_prefix(clip.label)}_{number:03d}"
            paths = [self.root / clip.label / f"{name}{suffix}.npz" for suffix, _ in sequences]
            video_path = self._video_path(clip.label, number) if clip.video else None
            if self._taken(clip.label, number, video=video_path is not None):
                number += 1
                continue
            claimed: list[Path] = []
            try:
                for path, (_, sequence) in zip(paths, sequences):
                    with atomic_path(path, suffix=".npz", overwrite=False) as tmp:
                        dataclasses.replace(sequence, source=str(path)).save(tmp)
                    claimed.append(path)
                if clip.video is not None:
                    clip.video.publish_as(video_path)
            except FileExistsError:
                for path in claimed:  # another session took this number meanwhile
                    path.unlink()
                number += 1
                continue
            except BaseException:
                for path in claimed:
                    with contextlib.suppress(OSError):
                        path.unlink()
                raise
            return number, paths, video_path

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
