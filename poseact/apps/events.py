"""The events of unannotated recordings, as files: what `predict --events` writes.

`decide_stream` (poseact.train.stream_eval) runs the live recognizer over a recording
and keeps what it decided at every frame; this module writes the events of one or
many recordings:

- `.csv`: one row per gesture, `input,label,start_s,end_s,peak_confidence,reported_s`
  (seconds from the recording's first frame; `reported_s` is when the live recognizer
  announced it).
- `.json`: `{"inputs": [{"input", "frames", "duration_s", "events": [...],
  "decisions": [...]}]}`: the same events per recording, and every frame's decision
  (`time_s`, `label`, `confidence`, `gesture`: what an annotated video shows).

`input_files` expands folders given as inputs into the files in them.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from poseact.core.atomic import atomic_write_text
from poseact.train.stream_eval import StreamDecisions

__all__ = ["EVENT_SUFFIXES", "EVENTS_HEADER", "check_events_path", "input_files", "write_events"]

#: What `write_events` can write.
EVENT_SUFFIXES = (".csv", ".json")
#: The header row of an events CSV.
EVENTS_HEADER = ("input", "label", "start_s", "end_s", "peak_confidence", "reported_s")


def input_files(inputs: Iterable[str | os.PathLike], suffixes: Sequence[str]) -> list[str]:
    """The inputs with each folder replaced by the files under it whose suffix is one
    of `suffixes` (sorted by path); files are kept as given.

    Raises:
        FileNotFoundError: an input does not exist, or a folder holds no such file.
    """
    wanted = {s.lower() for s in suffixes}
    files: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
            if not found:
                raise FileNotFoundError(
                    f"{path} holds no videos, images or landmark files"
                    f" ({', '.join(sorted(wanted))})"
                )
            files += [str(p) for p in found]
        else:
            files.append(str(item))
    return files


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in EVENT_SUFFIXES:
        raise ValueError(
            f"{path}: events are written as {' or '.join(EVENT_SUFFIXES)}, not {suffix!r}"
        )
    return suffix


def check_events_path(path: str | os.PathLike) -> Path:
    """`path` if its suffix is one `write_events` writes (checked before any work).

    Raises:
        ValueError: another suffix.
    """
    path = Path(path)
    _check_suffix(path)
    return path


def write_events(
    path: str | os.PathLike, recordings: Sequence[tuple[str, StreamDecisions]]
) -> Path:
    """Write the events of recordings as `.csv` or `.json` (see the module), atomically.

    Args:
        path: the file; its suffix picks the format.
        recordings: (input name, its `decide_stream` result) per recording, in order.

    Returns:
        `path`.

    Raises:
        ValueError: a suffix other than `.csv` and `.json`.
        WriteError: the file cannot be written.
    """
    path = Path(path)
    if _check_suffix(path) == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(EVENTS_HEADER)
        for name, decisions in recordings:
            for d in decisions.detections:
                writer.writerow(
                    [
                        name,
                        d.label,
                        f"{d.start:.3f}",
                        f"{d.end:.3f}",
                        f"{d.confidence:.3f}",
                        f"{d.reported_at:.3f}",
                    ]
                )
        return atomic_write_text(path, buffer.getvalue())
    inputs = []
    for name, decisions in recordings:
        inputs.append(
            {
                "input": name,
                "frames": len(decisions),
                "duration_s": round(decisions.duration, 3),
                "events": [
                    {
                        "label": d.label,
                        "start_s": round(d.start, 3),
                        "end_s": round(d.end, 3),
                        "peak_confidence": round(d.confidence, 3),
                        "reported_s": round(d.reported_at, 3),
                    }
                    for d in decisions.detections
                ],
                "decisions": [
                    {
                        "time_s": round(float(t), 3),
                        "label": label or None,
                        "confidence": round(float(c), 3),
                        "gesture": gesture or None,
                    }
                    for t, label, c, gesture in zip(
                        decisions.times,
                        decisions.labels,
                        decisions.confidences,
                        decisions.gestures,
                    )
                ],
            }
        )
    return atomic_write_text(path, json.dumps({"inputs": inputs}, indent=1) + "\n")
