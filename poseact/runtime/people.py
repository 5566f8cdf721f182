"""`PeopleRecognizer`: several people in, each person's gesture events out.

Each frame's people are linked into tracks (`poseact.core.tracking.Tracker`); every
track has its own `StreamingRecognizer` (its own featurizer, classifier state and
decider), so one person's gesture never reaches another's decisions. Events carry the
person's track id. A track that has not been seen for `TrackerOptions.max_missing`
seconds ends: its gesture going on is closed at the time the person was last seen.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from poseact.core.errors import LandmarkFormatError
from poseact.core.tracking import Tracker, TrackerOptions
from poseact.runtime.decider import DecisionOptions, GestureEvent
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.recognizer import StreamingRecognizer

__all__ = ["PersonState", "PeopleRecognizer"]


@dataclass(frozen=True, eq=False)
class PersonState:
    """One person after a frame.

    Attributes:
        person: the track id.
        label: the smoothed best label (None before the person's first model step).
        confidence: its smoothed probability in [0, 1].
        probabilities: (C,) smoothed probabilities, in `model.classes_` order.
        landmarks: (K, 3) the person's landmarks in this frame (NaN while not seen).
        visibility: (K,) their visibility.
        seen: True if the person was found in this frame (False: coasting, hidden
            for less than `max_missing`).
        gesture: the label of the gesture going on, or None.
    """

    person: int
    label: str | None
    confidence: float
    probabilities: np.ndarray
    landmarks: np.ndarray
    visibility: np.ndarray
    seen: bool
    gesture: str | None = None


class PeopleRecognizer:
    """Live recognition of several people: one `StreamingRecognizer` per track.

        recognizer = PeopleRecognizer("gestures.tflite")
        for t, landmarks, visibility in frames:  # (N, K, 3), (N, K): N people
            for event in recognizer.push(t, landmarks, visibility, image_size):
                print(event.person, event.label, event.start, event.end)
        recognizer.finish(t)

    Args:
        model: a `TFLiteGestureModel` or the path of an exported `.tflite`.
        options: `DecisionOptions` (the same for everyone).
        tracker: `TrackerOptions`.
        on_event: optional callback called with each `GestureEvent`.
        stateful: as for `StreamingRecognizer`.

    Recognizers of tracks that ended are reset and reused for new ones (each holds
    a LiteRT interpreter).
    """

    def __init__(
        self,
        model: TFLiteGestureModel | str | os.PathLike,
        options: DecisionOptions | None = None,
        *,
        tracker: TrackerOptions | None = None,
        on_event: Callable[[GestureEvent], None] | None = None,
        stateful: bool = True,
    ) -> None:
        self.model = model if isinstance(model, TFLiteGestureModel) else TFLiteGestureModel(model)
        self.options = options or DecisionOptions()
        self.on_event = on_event
        self.stateful = stateful
        self.tracker = Tracker.for_layout(self.model.spec.layout, tracker)
        self._active: dict[int, StreamingRecognizer] = {}
        self._gestures: dict[int, str | None] = {}
        self._idle: list[StreamingRecognizer] = []
        self._people: tuple[PersonState, ...] = ()

    def reset(self) -> None:
        """Start a new stream: no tracks, ids from 0."""
        self.tracker.reset()
        for recognizer in self._active.values():
            recognizer.reset()
            self._idle.append(recognizer)
        self._active.clear()
        self._gestures.clear()
        self._people = ()

    @property
    def people(self) -> tuple[PersonState, ...]:
        """The people of the last frame (found or coasting), by track id."""
        return self._people

    def push(
        self,
        timestamp: float,
        landmarks: np.ndarray,
        visibility: np.ndarray,
        image_size: tuple[int, int] | None = None,
    ) -> list[GestureEvent]:
        """Feed one frame's people; returns the events it began or ended, by person.

        Args:
            timestamp: seconds, increasing.
            landmarks: (N, K, 3) N people's normalized image coordinates (N may be 0).
            visibility: (N, K) in [0, 1].
            image_size: (width, height) of the frame in pixels.

        Raises:
            LandmarkFormatError: a timestamp that does not increase, or bad shapes.
        """
        t = float(timestamp)
        landmarks = np.asarray(landmarks, dtype=np.float32)
        visibility = np.asarray(visibility, dtype=np.float32)
        update = self.tracker.update(t, landmarks, visibility, image_size)
        events: list[GestureEvent] = []
        for person, last_seen in update.ended:
            events += self._end(person, last_seen)
        k = landmarks.shape[1] if landmarks.ndim == 3 else self.model.spec.num_points
        found = {int(person): n for n, person in enumerate(update.ids) if person >= 0}
        states = []
        for person in sorted(set(found) | set(self._active)):
            recognizer = self._active.get(person)
            if recognizer is None:
                recognizer = self._idle.pop() if self._idle else self._new()
                self._active[person] = recognizer
                self._gestures[person] = None
            n = found.get(person)
            if n is None:  # hidden for a moment: a frame without them, as for one person
                points = np.full((k, 3), np.nan, dtype=np.float32)
                seen = np.zeros(k, dtype=np.float32)
            else:
                points, seen = landmarks[n], visibility[n]
            for event in recognizer.push(t, points, seen, image_size):
                events.append(self._tag(event, person))
            states.append(
                PersonState(
                    person=person,
                    label=recognizer.label,
                    confidence=float(recognizer.confidence),
                    probabilities=np.array(recognizer.probabilities, dtype=np.float32),
                    landmarks=points,
                    visibility=seen,
                    seen=n is not None,
                    gesture=self._gestures[person],
                )
            )
        self._people = tuple(states)
        self._emit(events)
        return events

    def finish(self, timestamp: float) -> list[GestureEvent]:
        """End the stream at `timestamp`: closes every gesture going on.

        Raises:
            LandmarkFormatError: `timestamp` is not a finite number of seconds.
        """
        if not math.isfinite(float(timestamp)):
            raise LandmarkFormatError(
                f"stream timestamp must be a finite number of seconds, got {timestamp!r}"
            )
        events: list[GestureEvent] = []
        self.tracker.finish()
        for person in sorted(self._active):
            events += self._end(person, float(timestamp))
        self._people = ()
        self._emit(events)
        return events

    # ------------------------------------------------------------------ helpers
    def _new(self) -> StreamingRecognizer:
        return StreamingRecognizer(self.model, self.options, stateful=self.stateful)

    def _tag(self, event: GestureEvent, person: int) -> GestureEvent:
        self._gestures[person] = event.label if event.end is None else None
        return dataclasses.replace(event, person=person)

    def _end(self, person: int, when: float) -> list[GestureEvent]:
        """Close a track's gesture at `when` (when it was last seen) and free its
        recognizer."""
        recognizer = self._active.pop(person, None)
        self._gestures.pop(person, None)
        if recognizer is None:
            return []
        events = [
            dataclasses.replace(e, person=person, end=max(e.end, e.start))
            for e in recognizer.finish(when)
        ]
        recognizer.reset()
        self._idle.append(recognizer)
        return events

    def _emit(self, events: list[GestureEvent]) -> None:
        if self.on_event is not None:
            for event in events:
                self.on_event(event)
