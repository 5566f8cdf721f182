"""Normalizer: per-frame landmarks → fixed-layout, fixed-rate keypoint windows.

Plain numpy only: this module is the reference implementation that training, the
TFLite runtime and the ports (Kotlin, Swift, JavaScript) follow, so keep it small.

Steps, in order (see docs/normalizer.md):

1. Per frame (`normalize_frames`): undo the image aspect ratio (x and z are multiplied
   by width / height), hide points below `min_visibility`, translate to the body centre
   (mid-hips for pose, falling back to the shoulders; each hand's wrist for hands),
   divide by the body size (torso or shoulder length for pose, palm length for hands),
   optionally rotate so the shoulders are level. Missing points stay NaN.
2. Per sequence (`Normalizer.resampled`): fill gaps of at most `max_gap` seconds by
   linear interpolation in time, then resample by the timestamps onto a grid of `fps`
   frames per second starting at the first frame.
3. Window (`Normalizer.window`): crop (centre or end) or TSN-style segment-sample the
   grid to `window` frames, padding short clips at the front with their first frame.
4. Features (`Normalizer.features`): positions (W, K·C) and, optionally, velocities
   (frame differences on the grid), accelerations, bone vectors and joint angles beside
   them (`poseact.normalize.features`), standardized by the spec's per-feature mean and
   std when it holds them; missing values become 0.

`StreamingFeaturizer` does steps 1, 2 and 4 one frame at a time for live use.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from poseact.core.errors import LandmarkFormatError
from poseact.core.layouts import Layout, check_same_layout, get_layout
from poseact.core.sequence import LandmarkSequence
from poseact.normalize.features import window_features
from poseact.normalize.path import path_parts, trail_roots
from poseact.normalize.spec import NormalizerSpec

__all__ = ["Normalizer", "GridCache", "normalize_frames"]

logger = logging.getLogger(__name__)

# Torso length (mid-shoulder to mid-hip) is about this many shoulder widths.
_TORSO_PER_SHOULDER_WIDTH = 1.4


# ---------------------------------------------------------------------- per frame
def _midpoint(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return (points[:, a] + points[:, b]) / 2.0


def _norm2d(v: np.ndarray) -> np.ndarray:
    return np.sqrt(v[..., 0] ** 2 + v[..., 1] ** 2)


def _body_frame(
    points: np.ndarray, anchors: np.ndarray, spec: NormalizerSpec
) -> tuple[np.ndarray, np.ndarray]:
    """A body part's centre (T, 3) and size (T,) per frame, NaN where missing.

    Args:
        points: (T, P, 3) the part's aspect-corrected points.
        anchors: (4,) indices into `points` of the left/right shoulder and left/right hip.
    """
    ls, rs, lh, rh = (int(i) for i in anchors)
    shoulders = _midpoint(points, ls, rs)
    hips = _midpoint(points, lh, rh)
    torso = _norm2d(shoulders - hips)
    width = _norm2d(points[:, ls] - points[:, rs])
    if spec.scale == "torso":
        size = np.where(np.isfinite(torso), torso, width * _TORSO_PER_SHOULDER_WIDTH)
    else:
        size = np.where(np.isfinite(width), width, torso / _TORSO_PER_SHOULDER_WIDTH)
        size = size * _TORSO_PER_SHOULDER_WIDTH  # keep units comparable across settings
    size = np.where(size > 1e-6, size, np.nan)
    # Body centre; the other end of the torso when the preferred one is missing,
    # assuming an upright body (image y points down).
    down = np.zeros_like(shoulders)
    down[:, 1] = size
    if spec.center == "hips":
        centre = np.where(np.isfinite(hips), hips, shoulders + down)
    else:
        centre = np.where(np.isfinite(shoulders), shoulders, hips - down)
    return centre, size


def _place(
    kind: str, part: np.ndarray, anchors: np.ndarray, root, size, spec: NormalizerSpec
) -> np.ndarray:
    """(T, P, 3) a part's aspect-corrected points → relative to its root (T, 3), divided
    by its size (T,), and for a body with `spec.rotate` turned so the shoulders are
    level (anchors 0 and 1: the left and right shoulder)."""
    out = (part - root[:, None, :]) / size[:, None, None]
    if kind == "body" and spec.rotate:
        ls, rs = int(anchors[0]), int(anchors[1])
        line = out[:, ls] - out[:, rs]  # right → left shoulder, +x when facing camera
        angle = np.arctan2(line[:, 1], line[:, 0])
        angle = np.where(np.isfinite(angle), angle, 0.0)
        cos, sin = np.cos(-angle)[:, None], np.sin(-angle)[:, None]
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0] = cos * x - sin * y
        out[..., 1] = sin * x + cos * y
    return out


def _hand_frame(points: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hand's wrist (T, 3) and palm length (T,) per frame, NaN where missing.

    Args:
        points: (T, P, 3) the hand's aspect-corrected points.
        anchors: (4,) indices into `points` of the wrist and the middle, index and
            pinky finger bases (MCP).
    """
    w, middle, index, pinky = (int(i) for i in anchors)
    wrist = points[:, w]
    palm = _norm2d(points[:, middle] - wrist)
    fallback = (_norm2d(points[:, index] - wrist) + _norm2d(points[:, pinky] - wrist)) / 2.0
    size = np.where(np.isfinite(palm), palm, fallback)
    return wrist, np.where(size > 1e-6, size, np.nan)


