"""A real hand carried along real fingertip paths: classes that differ only in where the
hand goes (the development set of docs/normalizer.md, "Shape and path").

Two real sources, both in `datasets/`:

- `hand_paths/hand_open.npz`: a right hand measured once by MediaPipe's HandLandmarker
  (VIDEO mode) on every frame of the real test video `hand_open.mp4` (202 frames, 25
  fps, 640×360; see `datasets/hand_paths/README.md`): real hand shapes with real
  frame-to-frame tracker jitter;
- `fingertip_tracks/point_history.csv`: 5,296 real index-fingertip trajectories of 4
  air-drawn gestures (Stop, Clockwise, Counter Clockwise, Move), 16 webcam frames each,
  cut from 217 continuous recordings (`recording_runs`).

The tracks' logger wrote the point as the image's origin (0, 0) in frames where it lost
the pointing finger: a jump of hundreds of pixels to the track's lowest corner and a
stay there, often for a second (133 frames of the "Move" recordings, 13 of "Counter
Clockwise"); such frames (`lost_frames`) carry no hand (missing, visibility 0), as the
tracker saw none.

Each clip takes one track (every `stride`-th row of a recording, so that clips overlap
by at most half) and a run of 16 consecutive measured hand frames, each frame's hand
relative to its own wrist, and moves that hand so its wrist follows the track across a
960×540 image, with small real-looking variation drawn per clip: a size (distance to
the camera, 0.6-1.2 of the measured hand, drifting ±4 % over the clip), a tilt (±15°,
drifting ±5°) and a place in the image. The hand's shape, size and tilt are drawn
independently of the class: only the path tells the classes apart, so a normalizer
that keeps each hand's shape and drops its path cannot separate them.

`classes="left_right"` makes the "Move" tracks that travel sideways (by at least 5 % of
the image width from first to last frame) into two classes that are mirror images:
"right" (each track turned so it ends right of where it began) and "left" (the same
track mirrored), the hand carried as above.

Every clip is a pure function of `(seed, row)`: its random numbers come from
`np.random.SeedSequence([seed, row, side])`, so the same seed gives the same arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from poseact.core.errors import DatasetError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset
from poseact.data.point_history import read_point_history

__all__ = [
    "HAND_PATH_CLASSES",
    "carried_hand",
    "hand_path_dataset",
    "lost_frames",
    "measured_hand",
]

#: What `classes` may be: the tracks' own 4 gestures, or left vs right swipes.
HAND_PATH_CLASSES = ("gestures", "left_right")
_DATASETS = Path(__file__).resolve().parents[2] / "datasets"
#: The image the tracks were recorded in (their steps are fractions of it).
_IMAGE = (960, 540)
_FPS = 30.0
#: A step longer than this, in pixels of the tracks' image, is the logger's lost-finger
#: mark, not motion (real steps: median 9 px, 99th percentile 40 px at 30 fps).
_JUMP = 150.0


#: The least sideways travel of a "left_right" clip, in fractions of the image width.
_SWIPE = 0.05


def lost_frames(track: np.ndarray) -> np.ndarray:
    """(S,) bool: the frames of a track (S, 2) (fractions of the image, relative to any
    one frame) where the logger lost the finger and wrote the image's origin (0, 0).

    Every position the logger wrote lies in the image, so the origin is the track's
    lowest x and lowest y at once: the frames at that corner (to half a pixel) are lost
    when one of them is reached or left by a jump longer than `_JUMP` pixels (a finger
    that happens to reach its track's corner comes by steps), or when every frame is
    there (a row written while the finger was lost throughout: the file's 28 all-zero
    rows, all "Move"; no real track holds still 16 frames to the pixel, "Stop" at most
    14 steps of 15). Frames beside the corner are not lost, whatever they jumped from:
    the finger may come back elsewhere."""
    pixels = np.asarray(track, dtype=np.float64) * np.array(_IMAGE)
    at = np.linalg.norm(pixels - pixels.min(axis=0), axis=1) < 0.5
    if at.all():
        return at
    jumps = np.linalg.norm(np.diff(pixels, axis=0), axis=1) > _JUMP
    if (jumps & (at[1:] | at[:-1])).any():
        return at
    return np.zeros(len(pixels), dtype=bool)


def measured_hand(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The measured right hand: ((F, 21, 3) pixel offsets from the wrist, x, y and z in
    pixels of its 640×360 video, (F, 21) visibility).

    Args:
        path: the `.npz` (default `datasets/hand_paths/hand_open.npz`).
    """
    path = Path(path) if path is not None else _DATASETS / "hand_paths" / "hand_open.npz"
    if not path.is_file():
        raise DatasetError(f"measured hand {path} does not exist")
    with np.load(path, allow_pickle=False) as data:
        landmarks = np.asarray(data["landmarks"], dtype=np.float64)
        visibility = np.asarray(data["visibility"], dtype=np.float32)
        width, height = (float(v) for v in data["image_size"])
    pixels = landmarks * np.array([width, height, width])
    return pixels - pixels[:, :1], visibility


def _carry(
    track: np.ndarray,
    hand: np.ndarray,
    visibility: np.ndarray,
    rng: np.random.Generator,
    lost: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One clip: the measured hand (its frames from a random start) moved along `track`.

    Args:
        track: (S, 2) fingertip steps, fractions of the image, relative to the first.
        hand: (F, 21, 3) measured pixel offsets from the wrist.
        visibility: (F, 21).
        lost: (S,) frames without a hand (`lost_frames` of the track as the logger
            wrote it: a turned or mirrored track's lowest corner is not the mark).

    Returns:
        ((S, 42, 3) "hands" landmarks, right hand in points 21-41, left NaN; (S, 42)).
    """
    S = len(track)
    width, height = _IMAGE
    if S <= len(hand):
        first = int(rng.integers(0, len(hand) - S + 1))
        frames = np.arange(first, first + S)
    else:  # a longer track: the measured frames play forth and back
        turn = 2 * len(hand) - 2
        k = (int(rng.integers(0, turn)) + np.arange(S)) % turn
        frames = np.where(k < len(hand), k, turn - k)
    shape, seen = hand[frames], visibility[frames]
    phase = rng.uniform(0, 2 * np.pi, size=2)
    t = np.linspace(0.0, 1.0, S)
    size = rng.uniform(0.6, 1.2) * (width / 640) * (1 + 0.04 * np.sin(2 * np.pi * t + phase[0]))
    tilt = np.deg2rad(rng.uniform(-15, 15) + 5 * np.sin(2 * np.pi * t + phase[1]))
    cos, sin = np.cos(tilt)[:, None], np.sin(tilt)[:, None]
    x, y = shape[..., 0], shape[..., 1]
    moved = (
        np.stack([cos * x - sin * y, sin * x + cos * y, shape[..., 2]], axis=-1)
        * size[:, None, None]
    )
    lost = np.asarray(lost, dtype=bool)
    if lost.all():
        return np.full((S, 42, 3), np.nan, dtype=np.float32), np.zeros((S, 42), np.float32)
    path = track * np.array([width, height])
    valid = path[~lost]
    low = np.array([0.15 * width, 0.45 * height]) - valid.min(axis=0)
    high = np.array([0.85 * width, 0.9 * height]) - valid.max(axis=0)
    start = np.where(
        low <= high, rng.uniform(np.minimum(low, high), np.maximum(low, high)), (low + high) / 2
    )
    wrist = start + path
    pixels = moved + np.concatenate([wrist, np.zeros((S, 1))], axis=1)[:, None, :]
    landmarks = np.full((S, 42, 3), np.nan, dtype=np.float32)
    landmarks[:, 21:] = pixels / np.array([width, height, width])
    seen_all = np.zeros((S, 42), dtype=np.float32)
    seen_all[:, 21:] = seen
    landmarks[lost], seen_all[lost] = np.nan, 0.0
    return landmarks, seen_all


def carried_hand(
    sequence: LandmarkSequence,
    seed: int,
    *,
    lost: np.ndarray | None = None,
    hand: str | os.PathLike | None = None,
) -> LandmarkSequence:
    """The measured hand carried along a one-point track, as `hand_path_dataset` carries
    it (a size, tilt and place drawn from `seed`; the measured frames played forth and
    back for a track longer than they are).

    Args:
        sequence: (S, 1, C) one point's track in fractions of a 960×540 image, such as
            a fingertip track or a stream joined from them (`chain_tracks`).
        seed: the random seed of the hand's size, tilt, frames and place.
        lost: (S,) frames where the point was not tracked (None: `lost_frames`);
            frames without a position (NaN) are lost whatever it says.
        hand: the measured hand `.npz` (default `datasets/hand_paths/hand_open.npz`).

    Returns:
        A "hands" LandmarkSequence (the right hand, points 21-41) with `sequence`'s
        timestamps and source.
    """
    shape, visibility = measured_hand(hand)
    track = np.asarray(sequence.landmarks[:, 0, :2], dtype=np.float64)
    unseen = ~np.isfinite(track).all(axis=1)
    if unseen.any():  # not tracked: held where it was last seen (first seen), and lost
        track = _held_over(track, unseen)
    lost = unseen | (lost_frames(track) if lost is None else np.asarray(lost, dtype=bool))
    rng = np.random.default_rng(seed)
    landmarks, seen = _carry(track - track[0], shape, visibility, rng, lost)
    return LandmarkSequence(
        timestamps=np.asarray(sequence.timestamps),
        landmarks=landmarks,
        visibility=seen,
        layout="hands",
        image_size=_IMAGE,
        source=sequence.source,
    )


def _held_over(track: np.ndarray, unseen: np.ndarray) -> np.ndarray:
    """`track` (S, 2) with each `unseen` frame at the last seen position (before the
    first seen one: at it; none seen: zeros)."""
    seen = np.flatnonzero(~unseen)
    if not len(seen):
        return np.zeros_like(track)
    last = np.maximum.accumulate(np.where(unseen, -1, np.arange(len(track))))
    return track[np.where(last < 0, seen[0], last)]


def hand_path_dataset(
    *,
    classes: str = "gestures",
    seed: int = 0,
    stride: int = 8,
    tracks: str | os.PathLike | None = None,
    hand: str | os.PathLike | None = None,
) -> Dataset:
    """The hand-path set: a real measured hand carried along real fingertip tracks.

    Args:
        classes: "gestures" (the tracks' 4 classes) or "left_right" (the "Move" tracks
            turned rightwards and mirrored: 2 classes).
        seed: the random seed of the hand's size, tilt, frames and place.
        stride: every `stride`-th row of each recording becomes a clip (rows are a
            sliding window: consecutive rows share 15 of 16 steps).
        tracks: the fingertip tracks folder (default `datasets/fingertip_tracks`).
        hand: the measured hand `.npz` (default `datasets/hand_paths/hand_open.npz`).

    Returns:
        A "hands" Dataset at 30 fps, 960×540, groups = the tracks' recordings; rows
        whose every frame is lost (`lost_frames`) are left out.
    """
    if classes not in HAND_PATH_CLASSES:
        raise ValueError(f"classes must be one of {HAND_PATH_CLASSES}, got {classes!r}")
    if int(stride) < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    source = read_point_history(tracks if tracks is not None else _DATASETS / "fingertip_tracks")
    shape, visibility = measured_hand(hand)
    runs = np.array([int(g[3:]) for g in source.groups])
    _, first_row = np.unique(runs, return_index=True)  # runs are contiguous, in order
    keep = (np.arange(len(runs)) - first_row[runs]) % int(stride) == 0
    sequences, labels, groups = [], [], []
    for row, (sequence, label, group) in enumerate(
        zip(source.sequences, source.labels, source.groups)
    ):
        if not keep[row]:
            continue  # not the first row of its recording, nor a stride-th after it
        track = np.asarray(sequence.landmarks[:, 0, :2], dtype=np.float64)
        lost = lost_frames(track)
        if lost.all():
            continue  # written while the finger was lost throughout: no hand to carry
        if classes == "gestures":
            sides = [(label, track)]
        elif label == "Move":
            valid = track[~lost]
            if abs(valid[-1, 0] - valid[0, 0]) < _SWIPE:
                continue  # hardly sideways: neither left nor right
            right = track * np.array([1.0 if valid[-1, 0] >= valid[0, 0] else -1.0, 1.0])
            sides = [("right", right), ("left", right * np.array([-1.0, 1.0]))]
        else:
            continue
        for side, (name, path) in enumerate(sides):
            rng = np.random.default_rng(np.random.SeedSequence([seed, row, side]))
            landmarks, seen = _carry(path, shape, visibility, rng, lost)
            sequences.append(
                LandmarkSequence(
                    timestamps=np.arange(len(path)) / _FPS,
                    landmarks=landmarks,
                    visibility=seen,
                    layout="hands",
                    image_size=_IMAGE,
                    source=f"hand_paths[{row}]{'' if classes == 'gestures' else name}",
                )
            )
            labels.append(name)
            groups.append(group)
    return Dataset(tuple(sequences), tuple(labels), tuple(groups), name=f"hand_paths_{classes}")
