"""Long test recordings made of real clips: gestures one after another, motion between.

`chain_tracks` does the same for one point's tracks (the point-history format,
`poseact.data.point_history.recording_tracks`).

`chain_segments` joins landmark clips into one continuous stream on one camera: each
clip is resampled to the stream's frame rate, moved and scaled so that the person's
shoulders sit where the first clip's are (clips of different people and cameras line
up), the first and last frames of a gesture can be held (the signer at rest before and
after), and consecutive clips are joined by a short linear blend (the person moving
from one posture to the next) rather than a jump. The labelled clips become the
stream's annotations, everything else is background.

numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from poseact.core.layouts import get_layout
from poseact.core.sequence import LandmarkSequence
from poseact.train.stream_eval import Annotation

__all__ = ["Segment", "chain_segments", "chain_tracks"]


@dataclass(frozen=True, kw_only=True)
class Segment:
    """One piece of a stream.

    Attributes:
        sequence: the clip's landmarks.
        label: the gesture it shows (annotated), or None for background.
        start, end: the part of the clip to use, seconds from its first frame
            (None: from the start / to the end).
        hold_before, hold_after: seconds for which the first / last frame showing
            the person is held before / after the clip (not annotated: at rest).
    """

    sequence: LandmarkSequence
    label: str | None = None
    start: float | None = None
    end: float | None = None
    hold_before: float = 0.0
    hold_after: float = 0.0


def _anchor(landmarks: np.ndarray, size: tuple[int, int], layout: str) -> tuple[np.ndarray, float]:
    """Median shoulder midpoint (pixels) and shoulder width (pixels) of a clip."""
    names = get_layout(layout)
    try:
        left, right = names.index("LEFT_SHOULDER"), names.index("RIGHT_SHOULDER")
    except KeyError:
        raise ValueError(
            f"chain_segments needs pose points (shoulders); layout {layout!r}"
        ) from None
    pixels = landmarks[:, [left, right], :2] * np.array(size, dtype=np.float64)
    mid = np.nanmedian(pixels.mean(axis=1), axis=0)
    width = np.nanmedian(np.linalg.norm(pixels[:, 0] - pixels[:, 1], axis=-1))
    if not (np.all(np.isfinite(mid)) and np.isfinite(width) and width > 0):
        raise ValueError("a segment has no frame with both shoulders detected")
    return mid, float(width)


def chain_segments(
    segments: Sequence[Segment],
    *,
    fps: float = 30.0,
    image_size: tuple[int, int] = (640, 480),
    blend: float = 0.2,
    source: str = "stream",
) -> tuple[LandmarkSequence, list[Annotation]]:
    """Join clips into one stream and annotate its gestures.

    Args:
        segments: the pieces, in playing order (all of one layout with pose points).
        fps: frame rate of the stream (each clip is resampled to it, nearest frame).
        image_size: (width, height) of the stream's camera, pixels.
        blend: seconds of linear transition inserted between consecutive clips.
        source: the stream's `source` name.

    Returns:
        (stream, annotations): the stream starts at 0 s; each labelled segment gives
        one `Annotation` spanning its clip (holds and blends excluded).

    Raises:
        ValueError: no segments, mixed layouts, a layout without shoulders, or a clip
            without any frame showing both shoulders.
    """
    if not segments:
        raise ValueError("chain_segments needs at least one segment")
    layout = segments[0].sequence.layout
    if any(s.sequence.layout != layout for s in segments):
        raise ValueError("all segments must have the same layout")
    size = np.array(image_size, dtype=np.float64)
    step = 1.0 / fps
    pieces: list[tuple[np.ndarray, np.ndarray]] = []
    annotations: list[Annotation] = []
    frames = 0
    ref: tuple[np.ndarray, float] | None = None
    for segment in segments:
        seq = segment.sequence
        t = seq.timestamps - seq.timestamps[0]
        lo = 0.0 if segment.start is None else segment.start
        hi = t[-1] if segment.end is None else min(segment.end, t[-1])
        grid = np.arange(lo, hi + 1e-9, step)
        index = np.clip(np.searchsorted(t, grid - step / 2), 0, len(t) - 1)
        lm = seq.landmarks[index].astype(np.float64)
        vis = seq.visibility[index].astype(np.float64)
        own_size = seq.image_size or (1, 1)
        mid, width = _anchor(lm, own_size, layout)
        if ref is None:
            ref = (mid / own_size * size, width * size[0] / own_size[0])
        factor = ref[1] / width
        xy = (lm[..., :2] * own_size - mid) * factor + ref[0]
        z = lm[..., 2:] * own_size[0] * factor / size[0]
        lm = np.concatenate([xy / size, z], axis=-1)
        before = int(round(segment.hold_before * fps))
        after = int(round(segment.hold_after * fps))
        seen = np.flatnonzero(np.isfinite(lm[..., 0]).any(axis=1))
        first, last = (int(seen[0]), int(seen[-1])) if len(seen) else (0, len(lm) - 1)
        lm = np.concatenate(
            [
                np.repeat(lm[first : first + 1], before, 0),
                lm,
                np.repeat(lm[last : last + 1], after, 0),
            ]
        )
        vis = np.concatenate(
            [
                np.repeat(vis[first : first + 1], before, 0),
                vis,
                np.repeat(vis[last : last + 1], after, 0),
            ]
        )
        if pieces:
            n_blend = int(round(blend * fps))
            prev_lm, prev_vis = pieces[-1][0][-1], pieces[-1][1][-1]
            w = (np.arange(1, n_blend + 1) / (n_blend + 1))[:, None, None]
            mixed = prev_lm[None] * (1 - w) + lm[0][None] * w
            hold = np.where(np.isnan(mixed), np.where(w < 0.5, prev_lm, lm[0]), mixed)
            mixed_vis = prev_vis[None] * (1 - w[..., 0]) + vis[0][None] * w[..., 0]
            pieces.append((hold, mixed_vis))
            frames += n_blend
        if segment.label is not None:
            begin = (frames + before) * step
            annotations.append(Annotation(segment.label, begin, begin + (len(grid) - 1) * step))
        pieces.append((lm, vis))
        frames += len(lm)
    landmarks = np.concatenate([p[0] for p in pieces]).astype(np.float32)
    visibility = np.concatenate([p[1] for p in pieces]).astype(np.float32)
    missing = np.isnan(landmarks).any(axis=-1)
    landmarks[missing] = np.nan
    visibility[missing] = 0.0
    stream = LandmarkSequence(
        timestamps=np.arange(len(landmarks)) * step,
        landmarks=landmarks,
        visibility=np.clip(visibility, 0.0, 1.0),
        layout=layout,
        image_size=tuple(int(v) for v in image_size),
        source=source,
    )
    return stream, annotations


def chain_tracks(
    pieces: Sequence[tuple[str | None, np.ndarray]],
    *,
    fps: float = 30.0,
    layout: str = "fingertip",
    source: str = "stream",
) -> tuple[LandmarkSequence, list[Annotation]]:
    """Join one point's tracks into one continuous stream and annotate its gestures.

    Each piece goes on from where the one before it ended, its first step from there as
    its own first step, turned by 180 degrees when that keeps the path nearer where it
    began (a half turn keeps a circle's direction), so that a long stream stays in view.
    Frames without a position (NaN: the point was not tracked) stay so (visibility 0);
    a piece goes on from its first tracked frame, the next from its last.

    Args:
        pieces: (label, (n, 2) positions) in playing order, image units, one row a
            frame; label None: in-between motion (background, not annotated).
        fps: the tracks' frame rate.
        layout: the stream's one-point layout.
        source: the stream's `source` name.

    Returns:
        (stream, annotations): the stream starts at 0 s; each labelled piece gives one
        `Annotation` from its first to its last frame.
    """
    position = np.zeros(2)
    frames: list[np.ndarray] = []
    annotations: list[Annotation] = []
    count = 0
    for label, track in pieces:
        rel = np.asarray(track, dtype=np.float64)[:, :2]
        seen = np.flatnonzero(np.isfinite(rel).all(axis=1))
        placed = np.full_like(rel, np.nan)
        if len(seen):
            rel = rel - rel[seen[0]]
            first = rel[seen[1]] if len(seen) > 1 else np.zeros(2)
            last = rel[seen[-1]]
            nearer = np.linalg.norm(position - last) < np.linalg.norm(position + last)
            placed = position + (-1.0 if nearer else 1.0) * (rel + first)
            position = placed[seen[-1]]
        frames.append(placed)
        if label is not None:
            annotations.append(Annotation(label, count / fps, (count + len(rel) - 1) / fps))
        count += len(rel)
    xy = np.concatenate(frames)
    lost = ~np.isfinite(xy).all(axis=1)
    landmarks = np.zeros((len(xy), 1, 3), np.float32)
    landmarks[:, 0, :2] = xy
    landmarks[lost] = np.nan
    stream = LandmarkSequence(
        timestamps=np.arange(len(xy)) / fps,
        landmarks=landmarks,
        visibility=(~lost).astype(np.float32)[:, None],
        layout=layout,
        source=source,
    )
    return stream, annotations
