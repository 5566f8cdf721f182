"""Event-level scores of detections against the annotated events of a recording.

A recording is annotated with one CSV row per gesture (`start_s,end_s,label`, seconds
from the recording's first frame; see `read_annotations`); everything between the rows
is background. A recognizer's output is a list of `Detection`s. This module matches
the two and scores them:

- **Matching rule.** A detection matches a true event when both have the same label and
  their intervals' IoU (intersection over union of [start, end]) is >= `min_iou` (0.5).
  Matching is one-to-one and greedy by IoU: every (true event, detection) pair of the
  same label with IoU >= `min_iou` is ranked by IoU (highest first; ties by the earlier
  true start, then the earlier detection start), and a pair is kept when neither side
  has been kept before. A true event is therefore found at most once; a second
  detection of it is a *duplicate* and counts against precision. With `min_iou` >= 0.5
  and events that do not overlap on either side (as a recognizer's and an annotation
  file's never do), no event can match two candidates, so greedy is also optimal.
- **Precision, recall, F1**: matched / detections, matched / true events,
  2·matched / (detections + true events); NaN where the denominator is 0.
- **Latency**: for each matched pair, the time the detection was *reported* (the
  recognizer's "started" event; `Detection.reported`, which defaults to its start)
  minus the true start, in seconds. Median and 90th percentile (linear interpolation);
  negative when the detection fired before the annotated start.
- **False alarms per minute of background**: an unmatched detection lying mostly in
  background (less than half of its length inside annotated events; a zero-length one:
  its instant outside every event) is a false alarm; their count divided by the
  background time (recording duration minus the union of annotated events) in minutes.
  The other unmatched detections are *duplicates* (their main overlap is a same-label
  event matched by another detection), *misaligned* (a same-label event left unmatched,
  IoU too low) or *mislabelled* (mainly over an event of another label).

The measures of the SHREC online gesture tracks (SHREC 2019/2021/2022), beside them:

- **Detection rate**: the share of true events *detected*: a detection with the same
  label whose start lies inside the event, or up to `early` seconds (0.25 by default)
  before it. Each detection detects at most one event: events are taken in time order,
  each by the earliest unused detection that qualifies.
- **False positives per true gesture**: the detections that detected no event (a wrong
  label, a start outside every event of its label, a second detection of one event),
  divided by the number of true events.
- **Jaccard index**: over the detected events, the mean intersection over union of the
  event's and its detection's intervals.
- **Delay in frames**: over the detected events, the mean number of the recording's
  frames from the true start to the moment the detection was reported (the time times
  the recording's frame rate; negative when reported before the start).

"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from poseact.train.event_annotations import Annotation, Detection

__all__ = [
    "MIN_IOU",
    "EARLY",
    "interval_iou",
    "EventMatching",
    "match_events",
    "detect_events",
    "ClassCounts",
    "EventReport",
    "evaluate_events",
]


#: The default minimum IoU for a detection to match a true event.
MIN_IOU = 0.5
#: The default tolerance, seconds, for a detection's start before its true event's
#: start (the SHREC detection rate).
EARLY = 0.25


def interval_iou(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    """Intersection over union of [a_start, a_end] and [b_start, b_end] (0 if disjoint).

    Two identical zero-length intervals have IoU 1; any other zero-length one, 0.
    """
    inter = max(0.0, min(a_end, b_end) - max(a_start, b_start))
    union = max(a_end, b_end) - min(a_start, b_start)
    if union <= 0.0:
        return 1.0 if (a_start, a_end) == (b_start, b_end) else 0.0
    return inter / union


# ---------------------------------------------------------------------- matching
@dataclass(frozen=True)
class EventMatching:
    """Which detection matched which true event.

    Attributes:
        pairs: (true index, detection index, IoU) of every match, by true index.
        missed: indices of true events no detection matched.
        unmatched: indices of detections that matched no true event.
    """

    pairs: tuple[tuple[int, int, float], ...]
    missed: tuple[int, ...]
    unmatched: tuple[int, ...]


def _check_events(events: Sequence, what: str) -> None:
    for i, event in enumerate(events):
        if not (math.isfinite(event.start) and math.isfinite(event.end)):
            raise ValueError(f"{what} {i} ({event.label}) has a non-finite time")
        if event.end < event.start:
            raise ValueError(
                f"{what} {i} ({event.label}) ends at {event.end:g} s before it starts"
                f" ({event.start:g} s)"
            )


def match_events(
    truth: Sequence[Annotation],
    detections: Sequence[Detection],
    *,
    min_iou: float = MIN_IOU,
) -> EventMatching:
    """Match detections to true events: same label, IoU >= `min_iou`, one-to-one,
    greedy by IoU (the module docstring states the rule).

    Args:
        truth: the true events (any order).
        detections: the detected events (any order).
        min_iou: minimum interval IoU of a match, in (0, 1].

    Raises:
        ValueError: `min_iou` outside (0, 1], or an event ending before it starts.
    """
    if not 0.0 < min_iou <= 1.0:
        raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
    _check_events(truth, "true event")
    _check_events(detections, "detection")
    candidates = []
    for i, t in enumerate(truth):
        for j, d in enumerate(detections):
            if d.label != t.label:
                continue
            iou = interval_iou(t.start, t.end, d.start, d.end)
            if iou >= min_iou:
                candidates.append((-iou, t.start, d.start, i, j, iou))
    candidates.sort()
    used_true: set[int] = set()
    used_det: set[int] = set()
    pairs = []
    for *_, i, j, iou in candidates:
        if i in used_true or j in used_det:
            continue
        used_true.add(i)
        used_det.add(j)
        pairs.append((i, j, float(iou)))
    pairs.sort()
    return EventMatching(
        pairs=tuple(pairs),
        missed=tuple(i for i in range(len(truth)) if i not in used_true),
        unmatched=tuple(j for j in range(len(detections)) if j not in used_det),
    )


def detect_events(
    truth: Sequence[Annotation],
    detections: Sequence[Detection],
    *,
    early: float = EARLY,
) -> tuple[tuple[int, int], ...]:
    """The SHREC detections: (true index, detection index) of each detected event.

    A true event is detected by a detection with its label whose start lies in
    [event start - `early`, event end]; events are taken in start order, each by the
    earliest unused detection that qualifies (one detection detects one event).

    Raises:
        ValueError: `early` negative or not finite, or an event ending before it starts.
    """
    if not (math.isfinite(early) and early >= 0):
        raise ValueError(f"early must be a finite number of seconds >= 0, got {early}")
    _check_events(truth, "true event")
    _check_events(detections, "detection")
    order = sorted(range(len(detections)), key=lambda j: (detections[j].start, j))
    used: set[int] = set()
    pairs = []
    for i in sorted(range(len(truth)), key=lambda i: (truth[i].start, i)):
        t = truth[i]
        for j in order:
            d = detections[j]
            if j not in used and d.label == t.label and t.start - early <= d.start <= t.end:
                used.add(j)
                pairs.append((i, j))
                break
    return tuple(sorted(pairs))


def _union_seconds(intervals: Iterable[tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the union of intervals clipped to [lo, hi]."""
    total, reach = 0.0, lo
    for start, end in sorted(intervals):
        start, end = max(start, reach), min(end, hi)
        if end > start:
            total += end - start
            reach = end
    return total


