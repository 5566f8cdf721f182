"""On-the-fly augmentation of normalized positions during training.

Augmentations act on normalized grid positions, (n, K, C) NaN where missing, before
`Normalizer.features` adds velocities, so every variant stays a plausible body seen by
the same normalizer. All randomness comes from the `numpy.random.Generator` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from poseact.core.layouts import get_layout
from poseact.normalize.path import path_mirror

__all__ = [
    "DEFAULT_TRANSITIONS",
    "AugmentOptions",
    "augment_positions",
    "augment_windows",
    "mirror_positions",
    "random_speed",
    "time_warp",
]

#: `AugmentOptions.transitions` of a network answered by re-running its window.
DEFAULT_TRANSITIONS = 0.5


@dataclass(frozen=True, kw_only=True)
class AugmentOptions:
    """Which augmentations to apply, and how strongly.

    Attributes:
        mirror: probability of a horizontal mirror (x → -x, left/right points swapped).
        rotation_degrees: maximum in-plane rotation, degrees (uniform ±).
        scale: maximum relative per-axis scale change (uniform 1 ± scale).
        speed: maximum relative speed change by time warping (uniform 1 ± speed).
        jitter: standard deviation of Gaussian noise, in body-size units.
        point_dropout: probability that a point is missing in a frame.
        random_crop: take windows at random offsets of a longer clip.
        partial: probability that a window is end-aligned and partial: only the
            first k frames of the gesture (k uniform in [W/2, W)), after its first
            frame held still, as the live recognizer sees a gesture that has just
            begun (docs/streaming.md); 0 keeps whole windows.
        transitions: probability that a gesture's window is cut where it meets the
            background, as the live recognizer's window slides onto or off a
            gesture: frames of a background clip, then the gesture's first k frames
            (or its last k frames, then background), joined by a short crossfade
            and then augmented as one window (one body, one camera), k uniform in
            [1, min(n, W - 1)] for a clip of n frames. The window is the
            gesture when it holds `onset` seconds of it or half of it, whichever is
            less, and the background otherwise. Only with a background class; 0
            turns it off.
            None (the default): `DEFAULT_TRANSITIONS` for networks the live
            recognizer answers by re-running their window (stats_pool, the MLP
            baselines, the transformer), 0 for those with a stream model (GRU,
            LSTM, TCN), whose lanes answer from W/2..W frames, not the W-frame
            windows the transitions are cut for (measured worse, docs/streaming.md).
        onset: seconds of a gesture a transition window must hold to be that
            gesture, at most: k >= min(onset · fps, n / 2, W / 2) frames. A window
            longer than 2 · onset (chosen for long activities) thus answers about
            `onset` after a gesture begins, not half a window after; the live
            recognizer places events by the same rule (`Decider`, `answer_times`).
            None: half of the gesture or of the window (k >= min(n, W) / 2), the
            rule of models trained before 2026-12-06.
        shear: maximum shear of the x-y plane (uniform ±, each axis).
        shift: maximum translation of the whole clip in x and y, body-size units.
        time_mask: maximum share of a window's frames hidden as one random span
            (missing, as when the tracker loses the body).
    """

    mirror: float = 0.0
    rotation_degrees: float = 10.0
    scale: float = 0.1
    speed: float = 0.2
    jitter: float = 0.01
    point_dropout: float = 0.03
    random_crop: bool = True
    partial: float = 0.0
    transitions: float | None = None
    onset: float | None = 0.5
    shear: float = 0.0
    shift: float = 0.0
    time_mask: float = 0.0

    def __post_init__(self) -> None:
        for name in ("mirror", "point_dropout", "partial", "transitions"):
            value = getattr(self, name)  # None: decided per network (transitions)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"AugmentOptions.{name} must be a probability in [0, 1]")
        for name in ("rotation_degrees", "scale", "jitter", "shear", "shift"):
            if getattr(self, name) < 0:
                raise ValueError(f"AugmentOptions.{name} must be >= 0")
        if self.onset is not None and not self.onset > 0:
            raise ValueError("AugmentOptions.onset must be > 0 seconds (or None)")
        if not 0.0 <= self.speed < 1.0:
            raise ValueError("AugmentOptions.speed must be in [0, 1)")
        if not 0.0 <= self.time_mask < 1.0:
            raise ValueError("AugmentOptions.time_mask must be in [0, 1)")

    @classmethod
    def none(cls) -> AugmentOptions:
        """No augmentation at all."""
        return cls(
            mirror=0.0,
            rotation_degrees=0.0,
            scale=0.0,
            speed=0.0,
            jitter=0.0,
            point_dropout=0.0,
            random_crop=False,
        )


def mirror_positions(positions: np.ndarray, layout: str) -> np.ndarray:
    """Mirror horizontally: negate x and swap left/right points.

    Args:
        positions: (..., K, C) normalized positions, or (..., K + 2R, C) with the path
            points (`poseact.normalize.path`; a left hand's root becomes the right's).
        layout: the layout name, which defines the left/right pairs.
    """
    perm = get_layout(layout).mirror_permutation
    if positions.shape[-2] > len(perm):
        perm = np.concatenate([perm, len(perm) + path_mirror(layout)])
    out = positions[..., perm, :].copy()
    out[..., 0] = -out[..., 0]
    return out


def time_warp(positions: np.ndarray, factor: float) -> np.ndarray:
    """Play (n, K, C) positions `factor` times faster (> 1) or slower (< 1).

    Linear interpolation on the grid; NaN stays NaN next to missing frames.
    """
    n = positions.shape[0]
    m = max(1, int(round((n - 1) / factor)) + 1)
    src = np.minimum(np.arange(m) * factor, n - 1)
    left = np.floor(src).astype(np.int64)
    right = np.minimum(left + 1, n - 1)
    w = (src - left)[:, None, None].astype(np.float32)
    return positions[left] * (1 - w) + positions[right] * w


def augment_positions(
    positions: np.ndarray, layout: str, options: AugmentOptions, rng: np.random.Generator
) -> np.ndarray:
    """One random variant of a clip's grid positions (n, K, C) → (n', K, C).

    Time warping changes the number of frames n'; crop to a window afterwards. The
    other augmentations are `augment_windows`'s.
    """
    return augment_windows(random_speed(positions, options, rng)[None], layout, options, rng)[0]


def random_speed(
    positions: np.ndarray, options: AugmentOptions, rng: np.random.Generator
) -> np.ndarray:
    """(n, K, C) positions played at a random speed in 1 ± `options.speed` (`time_warp`:
    (n', K, C)); as they are when `options.speed` is 0."""
    if options.speed <= 0:
        return positions
    return time_warp(positions, float(rng.uniform(1 - options.speed, 1 + options.speed)))


def augment_windows(
    windows: np.ndarray, layout: str, options: AugmentOptions, rng: np.random.Generator
) -> np.ndarray:
    """Random variants of B windows (B, W, K, C) at once, each with its own draws: mirror,
    rotation, scale, shear, shift, jitter, point dropout and time mask, in that order.
    Path points after the K layout points (B, W, K + 2R, C) take every one but jitter
    (body-size noise on image-unit roots would drown the path's motion).

    `options.speed` is not applied here: time warping changes a clip's frame count, so it
    comes first, clip by clip (`time_warp`), before the crop. Training augments its
    batches so (one numpy pass per batch rather than a dozen per clip).
    """
    out = np.array(windows, dtype=np.float32)  # a copy
    B, W = out.shape[:2]
    channels = out.shape[-1]
    if options.mirror > 0:
        flip = rng.random(B) < options.mirror
        if flip.any():
            out[flip] = mirror_positions(out[flip], layout)
    if options.rotation_degrees > 0:
        limit = options.rotation_degrees
        angle = np.deg2rad(rng.uniform(-limit, limit, size=B)).astype(np.float32)
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0] = cos * x - sin * y
        out[..., 1] = sin * x + cos * y
    if options.scale > 0:
        factors = rng.uniform(1 - options.scale, 1 + options.scale, size=(B, 1, 1, channels))
        out *= factors.astype(np.float32)
    if options.shear > 0:
        shear = rng.uniform(-options.shear, options.shear, size=(B, 2)).astype(np.float32)
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0] = x + shear[:, 0, None, None] * y
        out[..., 1] = y + shear[:, 1, None, None] * x
    if options.shift > 0:
        offset = rng.uniform(-options.shift, options.shift, size=(B, 1, 1, 2))
        out[..., :2] += offset.astype(np.float32)
    if options.jitter > 0:
        K = get_layout(layout).num_points
        noise = rng.standard_normal(out[..., :K, :].shape, dtype=np.float32)
        out[..., :K, :] += np.float32(options.jitter) * noise
    if options.point_dropout > 0:
        out[rng.random(out.shape[:-1], dtype=np.float32) < options.point_dropout] = np.nan
    if options.time_mask > 0 and W > 2:
        span = rng.integers(0, int(options.time_mask * W) + 1, size=B)
        first = rng.integers(0, W - span + 1)
        frame = np.arange(W)
        out[(frame >= first[:, None]) & (frame < (first + span)[:, None])] = np.nan
    return out
