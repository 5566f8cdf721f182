"""True and detected events, and the annotation CSV that holds the true ones.

A recording is annotated with one CSV row per gesture (`start_s,end_s,label`, seconds
from the recording's first frame; see `read_annotations`); everything between the rows
is background. A recognizer's output is a list of `Detection`s;
`poseact.train.event_match` matches the two and scores them.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from poseact.core.atomic import atomic_write_text
from poseact.core.errors import DatasetError
from poseact.core.labels import csv_cell, csv_uncell, label_problem, normalize_label, printable

__all__ = [
    "ANNOTATION_HEADER",
    "PEOPLE_HEADER",
    "Annotation",
    "Detection",
    "read_annotations",
    "write_annotations",
]


#: The annotation CSV's header row (optional when reading).
ANNOTATION_HEADER = ("start_s", "end_s", "label")
#: The header of an annotation of several people: who made each gesture.
PEOPLE_HEADER = (*ANNOTATION_HEADER, "person")


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
