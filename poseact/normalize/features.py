"""Feature streams computed from normalized positions, found by point name.

Per frame, in this order (each optional but positions; see `NormalizerSpec`):

- positions (K·C): the normalized points;
- velocities (K·C): difference to the previous grid frame;
- accelerations (K·C): difference of velocities (second difference in time);
- bones (E·C): for each skeleton edge (a, b) of the layout, point b minus point a (the
  "bone" stream of pyskl, child minus parent);
- path (2R + 2H): where the parts go (`poseact.normalize.path`): each rooted part's
  root velocity in its own size units and, with a body and hands, each hand's root
  relative to the body centre; computed from the path points that follow the K
  layout points in a frame (the other streams use the K points only);
- angles (A): joint angles in [0, 1] (radians / π), the angle between two bones:
  elbows, shoulders, hips, knees and wrists of a body, and for each hand the three
  joints of every finger plus the spread between neighbouring fingers. Angles are
  looked up by MediaPipe point name (a hand's points may carry a "LEFT_HAND." or
  "RIGHT_HAND." prefix); a layout without those names gets an angle at every point
  where exactly two of its edges meet.

With `NormalizerSpec.feature_mean`/`feature_std` (learned at `fit`), every feature is
standardized, (x - mean) / std, before missing values become 0 (so a missing value
reads as the training mean). Plain numpy: the runtime and the JS port follow it.
"""

from __future__ import annotations

import functools

import numpy as np

from poseact.core.layouts import Layout, get_layout
from poseact.normalize.path import path_features, path_size, window_path

__all__ = ["STREAMS", "joint_angles", "bone_edges", "angles", "bones", "stream_sizes"]

#: Every feature stream, in the order they appear in a frame's features.
STREAMS = ("positions", "velocities", "accelerations", "bones", "angles", "path")


def _body_angles() -> list[tuple[str, str, str, str]]:
    quads = []
    for s in ("LEFT", "RIGHT"):
        quads += [
            (f"{s}_SHOULDER", f"{s}_ELBOW", f"{s}_ELBOW", f"{s}_WRIST"),  # elbow
            (f"{s}_SHOULDER", f"{s}_ELBOW", f"{s}_SHOULDER", f"{s}_HIP"),  # shoulder
            (f"{s}_HIP", f"{s}_SHOULDER", f"{s}_HIP", f"{s}_KNEE"),  # hip
            (f"{s}_HIP", f"{s}_KNEE", f"{s}_KNEE", f"{s}_ANKLE"),  # knee
            (f"{s}_ELBOW", f"{s}_WRIST", f"{s}_WRIST", f"{s}_INDEX"),  # wrist
        ]
    return quads


_FINGERS = (("THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP"),) + tuple(
    (f"{f}_MCP", f"{f}_PIP", f"{f}_DIP", f"{f}_TIP")
    for f in ("INDEX_FINGER", "MIDDLE_FINGER", "RING_FINGER", "PINKY")
)


def _hand_angles() -> list[tuple[str, str, str, str]]:
    quads = []
    for chain in _FINGERS:  # the three joints of each finger: angles between its bones
        c = ("WRIST", *chain)
        quads += [(c[i], c[i + 1], c[i + 1], c[i + 2]) for i in range(3)]
    for a, b in zip(_FINGERS[1:], _FINGERS[2:]):  # spread of neighbouring fingers
        quads.append((a[0], a[3], b[0], b[3]))
    quads.append((_FINGERS[0][1], _FINGERS[0][3], _FINGERS[1][0], _FINGERS[1][3]))  # thumb
    return quads


def _generic_angles(layout: Layout) -> list[tuple[int, int, int, int]]:
    """At each point where exactly two edges meet: the angle between its two bones."""
    touching: dict[int, list[int]] = {}
    for a, b in layout.edge_indices:
        touching.setdefault(a, []).append(b)
        touching.setdefault(b, []).append(a)
    return [
        (ends[0], point, point, ends[1])
        for point, ends in sorted(touching.items())
        if len(ends) == 2
    ]


