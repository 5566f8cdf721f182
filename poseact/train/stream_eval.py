"""Event-level scores of continuous recognition on a long, annotated recording.

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

`plot_timeline` draws the true events, the detections and the class probabilities over
time into a PNG. numpy only; matplotlib is imported when a picture is drawn.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.atomic import atomic_dir, atomic_path, atomic_write_text
from poseact.core.errors import DatasetError
from poseact.core.labels import csv_cell, csv_uncell, label_problem, normalize_label, printable

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
    "StreamDecisions",
    "decide_stream",
    "evaluate_people_stream",
]

#: The annotation CSV's header row (optional when reading).
ANNOTATION_HEADER = ("start_s", "end_s", "label")
#: The header of an annotation of several people: who made each gesture.
PEOPLE_HEADER = (*ANNOTATION_HEADER, "person")
#: The default minimum IoU for a detection to match a true event.
MIN_IOU = 0.5
#: The default tolerance, seconds, for a detection's start before its true event's
#: start (the SHREC detection rate).
EARLY = 0.25


@dataclass(frozen=True)
class Annotation:
    """A true event: `label` from `start` to `end` (seconds from the recording's start),
    made by `person` (a name from the annotation's `person` column) when a recording
    shows several people, else None."""

    label: str
    start: float
    end: float
    person: str | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Detection:
    """A detected event: `label` from `start` to `end` (seconds, recording time).

    Attributes:
        label: the recognized gesture.
        start: when the recognizer places the gesture's start.
        end: when it ended.
        reported: when the recognizer announced it (its "started" event), which is
            what a user waits for; None means `start`.
        confidence: the highest smoothed probability during the event (NaN: unknown).
        person: the track id of who made it when several people are followed.
    """

    label: str
    start: float
    end: float
    reported: float | None = None
    confidence: float = math.nan
    person: int | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def reported_at(self) -> float:
        return self.start if self.reported is None else self.reported


def interval_iou(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    """Intersection over union of [a_start, a_end] and [b_start, b_end] (0 if disjoint).

    Two identical zero-length intervals have IoU 1; any other zero-length one, 0.
    """
    inter = max(0.0, min(a_end, b_end) - max(a_start, b_start))
    union = max(a_end, b_end) - min(a_start, b_start)
    if union <= 0.0:
        return 1.0 if (a_start, a_end) == (b_start, b_end) else 0.0
    return inter / union


# ---------------------------------------------------------------------- annotation files
def _number(text: str, path: Path, row: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DatasetError(
            f"{path}: row {row}: {column} {text!r} is not a number of seconds"
        ) from None
    if not math.isfinite(value):
        raise DatasetError(f"{path}: row {row}: {column} {text!r} is not a finite number")
    return value


def read_annotations(path: str | os.PathLike, *, background: str | None = None) -> list[Annotation]:
    """The true events of a recording from an annotation CSV, sorted by start.

    The format: UTF-8 CSV, one row per gesture `start_s,end_s,label` (seconds from the
    recording's first frame, `end_s > start_s >= 0`; a label holding a comma is quoted
    the CSV way). An optional header row `start_s,end_s,label`, blank lines and lines
    starting with `#` are skipped. Rows must not overlap (touching is fine): the time
    outside them is background. A recording of several people has a fourth column,
    `person` (any name; header `start_s,end_s,label,person`): then rows of one person
    must not overlap, and everyone's rows may. Rows whose label is `background` are background too and
    are dropped, so a file may mark idle stretches explicitly.

    Args:
        path: the CSV file.
        background: the model's "no gesture" label, if any.

    Returns:
        The annotations, sorted by start time.

    Raises:
        DatasetError: a missing or unreadable file, a row that is not
            `start_s,end_s,label`, a bad time, or overlapping rows; the message names
            the file and the row.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"annotation file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read annotation file {path} ({exc})") from None
    events: list[tuple[Annotation, int]] = []
    for row_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not cells or all(not cell for cell in cells) or cells[0].startswith("#"):
            continue
        if tuple(c.lower() for c in cells) in (ANNOTATION_HEADER, PEOPLE_HEADER):
            continue
        if len(cells) not in (3, 4):
            raise DatasetError(
                f"{path}: row {row_number} has {len(cells)} fields {row}, expected 3:"
                " start_s,end_s,label (or 4: start_s,end_s,label,person)"
            )
        person = cells[3] if len(cells) == 4 else None
        if person == "":
            raise DatasetError(f"{path}: row {row_number}: the person is empty")
        start = _number(cells[0], path, row_number, "start_s")
        end = _number(cells[1], path, row_number, "end_s")
        label = normalize_label(csv_uncell(cells[2]))
        if label and label_problem(label):
            raise DatasetError(
                f"{path}: row {row_number}: label {printable(label)!r} is refused"
                f" ({label_problem(label)})"
            )
        if start < 0:
            raise DatasetError(f"{path}: row {row_number}: start_s {start} is negative")
        if not end > start:
            raise DatasetError(
                f"{path}: row {row_number}: end_s {end} is not after start_s {start}"
            )
        if not label:
            raise DatasetError(f"{path}: row {row_number}: the label is empty")
        if label != background:
            events.append((Annotation(label, start, end, person), row_number))
    people = {event.person for event, _ in events}
    if None in people and len(people) > 1:
        raise DatasetError(
            f"{path}: some rows name a person and some do not; give every row a person"
        )
    events.sort(key=lambda item: (item[0].start, item[0].end))
    by_person = sorted(events, key=lambda item: (str(item[0].person), item[0].start))
    for (a, row_a), (b, row_b) in zip(by_person, by_person[1:]):
        if a.person == b.person and b.start < a.end:
            raise DatasetError(
                f"{path}: rows {row_a} ({a.label} {a.start:g}-{a.end:g} s) and {row_b}"
                f" ({b.label} {b.start:g}-{b.end:g} s) overlap; annotate one gesture at a time"
                + (f" (per person; both are {a.person!r})" if a.person is not None else "")
            )
    return [event for event, _ in events]


def write_annotations(path: str | os.PathLike, events: Iterable[Annotation | Detection]) -> Path:
    """Write events as an annotation CSV (with its header), atomically.

    Raises:
        WriteError: the file cannot be written.
    """
    events = sorted(events, key=lambda e: (e.start, e.end))
    people = any(getattr(event, "person", None) is not None for event in events)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PEOPLE_HEADER if people else ANNOTATION_HEADER)
    for event in events:
        row = [f"{event.start:.3f}", f"{event.end:.3f}", csv_cell(event.label)]
        writer.writerow(row + ([csv_cell(str(event.person))] if people else []))
    return atomic_write_text(path, buffer.getvalue())


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


