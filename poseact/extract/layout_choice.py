"""Which landmark layout fits the clips: what MediaPipe actually finds in them.

- `implausible_body_frames`: the frames of a pose clip whose body is missing or cannot
  be a body: shoulders not seen, the head below the shoulders, or the hips above them.
  On a close-up of a hand, MediaPipe's pose model still draws a "body" on the palm
  (upside down, the nose under the shoulders); a model trained on that learns nonsense
  and scores well on it.
- `choose_layout` (`--layout auto`): runs MediaPipe's pose and hand models on a few
  frames of the clips and picks "pose" (a body, hands seldom found), "hands" (hands,
  no plausible body) or "pose+hands" (both), saying why.

Names of points are found through the `Layout` ("LEFT_SHOULDER", "NOSE", ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from poseact.core.choices import IMAGE_SUFFIXES
from poseact.core.layouts import get_layout
from poseact.core.sequence import LandmarkSequence

__all__ = [
    "MIN_CORE_VISIBILITY",
    "implausible_body_frames",
    "LayoutChoice",
    "choose_layout",
    "decide_layout",
]

logger = logging.getLogger(__name__)

#: A core point (shoulder, hip, nose) counts as seen at this visibility or more.
MIN_CORE_VISIBILITY = 0.5
#: `choose_layout`: a body (or a hand) counts as there when found in this share of frames.
PRESENT_SHARE = 0.5
#: ... and hands are worth adding to a body when found in this share of frames.
HANDS_SHARE = 0.3


def implausible_body_frames(sequence: LandmarkSequence) -> np.ndarray:
    """(T,) True where the frame's body is missing or implausible.

    A frame's body is plausible when both shoulders are seen, the nose (if seen) is
    above the shoulders' midpoint, and the hips (if seen) are below it (image y grows
    downwards). Layouts without those points (hands, fingertip) give all False.
    """
    layout = get_layout(sequence.layout)
    names = list(layout.point_names)
    wanted = ("LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_HIP", "RIGHT_HIP", "NOSE")
    if not all(name in names for name in wanted):
        return np.zeros(len(sequence), dtype=bool)
    ls, rs, lh, rh, nose = (names.index(name) for name in wanted)
    y = np.asarray(sequence.landmarks[..., 1], dtype=np.float64)
    seen = (np.asarray(sequence.visibility) >= MIN_CORE_VISIBILITY) & np.isfinite(y)
    shoulders = seen[:, ls] & seen[:, rs]
    with np.errstate(invalid="ignore"):
        shoulder_y = (y[:, ls] + y[:, rs]) / 2
        head_below = seen[:, nose] & (y[:, nose] > shoulder_y)
        hips = seen[:, lh] & seen[:, rh]
        hips_above = hips & ((y[:, lh] + y[:, rh]) / 2 < shoulder_y)
    return ~shoulders | head_below | hips_above


@dataclass(frozen=True)
class LayoutChoice:
    """What `choose_layout` picked, and why.

    Attributes:
        layout: "pose", "hands" or "pose+hands".
        body_share: share of the sampled frames with a plausible body.
        hand_share: share with at least one hand.
        frames: frames sampled.
        clips: clips they came from.
    """

    layout: str
    body_share: float
    hand_share: float
    frames: int
    clips: int

    def reason(self) -> str:
        """One line: the choice and the shares behind it."""
        return (
            f"--layout auto chose {self.layout!r}: a plausible body (shoulders seen, head"
            f" above them, hips below) in {self.body_share:.0%} and a hand in"
            f" {self.hand_share:.0%} of {self.frames} frames sampled from {self.clips}"
            f" clip{'' if self.clips == 1 else 's'}"
        )


def decide_layout(body_share: float, hand_share: float) -> str:
    """The layout for these shares of frames with a plausible body and with a hand.

    A body in most frames: "pose", or "pose+hands" when hands are found often enough
    to be worth their points; no body but hands: "hands"; neither: "pose" (the
    default; the clips' own warnings say what is missing).
    """
    if body_share >= PRESENT_SHARE:
        return "pose+hands" if hand_share >= HANDS_SHARE else "pose"
    if hand_share >= PRESENT_SHARE:
        return "hands"
    return "pose"


def choose_layout(
    clips: Sequence[str | os.PathLike],
    *,
    max_clips: int = 6,
    frames_per_clip: int = 8,
    options=None,
) -> LayoutChoice:
    """Pick the layout from what MediaPipe finds in a few frames of the clips.

    Args:
        clips: video or photo files; up to `max_clips` videos, spread over the list,
            are sampled, and up to `max_clips * frames_per_clip` photos (one frame each).
        max_clips: clips to look at.
        frames_per_clip: frames of each, evenly spaced (every n-th frame is read).
        options: `ExtractorOptions` for the models (its layout is ignored).

    Returns:
        The `LayoutChoice` (`.reason()` says why).

    Raises:
        ValueError: no clips.
        VideoReadError: a clip cannot be read.
    """
    import dataclasses

    from poseact.extract.extractor import extract_images, extract_video
    from poseact.extract.options import ExtractorOptions

    clips = list(clips)
    if not clips:
        raise ValueError("--layout auto needs at least one video or photo to look at")
    photos = [c for c in clips if os.fspath(c).lower().endswith(IMAGE_SUFFIXES)]
    videos = [c for c in clips if c not in photos]
    base = options or ExtractorOptions()
    opts = dataclasses.replace(base, layout="pose+hands", require_detection=False)
    sequences = []
    if videos:
        picks = np.linspace(0, len(videos) - 1, min(max_clips, len(videos)))
        for i in sorted({int(i) for i in picks}):
            count = _frame_count(videos[i])
            step = max(1, count // max(1, frames_per_clip)) if count else 1
            sequences.append(extract_video(videos[i], dataclasses.replace(opts, frame_step=step)))
    if photos:  # as many photos as frames of videos: each is one frame
        picks = np.linspace(0, len(photos) - 1, min(max_clips * frames_per_clip, len(photos)))
        sequences += extract_images([photos[int(i)] for i in sorted(set(picks.astype(int)))], opts)
    body = hands = frames = 0
    layout = get_layout("pose+hands")
    hand_points = [k for k, n in enumerate(layout.point_names) if "HAND" in n.upper()]
    for sequence in sequences:
        pose = _pose_part(sequence)
        body += int((~implausible_body_frames(pose)).sum())
        seen = np.asarray(sequence.visibility)[:, hand_points] > 0
        hands += int(seen.any(axis=1).sum())
        frames += len(sequence)
    frames = max(frames, 1)
    choice = decide_layout(body / frames, hands / frames)
    result = LayoutChoice(choice, body / frames, hands / frames, frames, len(sequences))
    logger.info("%s", result.reason())
    return result


def _pose_part(sequence: LandmarkSequence) -> LandmarkSequence:
    """The pose points of a pose+hands clip, as a pose clip."""
    import dataclasses

    count = len(get_layout("pose").point_names)
    return dataclasses.replace(
        sequence,
        landmarks=sequence.landmarks[:, :count],
        visibility=sequence.visibility[:, :count],
        layout="pose",
        world=None,
    )


def _frame_count(path: str | os.PathLike) -> int:
    import cv2

    capture = cv2.VideoCapture(os.fspath(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
    finally:
        capture.release()
