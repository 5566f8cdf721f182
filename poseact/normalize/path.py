"""The path stream: where each part goes, beside its local shape.

Each part is normalized on its own root and size (a hand on its wrist and palm length,
a body on its centre and torso), which keeps its shape and throws away its path: where
the hand moves through the image, which is the whole of a swipe or an air-drawn circle.
With `NormalizerSpec.path`, the normalizer also keeps, per grid frame:

- for each part (`path_parts`), the velocity of its root in its own size units, x and
  y (the root and size its normalization uses: a body's centre and torso, a hand's
  wrist and palm, a "points" part's anchor or anchors' midpoint and distance, or
  without anchors the mean of its points in image units):
  (root(t) - root(t - 1)) / size(t), 0 at a window's first frame;
- for each rooted part, where its root is relative to where it has been lately, x and
  y: (root(t) - mean(t)) / size(t), with mean(t) the root's exponential trailing mean
  on the grid, mean(t) = mean(t - 1) + a · (root(t) - mean(t - 1)), a = 1 - exp(-2 / W)
  (a time constant of half a window), starting at the first frame (the stream's or
  the clip's, not the window's), holding while the root is missing: the shape of the
  path over about a window, not only its direction (`trail_roots`);
- where the layout has a body and hands, each hand's root relative to the body centre
  in body-size units: (wrist(t) - centre(t)) / torso(t), x and y.

All are causal per-frame quantities: the streaming featurizer computes each row from
the current grid frame, the previous one and the trailing mean so far, and the offline
normalizer computes the trailing mean along the whole clip's grid before any window is
cut, so a live window equals the offline window of the same stream (no per-window
reference such as "the window's first frame" is involved). They do not
depend on where the person stands or how far from the camera (differences of roots,
divided by the part's size), but keep the image's up, down, left and right.

To carry roots and sizes through gap filling, resampling, cropping and augmentation,
the normalizer appends three *path points* per rooted part to the K points of a grid
frame (`normalize_frames(..., path=True)`): the root, the root moved by the part's
size along x, and the root's trailing mean, in aspect-corrected image units. `path_features` turns them into
the stream above; the positions, velocities, bones and angles streams use the first K
points only. Plain numpy: the runtime and the JS port follow it.
"""

from __future__ import annotations

import functools

import numpy as np

from poseact.core.layouts import Layout, get_layout

__all__ = [
    "path_parts",
    "path_relative",
    "path_point_count",
    "path_mirror",
    "path_size",
    "path_features",
    "trail_roots",
    "trail_rate",
    "retrail",
    "trail_lag",
    "carry_trail",
    "moved_to",
]


def _per_layout(compute):
    """`compute(layout)` memoized by layout name, for the name's current definition (a
    layout's hash reads all its names: too slow once per live frame)."""
    memo: dict[str, tuple[Layout, object]] = {}

    @functools.wraps(compute)
    def lookup(name: str):
        layout = get_layout(name)
        hit = memo.get(name)
        if hit is None or hit[0] is not layout:
            hit = memo[name] = (layout, compute(layout))
        return hit[1]

    return lookup


@_per_layout
def path_parts(layout: Layout) -> tuple[int, ...]:
    """Indices into `Layout.parts` of the parts with a root (R of them), in order, for
    a layout name: every part (a "points" part without anchors is rooted at the mean
    of its points)."""
    return tuple(range(len(layout.parts)))


@_per_layout
def path_relative(layout: Layout) -> tuple[tuple[int, int], ...]:
    """(hand, body) pairs of root numbers (0..R-1) for a layout name: the hands placed
    relative to the body (empty for a layout without a body part)."""
    kinds = [layout.parts[i].kind for i in path_parts(layout.name)]
    if "body" not in kinds:
        return ()
    body = kinds.index("body")
    return tuple((j, body) for j, kind in enumerate(kinds) if kind == "hand")


def path_point_count(layout: str) -> int:
    """Path points appended to a grid frame: 3 per rooted part (root, root + size along
    x, trailing mean)."""
    return 3 * len(path_parts(layout))


@_per_layout
def path_size(layout: Layout) -> int:
    """Features per frame of the path stream for a layout name: 2 per root velocity,
    2 per root relative to its trailing mean, 2 per hand relative to the body."""
    return 4 * len(path_parts(layout.name)) + 2 * len(path_relative(layout.name))


def trail_rate(window: int) -> np.float32:
    """a = 1 - exp(-2 / W): the trailing mean's step, a time constant of half a window."""
    return np.float32(1.0 - np.exp(-2.0 / float(window)))