# ---------------------------------------------------------------------- timeline
def plot_timeline(
    path: str | os.PathLike,
    truth: Sequence[Annotation],
    detections: Sequence[Detection],
    *,
    times: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    threshold: float | None = None,
    duration: float | None = None,
    title: str = "",
    matching: EventMatching | None = None,
) -> Path:
    """Draw a recording's timeline into a PNG, atomically.

    Top: the true events; middle: the detections (a matched one filled, an unmatched
    one hatched with a red edge); bottom: each class's probability over time, with the
    decision threshold. One colour per label throughout.

    Args:
        path: the PNG to write.
        truth: the annotated events.
        detections: the detected events.
        times: (T,) seconds of the probability rows.
        probabilities: (T, C) class probabilities (e.g. the smoothed ones the decisions
            use), columns in `classes` order.
        classes: (C,) labels of the probability columns.
        threshold: drawn as a dashed line on the probability panel.
        duration: the x range's end (default: the last time or event end).
        title: the figure's title.
        matching: from `match_events` (computed with the default IoU when None).

    Raises:
        ValueError: probabilities without times or classes, or shapes that disagree.
        WriteError: the PNG cannot be written.
    """
    if probabilities is not None:
        if times is None or classes is None:
            raise ValueError("probabilities need their times (T,) and classes (C,)")
        probabilities = np.asarray(probabilities, dtype=np.float64)
        times = np.asarray(times, dtype=np.float64)
        if probabilities.ndim != 2 or probabilities.shape != (len(times), len(classes)):
            raise ValueError(
                f"probabilities have shape {probabilities.shape}, expected"
                f" (T, C) = ({len(times)}, {len(classes)})"
            )
    if matching is None:
        matching = match_events(truth, detections)
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    labels = list(classes or ())
    for event in (*truth, *detections):
        if event.label not in labels:
            labels.append(event.label)
    palette = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    colour = {label: palette(i % palette.N) for i, label in enumerate(labels)}
    ends = [e.end for e in (*truth, *detections)]
    if times is not None and len(times):
        ends.append(float(times[-1]))
    x_end = duration if duration is not None else max(ends, default=1.0)
    x_end = max(x_end, 1e-3)

    panels = 3 if probabilities is not None else 2
    ratios = [1, 1, 3][:panels]
    fig = Figure(figsize=(min(30.0, max(8.0, x_end / 6.0)), 1.6 + 1.1 * panels), dpi=100)
    axes = fig.subplots(panels, 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    matched = {j for _, j, _ in matching.pairs}
    found = {i for i, _, _ in matching.pairs}
    for i, t in enumerate(truth):
        axes[0].broken_barh(
            [(t.start, t.duration)],
            (0.1, 0.8),
            facecolor=colour[t.label],
            edgecolor="black" if i in found else "red",
            linewidth=1.0 if i in found else 2.0,
        )
    for j, d in enumerate(detections):
        hit = j in matched
        axes[1].broken_barh(
            [(d.start, max(d.duration, x_end / 500))],
            (0.1, 0.8),
            facecolor=colour[d.label],
            edgecolor="black" if hit else "red",
            hatch=None if hit else "//",
            linewidth=1.0 if hit else 2.0,
        )
        if d.reported is not None:
            axes[1].plot([d.reported], [0.5], marker="v", color="black", markersize=4)
    for ax, name in zip(axes[:2], ("true", "detected")):
        ax.set_yticks([0.5], [name])
        ax.set_ylim(0, 1)
    if probabilities is not None:
        ax = axes[2]
        for c, label in enumerate(classes):
            ax.plot(times, probabilities[:, c], color=colour[label], linewidth=1.2, label=label)
        if threshold is not None:
            ax.axhline(threshold, color="grey", linestyle="--", linewidth=1.0)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("probability")
    axes[-1].set_xlim(0, x_end)
    axes[-1].set_xlabel("time (s)")
    handles = [Patch(facecolor=colour[label], label=label) for label in labels]
    handles.append(Patch(facecolor="white", edgecolor="red", hatch="//", label="unmatched"))
    fig.legend(handles=handles, loc="upper right", ncol=min(len(handles), 6), fontsize=8)
    axes[0].set_title(title or "events: true, detected and class probabilities", loc="left")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


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


def _truth(model, recording, annotations) -> list[Annotation]:
    """The true events for `model` (its background dropped); checks the labels and the
    recording's layout (`evaluate_stream` states the errors)."""
    from poseact.core.errors import LandmarkFormatError

    classes = tuple(str(c) for c in model.classes_)
    if isinstance(annotations, str | os.PathLike):
        where = str(annotations)
        truth = read_annotations(annotations, background=model.background)
    else:
        where = "the annotations"
        truth = [a for a in annotations if a.label != model.background]
    strangers = sorted({a.label for a in truth} - set(classes))
    if strangers:
        raise DatasetError(
            f"{where} name labels {strangers} that the model does not know (it knows"
            f" {list(classes)})"
        )
    if recording.layout != model.spec.layout:
        raise LandmarkFormatError(
            f"{recording.source or 'the recording'} has layout {recording.layout!r}, but the"
            f" model expects {model.spec.layout!r}"
        )
    return truth


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
    detections, probabilities, answers, threshold = _recognize(
        model, options, recording, times
    )
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


# ---------------------------------------------------------------------- frame by frame
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
    single-step model is run), with the model's classes, background, rejection rule and
    onset."""

    def __init__(self, classifier) -> None:
        self.spec = classifier.normalizer_spec_
        self.classes_ = classifier.classes_
        self.background = classifier.background_
        self.rejection = getattr(classifier, "rejection_", None)
        self.onset = getattr(classifier, "onset_", None)
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
    from poseact.core.errors import LandmarkFormatError
    from poseact.runtime.recognizer import StreamingRecognizer

    model = _stream_model(model)
    if recording.layout != model.spec.layout:
        raise LandmarkFormatError(
            f"{recording.source or 'the recording'} has layout {recording.layout!r}, but the"
            f" model expects {model.spec.layout!r}"
        )
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
                Detection(
                    event.label, start, event.end, reported, float(event.confidence), person
                )
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


@dataclass(frozen=True, eq=False)
class PeopleEvaluation:
    """A recognizer per person over a recording of several, and its scores.

    Attributes:
        people: the annotated people, by name.
        reports: person -> the `EventReport` of their events against the
            detections of the tracks given to them.
        tracks: person -> the track ids given to them (by matched events).
        id_switches: person -> how often the track id of their matched events changes,
            in time order (0: the same track found all their gestures).
        unassigned: detections of tracks that matched nobody's events (extra people,
            or a person's gestures lost to a track that matched another).
        detections: every detection, with its track id.
    """

    people: tuple[str, ...]
    reports: dict[str, EventReport]
    tracks: dict[str, tuple[int, ...]]
    id_switches: dict[str, int]
    unassigned: tuple[Detection, ...]
    detections: tuple[Detection, ...]

    @property
    def report(self) -> EventReport:
        """Everyone's events pooled."""
        return EventReport.pooled([self.reports[p] for p in self.people])

    def summary(self) -> str:
        lines = [
            f"person {p} (tracks {list(self.tracks[p]) or 'none'}, {self.id_switches[p]} id"
            f" switch{'' if self.id_switches[p] == 1 else 'es'}):\n{self.reports[p].summary()}"
            for p in self.people
        ]
        lines.append(
            f"everyone ({sum(self.id_switches.values())} id switches,"
            f" {len(self.unassigned)} detections of tracks matching nobody):\n"
            + self.report.summary()
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "people": {
                p: {
                    **self.reports[p].to_dict(),
                    "tracks": list(self.tracks[p]),
                    "id_switches": self.id_switches[p],
                }
                for p in self.people
            },
            "everyone": self.report.to_dict(),
            "id_switches": sum(self.id_switches.values()),
            "unassigned_detections": len(self.unassigned),
            "detections_list": [
                {
                    "person": d.person,
                    "label": d.label,
                    "start_s": d.start,
                    "end_s": d.end,
                    "reported_s": d.reported_at,
                }
                for d in self.detections
            ],
        }


