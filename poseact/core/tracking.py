"""Tracks: the people of each frame linked from frame to frame, each with a stable id.

MediaPipe finds up to N people per frame, in no fixed order. `Tracker` gives each
detection the id of the person it continues: every track keeps a constant-velocity
Kalman filter on its centre and its last landmarks; each frame the tracks' landmarks
are moved to their predicted centres and compared with the detections point by point,
and `linear_assignment` (the Hungarian method) picks the pairing of least total
distance. A track that finds no detection coasts on its velocity and survives for
`TrackerOptions.max_missing` seconds (a person hidden behind another, a missed frame);
a detection that continues no track starts a new one, ids counting up from 0.

Distances are in body sizes (the spread of a track's points around its centre), on
x and y corrected for the frame's aspect ratio, so they do not depend on how large
people are in the picture. numpy only: the same code runs in the live recognizer, in
extraction and on a Pi.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from poseact.core.errors import LandmarkFormatError
from poseact.core.layouts import get_layout
from poseact.core.sequence import LandmarkSequence

__all__ = [
    "TrackerOptions",
    "TrackUpdate",
    "Tracker",
    "TrackRecorder",
    "linear_assignment",
]

#: Points at least this visible are compared (MediaPipe's guesses of hidden ones are not).
_SEEN = 0.5
#: Cost given to pairs beyond the gate in the assignment (never chosen over a real pair).
_FORBIDDEN = 1e6


@dataclass(frozen=True, kw_only=True)
class TrackerOptions:
    """How detections are linked into tracks.

    Attributes:
        max_distance: the farthest a detection may be from a track's predicted
            landmarks and still continue it, in body sizes (mean point distance over
            the points both have, divided by the track's size).
        max_missing: seconds a track survives without a detection, coasting on its
            velocity; after that it ends (its id is never used again).
        position_noise: how far a centre may wander from constant velocity, in body
            sizes per second squared (the Kalman filter's process noise).
        measurement_noise: how far a detected centre is off the true one, in body
            sizes (the Kalman filter's measurement noise).
    """

    max_distance: float = 2.0
    max_missing: float = 1.0
    position_noise: float = 4.0
    measurement_noise: float = 0.05

    def __post_init__(self) -> None:
        for name in ("max_distance", "max_missing", "position_noise", "measurement_noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"TrackerOptions.{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"TrackerOptions.{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class TrackUpdate:
    """What one frame did to the tracks.

    Attributes:
        ids: (N,) int64, the track id of each detection given to `Tracker.update`, in
            their order.
        ended: ids of the tracks that ended at this frame (missing for longer than
            `max_missing`), with the time each was last seen: ((id, seconds), ...).
    """

    ids: np.ndarray
    ended: tuple[tuple[int, float], ...] = ()


class _Track:
    """One person's state: a constant-velocity Kalman filter on the centre, the last
    landmarks and the body size."""

    __slots__ = ("id", "state", "cov", "points", "centre", "size", "first", "last", "seen")

    def __init__(
        self,
        track_id: int,
        t: float,
        points: np.ndarray,
        centre: np.ndarray,
        size: float,
        noise: float,
    ) -> None:
        self.id = track_id
        self.state = np.array([centre[0], centre[1], 0.0, 0.0])
        self.cov = np.diag([noise**2, noise**2, 1.0, 1.0]) * size**2
        self.points = points  # (K, 2) aspect-corrected x, y; NaN where not seen
        self.centre = centre  # the centre of `points`
        self.size = size
        self.first = self.last = t
        self.seen = 1


class Tracker:
    """Links each frame's detections into tracks with stable ids.

        tracker = Tracker()
        for t, people in frames:  # people: (N, K, 3) landmarks, (N, K) visibility
            update = tracker.update(t, landmarks, visibility, image_size)
            update.ids  # the id of each of the N people
        tracker.finish()  # ((id, last seen), ...) of the tracks still going on

    Args:
        options: `TrackerOptions`; default `TrackerOptions()`.
        points: the indices of the points people are linked by (`tracked_points` of
            the layout); default all.
    """

    def __init__(
        self, options: TrackerOptions | None = None, points: Sequence[int] | None = None
    ) -> None:
        self.options = options if options is not None else TrackerOptions()
        self.points = None if points is None else tuple(int(i) for i in points)
        self.reset()

    @classmethod
    def for_layout(cls, layout: str, options: TrackerOptions | None = None) -> Tracker:
        """A tracker linking the people of a layout's landmarks by its `tracked_points`."""
        return cls(options, tracked_points(get_layout(layout)))

    def reset(self) -> None:
        """Forget every track; ids count from 0 again."""
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._last_t: float | None = None

    @property
    def ids(self) -> list[int]:
        """The ids of the tracks going on (seen within `max_missing`), oldest first."""
        return [track.id for track in self._tracks]

    def update(
        self,
        timestamp: float,
        landmarks: np.ndarray,
        visibility: np.ndarray,
        image_size: tuple[int, int] | None = None,
    ) -> TrackUpdate:
        """Link one frame's detections to the tracks.

        Args:
            timestamp: the frame's time in seconds, increasing from call to call.
            landmarks: (N, K, 3) normalized image coordinates of N people (N may be
                0); NaN where a point was not found.
            visibility: (N, K) in [0, 1].
            image_size: (width, height) in pixels, for the aspect ratio; None: square.

        Returns:
            Each detection's track id and the tracks that ended.

        Raises:
            LandmarkFormatError: a timestamp that is not finite or does not increase,
                or arrays of the wrong shapes.
        """
        t = float(timestamp)
        if not math.isfinite(t) or (self._last_t is not None and t <= self._last_t):
            raise LandmarkFormatError(
                f"tracker timestamps must be finite and increasing, got {timestamp!r}"
                f" after {self._last_t!r}"
            )
        lm = np.asarray(landmarks, dtype=np.float64)
        vis = np.asarray(visibility, dtype=np.float64)
        if lm.ndim != 3 or lm.shape[-1] != 3 or vis.shape != lm.shape[:2]:
            raise LandmarkFormatError(
                f"tracker input must be (N, K, 3) landmarks and (N, K) visibility, got"
                f" {lm.shape} and {vis.shape}"
            )
        if self.points is not None:
            if max(self.points, default=-1) >= lm.shape[1]:
                raise LandmarkFormatError(
                    f"the tracker links people by points up to {max(self.points)}, but"
                    f" the landmarks have {lm.shape[1]} points"
                )
            lm, vis = lm[:, self.points], vis[:, self.points]
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t
        aspect = 1.0 if image_size is None else float(image_size[0]) / float(image_size[1])
        points = lm[..., :2] * np.array([aspect, 1.0])
        # MediaPipe guesses the points it cannot see (low visibility): leave them out,
        # unless a person has fewer than 3 others
        seen = vis >= _SEEN
        points[~np.where(seen.sum(axis=1, keepdims=True) >= 3, seen, vis > 0)] = np.nan
        found = np.isfinite(points[..., 0])
        keep = found.any(axis=1)
        for track in self._tracks:
            self._predict(track, dt)
        n = lm.shape[0]
        ids = np.full(n, -1, dtype=np.int64)
        centres = np.full((n, 2), np.nan)
        sizes = np.zeros(n)
        for i in np.flatnonzero(keep):
            centres[i], sizes[i] = _centre_size(points[i])
        rows = np.flatnonzero(keep)
        assigned: set[int] = set()
        if self._tracks and rows.size:
            cost = np.array(
                [
                    [self._distance(track, points[i], centres[i]) for track in self._tracks]
                    for i in rows
                ]
            )
            gate = self.options.max_distance
            for r, c in linear_assignment(np.where(cost <= gate, cost, _FORBIDDEN)):
                if cost[r, c] <= gate:
                    track = self._tracks[c]
                    self._correct(track, t, points[rows[r]], centres[rows[r]], sizes[rows[r]])
                    ids[rows[r]] = track.id
                    assigned.add(c)
        # new people, left to right, so that ids are in a reproducible order
        new = [i for i in rows if ids[i] < 0]
        for i in sorted(new, key=lambda i: (centres[i][0], centres[i][1])):
            track = _Track(
                self._next_id, t, points[i], centres[i], sizes[i], self.options.measurement_noise
            )
            self._next_id += 1
            self._tracks.append(track)
            ids[i] = track.id
        ended = tuple(
            (track.id, track.last)
            for track in self._tracks
            if t - track.last > self.options.max_missing
        )
        if ended:
            gone = {track_id for track_id, _ in ended}
            self._tracks = [track for track in self._tracks if track.id not in gone]
        return TrackUpdate(ids=ids, ended=ended)

    def finish(self) -> tuple[tuple[int, float], ...]:
        """End every track; returns ((id, last seen seconds), ...) of those going on."""
        ended = tuple((track.id, track.last) for track in self._tracks)
        self._tracks = []
        return ended

    # ------------------------------------------------------------------ the filter
    def _predict(self, track: _Track, dt: float) -> None:
        if dt <= 0:
            return
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q = (self.options.position_noise * track.size) ** 2
        g = np.array([dt * dt / 2, dt])
        block = q * np.outer(g, g)
        noise = np.zeros((4, 4))
        noise[np.ix_([0, 2], [0, 2])] = block
        noise[np.ix_([1, 3], [1, 3])] = block
        track.state = f @ track.state
        track.cov = f @ track.cov @ f.T + noise

    def _correct(
        self, track: _Track, t: float, points: np.ndarray, centre: np.ndarray, size: float
    ) -> None:
        r = (self.options.measurement_noise * track.size) ** 2
        cov = track.cov
        s = cov[:2, :2] + r * np.eye(2)
        gain = cov[:, :2] @ np.linalg.inv(s)
        track.state = track.state + gain @ (centre - track.state[:2])
        track.cov = (np.eye(4) - gain[:, :2] @ np.eye(2, 4)) @ cov
        track.points, track.centre, track.size = points, centre, size
        track.last = t
        track.seen += 1

    @staticmethod
    def _distance(track: _Track, points: np.ndarray, centre: np.ndarray) -> float:
        """Mean distance from the track's landmarks, moved to its predicted centre, to
        a detection's, over the points both have; in the track's body sizes."""
        moved = track.points + (track.state[:2] - track.centre)
        both = np.isfinite(moved[:, 0]) & np.isfinite(points[:, 0])
        if both.any():
            distance = float(np.mean(np.linalg.norm(moved[both] - points[both], axis=1)))
        else:
            distance = float(np.linalg.norm(track.state[:2] - centre))
        return distance / track.size


def tracked_points(layout) -> tuple[int, ...] | None:
    """The points people are linked by in a `Layout`: its body parts' points when it
    has a body and other parts (a hand's 21 points come and go, and move with the arm:
    they would carry a track's centre, measured at a few frames/s), else None (all)."""
    body = [part for part in layout.parts if part.kind == "body"]
    if not body or len(body) == len(layout.parts):
        return None
    return tuple(sorted({int(i) for part in body for i in layout.indices(part.points)}))


def _centre_size(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(2,) the mean of the found points and their RMS spread around it (>= 0.02)."""
    found = points[np.isfinite(points[:, 0])]
    centre = found.mean(axis=0)
    spread = float(np.sqrt(np.mean(np.sum((found - centre) ** 2, axis=1))))
    return centre, max(spread, 0.02)


def linear_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """The pairing of rows with columns of least total cost (Hungarian method).

    The same answer as `scipy.optimize.linear_sum_assignment` (checked in the tests),
    in numpy alone, for the few rows of a tracker (O(n^2 m)).

    Args:
        cost: (n, m) finite costs.

    Returns:
        min(n, m) (row, column) pairs, by row.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-D array, got shape {cost.shape}")
    if cost.size == 0:
        return []
    if not np.all(np.isfinite(cost)):
        raise ValueError("cost must be finite (give forbidden pairs a large cost)")
    transposed = cost.shape[0] > cost.shape[1]
    a = cost.T if transposed else cost
    n, m = a.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=np.int64)  # p[j]: the row (1-based) matched to column j
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            free = ~used[1:]
            current = a[i0 - 1] - u[i0] - v[1:]
            better = free & (current < minv[1:])
            minv[1:][better] = current[better]
            way[1:][better] = j0
            candidates = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[~used] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    pairs = [(int(p[j]) - 1, j - 1) for j in range(1, m + 1) if p[j]]
    if transposed:
        pairs = [(c, r) for r, c in pairs]
    return sorted(pairs)


class TrackRecorder:
    """Collects a whole video's tracked people into one `LandmarkSequence` per track.

        recorder = TrackRecorder("pose", image_size=(640, 480), source="two.mp4")
        for t, landmarks, visibility in frames:  # (N, K, 3), (N, K)
            recorder.add(t, tracker.update(t, landmarks, visibility).ids, landmarks,
                         visibility)
        clips = recorder.sequences()

    Args:
        layout: the layout of the landmarks.
        image_size: (width, height) of the frames in pixels.
        source: the video's name, kept in each sequence.
        world: also keep world landmarks (`add(world=...)`).
    """

    def __init__(
        self,
        layout: str,
        *,
        image_size: tuple[int, int] | None = None,
        source: str = "",
        world: bool = False,
    ) -> None:
        self.layout = layout
        self.image_size = image_size
        self.source = source
        self.world = world
        self._times: list[float] = []
        self._rows: dict[int, dict[int, tuple[np.ndarray, ...]]] = {}  # id -> frame -> arrays

    def add(
        self,
        timestamp: float,
        ids: Sequence[int] | np.ndarray,
        landmarks: np.ndarray,
        visibility: np.ndarray,
        world: np.ndarray | None = None,
    ) -> None:
        """One frame: (N,) track ids, (N, K, 3) landmarks, (N, K) visibility, and
        (N, K, 3) world landmarks if the recorder keeps them."""
        frame = len(self._times)
        self._times.append(float(timestamp))
        for n, track_id in enumerate(np.asarray(ids, dtype=np.int64).tolist()):
            if track_id < 0:
                continue
            arrays = (landmarks[n], visibility[n]) + (
                (world[n],) if self.world and world is not None else ()
            )
            self._rows.setdefault(track_id, {})[frame] = arrays

    def sequences(self, min_frames: int = 1) -> list[LandmarkSequence]:
        """One sequence per track with at least `min_frames` detected frames, by id.

        Each covers the source's frames from the track's first detection to its last,
        on the source's own timestamps; frames in between where the person was not
        found are NaN (visibility 0). `person` is the track id.
        """
        times = np.asarray(self._times, dtype=np.float64)
        out = []
        for track_id in sorted(self._rows):
            rows = self._rows[track_id]
            if len(rows) < min_frames:
                continue
            first, last = min(rows), max(rows)
            count = last - first + 1
            k = next(iter(rows.values()))[0].shape[0]
            landmarks = np.full((count, k, 3), np.nan, dtype=np.float32)
            visibility = np.zeros((count, k), dtype=np.float32)
            world = np.full((count, k, 3), np.nan, dtype=np.float32) if self.world else None
            for frame, arrays in rows.items():
                landmarks[frame - first] = arrays[0]
                visibility[frame - first] = arrays[1]
                if world is not None and len(arrays) > 2:
                    world[frame - first] = arrays[2]
            out.append(
                LandmarkSequence(
                    timestamps=times[first : last + 1],
                    landmarks=landmarks,
                    visibility=visibility,
                    layout=self.layout,
                    image_size=self.image_size,
                    world=world,
                    source=self.source,
                    person=track_id,
                )
            )
        return out
