"""What the live recognizer decides at every frame of a recording (`decide_stream`):
what `predict --output` draws and `predict --events` lists, frame by frame, as `live`
does. numpy only; the model is a `.tflite` run by LiteRT or a fitted classifier."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from poseact.train.event_annotations import Detection

__all__ = ["StreamDecisions", "decide_stream"]


@dataclass(frozen=True, eq=False)
class StreamDecisions:
    """What the live recognizer decided at every frame of a recording.

    Attributes:
        classes: (C,) the model's labels.
        times: (T,) seconds from the recording's first frame, one per camera frame.
        labels: (T,) the smoothed best label after each frame (what `live` shows:
            `rejection.unknown` where the rejection rule refuses it, "" before the
            model's first answer).
        confidences: (T,) its smoothed probability.
        probabilities: (T, C) the smoothed probabilities.
        gestures: (T,) the gesture going on after each frame (an event started and not
            yet ended), "" for none.
        events: (T,) the `GestureEvent`s each frame started or ended (times from the
            first frame; the last frame also holds the end of a gesture still going on).
        detections: the finished gestures, with the time each was reported.
        source: the recording's name.
    """

    classes: tuple[str, ...]
    times: np.ndarray
    labels: tuple[str, ...]
    confidences: np.ndarray
    probabilities: np.ndarray
    gestures: tuple[str, ...]
    events: tuple[tuple[Any, ...], ...]
    detections: tuple[Detection, ...]
    source: str = ""

    def __len__(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return float(self.times[-1]) if len(self.times) else 0.0

    def index_at(self, seconds: float) -> int:
        """The last frame at or before `seconds` (from the first frame); 0 before it."""
        i = int(np.searchsorted(self.times, float(seconds) + 1e-6, "right")) - 1
        return min(max(i, 0), len(self.times) - 1)


class _KerasStreamModel:
    """A fitted `GestureClassifier` as the live recognizer sees a model: its window
    model re-run over the last W rows at every row (as a `.tflite` without a
    single-step model is run), with the model's classes, background, rejection rule,
    onset and placement."""

    def __init__(self, classifier) -> None:
        self.spec = classifier.normalizer_spec_
        self.classes_ = classifier.classes_
        self.background = classifier.background_
        self.rejection = getattr(classifier, "rejection_", None)
        self.onset = getattr(classifier, "onset_", None)
        self.placement = getattr(classifier, "placement_", None)
        self.threshold = None  # a classifier stores none; export --threshold does
        self._net = classifier.model_

    def stepper(self, *, stateful: bool = True):
        from poseact.runtime.steppers import WindowStepper

        return WindowStepper(self.predict_window, self.spec.window)

    def predict_window(self, window: np.ndarray) -> np.ndarray:
        """(C,) probabilities for one (W, F) window (the network called directly: no
        `predict` loop, no retracing)."""
        out = self._net(np.asarray(window, dtype=np.float32)[None], training=False)
        return np.asarray(out, dtype=np.float32)[0]


def _stream_model(model):
    """A `TFLiteGestureModel` or a `GestureClassifier` (adapted) from a model or a path."""
    from poseact.runtime.model import TFLiteGestureModel

    if isinstance(model, TFLiteGestureModel):
        return model
    if isinstance(model, str | os.PathLike):
        return TFLiteGestureModel(model)
    if hasattr(model, "model_") and hasattr(model, "normalizer_"):
        return _KerasStreamModel(model)
    raise TypeError(
        "model must be a TFLiteGestureModel, a fitted GestureClassifier or a .tflite path,"
        f" got {type(model).__name__}"
    )


def decide_stream(model, recording, options=None) -> StreamDecisions:
    """Run the live recognizer (`StreamingRecognizer`, as `poseact live` does) over a
    recording and keep what it decided at every frame.

    Args:
        model: a `TFLiteGestureModel`, the path of an exported `.tflite`, or a fitted
            `GestureClassifier` (its window model re-run at every row).
        recording: a `LandmarkSequence` (its first frame is time 0).
        options: the `DecisionOptions` (default: the live defaults).

    Returns:
        The `StreamDecisions`: per frame the label, confidence, probabilities, the
        gesture going on and the events; the finished gestures.

    Raises:
        LandmarkFormatError: the recording's layout is not the model's.
    """
    from poseact.core.layouts import check_same_layout
    from poseact.runtime.recognizer import StreamingRecognizer

    model = _stream_model(model)
    check_same_layout(recording.source, recording.layout, model.spec.layout)
    classes = tuple(str(c) for c in model.classes_)
    recognizer = StreamingRecognizer(model, options)
    t0 = float(recording.timestamps[0]) if len(recording) else 0.0
    times = np.asarray(recording.timestamps, dtype=np.float64) - t0
    count = len(times)
    probabilities = np.zeros((count, len(classes)), dtype=np.float32)
    confidences = np.zeros(count, dtype=np.float32)
    labels: list[str] = []
    gestures: list[str] = []
    per_frame: list[list] = []
    detections: list[Detection] = []
    opened: tuple[float, float] | None = None  # (start, reported)
    current = ""

    def take(events, now: float) -> None:
        nonlocal opened, current
        for event in events:
            if event.end is None:
                opened, current = (event.start, now), event.label
            else:
                start, reported = opened if opened is not None else (event.start, event.start)
                detections.append(
                    Detection(event.label, start, event.end, reported, float(event.confidence))
                )
                opened, current = None, ""

    for i, now in enumerate(times):
        events = recognizer.push(
            float(now), recording.landmarks[i], recording.visibility[i], recording.image_size
        )
        probabilities[i] = recognizer.probabilities
        confidences[i] = recognizer.confidence
        labels.append(recognizer.label or "")
        take(events, float(now))
        gestures.append(current)
        per_frame.append(list(events))
    if count:
        last = recognizer.finish(float(times[-1]))
        take(last, float(times[-1]))
        per_frame[-1] += last
    return StreamDecisions(
        classes=classes,
        times=times,
        labels=tuple(labels),
        confidences=confidences,
        probabilities=probabilities,
        gestures=tuple(gestures),
        events=tuple(tuple(events) for events in per_frame),
        detections=tuple(detections),
        source=str(recording.source or ""),
    )