def trail_step(mean: np.ndarray | None, root: np.ndarray, rate: np.float32) -> np.ndarray:
    """One grid frame of the trailing mean: (..., C) float32 mean so far (None at the
    first frame) and this frame's root → the new mean (the root where there was none,
    held where the root is missing)."""
    root = np.asarray(root, dtype=np.float32)
    if mean is None:
        return root.copy()
    moved = mean + rate * (root - mean)
    gaps = np.isnan(moved)
    if gaps.any():  # no mean yet: the root; no root: the mean holds
        moved[gaps] = np.where(np.isnan(mean), root, mean)[gaps]
    return moved


def trail_roots(grid: np.ndarray, spec) -> None:
    """Write the roots' trailing means into the grid's path points, in place.

    Args:
        grid: (n, K + 3R, C) positions on the grid, frame by frame (the trailing-mean
            points holding each frame's root, as `normalize_frames` leaves them).
        spec: the `NormalizerSpec` (its layout and window).
    """
    K, R = spec.num_points, len(path_parts(spec.layout))
    if not R or not len(grid):
        return
    roots = grid[:, K : K + 3 * R : 3]
    rate = trail_rate(spec.window)
    mean = None
    for t in range(len(grid)):
        mean = trail_step(mean, roots[t], rate)
        grid[t, K + 2 : K + 3 * R : 3] = shown_trail(mean, roots[t])


def retrail(frames: np.ndarray, spec, start: int = 1) -> np.ndarray:
    """Frames whose trailing means run on from frame `start - 1`'s, as one stream's would.

    A window joined from two clips (a training transition: background motion, then a
    gesture) holds each clip's own trailing means, each begun at its clip's first frame;
    a live stream's mean instead carries the motion before the gesture into it. This runs
    the mean on across the seam from the first frame's mean.

    Args:
        frames: (n, K + 3R, C) grid frames with path points (`Normalizer.resampled`).
        spec: the `NormalizerSpec` (its layout and window).
        start: the first frame whose mean is recomputed (the frames before keep theirs).

    Returns:
        A copy of `frames` with the trailing-mean points from `start` on recomputed.
    """
    out = np.array(frames, dtype=np.float32)
    K, R = spec.num_points, len(path_parts(spec.layout))
    if not R or len(out) <= start or out.shape[1] < K + 3 * R:
        return out
    roots = out[:, K : K + 3 * R : 3]
    rate = trail_rate(spec.window)
    mean = out[start - 1, K + 2 : K + 3 * R : 3].copy()
    mean = np.where(np.isnan(mean), roots[start - 1], mean)  # hidden: the mean is unseen
    for t in range(start, len(out)):
        mean = trail_step(mean, roots[t], rate)
        out[t, K + 2 : K + 3 * R : 3] = shown_trail(mean, roots[t])
    return out


def trail_lag(frame: np.ndarray, spec) -> np.ndarray:
    """(R, C) where each part's trailing mean lags behind its root in one grid frame
    (K + 3R, C), in the part's size units (mean - root) / size; NaN where missing."""
    K, R = spec.num_points, len(path_parts(spec.layout))
    f = np.asarray(frame, dtype=np.float32)
    root, size = _root_and_size(f, K, R)
    size[size <= 1e-6] = np.nan
    return (f[K + 2 : K + 3 * R : 3] - root) / size


def _root_and_size(frame: np.ndarray, K: int, R: int) -> tuple[np.ndarray, np.ndarray]:
    """(R, C) each rooted part's root and (R, 1) its size, from one grid frame's path
    points (the root and the root moved by the size along x)."""
    root = frame[K : K + 3 * R : 3]
    d = frame[K + 1 : K + 3 * R : 3, :2] - root[:, :2]
    return root, np.sqrt(np.sum(d * d, axis=1, keepdims=True))


def carry_trail(frames: np.ndarray, lag: np.ndarray, spec) -> np.ndarray:
    """Frames whose trailing means start `lag` away from where they were, as when the
    part came from elsewhere before the frames began (a live stream's window sliding onto
    a gesture after motion): the mean is linear in its start, so the shift decays by
    (1 - a) per frame.

    Args:
        frames: (n, K + 3R, C) grid frames with path points.
        lag: (R, C) the extra lag at the first frame, in each part's size units (as
            `trail_lag`); NaN: none.
        spec: the `NormalizerSpec`.

    Returns:
        A copy of `frames` with the trailing-mean points shifted.
    """
    out = np.array(frames, dtype=np.float32)
    K, R = spec.num_points, len(path_parts(spec.layout))
    if not R or not len(out):
        return out
    _, size = _root_and_size(out[0], K, R)
    shift = np.nan_to_num(np.asarray(lag, dtype=np.float32) * size)  # image units
    decay = (1 - trail_rate(spec.window)) ** np.arange(len(out), dtype=np.float32)
    out[:, K + 2 : K + 3 * R : 3] += decay[:, None, None] * shift[None]
    return out


