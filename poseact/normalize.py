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
   (frame differences on the grid) beside them; missing values become 0.

`StreamingFeaturizer` does steps 1, 2 and 4 one frame at a time for live use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from poseact.errors import LandmarkFormatError
from poseact.sequence import LandmarkSequence, get_layout

__all__ = ["NormalizerSpec", "Normalizer", "normalize_frames", "StreamingFeaturizer"]

logger = logging.getLogger(__name__)

_SPEC_VERSION = 1
_SAMPLINGS = ("center", "end", "segments")
_CENTERS = ("hips", "shoulders")
_SCALES = ("torso", "shoulders")
# Torso length (mid-shoulder to mid-hip) is about this many shoulder widths.
_TORSO_PER_SHOULDER_WIDTH = 1.4


@dataclass(frozen=True, kw_only=True)
class NormalizerSpec:
    """Settings of the normalizer; stored in every trained and exported model.

    Attributes:
        layout: landmark layout, "pose", "hands" or "pose+hands".
        fps: frame rate of the resampled grid, frames per second.
        window: frames per model input window (window / fps seconds).
        sampling: how a longer clip becomes one window: "center" crop, "end" crop
            (the last frames, as a live stream sees them) or "segments" (TSN: one frame
            from each of `window` equal segments of the whole clip).
        center: body centre for pose points, "hips" or "shoulders".
        scale: body size for pose points, "torso" (mid-shoulder to mid-hip) or
            "shoulders" (shoulder width); each falls back to the other when missing.
        rotate: rotate each frame so the shoulder line is horizontal.
        use_z: keep MediaPipe's depth estimate (3 channels) or drop it (2).
        min_visibility: points seen with lower visibility count as missing.
        max_gap: longest run of missing frames, in seconds, filled by interpolation
            (offline) or by holding the last value (streaming); longer gaps become 0.
        velocity: add frame-to-frame differences beside positions.
    """

    layout: str = "pose"
    fps: float = 30.0
    window: int = 30
    sampling: str = "center"
    center: str = "hips"
    scale: str = "torso"
    rotate: bool = False
    use_z: bool = True
    min_visibility: float = 0.3
    max_gap: float = 0.25
    velocity: bool = True

    def __post_init__(self) -> None:
        get_layout(self.layout)
        if not (self.fps > 0 and np.isfinite(self.fps)):
            raise ValueError(f"NormalizerSpec.fps must be > 0, got {self.fps}")
        if int(self.window) != self.window or self.window < 1:
            raise ValueError(f"NormalizerSpec.window must be a positive int, got {self.window}")
        if self.sampling not in _SAMPLINGS:
            raise ValueError(f"NormalizerSpec.sampling must be one of {_SAMPLINGS}")
        if self.center not in _CENTERS:
            raise ValueError(f"NormalizerSpec.center must be one of {_CENTERS}")
        if self.scale not in _SCALES:
            raise ValueError(f"NormalizerSpec.scale must be one of {_SCALES}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError("NormalizerSpec.min_visibility must be in [0, 1]")
        if self.max_gap < 0:
            raise ValueError("NormalizerSpec.max_gap must be >= 0 seconds")

    @property
    def num_points(self) -> int:
        return get_layout(self.layout).num_points

    @property
    def channels(self) -> int:
        """Coordinates kept per point: 3 with z, 2 without."""
        return 3 if self.use_z else 2

    @property
    def frame_features(self) -> int:
        """Features per frame F = K · C, doubled with velocity."""
        return self.num_points * self.channels * (2 if self.velocity else 1)

    def to_dict(self) -> dict[str, Any]:
        return {"version": _SPEC_VERSION, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormalizerSpec:
        """Rebuild a spec from `to_dict` output; unknown keys raise ValueError."""
        data = dict(data)
        version = data.pop("version", _SPEC_VERSION)
        if version != _SPEC_VERSION:
            raise ValueError(f"normalizer spec version {version} is not supported")
        return cls(**data)


# ---------------------------------------------------------------------- per frame
def _midpoint(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return (points[:, a] + points[:, b]) / 2.0


def _norm2d(v: np.ndarray) -> np.ndarray:
    return np.sqrt(v[..., 0] ** 2 + v[..., 1] ** 2)


def _normalize_pose(points: np.ndarray, spec: NormalizerSpec) -> np.ndarray:
    """(T, 33, 3) aspect-corrected pose → body-centred, scaled, (optionally) rotated."""
    ls, rs, lh, rh = 11, 12, 23, 24  # LEFT/RIGHT_SHOULDER, LEFT/RIGHT_HIP
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
    out = (points - centre[:, None, :]) / size[:, None, None]
    if spec.rotate:
        line = out[:, ls] - out[:, rs]  # right → left shoulder, +x when facing camera
        angle = np.arctan2(line[:, 1], line[:, 0])
        angle = np.where(np.isfinite(angle), angle, 0.0)
        cos, sin = np.cos(-angle)[:, None], np.sin(-angle)[:, None]
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0] = cos * x - sin * y
        out[..., 1] = sin * x + cos * y
    return out


def _normalize_hand(points: np.ndarray) -> np.ndarray:
    """(T, 21, 3) one hand → wrist-centred, divided by the palm length."""
    wrist = points[:, 0]
    palm = _norm2d(points[:, 9] - wrist)  # wrist → MIDDLE_FINGER_MCP
    fallback = (_norm2d(points[:, 5] - wrist) + _norm2d(points[:, 17] - wrist)) / 2.0
    size = np.where(np.isfinite(palm), palm, fallback)
    size = np.where(size > 1e-6, size, np.nan)
    return (points - wrist[:, None, :]) / size[:, None, None]


def normalize_frames(
    landmarks: np.ndarray,
    visibility: np.ndarray,
    spec: NormalizerSpec,
    image_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Normalize each frame on its own (no temporal step).

    Args:
        landmarks: (T, K, 3) normalized image coordinates, NaN where missing.
        visibility: (T, K) in [0, 1].
        spec: the normalizer settings; K must match `spec.layout`.
        image_size: (width, height) pixels of the source frames, or None (square).

    Returns:
        (T, K, C) float32 body-relative coordinates in body-size units, C =
        `spec.channels`; NaN where a point (or its frame's reference) is missing.
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
    out = np.empty_like(points)
    if spec.layout == "pose":
        out[:] = _normalize_pose(points, spec)
    elif spec.layout == "hands":
        out[:, :21] = _normalize_hand(points[:, :21])
        out[:, 21:] = _normalize_hand(points[:, 21:])
    else:  # pose+hands
        out[:, :33] = _normalize_pose(points[:, :33], spec)
        out[:, 33:54] = _normalize_hand(points[:, 33:54])
        out[:, 54:] = _normalize_hand(points[:, 54:])
    return np.ascontiguousarray(out[..., : spec.channels], dtype=np.float32)


# ---------------------------------------------------------------------- in time
def _fill_gaps(values: np.ndarray, times: np.ndarray, max_gap: float) -> np.ndarray:
    """Linearly interpolate NaN runs no longer than `max_gap` seconds, per column.

    Args:
        values: (T, D) with NaN where missing.
        times: (T,) seconds, strictly increasing.
    """
    out = values.copy()
    missing = np.isnan(out)
    if not missing.any() or max_gap <= 0:
        return out
    columns = np.flatnonzero(missing.any(axis=0))
    # Columns missing in the same frames (the channels of a point, every point of an
    # empty frame) share the neighbour search: it runs once per distinct pattern.
    groups: dict[bytes, list[int]] = {}
    for d, key in zip(columns, np.packbits(missing[:, columns], axis=0).T):
        groups.setdefault(key.tobytes(), []).append(d)
    for same in groups.values():
        cols = np.array(same)
        valid = ~missing[:, same[0]]
        if not valid.any():
            continue
        vt = times[valid]
        gaps = np.flatnonzero(missing[:, same[0]])
        tg = times[gaps]
        # nearest valid neighbours in time on each side
        right = np.searchsorted(vt, tg)
        left = right - 1
        has_left, has_right = left >= 0, right < len(vt)
        li, ri = np.clip(left, 0, len(vt) - 1), np.clip(right, 0, len(vt) - 1)
        t_left = np.where(has_left, vt[li], -np.inf)
        t_right = np.where(has_right, vt[ri], np.inf)
        inside = has_left & has_right & (t_right - t_left <= max_gap + 1e-9)
        edge_left = ~has_left & has_right & (t_right - tg <= max_gap + 1e-9)
        edge_right = has_left & ~has_right & (tg - t_left <= max_gap + 1e-9)
        ok = inside | edge_left | edge_right
        if not ok.any():
            continue
        # np.interp of every column at once, with its formula (in float64): the same
        # values bit for bit; before the first / after the last valid frame, that one.
        vv = out[np.ix_(valid, cols)].astype(np.float64)  # (V, D)
        li, ri, tg, inside = li[ok, None], ri[ok, None], tg[ok, None], inside[ok, None]
        y0, y1 = vv[li, np.arange(len(cols))], vv[ri, np.arange(len(cols))]
        x0, x1 = vt[li], vt[ri]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (y1 - y0) / (x1 - x0)
            filled = slope * (tg - x0) + y0
            retry = np.isnan(filled)
            if retry.any():  # np.interp tries from the other end, then a flat segment
                filled = np.where(retry, slope * (tg - x1) + y1, filled)
                filled = np.where(np.isnan(filled) & (y0 == y1), y0, filled)
        filled = np.where(inside, filled, np.where(has_left[ok, None], y0, y1))
        out[np.ix_(gaps[ok], cols)] = filled
    return out


def _resample(values: np.ndarray, times: np.ndarray, fps: float) -> np.ndarray:
    """Linear resampling of (T, D) onto t0 + k / fps; NaN where a neighbour is NaN."""
    if len(times) == 1:
        return values.copy()
    n = int(np.floor((times[-1] - times[0]) * fps + 1e-6)) + 1
    grid = times[0] + np.arange(n) / fps
    right = np.clip(np.searchsorted(times, grid, side="right"), 1, len(times) - 1)
    left = right - 1
    span = times[right] - times[left]
    weight = np.clip((grid - times[left]) / span, 0.0, 1.0)[:, None]
    return (values[left] * (1.0 - weight) + values[right] * weight).astype(np.float32)


class Normalizer:
    """Turns `LandmarkSequence`s into fixed-size model inputs, as `spec` says."""

    def __init__(self, spec: NormalizerSpec | None = None) -> None:
        self.spec = spec or NormalizerSpec()

    def __repr__(self) -> str:
        return f"Normalizer({self.spec!r})"

    def _check(self, sequence: LandmarkSequence) -> None:
        if not isinstance(sequence, LandmarkSequence):
            raise LandmarkFormatError(f"expected a LandmarkSequence, got {type(sequence).__name__}")
        if sequence.layout != self.spec.layout:
            raise LandmarkFormatError(
                f"{sequence.source or 'sequence'} has layout {sequence.layout!r}, but the"
                f" normalizer expects {self.spec.layout!r}"
            )

    def resampled(self, sequence: LandmarkSequence) -> np.ndarray:
        """Normalized positions on the fps grid: (n, K, C) float32, NaN where missing.

        n = floor(duration · fps) + 1 frames, the first at the clip's first timestamp.
        """
        self._check(sequence)
        spec = self.spec
        frames = normalize_frames(
            sequence.landmarks, sequence.visibility, spec, sequence.image_size
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
        return _resample(flat, sequence.timestamps, spec.fps).reshape(-1, K, C)

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
            (..., W, F) float32 with F = `spec.frame_features`: positions, then (with
            velocity) the difference to the previous frame (0 for the first frame and
            next to missing values). Missing values are 0.
        """
        p = np.asarray(positions, dtype=np.float32)
        flat = p.reshape(*p.shape[:-2], p.shape[-2] * p.shape[-1])
        if not self.spec.velocity:
            return np.nan_to_num(flat, nan=0.0)
        velocity = np.zeros_like(flat)
        velocity[..., 1:, :] = flat[..., 1:, :] - flat[..., :-1, :]
        return np.nan_to_num(np.concatenate([flat, velocity], axis=-1), nan=0.0)

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


class StreamingFeaturizer:
    """Live version of the normalizer: one camera frame in, zero or more grid rows out.

    Frames may arrive at any rate and may be dropped: each call resamples onto the
    `spec.fps` grid (anchored at the first frame) by linear interpolation between the
    previous and the current frame, so a 60 fps camera feeds a model trained at 30 fps
    exactly as a 30 fps one would. Missing points hold their last value for up to
    `spec.max_gap` seconds (interpolation would need future frames), then become 0.
    """

    def __init__(self, spec: NormalizerSpec) -> None:
        self.spec = spec
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next frame starts a new grid."""
        self._t_prev: float | None = None
        self._p_prev: np.ndarray | None = None  # (K*C,) last normalized frame, filled
        self._seen: np.ndarray | None = None  # (K*C,) time each value was last observed
        self._t0: float = 0.0  # grid anchor: grid time k is t0 + k / fps
        self._k: int = 0  # next grid index to emit
        self._row_prev: np.ndarray | None = None  # previous emitted grid positions

    def push(
        self,
        timestamp: float,
        landmarks: np.ndarray,
        visibility: np.ndarray,
        image_size: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """Feed one frame.

        Args:
            timestamp: seconds, increasing from call to call.
            landmarks: (K, 3) normalized image coordinates, NaN where missing.
            visibility: (K,) in [0, 1].
            image_size: (width, height) pixels of the frame.

        Returns:
            (n, F) float32 feature rows for the grid times reached by this frame
            (n is 0, 1 or more: 2 when the camera is at half the model's rate).
        """
        spec = self.spec
        frame = normalize_frames(landmarks[None], visibility[None], spec, image_size)[0]
        p = frame.reshape(-1).astype(np.float32)
        t = float(timestamp)
        if self._t_prev is not None and t <= self._t_prev:
            raise LandmarkFormatError(
                f"stream timestamps must increase: got {t:.6f}s after {self._t_prev:.6f}s"
            )
        observed = ~np.isnan(p)
        if self._p_prev is None:
            self._seen = np.where(observed, t, -np.inf)
            self._t_prev, self._p_prev, self._t0, self._k = t, p, t, 0
        else:
            held = (~observed) & (t - self._seen <= spec.max_gap + 1e-9)
            p = np.where(held, self._p_prev, p)
            self._seen = np.where(observed, t, self._seen)
        rows = []
        while (g := self._t0 + self._k / spec.fps) <= t + 1e-9:
            if g >= t - 1e-9 or self._t_prev == t:
                value = p
            else:
                w = np.float32((g - self._t_prev) / (t - self._t_prev))
                value = (self._p_prev * (np.float32(1.0) - w) + p * w).astype(np.float32)
            rows.append(self._row(value))
            self._k += 1
        self._t_prev, self._p_prev = t, p
        if not rows:
            return np.empty((0, spec.frame_features), dtype=np.float32)
        return np.stack(rows)

    def _row(self, positions: np.ndarray) -> np.ndarray:
        if not self.spec.velocity:
            row = np.nan_to_num(positions, nan=0.0)
        else:
            prev = self._row_prev if self._row_prev is not None else positions
            row = np.nan_to_num(np.concatenate([positions, positions - prev]), nan=0.0)
        self._row_prev = positions
        return row.astype(np.float32)
