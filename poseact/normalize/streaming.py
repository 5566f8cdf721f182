"""`StreamingFeaturizer`: the normalizer one camera frame at a time, for live use."""

from __future__ import annotations

import logging
import math

import numpy as np

from poseact.core.errors import LandmarkFormatError
from poseact.normalize.features import row_features
from poseact.normalize.normalizer import normalize_frames
from poseact.normalize.path import path_parts, shown_trail, trail_rate, trail_step
from poseact.normalize.spec import NormalizerSpec

logger = logging.getLogger(__name__)


class StreamingFeaturizer:
    """Live version of the normalizer: one camera frame in, zero or more grid rows out.

    Frames may arrive at any rate and may be dropped: each call resamples onto the
    `spec.fps` grid (anchored at the first frame) by linear interpolation between the
    previous and the current frame, so a 60 fps camera feeds a model trained at 30 fps
    exactly as a 30 fps one would. Missing points hold their last value for up to
    `spec.max_gap` seconds (interpolation would need future frames), then become 0.
    A frame more than a window after the last one starts a new grid (`breaks`), and so
    does a frame that shows someone after rows that showed nobody: the person comes
    back as at a stream's start (`restarted`), not beside rows of zeros.

    Attributes:
        rows_seen: (n,) bool for the n rows the last `push` returned: whether the row
            shows anyone (a point of the layout observed, or held). A row that shows
            nobody is all zeros, a stillness the camera never saw.
        restarted: whether the last `push` started the stream over because someone
            came back into view (its rows begin a new stream, as after `reset`).
    """

    def __init__(self, spec: NormalizerSpec) -> None:
        self.spec = spec.resolved()
        self._rate = trail_rate(self.spec.window)
        self._rooted = bool(self.spec.path and path_parts(self.spec.layout))
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next frame starts a new grid."""
        self._t_prev: float | None = None
        self._p_prev: np.ndarray | None = None  # (K*C,) last normalized frame, filled
        self._seen: np.ndarray | None = None  # (K*C,) time each value was last observed
        self._t0: float = 0.0  # grid anchor: grid time k is t0 + k / fps
        self._k: int = 0  # next grid index to emit
        self._row_prev: np.ndarray | None = None  # previous emitted grid positions
        self._velocity_prev: np.ndarray | None = None  # previous emitted grid velocity
        self._trail: np.ndarray | None = None  # (R, C) the roots' trailing means so far
        self._shown = True  # whether the last row emitted showed someone
        self.rows_seen = np.zeros(0, dtype=bool)
        self.restarted = False

    @property
    def last_timestamp(self) -> float | None:
        """The last frame's timestamp, seconds (None before the first frame)."""
        return self._t_prev

    def breaks(self, timestamp: float) -> bool:
        """Whether a frame at `timestamp` starts the stream over: it comes more than a
        window after the last frame (the camera froze, the page was hidden, the
        recording paused), so the grid frames between would be empty time."""
        return self._t_prev is not None and (timestamp - self._t_prev) * self.spec.fps > max(
            self.spec.window, 1
        )

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
        frame = normalize_frames(landmarks[None], visibility[None], spec, image_size, path=True)[0]
        p = frame.reshape(-1).astype(np.float32)
        t = float(timestamp)
        if not math.isfinite(t):
            raise LandmarkFormatError(
                f"stream timestamp must be a finite number of seconds, got {timestamp!r}"
            )
        if self._t_prev is not None and t <= self._t_prev:
            raise LandmarkFormatError(
                f"stream timestamps must increase: got {t:.6f}s after {self._t_prev:.6f}s"
            )
        if self.breaks(t):
            # emitting every grid frame in the gap would be empty time (1e7 s: 3e8 rows)
            logger.info(
                "stream gap of %.3f s (more than a %d-frame window): the stream restarts",
                t - self._t_prev,
                spec.window,
            )
            self.reset()
        observed = ~np.isnan(p)
        points = spec.num_points * spec.channels  # the layout's points, before the path's
        if not self._shown and observed[:points].any():
            # back after rows of zeros: a new stream, as at its start (measured on the
            # fingertip streams: docs/streaming.md, "Back in view, a new stream")
            self.reset()
            self.restarted = True
        else:
            self.restarted = False
        if self._p_prev is None:
            self._seen = np.where(observed, t, -np.inf)
            self._t_prev, self._p_prev, self._t0, self._k = t, p, t, 0
        else:
            held = (~observed) & (t - self._seen <= spec.max_gap + 1e-9)
            p = np.where(held, self._p_prev, p)
            self._seen = np.where(observed, t, self._seen)
        rows, seen = [], []
        while (g := self._t0 + self._k / spec.fps) <= t + 1e-9:
            if g >= t - 1e-9 or self._t_prev == t:
                value = p
            else:
                w = np.float32((g - self._t_prev) / (t - self._t_prev))
                value = (self._p_prev * (np.float32(1.0) - w) + p * w).astype(np.float32)
            rows.append(self._row(value))
            seen.append(bool(np.isfinite(value[:points]).any()))
            self._k += 1
        self._t_prev, self._p_prev = t, p
        self.rows_seen = np.array(seen, dtype=bool)
        if seen:
            self._shown = seen[-1]
        if not rows:
            return np.empty((0, spec.frame_features), dtype=np.float32)
        return np.stack(rows)

    def _row(self, positions: np.ndarray) -> np.ndarray:
        spec = self.spec
        if self._rooted:  # the trailing means, as `trail_roots`
            K, C = spec.num_points, spec.channels
            points = positions.reshape(-1, C).copy()
            self._trail = trail_step(self._trail, points[K::3], self._rate)
            points[K + 2 :: 3] = shown_trail(self._trail, points[K::3])
            positions = points.reshape(-1)
        row, self._velocity_prev = row_features(
            positions, self._row_prev, self._velocity_prev, self.spec
        )
        self._row_prev = positions
        return row