def moved_to(
    frames: np.ndarray,
    row: int,
    target: np.ndarray,
    spec,
    *,
    kinds: tuple[str, ...] | None = None,
) -> np.ndarray:
    """A copy of grid frames moved so that each part is, at frame `row`, where it is in
    `target`, as one person's stream goes on from one clip to the next: what is in image
    units (the path points, and the points of a part without anchors, kept as they are)
    shifts by the step between the part's roots; what is in a part's own frame is left
    as it is. A part missing from either frame stays where it is.

    Args:
        frames: (n, K + 3R, C) grid frames (K points without the path, `spec.path` off).
        row: the frame of `frames` that is put on `target` (negative: from the end).
        target: (K + 3R, C) the grid frame it goes on from, or goes on to.
        spec: the `NormalizerSpec` (its layout, points and path).
        kinds: move only the parts of these kinds ("body", "hand", "points"; None:
            every part).
    """
    layout = get_layout(spec.layout)
    K = spec.num_points
    out = np.array(frames, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    for j, part in enumerate(layout.parts):
        indices = layout.indices(part.points)
        raw = part.kind == "points" and not part.anchors
        if kinds is not None and part.kind not in kinds:
            continue
        if spec.path:  # 3 path points per part after K: root, root + size, trailing mean
            at = K + 3 * j
            step = target[at, :2] - out[row, at, :2]
        elif raw:
            step = np.nanmean(target[indices, :2], axis=0) - np.nanmean(
                out[row, indices, :2], axis=0
            )
        else:
            continue
        if not np.isfinite(step).all():
            continue
        if spec.path:
            out[:, at : at + 3, :2] += step
        if raw:
            out[:, indices, :2] += step
    return out


def shown_trail(mean: np.ndarray, root: np.ndarray) -> np.ndarray:
    """The trailing mean as a grid frame holds it: NaN where the root is missing (the
    mean itself holds, unseen, until the root is back)."""
    return mean + root * np.float32(0.0)  # NaN where the root is; else the mean exactly


@_per_layout
def path_mirror(layout: Layout) -> np.ndarray:
    """(3R,) the path points' left/right counterparts for a layout name (a left hand's
    root ↔ the right's)."""
    perm = layout.mirror_permutation
    rooted = path_parts(layout.name)
    first = [int(layout.index(layout.parts[i].points[0])) for i in rooted]
    out = []
    for j in range(len(rooted)):
        twin = int(perm[first[j]])
        k = first.index(twin) if twin in first else j
        out += [3 * k, 3 * k + 1, 3 * k + 2]
    result = np.array(out, dtype=np.int64)
    result.setflags(write=False)
    return result


def path_features(points: np.ndarray, previous: np.ndarray | None, layout: str) -> np.ndarray:
    """The path stream from path points.

    Args:
        points: (..., 3R, C) path points of each frame (C = 2 or 3; z is not used), NaN
            where missing.
        previous: the same of each frame's previous grid frame, or None: the frames
            themselves (velocity 0, NaN where missing), as at a window's first frame.
        layout: the layout name.

    Returns:
        (..., `path_size`) float32: each root's velocity (x, y) in its part's size
        units per grid frame, then each root relative to its trailing mean (x, y) in
        the same units, then each hand's root relative to the body centre (x, y) in
        body-size units; NaN where missing.
    """
    p = np.asarray(points, dtype=np.float32)[..., :2]
    root = p[..., 0::3, :]
    d = p[..., 1::3, :] - root
    size = np.sqrt(d[..., :1] * d[..., :1] + d[..., 1:] * d[..., 1:])
    size[size <= 1e-6] = np.nan
    before = root if previous is None else np.asarray(previous, dtype=np.float32)[..., 0::3, :2]
    moves = np.concatenate([root - before, root - p[..., 2::3, :]], axis=-2)
    parts = [moves / np.concatenate([size, size], axis=-2)]
    pairs = path_relative(layout)
    if pairs:
        hands = [h for h, _ in pairs]
        body = pairs[0][1]
        parts.append(
            (root[..., hands, :] - root[..., body : body + 1, :]) / size[..., body : body + 1, :]
        )
    out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-2)
    return out.reshape(*out.shape[:-2], -1)


def window_path(points: np.ndarray, layout: str) -> np.ndarray:
    """(..., W, 3R, C) path points of a window → (..., W, `path_size`) path stream."""
    p = np.asarray(points, dtype=np.float32)
    previous = np.concatenate([p[..., :1, :, :], p[..., :-1, :, :]], axis=-3)
    return path_features(p, previous, layout)
