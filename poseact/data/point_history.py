"""Fingertip trajectory logs: one tracked point, 16 steps per row (the point_history
format of hand-gesture-recognition-using-mediapipe; `datasets/fingertip_tracks`).

Each CSV row is `label, x0, y0, x1, y1, ..., x15, y15`: the index fingertip's image
position at 16 consecutive camera frames, minus its position at the first, divided by
the image width (x) and height (y). The rows are a sliding window over continuous
recordings: a row is usually the previous one shifted by one frame. `read_point_history`
finds those recordings and makes each one a group, so that a split never puts a row in
training and its one-frame-shifted twin in the test set.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from poseact.core.errors import DatasetError, LandmarkFormatError
from poseact.core.layouts import BodyPart, Layout, register_layout
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset

__all__ = ["FINGERTIP_LAYOUT", "read_point_history", "recording_runs", "recording_tracks"]

#: One tracked point, already centred on its first position (kept as it is).
FINGERTIP_LAYOUT = Layout(
    "fingertip",
    ("INDEX_FINGER_TIP",),
    (BodyPart(name="fingertip", kind="points", points=("INDEX_FINGER_TIP",)),),
)


def recording_runs(
    labels: np.ndarray, tracks: np.ndarray, *, tolerance: float = 1e-6
) -> np.ndarray:
    """Which continuous recording each row of a sliding-window log comes from.

    Row i + 1 continues row i when it has the same label and its steps 0..S-2 equal row
    i's steps 1..S-1 re-centred on row i's step 1 (the window moved by one frame).

    Args:
        labels: (N,) class of each row.
        tracks: (N, S, 2) positions, each row relative to its own first step.
        tolerance: largest difference still taken as equal.

    Returns:
        (N,) int64 run number of each row, from 0, increasing along the file.
    """
    tracks = np.asarray(tracks, dtype=np.float64)
    if len(tracks) < 2:
        return np.zeros(len(tracks), dtype=np.int64)
    shifted = tracks[:-1, 1:] - tracks[:-1, 1:2]
    error = np.abs(tracks[1:, :-1] - shifted).max(axis=(1, 2))
    continues = (np.asarray(labels)[1:] == np.asarray(labels)[:-1]) & (error <= tolerance)
    return np.concatenate([[0], np.cumsum(~continues)]).astype(np.int64)


def read_point_history(
    path: str | os.PathLike,
    *,
    label_names: Sequence[str] | None = None,
    fps: float = 30.0,
) -> Dataset:
    """Read a fingertip point-history CSV (`label, x0, y0, ..., x15, y15` per row).

    Args:
        path: the CSV file, or a folder holding `point_history.csv` (and optionally
            `labels.csv`, one class name per line, indexed by the integer label).
        label_names: class names by integer label; default `labels.csv` beside the
            file, else the integers.
        fps: frame rate of the steps (the logs do not store it; a webcam's 30).

    Returns:
        A Dataset in the "fingertip" layout (registered on first use): one clip per
        row, groups = the continuous recordings the rows were cut from ("run000", ...).

    Raises:
        DatasetError: missing file or no rows.
        LandmarkFormatError: a row that is not a label and an even number of values.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    csv_path = path / "point_history.csv" if path.is_dir() else path
    if not csv_path.is_file():
        raise DatasetError(f"point-history file {csv_path} does not exist")
    if label_names is None and (folder / "labels.csv").is_file():
        text = (folder / "labels.csv").read_text(encoding="utf-8-sig")
        label_names = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row]
        values = np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LandmarkFormatError(f"{csv_path}: not a point-history CSV ({exc})") from None
    if values.ndim != 2 or len(values) == 0:
        raise DatasetError(f"{csv_path}: no rows (or rows of different lengths)")
    if (values.shape[1] - 1) % 2 or values.shape[1] < 5:
        raise LandmarkFormatError(
            f"{csv_path}: rows have {values.shape[1]} columns; expected a label and an even"
            " number of x, y values"
        )
    register_layout(FINGERTIP_LAYOUT)
    if (
        not np.all(np.isfinite(values))
        or np.any(values[:, 0] != np.round(values[:, 0]))
        or np.any(values[:, 0] < 0)
    ):
        raise LandmarkFormatError(
            f"{csv_path}: column 0 must hold class indices (0, 1, ...) and every value must be a number"
        )
    raw = values[:, 0].astype(np.int64)
    tracks = values[:, 1:].reshape(len(values), -1, 2)
    runs = recording_runs(raw, tracks)
    steps = tracks.shape[1]
    timestamps = np.arange(steps, dtype=np.float64) / float(fps)
    sequences, labels = [], []
    for i in range(len(values)):
        xyz = np.zeros((steps, 1, 3), dtype=np.float32)
        xyz[:, 0, :2] = tracks[i]
        sequences.append(
            LandmarkSequence(
                timestamps=timestamps,
                landmarks=xyz,
                visibility=np.ones((steps, 1), dtype=np.float32),
                layout=FINGERTIP_LAYOUT.name,
                source=f"{csv_path.name}[{i}]",
            )
        )
        label = int(raw[i])
        labels.append(
            str(label_names[label]) if label_names and label < len(label_names) else str(label)
        )
    groups = tuple(f"run{r:03d}" for r in runs)
    return Dataset(
        tuple(sequences),
        tuple(labels),
        groups,
        name=folder.name if path.is_dir() else csv_path.stem,
    )


def recording_tracks(data: Dataset) -> list[tuple[str, np.ndarray]]:
    """The continuous recordings of a point-history `Dataset` (`read_point_history`),
    joined back from its rows: (label, (n, 2) positions) per group, in file order.

    The rows are S-step windows sliding one frame at a time, each relative to its own
    first step; a recording of n rows is n + S - 1 frames, each row after the first
    adding its last step (positions relative to the recording's first frame).
    """
    runs: dict[str, list] = {}
    for seq, label, group in zip(data.sequences, data.labels, data.groups):
        xy = seq.landmarks[:, 0, :2].astype(np.float64)
        if group not in runs:  # [label, frames, where the next row's first step is]
            runs[group] = [label, [*xy], xy[1].copy()]
        else:
            run = runs[group]
            run[1].append(run[2] + xy[-1])
            run[2] = run[2] + xy[1]
    return [(label, np.array(frames)) for label, frames, _ in runs.values()]
