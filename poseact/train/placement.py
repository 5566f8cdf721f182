"""Where the trained network's answers begin and end around a gesture: event placement.

A window model answers a gesture some rows after the gesture began and lets go some rows
after it ended. How many depends on the gesture: a circle is named once the window holds
part of a turn, but a fingertip held still ("stop") only once nearly the whole window is
still, and a little motion entering the window ends it at once. The live recognizer
places an event's start and end by these counts (`poseact.runtime.decider.answer_times`);
one count for every class (half the window) puts such a gesture's event late and ends it
early, so that it overlaps the true gesture too little to count as found.

`calibrate_placement` measures them after training, per class, on the training clips
joined to background clips as a stream joins them (the background before and after, the
trailing means running on across the seams), the network answering every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from poseact.normalize.normalizer import Normalizer
from poseact.normalize.path import moved_to, retrail
from poseact.runtime.decider import taught_rows

__all__ = ["calibrate_placement", "PLACEMENT_CLIPS"]

#: Gesture clips per class the placement is measured on (at most; chosen at random).
PLACEMENT_CLIPS = 16


def _background_piece(rests: list[np.ndarray], need: int, rng: np.random.Generator, spec):
    """`need` frames of background: random clips one after another (each going on from
    where the one before it ended), from a random place."""
    pieces, have = [], 0
    while have < need:
        clip = rests[int(rng.integers(len(rests)))]
        pieces.append(clip)
        have += clip.shape[0]
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = _go_on(joined, piece, spec)
    offset = int(rng.integers(0, joined.shape[0] - need + 1))
    return joined[offset : offset + need]


def _go_on(first: np.ndarray, second: np.ndarray, spec) -> np.ndarray:
    """`first`, then `second` moved so that each part goes on from where it was at
    `first`'s last frame, as one person's stream goes on (`moved_to`)."""
    return np.concatenate([first, moved_to(second, 0, first[-1], spec)], axis=0)


def _windows(normalizer: Normalizer, stream: np.ndarray) -> np.ndarray:
    """(T - W + 1, W, F) the features of every W-frame window of one (T, K, C) stream,
    as `Normalizer.features` gives them window by window: the per-frame features
    once for the whole stream, and each window's first two rows (where its velocities
    and accelerations begin) from that window alone."""
    W = normalizer.spec.window
    frames = normalizer.features(stream[None])[0]
    windows = np.lib.stride_tricks.sliding_window_view(frames, W, axis=0)
    windows = np.ascontiguousarray(np.swapaxes(windows, 1, 2))
    heads = np.lib.stride_tricks.sliding_window_view(stream[: len(stream) - W + 2], 2, axis=0)
    windows[:, :2] = normalizer.features(np.moveaxis(heads, -1, 1))
    return windows


def calibrate_placement(
    network: Any,
    normalizer: Normalizer,
    positions: Sequence[np.ndarray],
    targets: np.ndarray,
    classes: Sequence[str],
    background: str,
    rng: np.random.Generator,
    *,
    onset: float | None = None,
    clips: int = PLACEMENT_CLIPS,
) -> dict[str, tuple[float, float]]:
    """Seconds of each gesture a window holds when the network begins to answer it, and
    when it lets go.

    Each of up to `clips` clips per gesture class is played as a stream would show it: a
    window of background, the clip, a window of background, each going on from where
    the one before it ended (the path's trailing means run on across the seams). The network answers every row; the first row
    answering the clip's class gives the rows of the clip the window held when the
    answer began, the row after the last one the rows it held when the answer let go.
    The network was fit on these clips and knows them: it names them sooner and lets
    them go later than gestures it has not seen, so each median over the clips it
    answered is a least count, and so is what its training taught (a transition window
    is the gesture from h rows of it, `taught_rows`: half the window or `onset` if less,
    `holds_the_gesture`): the larger of the two is kept. A class it answered on no clip
    keeps the default (left out of the result).

    Args:
        network: the trained Keras window model ((N, W, F) features → (N, C)).
        normalizer: the fitted normalizer.
        positions: the training clips, each (n, K, C) on the grid (`Normalizer.resampled`).
        targets: (N,) each clip's index in `classes`.
        classes: (C,) the network's labels.
        background: the background label (its clips give the frames around a gesture).
        rng: the generator that chooses clips and background pieces.
        onset: the model's onset, seconds (`answer_onset`), or None.
        clips: gesture clips measured per class, at most.

    Returns:
        label → (start hold, end hold), seconds, each in [1 row, the window].
    """
    spec = normalizer.spec
    W, fps = spec.window, float(spec.fps)
    back = list(classes).index(background)
    rests = [p for p, t in zip(positions, targets) if t == back and np.isfinite(p).any() and len(p)]
    if not rests:
        return {}
    taught = taught_rows(W, fps, onset)
    plays = []  # (class, stream, first and last frame of the gesture in it)
    for k in range(len(classes)):
        own = np.flatnonzero(targets == k)
        if k == back or not len(own):
            continue
        for i in sorted(rng.choice(own, size=min(clips, len(own)), replace=False).tolist()):
            gesture = positions[i]
            if not len(gesture):
                continue
            joined = _go_on(_background_piece(rests, W, rng, spec), gesture, spec)
            joined = _go_on(joined, _background_piece(rests, W, rng, spec), spec)
            if spec.path:
                joined = retrail(joined, spec)
            plays.append((k, joined, W, W + gesture.shape[0] - 1))
    if not plays:
        return {}
    windows = np.concatenate([_windows(normalizer, joined) for _, joined, _, _ in plays])
    answers = np.argmax(np.asarray(network.predict(windows, verbose=0, batch_size=512)), axis=1)
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    at = 0
    for k, joined, first, last in plays:
        rows = np.arange(W - 1, joined.shape[0])
        own_rows = rows[answers[at : at + len(rows)] == k]
        at += len(rows)
        # answers while the window holds some of the gesture
        own_rows = own_rows[(own_rows >= first) & (own_rows <= last + W - 1)]
        if len(own_rows):
            starts.setdefault(k, []).append(own_rows[0] - first + 1)
            ends.setdefault(k, []).append(last - (own_rows[-1] + 1 - W + 1) + 1)
    placement: dict[str, tuple[float, float]] = {}
    for k in sorted(starts):
        start_rows = float(np.clip(max(np.median(starts[k]), taught), 1, W))
        end_rows = float(np.clip(max(np.median(ends[k]), taught), 1, W))
        placement[str(classes[k])] = (start_rows / fps, end_rows / fps)
    return placement
