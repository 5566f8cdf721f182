"""`StreamingRecognizer`: landmarks frame by frame in, gesture events out."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from poseact.core.errors import LandmarkFormatError
from poseact.normalize.streaming import StreamingFeaturizer
from poseact.runtime.decider import (
    Decider,
    DecisionOptions,
    GestureEvent,
    answer_times,
    placement_table,
    settled,
)
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.steppers import RowWindow


class Answer(NamedTuple):
    """One model row's answer, the arguments of `Decider.update` in its order.

    Attributes:
        probs: (C,) class probabilities.
        now: when it was given, seconds.
        at: where a gesture starting on it starts, seconds (`answer_times`; (C,) per
            class with the model's `placement`).
        ratios: (C,) the rejection rule's distance / threshold, or None.
        end_at: where a gesture ending on it ends, seconds (likewise).
        may_start: whether it may start a gesture (`settled`).
        resumed_after: on the first answer after a gap longer than a window (the stream
            started over, `StreamingFeaturizer.breaks`), the time of the last frame
            before it, where a gesture going on ended; else None.
        shown: whether its newest row showed someone (`StreamingFeaturizer.rows_seen`):
            a gesture does not go on while nobody is in view.
    """

    probs: np.ndarray
    now: float
    at: float
    ratios: np.ndarray | None
    end_at: float
    may_start: bool = True
    resumed_after: float | None = None
    shown: bool = True


class StreamingRecognizer:
    """Live recognition: landmarks frame by frame in, gesture events out.

    Each pushed camera frame is normalized and resampled to the model's rate
    (`StreamingFeaturizer`), classified one step at a time, smoothed, thresholded,
    and turned into events: one when a gesture starts and one when it ends. With the
    model's rejection rule and `DecisionOptions.reject_starts`, a best label whose last
    W rows lie beyond that class's threshold shows as "unknown" and never fires. An event's times are those of the
    frames that gave the answer (among the classifier's context, `answer_times`,
    by the model's `onset`), not the moment it was reported. A frame more than a window
    after the last one starts the stream over (`StreamingFeaturizer.breaks`): a gesture
    going on ends at the last frame before the gap, and the classifier and decisions
    begin afresh, as after `reset()`.

    Args:
        model: a `TFLiteGestureModel` or a path to an exported `.tflite`.
        options: `DecisionOptions`.
        on_event: optional callback called with each `GestureEvent`.
        stateful: classify with the single-step model (cheap); False re-runs the
            window model every frame (the reference the stateful path is tested against).
    """

    def __init__(
        self,
        model: TFLiteGestureModel | str | os.PathLike,
        options: DecisionOptions | None = None,
        *,
        on_event: Callable[[GestureEvent], None] | None = None,
        stateful: bool = True,
    ) -> None:
        # a path is loaded; anything else is used as the model (a TFLiteGestureModel, or
        # an object with its spec, classes_, background, rejection, onset and stepper)
        self.model = TFLiteGestureModel(model) if isinstance(model, str | os.PathLike) else model
        self.options = options or DecisionOptions()
        self.on_event = on_event
        self._featurizer = StreamingFeaturizer(self.model.spec)
        self._stepper = self.model.stepper(stateful=stateful)
        self._fps = float(self.model.spec.fps)
        self._placement = placement_table(
            getattr(self.model, "placement", None), self.model.classes_
        )
        self._decider = Decider(
            self.model.classes_,
            self.model.background,
            self.options,
            self.model.rejection,
            self.model.threshold,
        )
        # the rejection rule looks at the last W rows, whichever model answers: those
        # the window re-run keeps already, else a window of its own
        self._rows: RowWindow | None = None
        self._own_rows = False
        if self.model.rejection is not None and self.options.reject_starts:
            self._rows = self._stepper.rows
            if self._rows is None:
                self._rows = RowWindow(self.model.spec.window)
                self._own_rows = True
        self._labels = self.model.classes_.tolist()
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self._resumed_after: float | None = None  # a restart not yet handed on
        self._seen_run = 0  # rows in a row, up to the last, that showed someone
        self._featurizer.reset()
        self._stepper.reset()
        self._decider.reset()
        if self._own_rows:
            self._rows.reset()

    @property
    def label(self) -> str | None:
        """The smoothed best label of the last frame (even below the threshold)."""
        return self._decider.label

    @property
    def threshold(self) -> float:
        """The decision threshold in use (the options', else the model's, else 0.6)."""
        return self._decider.threshold

    @property
    def confidence(self) -> float:
        return self._decider.confidence

    @property
    def probabilities(self) -> np.ndarray:
        """(C,) smoothed probabilities of the last frame."""
        return self._decider.probabilities

    def push(
        self,
        timestamp: float,
        landmarks: np.ndarray,
        visibility: np.ndarray,
        image_size: tuple[int, int] | None = None,
    ) -> list[GestureEvent]:
        """Feed one camera frame's landmarks; returns the events it completed or began.

        Args:
            timestamp: seconds (any origin), increasing.
            landmarks: (K, 3) normalized image coordinates, NaN where not detected.
            visibility: (K,) in [0, 1].
            image_size: (width, height) of the camera frame in pixels.

        Raises:
            LandmarkFormatError: a timestamp that is not finite or does not increase.
        """
        events: list[GestureEvent] = []
        for answer in self.answers(timestamp, landmarks, visibility, image_size):
            events += self._decider.update(*answer)
        self._emit(events)
        return events

    def answers(
        self,
        timestamp: float,
        landmarks: np.ndarray,
        visibility: np.ndarray,
        image_size: tuple[int, int] | None = None,
    ) -> list[Answer]:
        """Feed one camera frame's landmarks; the classifier's answers it gives, before
        any decision (what `push` hands to the `Decider`, one per model row).

        `poseact.train.stream_eval.sweep_stream` runs the network once this way and
        decides at many thresholds. Arguments and errors as `push`.
        """
        out: list[Answer] = []
        now = float(timestamp)
        before = self._featurizer.last_timestamp if self._featurizer.breaks(now) else None
        rows = self._featurizer.push(timestamp, landmarks, visibility, image_size)
        if before is not None or self._featurizer.restarted:  # it started over: so does the rest
            self._stepper.reset()
            if self._own_rows:
                self._rows.reset()
            if self._resumed_after is None:  # (not yet handed on: the gap before counts)
                self._resumed_after = before  # (None when back in view: nothing went on)
        for row, seen in zip(rows, self._featurizer.rows_seen):
            self._seen_run = self._seen_run + 1 if seen else 0
            probs = self._stepper.step(row)
            if probs is None:
                continue
            ratios = None
            if self._rows is not None:
                if self._own_rows:
                    self._rows.push(row)
                ratios = self.model.rejection.ratios(self._rows.window(), self._labels)[0]
            # the answer is about the rows the classifier saw: events go among them
            context = self._stepper.context
            at, end_at = answer_times(now, context, self._fps, self.model.onset, self._placement)
            may_start = settled(
                context, self.model.spec.window, self._fps, self.model.onset, self._seen_run
            )
            out.append(
                Answer(probs, now, at, ratios, end_at, may_start, self._resumed_after, bool(seen))
            )
            self._resumed_after = None
        return out

    def _emit(self, events: list[GestureEvent]) -> None:
        if self.on_event is not None:
            for event in events:
                self.on_event(event)

    def finish(self, timestamp: float) -> list[GestureEvent]:
        """End the stream at `timestamp`: closes a gesture still going on.

        Raises:
            LandmarkFormatError: `timestamp` is not a finite number of seconds.
        """
        if not math.isfinite(float(timestamp)):
            raise LandmarkFormatError(
                f"stream timestamp must be a finite number of seconds, got {timestamp!r}"
            )
        events = self._decider.finish(float(timestamp))
        self._emit(events)
        return events

    def run(
        self,
        frames: Iterator[tuple[float, np.ndarray, np.ndarray]] | Sequence,
        image_size: tuple[int, int] | None = None,
    ) -> Iterator[GestureEvent]:
        """Iterate events over (timestamp, landmarks (K, 3), visibility (K,)) frames."""
        last = None
        for timestamp, landmarks, visibility in frames:
            last = timestamp
            yield from self.push(timestamp, landmarks, visibility, image_size)
        if last is not None:
            yield from self.finish(last)