def evaluate_people_stream(
    model,
    tracks: Sequence,
    annotations: Sequence[Annotation] | str | os.PathLike,
    *,
    options=None,
    min_iou: float = MIN_IOU,
    duration: float | None = None,
) -> PeopleEvaluation:
    """Score per-person recognition over a recording of several people.

    Each track (a `LandmarkSequence` with its `person` id, `extract_people`) gets its
    own recognizer. Tracks are given to the annotated people by their gestures: a
    track goes to the person whose events it matches most (ties: the first person in
    the file; none: nobody). Each person is scored against the detections of their
    tracks; their id switches count how often the track of their matched events
    changes, in time order.

    Args:
        model: a `TFLiteGestureModel` or the path of an exported `.tflite`.
        tracks: the people's `LandmarkSequence`s, on the recording's timestamps (the
            first frame of the recording is time 0 of the annotations).
        annotations: the true events with their `person`, or an annotation CSV with
            a `person` column.
        options: the `DecisionOptions` of the recognizers.
        min_iou: the matching threshold.
        duration: the recording's length, seconds; default the latest track's end.

    Raises:
        DatasetError: annotations without a person, or labels the model does not know.
    """
    from poseact.runtime.decider import DecisionOptions
    from poseact.runtime.model import TFLiteGestureModel

    if not isinstance(model, TFLiteGestureModel):
        model = TFLiteGestureModel(model)
    options = options or DecisionOptions()
    if isinstance(annotations, str | os.PathLike):
        where = str(annotations)
        truth = read_annotations(annotations, background=model.background)
    else:
        where = "the annotations"
        truth = [a for a in annotations if a.label != model.background]
    if any(a.person is None for a in truth):
        raise DatasetError(
            f"{where} do not say who made each gesture: give them a fourth column,"
            " start_s,end_s,label,person"
        )
    strangers = sorted({a.label for a in truth} - {str(c) for c in model.classes_})
    if strangers:
        raise DatasetError(f"{where} name labels {strangers} that the model does not know")
    people = tuple(dict.fromkeys(a.person for a in truth))
    if duration is None:
        duration = max((float(t.timestamps[-1]) for t in tracks), default=0.0)
    by_track: dict[int, list[Detection]] = {}
    for track in tracks:
        times = np.asarray(track.timestamps, dtype=np.float64)
        found = _recognize(model, options, track, times)[0]
        by_track[int(track.person if track.person is not None else len(by_track))] = found
    truth_of = {p: [a for a in truth if a.person == p] for p in people}
    owner: dict[int, str | None] = {}
    for track_id, found in by_track.items():
        counts = [len(match_events(truth_of[p], found, min_iou=min_iou).pairs) for p in people]
        best = int(np.argmax(counts)) if counts else 0
        owner[track_id] = people[best] if counts and counts[best] > 0 else None
    reports, given, switches = {}, {}, {}
    for p in people:
        mine = sorted(
            (d for t, found in by_track.items() if owner[t] == p for d in found),
            key=lambda d: (d.start, d.end),
        )
        reports[p] = evaluate_events(truth_of[p], mine, duration=duration, min_iou=min_iou)
        matched = [mine[j] for _, j, _ in match_events(truth_of[p], mine, min_iou=min_iou).pairs]
        order = [d.person for d in sorted(matched, key=lambda d: d.start)]
        switches[p] = sum(1 for a, b in zip(order, order[1:]) if a != b)
        given[p] = tuple(sorted(t for t in by_track if owner[t] == p))
    unassigned = tuple(d for t, found in by_track.items() if owner[t] is None for d in found)
    return PeopleEvaluation(
        people=people,
        reports=reports,
        tracks=given,
        id_switches=switches,
        unassigned=unassigned,
        detections=tuple(d for found in by_track.values() for d in found),
    )