def _points_frame(points: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A "points" part's origin (T, 3) and size (T,): without anchors the mean of its
    points (its centroid, NaN where one is missing) and size 1, its one anchor and size
    1, or its two anchors' midpoint and distance."""
    if len(anchors) == 0:
        return points.mean(axis=1), np.ones(len(points), dtype=points.dtype)
    if len(anchors) == 1:
        origin = points[:, int(anchors[0])]
        return origin, np.ones(len(points), dtype=points.dtype)
    a, b = (int(i) for i in anchors)
    size = _norm2d(points[:, a] - points[:, b])
    return _midpoint(points, a, b), np.where(size > 1e-6, size, np.nan)


def _part_frame(
    kind: str, part: np.ndarray, anchors: np.ndarray, spec: NormalizerSpec
) -> tuple[np.ndarray, np.ndarray]:
    """The root (T, 3) and size (T,) of one part, as its normalization uses them."""
    if kind == "body":
        return _body_frame(part, anchors, spec)
    if kind == "hand":
        return _hand_frame(part, anchors)
    return _points_frame(part, anchors)


def normalize_frames(
    landmarks: np.ndarray,
    visibility: np.ndarray,
    spec: NormalizerSpec,
    image_size: tuple[int, int] | None = None,
    *,
    path: bool = False,
) -> np.ndarray:
    """Normalize each frame on its own (no temporal step), part by part of the layout.

    Args:
        landmarks: (T, K, 3) normalized image coordinates, NaN where missing.
        visibility: (T, K) in [0, 1].
        spec: the normalizer settings; K must match `spec.layout`.
        image_size: (width, height) pixels of the source frames, or None (square).
        path: with `spec.path`, append each rooted part's three path points (its root,
            root + (size, 0, 0) and, frame by frame, the root again for its trailing
            mean, in aspect-corrected image units; see `poseact.normalize.path`) after
            the K points: (T, K + 3R, C).

    Returns:
        (T, K, C) float32 body-relative coordinates in body-size units, C =
        `spec.channels`; NaN where a point (or its part's reference) is missing.
    """
    points = np.array(landmarks, dtype=np.float32)
    if points.ndim != 3 or points.shape[1:] != (spec.num_points, 3):
        raise LandmarkFormatError(
            f"landmarks have shape {points.shape}, expected (T, {spec.num_points}, 3) for"
            f" layout {spec.layout!r}"
        )
    if image_size is not None:
        aspect = np.float32(image_size[0] / image_size[1])
        points[..., 0] *= aspect
        points[..., 2] *= aspect
    hidden = np.asarray(visibility, dtype=np.float32) < spec.min_visibility
    points[hidden] = np.nan
    K = spec.num_points
    rooted = path_parts(spec.layout) if path and spec.path else ()
    out = np.empty((len(points), K + 3 * len(rooted), 3), dtype=np.float32)
    out[:, :K] = points  # points of no part are kept as they are
    for number, (kind, indices, anchors) in enumerate(_parts(spec.layout)):
        part = points[:, indices]
        root, size = _part_frame(kind, part, anchors, spec)
        if kind != "points" or len(anchors):  # a part without anchors is kept as it is
            out[:, indices] = _place(kind, part, anchors, root, size, spec)
        if number in rooted:  # the path points: root, root + (size, 0, 0), root
            at = K + 3 * rooted.index(number)
            out[:, at] = out[:, at + 1] = out[:, at + 2] = root
            out[:, at + 1, 0] += size
    return np.ascontiguousarray(out[..., : spec.channels], dtype=np.float32)


def _parts(layout_name: str) -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    """(kind, point indices (P,), anchor indices within the part) for each part."""
    return _layout_parts(get_layout(layout_name))


@functools.cache
def _layout_parts(layout: Layout) -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    parts = []
    for part in layout.parts:
        indices = layout.indices(part.points)
        anchors = np.array([part.points.index(a) for a in part.anchors], dtype=np.int64)
        indices.setflags(write=False)
        anchors.setflags(write=False)
        parts.append((part.kind, indices, anchors))
    return tuple(parts)


# ---------------------------------------------------------------------- in time
def _fill_gaps(values: np.ndarray, times: np.ndarray, max_gap: float) -> np.ndarray:
    """Linearly interpolate NaN runs no longer than `max_gap` seconds, per column.

    Every missing value at once: each column's nearest valid frame before and after
    each frame comes from a running max / min of frame indices, so the cost does not
    grow with the number of distinct missing patterns.

    Args:
        values: (T, D) with NaN where missing.
        times: (T,) seconds, strictly increasing.
    """
    out = values.copy()
    missing = np.isnan(out)
    if not missing.any() or max_gap <= 0:
        return out
    T = out.shape[0]
    frame = np.arange(T)[:, None]
    # per column: the last valid frame at or before each frame (-1: none), the first at
    # or after it (T: none)
    before = np.maximum.accumulate(np.where(missing, -1, frame), axis=0)
    after = np.minimum.accumulate(np.where(missing, T, frame)[::-1], axis=0)[::-1]
    gap_t, gap_d = np.nonzero(missing)
    left, right = before[gap_t, gap_d], after[gap_t, gap_d]
    has_left, has_right = left >= 0, right < T
    tg = times[gap_t]
    t_left = np.where(has_left, times[np.maximum(left, 0)], -np.inf)
    t_right = np.where(has_right, times[np.minimum(right, T - 1)], np.inf)
    inside = has_left & has_right & (t_right - t_left <= max_gap + 1e-9)
    edge_left = ~has_left & has_right & (t_right - tg <= max_gap + 1e-9)
    edge_right = has_left & ~has_right & (tg - t_left <= max_gap + 1e-9)
    ok = inside | edge_left | edge_right
    if not ok.any():
        return out
    gap_t, gap_d, tg, inside, has_left = gap_t[ok], gap_d[ok], tg[ok], inside[ok], has_left[ok]
    li, ri = np.maximum(left[ok], 0), np.minimum(right[ok], T - 1)
    # np.interp's formula (in float64): the same values bit for bit; before the first /
    # after the last valid frame, that one
    y0, y1 = out[li, gap_d].astype(np.float64), out[ri, gap_d].astype(np.float64)
    x0, x1 = times[li], times[ri]
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (y1 - y0) / (x1 - x0)
        filled = slope * (tg - x0) + y0
        retry = np.isnan(filled)
        if retry.any():  # np.interp tries from the other end, then a flat segment
            filled = np.where(retry, slope * (tg - x1) + y1, filled)
            filled = np.where(np.isnan(filled) & (y0 == y1), y0, filled)
    out[gap_t, gap_d] = np.where(inside, filled, np.where(has_left, y0, y1))
    return out


#: Longest resampled clip, in model frames (9 h at 30 fps): more is a timestamp error.
MAX_RESAMPLED_FRAMES = 1_000_000
#: Most model frames per input frame on average: more means empty time, not a clip.
MAX_FRAMES_PER_INPUT_FRAME = 1000


def resampled_length(times: np.ndarray, fps: float) -> int:
    """n = floor(duration · fps) + 1: frames on the fps grid of clip timestamps (T,)."""
    if len(times) < 2:
        return len(times)
    return int(np.floor((float(times[-1]) - float(times[0])) * fps + 1e-6)) + 1


def check_resampled_length(times: np.ndarray, fps: float, source: str) -> int:
    """The grid length of `times` at `fps`, refusing gaps that would allocate empty time.

    Raises:
        LandmarkFormatError: naming `source` and the largest gap, when resampling would
            make more than `MAX_RESAMPLED_FRAMES` frames or more than
            `MAX_FRAMES_PER_INPUT_FRAME` per input frame (timestamps [0, 1e7] would
            otherwise allocate gigabytes).
    """
    n = resampled_length(times, fps)
    if n <= MAX_RESAMPLED_FRAMES and n <= MAX_FRAMES_PER_INPUT_FRAME * max(len(times), 1):
        return n
    gaps = np.diff(times)
    i = int(np.argmax(gaps))
    raise LandmarkFormatError(
        f"{source}: its timestamps span {times[-1] - times[0]:g} s over {len(times)} frames,"
        f" with a gap of {gaps[i]:g} s between frames {i} and {i + 1}; resampling to"
        f" {fps:g} fps would make {n} frames. Check the timestamps (seconds, not"
        " milliseconds) or cut the clip at the gap"
    )


def _resample(values: np.ndarray, times: np.ndarray, fps: float) -> np.ndarray:
    """Linear resampling of (T, D) onto t0 + k / fps; NaN where a neighbour is NaN."""
    if len(times) == 1:
        return values.copy()
    n = resampled_length(times, fps)
    grid = times[0] + np.arange(n) / fps
    right = np.clip(np.searchsorted(times, grid, side="right"), 1, len(times) - 1)
    left = right - 1
    span = times[right] - times[left]
    weight = np.clip((grid - times[left]) / span, 0.0, 1.0)[:, None]
    return (values[left] * (1.0 - weight) + values[right] * weight).astype(np.float32)


class GridCache:
    """Memo of `Normalizer.resampled`: each clip's grid computed once per spec.

    Hand one to several trainings on the same clips (`GestureClassifier.fit(...,
    cache=)`, as `poseact compare` does): the grids are computed once and handed out
    read-only. Entries are keyed by the spec and the sequence object (sequences are
    immutable), and hold the sequence, so a key is never reused for another clip.
    """

    def __init__(self) -> None:
        self._grids: dict[tuple[str, int], tuple[LandmarkSequence, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self._grids)

    def get(self, spec: NormalizerSpec, sequence: LandmarkSequence, compute) -> np.ndarray:
        """The cached grid of `sequence` under `spec`, or `compute()` stored read-only."""
        key = (spec.to_json(), id(sequence))
        hit = self._grids.get(key)
        if hit is None or hit[0] is not sequence:
            grid = compute()
            grid.setflags(write=False)
            hit = self._grids[key] = (sequence, grid)
        return hit[1]


class Normalizer:
    """Turns `LandmarkSequence`s into fixed-size model inputs, as `spec` says.

    Args:
        spec: the settings; default `NormalizerSpec()`. Timings left as None (fps,
            window, sampling) take `FALLBACK_TIMING` here; `fit` chooses them from data.
        cache: a `GridCache` shared with other normalizers, or None.
    """

    def __init__(
        self, spec: NormalizerSpec | None = None, *, cache: GridCache | None = None
    ) -> None:
        self.spec = (spec or NormalizerSpec()).resolved()
        self.cache = cache

    def __repr__(self) -> str:
        return f"Normalizer({self.spec!r})"

    def _check(self, sequence: LandmarkSequence) -> None:
        if not isinstance(sequence, LandmarkSequence):
            raise LandmarkFormatError(f"expected a LandmarkSequence, got {type(sequence).__name__}")
        check_same_layout(sequence.source, sequence.layout, self.spec.layout, "normalizer")

    def resampled(self, sequence: LandmarkSequence) -> np.ndarray:
        """Normalized positions on the fps grid: (n, K, C) float32, NaN where missing.

        n = floor(duration · fps) + 1 frames, the first at the clip's first timestamp.
        With a `cache`, the array is shared and read-only.
        """
        self._check(sequence)
        if self.cache is not None:
            return self.cache.get(self.spec, sequence, lambda: self._resampled(sequence))
        return self._resampled(sequence)

    def _resampled(self, sequence: LandmarkSequence) -> np.ndarray:
        spec = self.spec
        check_resampled_length(sequence.timestamps, spec.fps, sequence.source or "a sequence")
        frames = normalize_frames(
            sequence.landmarks, sequence.visibility, spec, sequence.image_size, path=True
        )
        T, K, C = frames.shape
        if not np.isfinite(frames).any():
            logger.warning(
                "%s has no usable landmarks in any of its %d frames (nothing detected, or"
                " below min_visibility=%s); its features are all zero",
                sequence.source or "a sequence",
                T,
                spec.min_visibility,
            )
        flat = _fill_gaps(frames.reshape(T, K * C), sequence.timestamps, spec.max_gap)
        grid = _resample(flat, sequence.timestamps, spec.fps).reshape(-1, K, C)
        if spec.path:
            trail_roots(grid, spec)
        return grid

    def window(self, positions: np.ndarray, *, start: int | None = None) -> np.ndarray:
        """Cut (n, K, C) grid positions to (W, K, C) as `spec.sampling` says.

        Args:
            positions: output of `resampled`.
            start: first frame of a crop, overriding the centre/end rule (used by
                training to crop at random); ignored for "segments".
        """
        W = self.spec.window
        n = positions.shape[0]
        if self.spec.sampling == "segments":
            index = np.floor((np.arange(W) + 0.5) * n / W).astype(np.int64)
            return positions[np.clip(index, 0, n - 1)]
        if n < W:
            pad = np.repeat(positions[:1], W - n, axis=0)
            return np.concatenate([pad, positions], axis=0)
        if start is None:
            start = (n - W) // 2 if self.spec.sampling == "center" else n - W
        start = int(np.clip(start, 0, n - W))
        return positions[start : start + W]

    def positions(self, sequence: LandmarkSequence) -> np.ndarray:
        """(W, K, C) float32 window of normalized positions, NaN where missing."""
        return self.window(self.resampled(sequence))

    def features(self, positions: np.ndarray) -> np.ndarray:
        """Model features from positions.

        Args:
            positions: (..., W, K, C) as from `positions`, NaN where missing.

        Returns:
            (..., W, F) float32 with F = `spec.frame_features`: positions, then the
            selected streams (velocities, accelerations, bones, angles; see
            `poseact.normalize.features`), standardized when the spec holds a mean and
            std. Missing values are 0.
        """
        return window_features(positions, self.spec)

    def raw_features(self, positions: np.ndarray) -> np.ndarray:
        """Like `features`, unstandardized and NaN where missing (to learn the mean/std)."""
        return window_features(positions, self.spec, raw=True)

    def transform(self, sequence: LandmarkSequence) -> np.ndarray:
        """One sequence → (W, F) float32 model input."""
        return self.features(self.positions(sequence))

    def transform_many(self, sequences) -> np.ndarray:
        """Sequences → (N, W, F) float32 model inputs."""
        W, F = self.spec.window, self.spec.frame_features
        out = np.empty((len(sequences), W, F), dtype=np.float32)
        for i, seq in enumerate(sequences):
            out[i] = self.transform(seq)
        return out
