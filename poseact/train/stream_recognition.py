"""A live recognizer run over a recording: the detections it makes, and the true events
it is scored against (shared by `stream_eval`, `stream_sweep` and `stream_people`).
"""

from __future__ import annotations

import os

import numpy as np

from poseact.core.errors import DatasetError
from poseact.train.event_annotations import Annotation, Detection, read_annotations


def _labelled_truth(model, annotations, *, people: bool = False) -> list[Annotation]:
    """The true events for `model` (its background dropped), from an annotation CSV or a
    list of `Annotation`s; checks that the model knows their labels and, with `people`,
    that each says who made it (`evaluate_stream`, `evaluate_people_stream` state the
    errors)."""
    classes = tuple(str(c) for c in model.classes_)
    if isinstance(annotations, str | os.PathLike):
        where = str(annotations)
        truth = read_annotations(annotations, background=model.background)
    else:
        where = "the annotations"
        truth = [a for a in annotations if a.label != model.background]
    if people and any(a.person is None for a in truth):
        raise DatasetError(
            f"{where} do not say who made each gesture: give them a fourth column,"
            " start_s,end_s,label,person"
        )
    strangers = sorted({a.label for a in truth} - set(classes))
    if strangers:
        raise DatasetError(
            f"{where} name labels {strangers} that the model does not know (it knows"
            f" {list(classes)})"
        )
    return truth


def _truth(model, recording, annotations) -> list[Annotation]:
    """The true events for `model` (`_labelled_truth`); checks the recording's layout too."""
    from poseact.core.layouts import check_same_layout

    truth = _labelled_truth(model, annotations)
    check_same_layout(recording.source, recording.layout, model.spec.layout)
    return truth


def _frame_rate(times: np.ndarray) -> float:
    """A recording's median frame rate (30 when it cannot tell)."""
    steps = np.diff(times)
    return 1.0 / float(np.median(steps)) if len(steps) and np.median(steps) > 0 else 30.0


def _detections(events, person: int | None = None) -> list[Detection]:
    """Detections from (GestureEvent, reported at) pairs in the order they came: a
    "started" event opens one, its end closes it; `person` is the track id they carry."""
    out: list[Detection] = []
    opened: tuple[float, float] | None = None  # (start, reported)
    for event, now in events:
        if event.end is None:
            opened = (event.start, now)
        else:
            start, reported = opened if opened is not None else (event.start, event.start)
            out.append(
                Detection(event.label, start, event.end, reported, float(event.confidence), person)
            )
            opened = None
    return out


def _recognize(model, options, recording, times: np.ndarray, end: float | None = None):
    """A `StreamingRecognizer` over a recording at `times`: (detections, (T, C)
    probabilities, (T,) answers, the threshold it decided at); a gesture going on at the
    end closes at `end` (default the last time)."""
    from poseact.runtime.recognizer import StreamingRecognizer

    recognizer = StreamingRecognizer(model, options)
    probabilities = np.zeros((len(times), len(model.classes_)), dtype=np.float32)
    answers = np.empty(len(times), dtype=object)
    events = []
    for i, now in enumerate(times):
        pushed = recognizer.push(
            float(now), recording.landmarks[i], recording.visibility[i], recording.image_size
        )
        probabilities[i] = recognizer.probabilities
        answers[i] = recognizer.label or ""
        events += [(e, float(now)) for e in pushed]
    last = float(times[-1]) if len(times) else 0.0
    close = last if end is None else end
    events += [(e, close) for e in recognizer.finish(close)]
    detections = _detections(events, getattr(recording, "person", None))
    return detections, probabilities, answers, recognizer.threshold
