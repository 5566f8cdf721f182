"""Pictures of landmarks without a screen: annotated videos, rendered clips, strips.

What the model sees, for headless machines and reports:

- `annotate_frame`: a camera frame with the skeleton, the label and its confidence, and
  the top classes drawn on it (what `live --output` and `predict --output` write).
- `annotate_video`: a video written again with its landmarks and the model's answer
  drawn on it (`predict --output`).
- `render_sequence`: a landmark clip (`.npz`) drawn on a plain canvas, as `.mp4` or
  `.gif` (`poseact show`).

OpenCV is imported inside the functions; GIFs are written with Pillow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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

__all__ = [
    "VIDEO_SUFFIXES_WRITTEN",
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


def annotate_frame(
    bgr: np.ndarray,
    landmarks: np.ndarray,
    visibility: np.ndarray,
    layout: str,
    *,
    label: str | None = None,
    confidence: float | None = None,
    classes: Sequence[str] | None = None,
    probabilities: np.ndarray | None = None,
    lines: Sequence[str] = (),
) -> np.ndarray:
    """A copy of a frame with the skeleton, the label and the top classes drawn on it.

    Args:
        bgr: (H, W, 3) uint8 BGR frame (not changed).
        landmarks: (K, 3) normalized image coordinates, NaN where not detected.
        visibility: (K,) in [0, 1].
        layout: the layout name of the K points.
        label: the current answer (None: not yet known, drawn as "-").
        confidence: its probability in [0, 1].
        classes: (C,) class names, with `probabilities`, for the bars of the top classes.
        probabilities: (C,) probabilities in `classes` order.
        lines: more status lines under the label.

    Returns:
        (H, W, 3) uint8 BGR, the annotated copy.
    """
    view = np.ascontiguousarray(bgr).copy()
    draw_landmarks(view, landmarks, visibility, layout)
    head = "-" if label is None else str(label)
    if confidence is not None and label is not None:
        head += f"  {float(confidence):.2f}"
    draw_status(view, [head, *lines])
    if classes is not None and probabilities is not None and label is not None:
        probs = np.asarray(probabilities, dtype=np.float64).reshape(-1)
        if probs.size == len(classes):
            draw_probabilities(view, list(classes), probs, top=min(5, len(classes)))
    return view


def _view(sequence: LandmarkSequence, side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Landmarks mapped into a canvas: ((T, K, 3) coordinates in [0, 1], (width, height)).

    Image coordinates are kept when the clip lies in the image; landmarks of other
    trackers (centred, metres, ...) are fitted into the canvas with a margin.
    """
    points = np.array(sequence.landmarks, dtype=np.float64)
    xy = points[..., :2][np.isfinite(points[..., 0])]
    if sequence.image_size is not None:
        w, h = sequence.image_size
    else:
        w, h = side, side
    scale = side / max(w, h)
    size = (max(16, int(round(w * scale))), max(16, int(round(h * scale))))
    if xy.size and (xy.min() < -0.25 or xy.max() > 1.25):
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        span = float(max((hi - lo).max(), 1e-6))
        centre = (lo + hi) / 2
        points[..., :2] = (points[..., :2] - centre) / span * 0.8 + 0.5
        size = (side, side)
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
    *,
    label: str,
    confidence: float,
    classes: Sequence[str] | None = None,
    probabilities: np.ndarray | None = None,
) -> Path:
    """Write a video again with its landmarks and the model's answer drawn on it.

    Args:
        video: the video the landmarks were extracted from.
        sequence: its landmarks (every frame, or every n-th: each video frame shows the
            latest landmarks at or before its time).
        path: the `.mp4` to write (atomically).
        label: the model's answer for the whole clip.
        confidence: its probability in [0, 1].
        classes: (C,) class names, with `probabilities`, for the bars of the top classes.
        probabilities: (C,) probabilities in `classes` order.

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
    times = np.asarray(sequence.timestamps) - float(sequence.timestamps[0])
    try:
        with VideoWriter(path, fps) as writer:
            index = 0
            while True:
                good, bgr = capture.read()
                if not good:
                    break
                k = int(
                    np.clip(
                        np.searchsorted(times, index / fps + 1e-6, "right") - 1, 0, len(times) - 1
                    )
                )
                found = bool(np.isfinite(sequence.landmarks[k, :, 0]).any())
                writer.write(
                    annotate_frame(
                        bgr,
                        sequence.landmarks[k],
                        sequence.visibility[k],
                        sequence.layout,
                        label=label,
                        confidence=confidence,
                        classes=classes,
                        probabilities=probabilities,
                        lines=[f"{index / fps:.2f} s"] + ([] if found else ["nobody detected"]),
                    )
                )
                index += 1
    finally:
        capture.release()
    return Path(path)