@functools.cache
def _joint_angles(layout: Layout) -> np.ndarray:
    named = [q for q in _body_angles() if all(layout.has(n) for n in q)]
    for prefix in ("", "LEFT_HAND.", "RIGHT_HAND."):
        for q in _hand_angles():
            full = tuple(prefix + n for n in q)
            if all(layout.has(n) for n in full):
                named.append(full)
    quads = [tuple(layout.index(n) for n in q) for q in named] or _generic_angles(layout)
    out = np.array(quads, dtype=np.int64).reshape(-1, 4)
    out.setflags(write=False)
    return out


def joint_angles(layout: str) -> np.ndarray:
    """(A, 4) int64 point indices (a, b, c, d): the angle between b - a and d - c."""
    return _joint_angles(get_layout(layout))


def bone_edges(layout: str) -> np.ndarray:
    """(E, 2) int64 point indices (parent, child) of the layout's skeleton edges."""
    return _bone_edges(get_layout(layout))


@functools.cache
def _bone_edges(layout: Layout) -> np.ndarray:
    out = np.array(layout.edge_indices, dtype=np.int64).reshape(-1, 2)
    out.setflags(write=False)
    return out


def angles(positions: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Angles between bone pairs.

    Args:
        positions: (..., K, C) normalized positions (C = 2 or 3), NaN where missing.
        quads: (A, 4) from `joint_angles`.

    Returns:
        (..., A) float32 angles in [0, 1] (radians / π); NaN where a point is missing
        or a bone has length 0.
    """
    p = np.asarray(positions, dtype=np.float32)
    u = p[..., quads[:, 1], :] - p[..., quads[:, 0], :]
    v = p[..., quads[:, 3], :] - p[..., quads[:, 2], :]
    dot = (u * v).sum(axis=-1)
    z = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]  # the cross product, by hand:
    if p.shape[-1] == 3:  # np.cross costs more than the rest on one frame
        x = u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1]
        y = u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2]
        cross = np.sqrt(x * x + y * y + z * z)
    else:
        cross = np.abs(z)
    out = (np.arctan2(cross, dot) / np.pi).astype(np.float32)
    degenerate = ((u * u).sum(axis=-1) < 1e-12) | ((v * v).sum(axis=-1) < 1e-12)
    return np.where(degenerate, np.float32(np.nan), out)


def bones(positions: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(..., K, C) positions → (..., E·C) float32 bone vectors, child minus parent."""
    p = np.asarray(positions, dtype=np.float32)
    b = p[..., edges[:, 1], :] - p[..., edges[:, 0], :]
    return b.reshape(*b.shape[:-2], b.shape[-2] * b.shape[-1])


def stream_sizes(
    layout: str,
    channels: int,
    *,
    velocity: bool,
    accelerations: bool = False,
    bones: bool = False,
    angles: bool = False,
    path: bool = False,
) -> dict[str, int]:
    """Features per frame of each selected stream, in `STREAMS` order (angles only for a
    layout with a joint, path only for one with a rooted part)."""
    kc = get_layout(layout).num_points * channels
    sizes = {"positions": kc}
    if velocity:
        sizes["velocities"] = kc
    if accelerations:
        sizes["accelerations"] = kc
    if bones:
        sizes["bones"] = len(bone_edges(layout)) * channels
    if angles and len(joint_angles(layout)):
        sizes["angles"] = len(joint_angles(layout))
    if path and path_size(layout):
        sizes["path"] = path_size(layout)
    return sizes


def standardize(features: np.ndarray, spec) -> np.ndarray:
    """(..., F) raw features (NaN where missing) → standardized as `spec` says, NaN → 0."""
    x = np.asarray(features, dtype=np.float32)
    if spec.feature_mean:
        mean = np.asarray(spec.feature_mean, dtype=np.float32)
        std = np.asarray(spec.feature_std, dtype=np.float32)
        return np.nan_to_num((x - mean) / std, nan=0.0, copy=False)  # a new array
    return np.nan_to_num(x, nan=0.0)


def window_features(positions: np.ndarray, spec, *, raw: bool = False) -> np.ndarray:
    """Every selected stream of a window, concatenated per frame.

    Args:
        positions: (..., W, K, C) normalized positions on the grid, NaN where missing;
            with `spec.path`, (..., W, K + 2R, C): the path points follow.
        spec: the `NormalizerSpec` (its streams and standardization).
        raw: return the unstandardized features with NaN where missing (as `fit`
            needs to learn the mean and std).

    Returns:
        (..., W, F) float32. Velocities and accelerations are 0 at the first frame
        (NaN where missing; accelerations at the second frame are the velocity there).
    """
    p = np.asarray(positions, dtype=np.float32)
    K = spec.num_points
    if p.shape[-2] != spec.grid_points:
        raise ValueError(
            f"positions have {p.shape[-2]} points per frame; the spec needs"
            f" {spec.grid_points} (K = {K} layout points"
            + (", then the path points of `Normalizer.resampled`)" if spec.path else ")")
        )
    trail = p[..., K:, :]
    p = p[..., :K, :]
    flat = p.reshape(*p.shape[:-2], p.shape[-2] * p.shape[-1])
    parts = [flat]
    velocity = None
    if spec.velocity or spec.accelerations:
        velocity = np.empty_like(flat)
        velocity[..., 1:, :] = flat[..., 1:, :] - flat[..., :-1, :]
        velocity[..., 0, :] = flat[..., 0, :] - flat[..., 0, :]  # 0, NaN where missing
    if spec.velocity:
        parts.append(velocity)
    if spec.accelerations:
        acceleration = np.empty_like(flat)
        acceleration[..., 1:, :] = velocity[..., 1:, :] - velocity[..., :-1, :]
        acceleration[..., 0, :] = velocity[..., 0, :] - velocity[..., 0, :]
        parts.append(acceleration)
    if spec.bones:
        parts.append(bones(p, bone_edges(spec.layout)))
    if spec.angles:
        parts.append(angles(p, joint_angles(spec.layout)))
    if spec.path and path_size(spec.layout):
        parts.append(window_path(trail, spec.layout))
    out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
    return out.astype(np.float32, copy=False) if raw else standardize(out, spec)


def row_features(
    positions: np.ndarray,
    previous: np.ndarray | None,
    velocity: np.ndarray | None,
    spec,
) -> tuple[np.ndarray, np.ndarray]:
    """One grid frame's features, for streaming (same values as `window_features`).

    Args:
        positions: (K'·C,) this frame's positions, NaN where missing (K' = K + 2R
            with the path points, `spec.path`).
        previous: (K'·C,) the previous grid frame's positions, or None at the first.
        velocity: (K·C,) the previous grid frame's velocity, or None at the first.
        spec: the `NormalizerSpec`.

    Returns:
        ((F,) float32 features, (K·C,) this frame's velocity for the next call).
    """
    kc = spec.num_points * spec.channels
    full = np.asarray(positions, dtype=np.float32)
    p = full[:kc]
    v = p - (previous[:kc] if previous is not None else p)  # first frame: 0, NaN if missing
    parts = [p]
    if spec.velocity:
        parts.append(v)
    if spec.accelerations:
        parts.append(v - (velocity if velocity is not None else v))
    if spec.bones or spec.angles:
        points = p.reshape(1, spec.num_points, spec.channels)
        if spec.bones:
            parts.append(bones(points, bone_edges(spec.layout))[0])
        if spec.angles:
            parts.append(angles(points, joint_angles(spec.layout))[0])
    if spec.path and path_size(spec.layout):
        trail = full[kc:].reshape(-1, spec.channels)
        before = None if previous is None else np.asarray(previous, np.float32)[kc:]
        parts.append(
            path_features(
                trail, None if before is None else before.reshape(-1, spec.channels), spec.layout
            )
        )
    return standardize(np.concatenate(parts), spec), v
