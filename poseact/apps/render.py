"""Pictures of landmarks without a screen: annotated videos, rendered clips, strips.

What the model sees, for headless machines and reports:

- `annotate_frame`: a camera frame with the skeleton and what the live recognizer
  decided at it (`FrameDecision`: label, confidence, gesture going on, events) drawn on
  it, the top classes, and apart the whole clip's answer (what `live --output` and
  `predict --output` write).
- `annotate_video`: a video written again with, frame by frame, its landmarks and the
  live recognizer's decisions (`poseact.train.stream_eval.decide_stream`).
- `render_sequence`: a landmark clip (`.npz`) drawn on a plain canvas, as `.mp4` or
  `.gif` (`poseact show`).

OpenCV is imported inside the functions; GIFs are written with Pillow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from poseact.apps.drawing import (
    draw_landmarks,
    draw_person_label,
    draw_probabilities,
    draw_status,
    person_color,
)
from poseact.core.atomic import atomic_path
from poseact.core.sequence import LandmarkSequence
from poseact.extract.video import VideoWriter, import_cv2

if TYPE_CHECKING:
    from poseact.train.stream_eval import StreamDecisions

__all__ = [
    "VIDEO_SUFFIXES_WRITTEN",
    "FrameDecision",
    "decision_lines",
    "annotate_frame",
    "annotate_people",
    "render_sequence",
    "annotate_video",
]

logger = logging.getLogger(__name__)

#: What `render_sequence` can write.
VIDEO_SUFFIXES_WRITTEN = (".mp4", ".gif")
_BACKGROUND = (48, 48, 48)  # BGR canvas colour
_MAX_SIDE = 640  # longest side of a rendered clip, pixels


def annotate_people(
    bgr: np.ndarray,
    people: Sequence[Any],
    layout: str,
    *,
    lines: Sequence[str] = (),
) -> np.ndarray:
    """A copy of a frame with each person's skeleton and label in their own colour.

    Args:
        bgr: (H, W, 3) uint8 BGR frame (not changed).
        people: `PersonState`s (`.person`, `.landmarks`, `.visibility`, `.label`,
            `.confidence`, `.gesture`).
        layout: the layout name of the points.
        lines: status lines drawn in the top-left corner.

    Returns:
        (H, W, 3) uint8 BGR, the annotated copy.
    """
    view = np.ascontiguousarray(bgr).copy()
    for person in people:
        color = person_color(person.person)
        draw_landmarks(view, person.landmarks, person.visibility, layout, color=color)
        label = "-" if person.label is None else f"{person.label} {person.confidence:.2f}"
        if person.gesture is not None:
            label = f"{person.gesture}!"
        draw_person_label(
            view, person.landmarks, person.visibility, f"{person.person}: {label}", color
        )
    if lines:
        draw_status(view, list(lines))
    return view


@dataclass(frozen=True, eq=False)
class FrameDecision:
    """What the live recognizer decided at one frame: what an annotated frame shows.

    Attributes:
        time: seconds (the stream's clock).
        label: the smoothed best label ("unknown" where the rejection rule refuses
            it; None before the model's first answer).
        confidence: its smoothed probability in [0, 1].
        probabilities: (C,) smoothed probabilities in the model's class order, or None.
        gesture: the gesture going on (an event started and not ended), or None.
        events: the `GestureEvent`s this frame started or ended.
    """

    time: float
    label: str | None
    confidence: float = 0.0
    probabilities: np.ndarray | None = None
    gesture: str | None = None
    events: tuple = ()


def decision_lines(decision: FrameDecision, *, detected: bool = True) -> list[str]:
    """The status lines of an annotated frame: the decided label and its confidence,
    the gesture going on, the time, the frame's events, "nobody detected"."""
    head = "-" if not decision.label else f"{decision.label}  {float(decision.confidence):.2f}"
    lines = [head, f"gesture: {decision.gesture}" if decision.gesture else "no gesture"]
    lines.append(f"{decision.time:.2f} s")
    for event in decision.events:
        lines.append(f"{event.label} started" if event.end is None else f"{event.label} ended")
    if not detected:
        lines.append("nobody detected")
    return lines


def annotate_frame(
    bgr: np.ndarray,
    landmarks: np.ndarray,
    visibility: np.ndarray,
    layout: str,
    decision: FrameDecision,
    *,
    classes: Sequence[str] | None = None,
    clip: tuple[str, float] | None = None,
) -> np.ndarray:
    """A copy of a frame with the skeleton and what was decided at it drawn on it.

    Top left: the decision at this frame (label and confidence, the gesture going on,
    the time, events); bottom left: the top classes' bars; top right, apart and
    labelled as such, the whole clip's answer when given. `live --output` and
    `predict --output` both draw with it, so the same decision looks the same.

    Args:
        bgr: (H, W, 3) uint8 BGR frame (not changed).
        landmarks: (K, 3) normalized image coordinates, NaN where not detected.
        visibility: (K,) in [0, 1].
        layout: the layout name of the K points.
        decision: the `FrameDecision` at this frame.
        classes: (C,) class names, for the bars of the decision's probabilities.
        clip: (label, confidence) of the whole clip, or None.

    Returns:
        (H, W, 3) uint8 BGR, the annotated copy.
    """
    view = np.ascontiguousarray(bgr).copy()
    draw_landmarks(view, landmarks, visibility, layout)
    detected = bool(np.isfinite(np.asarray(landmarks)[..., 0]).any())
    draw_status(view, decision_lines(decision, detected=detected))
    probs = decision.probabilities
    if classes is not None and probs is not None and decision.label:
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        if probs.size == len(classes):
            draw_probabilities(view, list(classes), probs, top=min(5, len(classes)))
    if clip is not None:
        _draw_clip_answer(view, *clip)
    return view


def _draw_clip_answer(view: np.ndarray, label: str, confidence: float) -> None:
    """The whole clip's answer in a blue box at the top right, in place."""
    cv2 = import_cv2()
    text = f"whole clip: {label}  {float(confidence):.2f}"
    scale = max(0.4, min(1.0, view.shape[0] / 800.0))
    thickness = 1 if scale < 0.8 else 2
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = max(0, view.shape[1] - width - 2 * (int(round(8 * scale)) + 2) - 8)
    draw_status(view, [text], origin=(x, 8), scale=scale, background=(120, 60, 0), alpha=0.7)


def _view(sequence: LandmarkSequence, side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Landmarks framed to their extent over the clip: ((T, K, 3) coordinates in [0, 1]
    of the canvas, (width, height) pixels).

    The skeleton fills the canvas with a margin (a head-and-shoulders clip is not a
    small cluster in a big square), limbs keep their shape (the image's aspect ratio is
    undone first), and the canvas takes the extent's shape, between 9:16 and 16:9.
    """
    points = np.array(sequence.landmarks, dtype=np.float64)
    aspect = 1.0
    if sequence.image_size is not None:
        w, h = sequence.image_size
        aspect = w / h if w > 0 and h > 0 else 1.0
    xy = points[..., :2].copy()
    xy[..., 0] *= aspect  # units of the image height in both axes
    finite = xy[np.isfinite(xy[..., 0]) & np.isfinite(xy[..., 1])]
    if not finite.size:
        return points, (side, side)
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    extent = span + 2 * 0.1 * float(span.max())
    extent = np.maximum(extent, extent[::-1] * 9 / 16)  # no thinner than 9:16 either way
    centre = (lo + hi) / 2
    points[..., :2] = (xy - (centre - extent / 2)) / extent
    scale = side / float(extent.max())
    size = (max(16, int(round(extent[0] * scale))), max(16, int(round(extent[1] * scale))))
    return points, size


#: Longest clip written as a GIF (frames; 50 s at 30 fps): a GIF is built in memory.
MAX_GIF_FRAMES = 1500


def render_sequence(
    sequence: LandmarkSequence,
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    side: int = _MAX_SIDE,
    title: str = "",
) -> Path:
    """Draw a landmark clip frame by frame on a plain canvas, as `.mp4` or `.gif`.

    Each frame shows the skeleton (points below visibility 0.3 hidden, as the
    normalizer does by default), the clip time and frame number, and "nobody
    detected" where MediaPipe found nothing: what the model sees, without the video.

    Args:
        sequence: the clip.
        path: the file to write; its suffix (`.mp4` or `.gif`) picks the format.
        fps: frame rate of the output; default the clip's own (30 if unknown).
        side: longest side of the canvas in pixels (the clip's aspect ratio is kept).
        title: a first status line, e.g. the clip's label.

    Returns:
        `path`.

    Raises:
        ValueError: a suffix other than `.mp4` and `.gif`, or a `.gif` of more than
            `MAX_GIF_FRAMES` frames (an `.mp4` is streamed, frame by frame).
        WriteError: the file cannot be written (nothing is left under `path`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES_WRITTEN:
        raise ValueError(f"{path}: can write {' or '.join(VIDEO_SUFFIXES_WRITTEN)}, not {suffix!r}")
    rate = fps or sequence.fps or 30.0
    if suffix == ".gif" and len(sequence) > MAX_GIF_FRAMES:
        raise ValueError(
            f"{path}: a GIF holds every frame in memory, and this clip has {len(sequence)}"
            f" frames (at most {MAX_GIF_FRAMES}); write an .mp4 instead, which is streamed"
        )
    points, (width, height) = _view(sequence, side)
    layout = sequence.layout
    detected = sequence.detected

    def frames():  # one at a time: an hour-long clip is streamed, not held
        for i in range(len(sequence)):
            canvas = np.empty((height, width, 3), dtype=np.uint8)
            canvas[:] = _BACKGROUND
            draw_landmarks(canvas, points[i], sequence.visibility[i], layout, min_visibility=0.3)
            lines = [title] if title else []
            lines.append(f"{sequence.timestamps[i]:.2f} s  frame {i + 1}/{len(sequence)}")
            if not detected[i]:
                lines.append("nobody detected")
            draw_status(canvas, lines)
            yield canvas

    if suffix == ".mp4":
        with VideoWriter(path, rate) as writer:
            for frame in frames():
                writer.write(frame)
        return path
    from PIL import Image

    images = [Image.fromarray(frame[..., ::-1]) for frame in frames()]
    with atomic_path(path, suffix=".gif") as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=max(20, int(round(1000.0 / rate))),
            loop=0,
        )
    return path


def annotate_video(
    video: str | os.PathLike,
    sequence: LandmarkSequence,
    path: str | os.PathLike,
    decisions: StreamDecisions,
    *,
    clip: tuple[str, float] | None = None,
) -> Path:
    """Write a video again with, on each frame, its landmarks and what the live
    recognizer decided at that frame (`decide_stream`), and the whole clip's answer
    apart.

    Args:
        video: the video the landmarks were extracted from.
        sequence: its landmarks (every frame, or every n-th: each video frame shows the
            latest landmarks and decision at or before its time).
        path: the `.mp4` to write (atomically).
        decisions: `decide_stream(model, sequence)`.
        clip: (label, confidence) of the whole clip, drawn apart as such, or None.

    Returns:
        `path`.

    Raises:
        VideoReadError: the video cannot be read.
        WriteError: the output cannot be written (nothing is left under `path`).
    """
    from poseact.core.errors import VideoReadError

    cv2 = import_cv2()
    capture = cv2.VideoCapture(os.fspath(video))
    if not capture.isOpened():
        raise VideoReadError(f"{video}: cannot open the video again to annotate it")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    fps = fps if 0 < fps < 1000 else (sequence.fps or 30.0)
    seen: set[int] = set()
    try:
        with VideoWriter(path, fps) as writer:
            index = 0
            while True:
                good, bgr = capture.read()
                if not good:
                    break
                k = decisions.index_at(index / fps)
                # a frame's events are drawn on the first video frame that shows it
                events = () if k in seen else decisions.events[k]
                seen.add(k)
                decision = FrameDecision(
                    time=float(decisions.times[k]),
                    label=decisions.labels[k] or None,
                    confidence=float(decisions.confidences[k]),
                    probabilities=decisions.probabilities[k],
                    gesture=decisions.gestures[k] or None,
                    events=tuple(events),
                )
                writer.write(
                    annotate_frame(
                        bgr,
                        sequence.landmarks[k],
                        sequence.visibility[k],
                        sequence.layout,
                        decision,
                        classes=decisions.classes,
                        clip=clip,
                    )
                )
                index += 1
    finally:
        capture.release()
    return Path(path)
