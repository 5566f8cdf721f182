"""Per-person recognition scored over a recording of several people: a recognizer per
track, tracks given to the annotated people by their gestures, id switches counted
(`evaluate_people_stream`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from poseact.train.event_annotations import Annotation, Detection
from poseact.train.event_match import MIN_IOU, EventReport, evaluate_events, match_events
from poseact.train.stream_recognition import _labelled_truth, _recognize

__all__ = [
    "PeopleEvaluation",
    "evaluate_people_stream",
]


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
    truth = _labelled_truth(model, annotations, people=True)
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