def _inside_share(d: Detection, truth: Sequence[Annotation]) -> float:
    """Share of `d`'s length inside annotated events (zero length: 1 if inside one)."""
    if d.duration <= 0:
        return float(any(t.start <= d.start <= t.end for t in truth))
    inside = _union_seconds(
        ((t.start, t.end) for t in truth if t.end > d.start and t.start < d.end),
        d.start,
        d.end,
    )
    return inside / d.duration


# ---------------------------------------------------------------------- report
def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


@dataclass(frozen=True)
class ClassCounts:
    """Per-label counts: true events, detections, matches."""

    true: int = 0
    detected: int = 0
    matched: int = 0

    @property
    def precision(self) -> float:
        return _ratio(self.matched, self.detected)

    @property
    def recall(self) -> float:
        return _ratio(self.matched, self.true)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.matched, self.true + self.detected)


@dataclass(frozen=True, eq=False)
class EventReport:
    """Event-level scores of detections against annotations (see the module docstring).

    Attributes:
        num_true: true events.
        num_detected: detections.
        num_matched: matched pairs.
        latencies: (M,) seconds from each matched true start to the detection's report.
        missed: true events not found.
        duplicates, misaligned, mislabelled, false_alarms: the unmatched detections,
            by cause.
        background_seconds: recording time outside the annotated events.
        duration: the recording's length, seconds.
        per_class: label -> `ClassCounts`.
        min_iou: the matching threshold used.
        matching: the `EventMatching` (None for a pooled report).
        detected: true events detected in the SHREC sense (`detect_events`).
        jaccards: (D,) interval IoU of each detected event and its detection.
        delay_frames: (D,) frames from each detected event's start to its report.
        early: the tolerance, seconds, of the SHREC detections.
    """

    num_true: int
    num_detected: int
    num_matched: int
    latencies: np.ndarray
    missed: int
    duplicates: int
    misaligned: int
    mislabelled: int
    false_alarms: int
    background_seconds: float
    duration: float
    per_class: dict[str, ClassCounts] = field(default_factory=dict)
    min_iou: float = MIN_IOU
    matching: EventMatching | None = None
    detected: int = 0
    jaccards: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delay_frames: np.ndarray = field(default_factory=lambda: np.zeros(0))
    early: float = EARLY

    @property
    def precision(self) -> float:
        return _ratio(self.num_matched, self.num_detected)

    @property
    def detection_rate(self) -> float:
        """SHREC: share of true events detected (NaN without true events)."""
        return _ratio(self.detected, self.num_true)

    @property
    def false_positives_per_gesture(self) -> float:
        """SHREC: detections that detected no event, per true event."""
        return _ratio(self.num_detected - self.detected, self.num_true)

    @property
    def jaccard(self) -> float:
        """SHREC: mean interval IoU of the detected events (NaN without any)."""
        return float(np.mean(self.jaccards)) if len(self.jaccards) else math.nan

    @property
    def delay(self) -> float:
        """SHREC: mean delay in frames of the detected events (NaN without any)."""
        return float(np.mean(self.delay_frames)) if len(self.delay_frames) else math.nan

    @property
    def recall(self) -> float:
        return _ratio(self.num_matched, self.num_true)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.num_matched, self.num_true + self.num_detected)

    @property
    def latency_median(self) -> float:
        """Median latency, seconds (NaN without matches)."""
        return float(np.median(self.latencies)) if len(self.latencies) else math.nan

    @property
    def latency_p90(self) -> float:
        """90th-percentile latency, seconds (NaN without matches)."""
        return float(np.percentile(self.latencies, 90)) if len(self.latencies) else math.nan

    @property
    def false_alarms_per_minute(self) -> float:
        """False alarms per minute of background (NaN without background time)."""
        return _ratio(self.false_alarms, self.background_seconds / 60.0)

    @classmethod
    def pooled(cls, reports: Sequence[EventReport]) -> EventReport:
        """One report over several recordings: counts and times summed, latencies pooled.

        Raises:
            ValueError: no reports, or reports matched with different `min_iou`.
        """
        if not reports:
            raise ValueError("pooled() needs at least one report")
        if len({(r.min_iou, r.early) for r in reports}) > 1:
            raise ValueError("cannot pool reports matched with different min_iou or early")
        per_class: dict[str, ClassCounts] = {}
        for report in reports:
            for label, c in report.per_class.items():
                old = per_class.get(label, ClassCounts())
                per_class[label] = ClassCounts(
                    old.true + c.true, old.detected + c.detected, old.matched + c.matched
                )

        def total(name: str):
            return sum(getattr(r, name) for r in reports)

        return cls(
            num_true=total("num_true"),
            num_detected=total("num_detected"),
            num_matched=total("num_matched"),
            latencies=np.concatenate([r.latencies for r in reports]),
            missed=total("missed"),
            duplicates=total("duplicates"),
            misaligned=total("misaligned"),
            mislabelled=total("mislabelled"),
            false_alarms=total("false_alarms"),
            background_seconds=float(total("background_seconds")),
            duration=float(total("duration")),
            per_class=dict(sorted(per_class.items())),
            min_iou=reports[0].min_iou,
            detected=total("detected"),
            jaccards=np.concatenate([r.jaccards for r in reports]),
            delay_frames=np.concatenate([r.delay_frames for r in reports]),
            early=reports[0].early,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (NaN written as None)."""

        def num(value: float) -> float | None:
            return None if math.isnan(value) else float(value)

        return {
            "min_iou": self.min_iou,
            "duration_s": self.duration,
            "background_s": self.background_seconds,
            "true_events": self.num_true,
            "detections": self.num_detected,
            "matched": self.num_matched,
            "precision": num(self.precision),
            "recall": num(self.recall),
            "f1": num(self.f1),
            "latency_median_s": num(self.latency_median),
            "latency_p90_s": num(self.latency_p90),
            "latencies_s": [float(v) for v in self.latencies],
            "missed": self.missed,
            "duplicates": self.duplicates,
            "misaligned": self.misaligned,
            "mislabelled": self.mislabelled,
            "false_alarms": self.false_alarms,
            "false_alarms_per_minute": num(self.false_alarms_per_minute),
            "shrec": {
                "early_s": self.early,
                "detected": self.detected,
                "detection_rate": num(self.detection_rate),
                "false_positives_per_gesture": num(self.false_positives_per_gesture),
                "jaccard": num(self.jaccard),
                "delay_frames": num(self.delay),
            },
            "per_class": {
                label: {
                    "true": c.true,
                    "detected": c.detected,
                    "matched": c.matched,
                    "precision": num(c.precision),
                    "recall": num(c.recall),
                    "f1": num(c.f1),
                }
                for label, c in self.per_class.items()
            },
        }

    def summary(self) -> str:
        """A plain-text report: per-label table, totals, latency, errors by cause."""

        def f(value: float, fmt: str = ".3f") -> str:
            return "n/a" if math.isnan(value) else format(value, fmt)

        width = max([8, *(len(label) for label in self.per_class)])
        lines = [f"{'label':<{width}}  precision  recall     f1   true  detected"]
        for label, c in self.per_class.items():
            lines.append(
                f"{label:<{width}}  {f(c.precision):>9}  {f(c.recall):>6}  {f(c.f1):>5}"
                f"  {c.true:5d}  {c.detected:8d}"
            )
        lines += [
            f"events: precision {f(self.precision)}  recall {f(self.recall)}  F1 {f(self.f1)}"
            f"  ({self.num_matched} of {self.num_true} true events found by"
            f" {self.num_detected} detections; match = same label, IoU >= {self.min_iou:g})",
            f"latency from the true start: median {f(self.latency_median, '.2f')} s,"
            f" 90th percentile {f(self.latency_p90, '.2f')} s",
            f"false alarms: {self.false_alarms} in {self.background_seconds / 60:.2f} min of"
            f" background = {f(self.false_alarms_per_minute, '.2f')} per minute",
            f"errors: {self.missed} missed, {self.duplicates} duplicate,"
            f" {self.misaligned} misaligned, {self.mislabelled} mislabelled",
            f"SHREC: detection rate {f(self.detection_rate)} (label right, start inside,"
            f" up to {self.early:g} s early), {f(self.false_positives_per_gesture)} false"
            f" positives per gesture, Jaccard {f(self.jaccard)}, delay"
            f" {f(self.delay, '.1f')} frames",
        ]
        return "\n".join(lines)


def evaluate_events(
    truth: Sequence[Annotation],
    detections: Sequence[Detection],
    *,
    duration: float,
    min_iou: float = MIN_IOU,
    fps: float = 30.0,
    early: float = EARLY,
) -> EventReport:
    """Score detections against the true events of one recording.

    Args:
        truth: the annotated events (background excluded).
        detections: the recognizer's events (background never among them).
        duration: the recording's length in seconds (for the background time).
        min_iou: minimum interval IoU of a match.
        fps: the recording's frame rate (the SHREC delay is counted in its frames).
        early: seconds a detection may start before its event and still detect it.

    Returns:
        An `EventReport`.

    Raises:
        ValueError: `duration` is negative or not finite, `fps` not positive, or see
            `match_events` and `detect_events`.
    """
    if not (math.isfinite(duration) and duration >= 0):
        raise ValueError(f"duration must be a finite number of seconds >= 0, got {duration}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    matching = match_events(truth, detections, min_iou=min_iou)
    shrec = detect_events(truth, detections, early=early)
    matched_true = {i for i, _, _ in matching.pairs}
    causes = {"duplicates": 0, "misaligned": 0, "mislabelled": 0, "false_alarms": 0}
    for j in matching.unmatched:
        d = detections[j]
        if _inside_share(d, truth) < 0.5:
            causes["false_alarms"] += 1
            continue
        overlaps = [
            (max(0.0, min(t.end, d.end) - max(t.start, d.start)), -i, i)
            for i, t in enumerate(truth)
            if t.start <= d.end and d.start <= t.end
        ]
        _, _, i = max(overlaps)
        if truth[i].label != d.label:
            causes["mislabelled"] += 1
        elif i in matched_true:
            causes["duplicates"] += 1
        else:
            causes["misaligned"] += 1
    labels = sorted({t.label for t in truth} | {d.label for d in detections})
    per_class = {
        label: ClassCounts(
            true=sum(t.label == label for t in truth),
            detected=sum(d.label == label for d in detections),
            matched=sum(truth[i].label == label for i, _, _ in matching.pairs),
        )
        for label in labels
    }
    latencies = np.array(
        [detections[j].reported_at - truth[i].start for i, j, _ in matching.pairs],
        dtype=np.float64,
    )
    busy = _union_seconds(((t.start, t.end) for t in truth), 0.0, duration)
    return EventReport(
        num_true=len(truth),
        num_detected=len(detections),
        num_matched=len(matching.pairs),
        latencies=latencies,
        missed=len(matching.missed),
        background_seconds=float(duration - busy),
        duration=float(duration),
        per_class=per_class,
        min_iou=min_iou,
        matching=matching,
        detected=len(shrec),
        jaccards=np.array(
            [
                interval_iou(truth[i].start, truth[i].end, detections[j].start, detections[j].end)
                for i, j in shrec
            ],
            dtype=np.float64,
        ),
        delay_frames=np.array(
            [(detections[j].reported_at - truth[i].start) * fps for i, j in shrec],
            dtype=np.float64,
        ),
        early=early,
        **causes,
    )
