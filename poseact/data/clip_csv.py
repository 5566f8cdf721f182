"""One landmark clip as CSV: `timestamp`, then `<POINT>.x, .y, .z, .visibility` columns
(what `poseact extract -o clip.csv` writes and dataset folders may hold).

A clip of a layout other than the built-in ones starts with one comment line,
`# poseact-layout: {...}`, its definition (`Layout.to_dict` as JSON), so that a fresh
process reads it without registering the layout."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from poseact.core.archives import special_file_problem
from poseact.core.atomic import atomic_path
from poseact.core.errors import LandmarkFormatError
from poseact.core.layouts import (
    LAYOUTS,
    MAX_LAYOUT_BYTES,
    adopt_layout,
    get_layout,
    is_builtin_layout,
    layout_from_json,
)
from poseact.core.sequence import LandmarkSequence

__all__ = ["read_landmark_csv", "write_landmark_csv"]

_COORDS = ("x", "y", "z", "visibility")
#: The first line of a CSV clip of a custom layout: this, then the definition's JSON.
LAYOUT_COMMENT = "# poseact-layout: "


def write_landmark_csv(sequence: LandmarkSequence, path: str | os.PathLike) -> Path:
    """Write one sequence as CSV: `timestamp` then `<POINT>.x,.y,.z,.visibility` columns.

    Missing points are written as empty cells.
    """
    layout = get_layout(sequence.layout)
    header = ["timestamp"] + [f"{n}.{c}" for n in layout.point_names for c in _COORDS]
    with atomic_path(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            if not is_builtin_layout(layout.name):
                definition = json.dumps(layout.to_dict(), sort_keys=True)
                handle.write(f"{LAYOUT_COMMENT}{definition}\n")
            writer = csv.writer(handle)
            writer.writerow(header)
            for t in range(len(sequence)):
                row = [repr(float(sequence.timestamps[t]))]
                for k in range(layout.num_points):
                    x, y, z = sequence.landmarks[t, k]
                    v = sequence.visibility[t, k]
                    if np.isnan(x):
                        row += ["", "", "", "0"]
                    else:
                        row += [repr(float(x)), repr(float(y)), repr(float(z)), repr(float(v))]
                writer.writerow(row)
    return Path(path)


def read_landmark_csv(path: str | os.PathLike) -> LandmarkSequence:
    """Read a CSV written by `write_landmark_csv` (one row per frame).

    The layout is found from the column names: every point of exactly one layout must
    have `.x` and `.y` columns; `.z` and `.visibility` are optional. A first line
    `# poseact-layout: {...}` gives (and registers) a custom layout's definition.

    Raises:
        LandmarkFormatError: unreadable file, unknown columns or bad numbers.
    """
    path = Path(path)
    problem = special_file_problem(path)
    if problem:
        raise LandmarkFormatError(f"landmark file {path} {problem}")
    custom = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first = handle.readline(len(LAYOUT_COMMENT) + MAX_LAYOUT_BYTES + 2)
            if first.startswith(LAYOUT_COMMENT):
                if not first.endswith("\n"):
                    raise LandmarkFormatError(
                        f"{path}: the layout definition line is longer than"
                        f" {MAX_LAYOUT_BYTES:,} bytes"
                    )
                custom = layout_from_json(first[len(LAYOUT_COMMENT) :], str(path))
            else:
                handle.seek(0)
            rows = [row for row in csv.reader(handle) if row]  # blank lines skipped
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LandmarkFormatError(f"{path}: cannot read landmark CSV ({exc})") from None
    if custom is not None:
        adopt_layout(custom, str(path))
    if len(rows) < 2:
        raise LandmarkFormatError(f"{path}: landmark CSV has no data rows")
    header = [h.strip() for h in rows[0]]
    if "timestamp" not in header:
        raise LandmarkFormatError(f"{path}: landmark CSV has no 'timestamp' column")
    names = {h.rsplit(".", 1)[0] for h in header if "." in h}
    candidates = [custom] if custom is not None else list(LAYOUTS.values())
    layout = next((lay for lay in candidates if set(lay.point_names) == names), None)
    if layout is None:
        raise LandmarkFormatError(
            f"{path}: columns name {len(names)} points, which match no layout"
            f" ({', '.join(f'{k}: {v.num_points}' for k, v in LAYOUTS.items())})"
        )
    column = {h: i for i, h in enumerate(header)}
    short = next((i for i, row in enumerate(rows[1:], 2) if len(row) != len(header)), None)
    if short is not None:
        raise LandmarkFormatError(
            f"{path}: row {short} has {len(rows[short - 1])} columns, the header {len(header)}"
        )
    try:
        values = np.array(
            [[float(c) if c.strip() else np.nan for c in row] for row in rows[1:]],
            dtype=np.float64,
        )
    except ValueError as exc:
        raise LandmarkFormatError(f"{path}: non-numeric value in landmark CSV ({exc})") from None
    if values.ndim != 2 or values.shape[1] != len(header):
        raise LandmarkFormatError(f"{path}: rows do not all have {len(header)} columns")
    T, K = len(values), layout.num_points
    xyz = np.full((T, K, 3), np.nan, dtype=np.float32)
    vis = np.zeros((T, K), dtype=np.float32)
    for k, name in enumerate(layout.point_names):
        for c, coord in enumerate(("x", "y", "z")):
            col = column.get(f"{name}.{coord}")
            if col is not None:
                xyz[:, k, c] = values[:, col]
            elif coord == "z":
                xyz[:, k, c] = np.where(np.isnan(values[:, column[f"{name}.x"]]), np.nan, 0.0)
            else:
                raise LandmarkFormatError(f"{path}: missing column {name}.{coord}")
        col = column.get(f"{name}.visibility")
        found = np.isfinite(xyz[:, k, 0])
        vis[:, k] = np.where(found, values[:, col] if col is not None else 1.0, 0.0)
    return LandmarkSequence(
        timestamps=values[:, column["timestamp"]],
        landmarks=xyz,
        visibility=np.clip(np.nan_to_num(vis), 0, 1),
        layout=layout.name,
        source=str(path),
    )
