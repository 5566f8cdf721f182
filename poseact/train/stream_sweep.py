"""One recording decided at many thresholds, the network run once (`sweep_stream`): event
F1, false alarms, latency and the SHREC detection rate over the decision threshold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.atomic import atomic_path, atomic_write_text
from poseact.train.event_annotations import Annotation
from poseact.train.event_match import EARLY, MIN_IOU, EventReport, evaluate_events
from poseact.train.stream_recognition import _detections, _frame_rate, _truth

__all__ = [
    "SWEEP_THRESHOLDS",
    "StreamSweep",
    "sweep_stream",
]


# ---------------------------------------------------------------------- threshold sweeps
#: The thresholds `sweep_stream` tries by default.
SWEEP_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.96, 0.05))


@dataclass(frozen=True, eq=False)
class StreamSweep:
    """One recording decided at many thresholds (the network run once).

    Attributes:
        thresholds: (K,) the decision thresholds tried, increasing.
        reports: one `EventReport` per threshold.
        current: the threshold the recognizer uses without one given (the options',
            else the model's stored one, else the default).
        source: the recording's name.
    """

    thresholds: tuple[float, ...]
    reports: tuple[EventReport, ...]
    current: float
    source: str = ""

    def best(self, max_false_alarms: float = 1.0) -> float | None:
        """The threshold of the highest event F1 with at most `max_false_alarms` per
        minute of background (ties: the lower threshold, answered sooner); None when no
        threshold keeps to it."""
        ok = [
            (r.f1, -t)
            for t, r in zip(self.thresholds, self.reports)
            if not math.isnan(r.f1)
            and (r.false_alarms_per_minute <= max_false_alarms or r.background_seconds == 0)
        ]
        return -max(ok)[1] if ok else None

    def summary(self, max_false_alarms: float = 1.0) -> str:
        """A table: per threshold event F1, false alarms per minute, median latency
        and the SHREC detection rate; the threshold in use and the suggested one."""

        def f(value: float, fmt: str) -> str:
            return "n/a" if math.isnan(value) else format(value, fmt)

        lines = ["threshold  event F1  false alarms/min  median latency s  detection rate"]
        for t, r in zip(self.thresholds, self.reports):
            mark = "  <- in use" if math.isclose(t, self.current) else ""
            lines.append(
                f"{t:9.2f}  {f(r.f1, '.3f'):>8}  {f(r.false_alarms_per_minute, '.2f'):>16}"
                f"  {f(r.latency_median, '.2f'):>16}  {f(r.detection_rate, '.3f'):>14}{mark}"
            )
        best = self.best(max_false_alarms)
        if best is None:
            lines.append(f"no threshold keeps to {max_false_alarms:g} false alarms per minute")
        else:
            lines.append(
                f"highest event F1 with at most {max_false_alarms:g} false alarms per minute:"
                f" threshold {best:.2f} (store it in the model: poseact export MODEL -o"
                f" OUT.tflite --threshold {best:.2f})"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "current": self.current,
            "thresholds": list(self.thresholds),
            "reports": [r.to_dict() for r in self.reports],
        }

    def plot(self, path: str | os.PathLike) -> Path:
        """The curve as a PNG: event F1 and the SHREC detection rate (left axis), false
        alarms per minute and median latency (right axes) over the threshold."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        t = np.array(self.thresholds)
        fig = Figure(figsize=(8.0, 4.5), dpi=100)
        ax = fig.subplots()
        ax.plot(t, [r.f1 for r in self.reports], "o-", color="tab:blue", label="event F1")
        ax.plot(
            t,
            [r.detection_rate for r in self.reports],
            "s--",
            color="tab:cyan",
            label="detection rate (SHREC)",
        )
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("decision threshold")
        ax.set_ylabel("F1, detection rate")
        right = ax.twinx()
        right.plot(
            t,
            [r.false_alarms_per_minute for r in self.reports],
            "^-",
            color="tab:red",
            label="false alarms / min",
        )
        right.plot(
            t,
            [r.latency_median for r in self.reports],
            "v:",
            color="tab:green",
            label="median latency, s",
        )
        right.set_ylabel("false alarms / min, latency s")
        right.set_ylim(bottom=0)
        ax.axvline(self.current, color="grey", linestyle="--", linewidth=1.0)
        handles = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(handles[0] + more[0], handles[1] + more[1], loc="best", fontsize=8)
        ax.set_title(
            f"{self.source or 'recording'}: events over the threshold (dashed: in use)",
            loc="left",
            fontsize=10,
        )
        fig.tight_layout()
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png")
        return Path(path)

    def save(self, directory: str | os.PathLike) -> dict[str, Path]:
        """Write sweep.json and sweep.png."""
        import json

        out = Path(directory)
        return {
            "json": atomic_write_text(
                out / "sweep.json", json.dumps(self.to_dict(), indent=1, allow_nan=True) + "\n"
            ),
            "png": self.plot(out / "sweep.png"),
        }


def sweep_stream(
    model,
    recording,
    annotations: Sequence[Annotation] | str | os.PathLike,
    *,
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
    options=None,
    min_iou: float = MIN_IOU,
    early: float = EARLY,
) -> StreamSweep:
    """Decide one recording at many thresholds: the network runs once
    (`StreamingRecognizer.answers`), a `Decider` per threshold decides its answers, and
    each gets an `EventReport` (the other decisions as `options`).

    Arguments and errors as `evaluate_stream`; `thresholds` in [0, 1].
    """
    import dataclasses

    from poseact.runtime.decider import Decider, DecisionOptions
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.runtime.recognizer import StreamingRecognizer

    if not isinstance(model, TFLiteGestureModel):
        model = TFLiteGestureModel(model)
    options = options or DecisionOptions()
    truth = _truth(model, recording, annotations)
    recognizer = StreamingRecognizer(model, options)
    t0 = float(recording.timestamps[0]) if len(recording) else 0.0
    times = np.asarray(recording.timestamps, dtype=np.float64) - t0
    answers = []
    for i, now in enumerate(times):
        answers += recognizer.answers(
            float(now), recording.landmarks[i], recording.visibility[i], recording.image_size
        )
    duration = float(times[-1]) if len(times) else 0.0
    fps = _frame_rate(times)
    reports = []
    values = tuple(sorted(float(t) for t in thresholds))
    for threshold in values:
        decider = Decider(
            model.classes_,
            model.background,
            dataclasses.replace(options, threshold=threshold),
            model.rejection,
        )
        events = [(e, a.now) for a in answers for e in decider.update(*a)]
        events += [(e, duration) for e in decider.finish(duration)]
        detections = _detections(events)
        reports.append(
            evaluate_events(
                truth, detections, duration=duration, min_iou=min_iou, fps=fps, early=early
            )
        )
    return StreamSweep(
        thresholds=values,
        reports=tuple(reports),
        current=recognizer.threshold,
        source=recording.source,
    )
