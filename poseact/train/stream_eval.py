"""Event-level scores of continuous recognition on a long, annotated recording.

`evaluate_stream` runs the live recognizer over a recording and scores its events
against the annotation (`StreamEvaluation`: the report, the timeline, the files). The
parts live beside it, and this module names them all:

- `poseact.train.event_annotations`: `Annotation`, `Detection`, the annotation CSV
  (`read_annotations`, `write_annotations`).
- `poseact.train.event_match`: matching and scoring (`match_events`, `detect_events`,
  `EventReport`, `evaluate_events`); its docstring states the matching rule and the
  measures (precision, recall, F1, latency, false alarms, the SHREC measures).
- `poseact.train.stream_timeline`: `plot_timeline`, the timeline PNG.
- `poseact.train.stream_sweep`: `sweep_stream`, one recording at many thresholds.
- `poseact.train.stream_people`: `evaluate_people_stream`, several people at once.

numpy only; matplotlib is imported when a picture is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.atomic import atomic_dir, atomic_write_text
from poseact.train.event_annotations import ANNOTATION_HEADER as ANNOTATION_HEADER
from poseact.train.event_annotations import PEOPLE_HEADER as PEOPLE_HEADER
from poseact.train.event_annotations import Annotation as Annotation
from poseact.train.event_annotations import Detection as Detection
from poseact.train.event_annotations import read_annotations as read_annotations
from poseact.train.event_annotations import write_annotations as write_annotations
from poseact.train.event_match import EARLY as EARLY
from poseact.train.event_match import MIN_IOU as MIN_IOU
from poseact.train.event_match import ClassCounts as ClassCounts
from poseact.train.event_match import EventMatching as EventMatching
from poseact.train.event_match import EventReport as EventReport
from poseact.train.event_match import detect_events as detect_events
from poseact.train.event_match import evaluate_events as evaluate_events
from poseact.train.event_match import interval_iou as interval_iou
from poseact.train.event_match import match_events as match_events
from poseact.train.stream_decisions import StreamDecisions as StreamDecisions
from poseact.train.stream_decisions import _stream_model
from poseact.train.stream_decisions import decide_stream as decide_stream
from poseact.train.stream_people import PeopleEvaluation as PeopleEvaluation
from poseact.train.stream_people import evaluate_people_stream as evaluate_people_stream
from poseact.train.stream_recognition import _frame_rate, _recognize, _truth
from poseact.train.stream_sweep import SWEEP_THRESHOLDS as SWEEP_THRESHOLDS
from poseact.train.stream_sweep import StreamSweep as StreamSweep
from poseact.train.stream_sweep import sweep_stream as sweep_stream
from poseact.train.stream_timeline import plot_timeline as plot_timeline

__all__ = [
    "ANNOTATION_HEADER",
    "Annotation",
    "Detection",
    "EventMatching",
    "EventReport",
    "interval_iou",
    "read_annotations",
    "write_annotations",
    "match_events",
    "detect_events",
    "evaluate_events",
    "plot_timeline",
    "StreamEvaluation",
    "evaluate_stream",
    "PeopleEvaluation",
    "evaluate_people_stream",
    "StreamDecisions",
    "decide_stream",
]


# ---------------------------------------------------------------------- a whole recording
@dataclass(frozen=True, eq=False)
class StreamEvaluation:
    """A recognizer run over one annotated recording, and its scores.

    Attributes:
        report: the `EventReport`.
        truth: the annotated events.
        detections: the recognizer's events, with the time each was reported.
        times: (T,) seconds from the recording's first frame, one per camera frame.
        probabilities: (T, C) the smoothed probabilities the decisions used.
        answers: (T,) the smoothed best label per frame ("unknown" where rejected).
        classes: (C,) the model's labels.
        threshold: the decision threshold.
        source: the recording's name.
    """

    report: EventReport
    truth: tuple[Annotation, ...]
    detections: tuple[Detection, ...]
    times: np.ndarray
    probabilities: np.ndarray
    answers: np.ndarray
    classes: tuple[str, ...]
    threshold: float
    source: str = ""

    def summary(self) -> str:
        return self.report.summary()

    def to_dict(self) -> dict[str, Any]:
        data = self.report.to_dict()
        data["source"] = self.source
        data["detections_list"] = [
            {
                "label": d.label,
                "start_s": d.start,
                "end_s": d.end,
                "reported_s": d.reported_at,
                "confidence": d.confidence,
            }
            for d in self.detections
        ]
        return data

    def save(self, directory: str | os.PathLike, *, force: bool = False) -> dict[str, Path]:
        """Write report.json, detections.csv (annotation format) and timeline.png, as
        one unit (`core.atomic.atomic_dir`: all three, or none and the old ones kept).

        Raises:
            OutputRefused: `directory` is a file, or holds a user's file of one of
                those names (without `force`).
            WriteError: the disk is full.
        """
        import json

        out = Path(directory)
        names = {"json": "report.json", "csv": "detections.csv", "png": "timeline.png"}
        with atomic_dir(out, force=force) as tmp:
            atomic_write_text(tmp / names["json"], json.dumps(self.to_dict(), indent=1) + "\n")
            write_annotations(tmp / names["csv"], self.detections)
            self.plot(tmp / names["png"])
        return {key: out / name for key, name in names.items()}

    def plot(self, path: str | os.PathLike) -> Path:
        """The timeline PNG (see `plot_timeline`)."""
        r = self.report
        title = (
            f"{self.source}: event F1 {r.f1:.2f}, median latency {r.latency_median:.2f} s,"
            f" {r.false_alarms_per_minute:.2f} false alarms/min"
        )
        return plot_timeline(
            path,
            self.truth,
            self.detections,
            times=self.times,
            probabilities=self.probabilities,
            classes=self.classes,
            threshold=self.threshold,
            duration=r.duration,
            title=title,
            matching=r.matching,
        )


def evaluate_stream(
    model,
    recording,
    annotations: Sequence[Annotation] | str | os.PathLike,
    *,
    options=None,
    min_iou: float = MIN_IOU,
    early: float = EARLY,
) -> StreamEvaluation:
    """Run the live recognizer over a recording and score its events.

    Args:
        model: a `TFLiteGestureModel` or the path of an exported `.tflite`.
        recording: a `LandmarkSequence` (`poseact.load_sequence` reads videos and
            landmark files); its first frame is time 0 of the annotations.
        annotations: the true events, or an annotation CSV (`read_annotations`; rows
            labelled with the model's background are background).
        options: the `DecisionOptions` of the recognizer (default: the live defaults).
        min_iou: the matching threshold.
        early: the SHREC detections' tolerance, seconds before a true start (the
            delay is counted in the recording's frames, at its median frame rate).

    Returns:
        A `StreamEvaluation` (`.report`, `.summary()`, `.save(dir)`).

    Raises:
        ModelFormatError: the model cannot be read.
        DatasetError: the annotation file cannot be read, or names labels the model
            does not know.
        LandmarkFormatError: the recording's layout is not the model's.
    """
    from poseact.runtime.decider import DecisionOptions

    model = _stream_model(model)
    options = options or DecisionOptions()
    classes = tuple(str(c) for c in model.classes_)
    truth = _truth(model, recording, annotations)
    t0 = float(recording.timestamps[0]) if len(recording) else 0.0
    times = np.asarray(recording.timestamps, dtype=np.float64) - t0
    detections, probabilities, answers, threshold = _recognize(model, options, recording, times)
    duration = float(times[-1]) if len(times) else 0.0
    report = evaluate_events(
        truth,
        detections,
        duration=duration,
        min_iou=min_iou,
        fps=_frame_rate(times),
        early=early,
    )
    return StreamEvaluation(
        report=report,
        truth=tuple(truth),
        detections=tuple(detections),
        times=times,
        probabilities=probabilities,
        answers=answers.astype(str),
        classes=classes,
        threshold=threshold,
        source=recording.source,
    )
