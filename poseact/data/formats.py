"""Converters from public landmark and skeleton formats into poseact `Dataset`s.

Three families of public data, each read into poseact's layouts ("pose": MediaPipe's
33 points; "hands": left hand 0-20, right hand 21-41; "pose+hands"):

- `read_landmark_table`: CSV logs in the "label, x0, y0, x1, y1, ..." layout of many
  webcam gesture projects (e.g. hand-gesture-recognition-mediapipe's keypoint.csv, or
  body-language pose logs "class, x1, y1, z1, v1, ..."): one row per frame or per
  sample, 21 hand points, 42 (two hands) or 33 pose points, with or without z.
- `read_holistic_folder` / `read_holistic_npz`: MediaPipe Holistic keypoint vectors as
  saved by LSTM sign-language tutorials, `<action>/<sequence>/<frame>.npy` with 1662
  values per frame (pose 33×4, face 468×3, left hand 21×3, right hand 21×3, zeros
  where a part was not detected; the face is dropped), or 258 without the face.
- `read_pyskl_pickle` / `coco17_to_pose`: 2D COCO-17 keypoint sequences from the
  action-recognition literature (pyskl's / mmaction2's pickles), mapped by name onto
  the 33-point pose layout; points COCO does not have are NaN (see `COCO17_TO_POSE`).

`poseact.data.registry.read_public_dataset` picks the converter from the path.
Converters never guess subjects: pass `group_pattern` (or a group column) for subject-wise splits.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from poseact.core.archives import (
    ArchiveLimitError,
    load_npy_file,
    load_npz,
    safe_pickle_load,
    special_file_problem,
)
from poseact.core.errors import DatasetError, LandmarkFormatError
from poseact.core.layouts import POSE_LANDMARK_NAMES, get_layout, is_builtin_layout
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset

__all__ = [
    "read_landmark_table",
    "HOLISTIC_SIZES",
    "holistic_to_landmarks",
    "read_holistic_folder",
    "read_holistic_npz",
    "COCO17_NAMES",
    "COCO17_TO_POSE",
    "coco17_to_pose",
    "read_pyskl_pickle",
]

logger = logging.getLogger(__name__)


def _group_of(name: str, pattern: re.Pattern | None, default: str) -> str:
    if pattern is None:
        return default
    match = pattern.search(name)
    if not match:
        return default
    return match.groupdict().get("group") or match.group(1 if match.groups() else 0)


def _sequence(points: np.ndarray, visibility: np.ndarray, layout: str, fps: float, source: str):
    return LandmarkSequence(
        timestamps=np.arange(len(points), dtype=np.float64) / float(fps),
        landmarks=points,
        visibility=visibility,
        layout=layout,
        source=source,
    )


# ---------------------------------------------------------------------- CSV tables
#: values per frame → (points, channels) when not given explicitly. 84 is read as two
#: hands with x, y (not one hand with 4 channels); pass points/channels to override.
_TABLE_SHAPES = {
    42: (21, 2),
    63: (21, 3),
    66: (33, 2),
    99: (33, 3),
    132: (33, 4),
    84: (42, 2),
    126: (42, 3),
}


def _table_points(
    frame_values: np.ndarray, points: int, hand: str, missing_zeros: bool, custom: str = ""
) -> tuple[np.ndarray, np.ndarray, str]:
    """(T, points, channels) table values → (T, K, 3) landmarks, (T, K) visibility, layout
    (`custom`: the points are that layout's, in its order, one part)."""
    T, P, C = frame_values.shape
    xyz = np.zeros((T, P, 3), dtype=np.float32)
    xyz[..., : min(C, 3)] = frame_values[..., : min(C, 3)]
    xyz[np.isnan(frame_values[..., 0])] = np.nan
    vis = frame_values[..., 3] if C >= 4 else np.ones((T, P), np.float32)
    # parts: a whole part (pose, or one hand) all zero means "not detected"
    parts = (
        [(0, P)]
        if custom
        else [(0, 33)]
        if P == 33
        else [(0, 21)]
        if P == 21
        else [(0, 21), (21, 42)]
    )
    if missing_zeros:
        for a, b in parts:
            gone = np.all(np.nan_to_num(frame_values[:, a:b]) == 0, axis=(1, 2))
            xyz[gone, a:b] = np.nan
    vis = np.where(np.isnan(xyz[..., 0]), 0.0, np.clip(np.nan_to_num(vis), 0.0, 1.0))
    if custom:
        return xyz, vis.astype(np.float32), custom
    if P == 33:
        return xyz, vis.astype(np.float32), "pose"
    if P == 42:
        return xyz, vis.astype(np.float32), "hands"
    both = np.full((T, 42, 3), np.nan, dtype=np.float32)
    both_vis = np.zeros((T, 42), dtype=np.float32)
    offset = 0 if hand == "left" else 21
    both[:, offset : offset + 21] = xyz
    both_vis[:, offset : offset + 21] = vis
    return both, both_vis, "hands"


def read_landmark_table(
    path: str | os.PathLike,
    *,
    rows: str = "frame",
    frames: int | None = None,
    points: int | None = None,
    channels: int | None = None,
    hand: str = "right",
    label_column: int | str = 0,
    label_names: Sequence[str] | Mapping[str, str] | None = None,
    clip_column: int | str | None = None,
    group_column: int | str | None = None,
    fps: float = 30.0,
    missing_zeros: bool = True,
    layout: str | None = None,
) -> Dataset:
    """Read a "label, x0, y0, x1, y1, ..." landmark CSV into a Dataset.

    Every column other than the label (and the optional clip / group columns) is a
    coordinate, point by point: x, y[, z[, visibility]]. A first row that is not
    numeric is a header and is skipped (or used to find named columns).

    Args:
        path: the CSV file.
        rows: "frame": each row is one frame; consecutive rows with the same label (and
            clip id) form a clip, cut every `frames` rows if given. "sample": each row
            is one whole clip of `frames` frames (default 1: a static gesture).
        frames: frames per clip (see `rows`).
        points: points per frame: 21 (one hand), 42 (two hands, left first), 33
            (pose) or 75 (pose then left and right hand); default from the row width:
            42 → 21×2, 63 → 21×3, 66 → 33×2, 99 → 33×3, 132 → 33×4, 84 → 42×2,
            126 → 42×3.
        channels: values per point, 2 (x, y), 3 (x, y, z) or 4 (x, y, z, visibility).
        hand: for one-hand rows, the side they go to in the "hands" layout: "right"
            or "left" (MediaPipe's handedness); the other hand is missing.
        label_column: index or header name of the label column.
        label_names: names for integer labels (a sequence indexed by the label, or a
            mapping), e.g. the lines of keypoint_classifier_label.csv.
        clip_column: optional index or name of a column identifying the clip.
        group_column: optional index or name of the subject/recording column.
        fps: frame rate of the rows.
        missing_zeros: a part (the pose, or one hand) with all values 0 is "not
            detected" and becomes NaN (single zero points, e.g. a wrist-relative
            origin, are kept).
        layout: a custom layout (registered, e.g. by `poseact.core.layouts.
            read_layout_file`): each frame's values are its points, in its order
            (`points` is its number of points; a frame all 0 is "not detected").
            None: one of MediaPipe's, from `points` or the row width.

    Returns:
        A Dataset; coordinates are taken as MediaPipe normalized image coordinates
        (wrist- or body-relative logs work too: the normalizer re-centres and scales),
        z is 0 when the log has none.

    Raises:
        LandmarkFormatError: unreadable file, ragged rows or an unknown row width.
        DatasetError: bad options.
    """
    path = Path(path)
    if rows not in ("frame", "sample"):
        raise DatasetError(f"rows must be 'frame' or 'sample', got {rows!r}")
    if hand not in ("left", "right"):
        raise DatasetError(f"hand must be 'left' or 'right', got {hand!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            table = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise LandmarkFormatError(f"{path}: cannot read landmark table ({exc})") from None
    if not table:
        raise LandmarkFormatError(f"{path}: landmark table is empty")
    header: list[str] | None = None

    def column(spec: int | str | None) -> int | None:
        if spec is None or isinstance(spec, int):
            return spec
        if header is None or spec not in header:
            raise DatasetError(f"{path}: no column named {spec!r} (header: {header})")
        return header.index(spec)

    def numeric(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return not cell.strip()
        return True

    named = [c for c in (label_column, clip_column, group_column) if isinstance(c, str)]
    text_columns = {c for c in (label_column, clip_column, group_column) if isinstance(c, int)}
    first_values = [c for i, c in enumerate(table[0]) if i not in text_columns]
    if named or not all(numeric(c) for c in first_values):
        header = [c.strip() for c in table[0]]
        table = table[1:]
    if not table:
        raise LandmarkFormatError(f"{path}: landmark table has a header but no rows")
    label_index = column(label_column)
    clip_index, group_index = column(clip_column), column(group_column)
    skip = {label_index, clip_index, group_index} - {None}
    width = len(table[0]) if table else 0
    value_columns = [i for i in range(width) if i not in skip]
    try:
        values = np.array(
            [[float(row[i]) if row[i].strip() else np.nan for i in value_columns] for row in table],
            dtype=np.float32,
        )
    except (ValueError, IndexError) as exc:
        raise LandmarkFormatError(
            f"{path}: rows must all have {width} columns of numbers besides the label ({exc})"
        ) from None
    if values.ndim != 2 or len(values) == 0:
        raise LandmarkFormatError(f"{path}: no data rows")
    V = values.shape[1]
    per_sample = (frames or 1) if rows == "sample" else 1
    custom = ""
    if layout is not None:
        if is_builtin_layout(layout):
            raise DatasetError(
                f"layout= takes a custom layout; {layout!r} is found from the row width"
                " (or points=)"
            )
        custom = get_layout(layout).name
        if points not in (None, get_layout(layout).num_points):
            raise DatasetError(
                f"points={points}, but layout {layout!r} has {get_layout(layout).num_points}"
            )
        points = get_layout(layout).num_points
        if channels is None:
            per_point = V // (per_sample * points) if V % (per_sample * points) == 0 else 0
            if per_point not in (2, 3, 4):
                raise LandmarkFormatError(
                    f"{path}: {V} values per row are not {points} points of layout"
                    f" {layout!r} × 2-4 values{f' × {per_sample} frames' if per_sample > 1 else ''}"
                )
            channels = per_point
    if points is None or channels is None:
        shape = _TABLE_SHAPES.get(V // per_sample) if V % per_sample == 0 else None
        if shape is None:
            raise LandmarkFormatError(
                f"{path}: {V} values per row match no known layout"
                f"{f' for {per_sample} frames' if per_sample > 1 else ''}; pass points= and"
                f" channels= (known widths per frame: {sorted(_TABLE_SHAPES)})"
            )
        points = points or shape[0]
        channels = channels or shape[1]
    if (not custom and points not in (21, 33, 42, 75)) or channels not in (2, 3, 4):
        raise DatasetError(
            f"points must be 21, 33, 42 or 75 and channels 2-4, got {points}, {channels}"
        )
    per_frame = points * channels
    if V % per_frame:
        raise LandmarkFormatError(f"{path}: {V} values per row is not a multiple of {per_frame}")
    labels_raw = [row[label_index].strip() for row in table]

    def label_of(raw: str) -> str:
        if label_names is None:
            return raw
        if isinstance(label_names, Mapping):
            return str(label_names.get(raw, raw))
        try:
            return str(label_names[int(float(raw))])
        except (ValueError, IndexError):
            return raw

    # clips as row ranges
    if rows == "sample":
        n_frames = V // per_frame
        if frames is not None and n_frames != frames:
            raise LandmarkFormatError(
                f"{path}: {V} values per row are {n_frames} frames of {points}×{channels},"
                f" not {frames}"
            )
        clips = [(i, i + 1) for i in range(len(table))]
        frame_values = values.reshape(len(table) * n_frames, points, channels)
        frame_ranges = [(i * n_frames, (i + 1) * n_frames) for i in range(len(table))]
    else:
        if V != per_frame:
            raise LandmarkFormatError(
                f"{path}: {V} values per row, but one frame of {points}×{channels} is {per_frame}"
            )
        frame_values = values.reshape(len(table), points, channels)
        keys = [
            (labels_raw[i], table[i][clip_index] if clip_index is not None else None)
            for i in range(len(table))
        ]
        clips, start = [], 0
        for i in range(1, len(table) + 1):
            if i == len(table) or keys[i] != keys[start] or (frames and i - start == frames):
                clips.append((start, i))
                start = i
        frame_ranges = clips
    sequences, labels, groups = [], [], []
    for n, ((row_a, _), (a, b)) in enumerate(zip(clips, frame_ranges)):
        chunk = frame_values[a:b]
        if custom:
            xyz, vis, layout_name = _table_points(chunk, points, hand, missing_zeros, custom)
        elif points == 75:
            pose_xyz, pose_vis, _ = _table_points(chunk[:, :33], 33, hand, missing_zeros)
            hands_xyz, hands_vis, _ = _table_points(chunk[:, 33:], 42, hand, missing_zeros)
            xyz = np.concatenate([pose_xyz, hands_xyz], axis=1)
            vis = np.concatenate([pose_vis, hands_vis], axis=1)
            layout_name = "pose+hands"
        else:
            xyz, vis, layout_name = _table_points(chunk, points, hand, missing_zeros)
        sequences.append(_sequence(xyz, vis, layout_name, fps, f"{path.name}[{n}]"))
        labels.append(label_of(labels_raw[row_a]))
        if group_index is not None:
            groups.append(table[row_a][group_index].strip())
        else:
            groups.append(f"{path.stem}/{n}")
    return Dataset(tuple(sequences), tuple(labels), tuple(groups), name=str(path))


# ---------------------------------------------------------------------- holistic vectors
#: Length of a holistic keypoint vector → its parts, in order, as (name, points, channels).
HOLISTIC_SIZES: dict[int, tuple[tuple[str, int, int], ...]] = {
    1662: (("pose", 33, 4), ("face", 468, 3), ("left_hand", 21, 3), ("right_hand", 21, 3)),
    258: (("pose", 33, 4), ("left_hand", 21, 3), ("right_hand", 21, 3)),
    132: (("pose", 33, 4),),
    126: (("left_hand", 21, 3), ("right_hand", 21, 3)),
}


def holistic_to_landmarks(vectors: np.ndarray, layout: str = "pose+hands"):
    """MediaPipe Holistic keypoint vectors → poseact landmarks.

    Args:
        vectors: (T, D) with D in `HOLISTIC_SIZES` (1662, 258, 132 or 126); a part
            (a pose point, or a whole hand) that is all zeros was not detected.
        layout: "pose", "hands" or "pose+hands" (the face is dropped).

    Returns:
        (landmarks (T, K, 3) float32 with NaN where missing, visibility (T, K)).

    Raises:
        LandmarkFormatError: unknown vector length, or a layout the vectors lack.
    """
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2 or v.shape[1] not in HOLISTIC_SIZES:
        raise LandmarkFormatError(
            f"holistic vectors have shape {v.shape}; expected (T, D) with D in"
            f" {sorted(HOLISTIC_SIZES)} (1662 = pose 33×4 + face 468×3 + hands 2×21×3)"
        )
    parts, offset = {}, 0
    for name, k, c in HOLISTIC_SIZES[v.shape[1]]:
        parts[name] = v[:, offset : offset + k * c].reshape(len(v), k, c)
        offset += k * c
    get_layout(layout)
    wanted = {"pose": ["pose"], "hands": ["left_hand", "right_hand"]}
    names = wanted.get(layout, ["pose", "left_hand", "right_hand"])
    missing = [n for n in names if n not in parts]
    if missing:
        raise LandmarkFormatError(f"{v.shape[1]}-value holistic vectors have no {missing}")
    xyz_parts, vis_parts = [], []
    for name in names:
        part = parts[name]
        if name == "pose":
            gone = np.all(part == 0, axis=-1)  # (T, 33): per point
            xyz = np.where(gone[..., None], np.nan, part[..., :3])
            vis = np.where(gone, 0.0, part[..., 3])
        else:
            gone = np.all(part == 0, axis=(-1, -2))  # (T,): the whole hand
            xyz = np.where(gone[:, None, None], np.nan, part)
            vis = np.repeat(np.where(gone, 0.0, 1.0)[:, None], 21, axis=1)
        xyz_parts.append(xyz)
        vis_parts.append(vis)
    landmarks = np.concatenate(xyz_parts, axis=1).astype(np.float32)
    visibility = np.clip(np.concatenate(vis_parts, axis=1), 0.0, 1.0).astype(np.float32)
    return landmarks, visibility


def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem)]


def read_holistic_folder(
    root: str | os.PathLike,
    *,
    layout: str = "pose+hands",
    fps: float = 30.0,
    group_pattern: str | None = None,
) -> Dataset:
    """Read `root/<action>/<sequence>/<frame>.npy` holistic keypoints into a Dataset.

    Sequences and frames are ordered by the numbers in their names (0, 1, ..., 10).

    Args:
        root: the data folder (e.g. a tutorial's MP_Data).
        layout: "pose", "hands" or "pose+hands".
        fps: frame rate of the recordings (rarely stored; webcams give about 30).
        group_pattern: regular expression whose group "group" (or first group) finds
            the subject in "<action>/<sequence>"; default: one group per sequence.

    Raises:
        DatasetError: no such folder or no sequences in it.
        LandmarkFormatError: a frame file that is not a holistic vector.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"holistic data folder {root} does not exist")
    pattern = re.compile(group_pattern) if group_pattern else None
    sequences, labels, groups = [], [], []
    for action in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for seq_dir in sorted((p for p in action.iterdir() if p.is_dir()), key=_natural_key):
            files = sorted(seq_dir.glob("*.npy"), key=_natural_key)
            if not files:
                continue
            try:
                vectors = np.stack([load_npy_file(f).reshape(-1) for f in files])
            except (OSError, ValueError) as exc:
                raise LandmarkFormatError(f"{seq_dir}: unreadable frame file ({exc})") from None
            try:
                xyz, vis = holistic_to_landmarks(vectors, layout)
            except LandmarkFormatError as exc:
                raise LandmarkFormatError(f"{seq_dir}: {exc}") from None
            name = f"{action.name}/{seq_dir.name}"
            sequences.append(_sequence(xyz, vis, layout, fps, str(seq_dir)))
            labels.append(action.name)
            groups.append(_group_of(name, pattern, name))
    if not sequences:
        raise DatasetError(
            f"{root} holds no holistic sequences; expected <action>/<sequence>/<frame>.npy"
        )
    return Dataset(tuple(sequences), tuple(labels), tuple(groups), name=str(root))


def read_holistic_npz(
    path: str | os.PathLike, *, layout: str = "pose+hands", fps: float = 30.0
) -> Dataset:
    """Read holistic recordings repacked into one `.npz` (as ../shared/data/asl_signs).

    Arrays: `pose` (N, T, 33, 4), `hands` (N, T, 2, 21, 3) (left, right), `labels`
    (N,) int and `classes` (C,) str; zeros mean "not detected", as in the npy folders.

    Raises:
        DatasetError: missing file or arrays.
    """
    path = Path(path)
    try:
        data = load_npz(path)
        pose, hands = data["pose"], data["hands"]
        labels, classes = data["labels"], [str(c) for c in data["classes"]]
    except ArchiveLimitError as exc:
        raise DatasetError(str(exc)) from None
    except FileNotFoundError:
        raise DatasetError(f"holistic file {path} does not exist") from None
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(
            f"{path} is not a holistic .npz (needs pose, hands, labels, classes): {exc}"
        ) from None
    N, T = pose.shape[:2]
    vectors = np.concatenate([pose.reshape(N, T, -1), hands.reshape(N, T, -1)], axis=-1)
    sequences = []
    for i in range(N):
        xyz, vis = holistic_to_landmarks(vectors[i], layout)
        sequences.append(_sequence(xyz, vis, layout, fps, f"{path.name}[{i}]"))
    names = tuple(classes[int(j)] for j in labels)
    return Dataset(tuple(sequences), names, name=path.stem)


# ---------------------------------------------------------------------- COCO-17
#: The 17 COCO keypoints, in COCO's order.
COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

#: COCO-17 keypoint → MediaPipe pose point of the same body part. The other 16 pose
#: points (eye corners, mouth, fingers, heels, toes) have no COCO counterpart and stay
#: NaN. COCO's "left" is the person's left, like MediaPipe's.
COCO17_TO_POSE: dict[str, str] = {
    "nose": "NOSE",
    "left_eye": "LEFT_EYE",
    "right_eye": "RIGHT_EYE",
    "left_ear": "LEFT_EAR",
    "right_ear": "RIGHT_EAR",
    "left_shoulder": "LEFT_SHOULDER",
    "right_shoulder": "RIGHT_SHOULDER",
    "left_elbow": "LEFT_ELBOW",
    "right_elbow": "RIGHT_ELBOW",
    "left_wrist": "LEFT_WRIST",
    "right_wrist": "RIGHT_WRIST",
    "left_hip": "LEFT_HIP",
    "right_hip": "RIGHT_HIP",
    "left_knee": "LEFT_KNEE",
    "right_knee": "RIGHT_KNEE",
    "left_ankle": "LEFT_ANKLE",
    "right_ankle": "RIGHT_ANKLE",
}


def coco17_to_pose(
    keypoints: np.ndarray,
    scores: np.ndarray | None = None,
    image_size: tuple[int, int] | None = None,
    *,
    min_score: float = 0.0,
):
    """Map COCO-17 2D keypoints onto MediaPipe's 33-point pose layout.

    Args:
        keypoints: (T, 17, 2) x, y (pixels if `image_size` is given, else already in
            [0, 1]), or (T, 17, 3) with the score last.
        scores: (T, 17) keypoint confidences in [0, 1], used as visibility.
        image_size: (width, height) in pixels, to divide pixel coordinates by.
        min_score: keypoints scoring at or below this are missing (NaN); a frame
            whose scores are all 0 is always missing.

    Returns:
        (landmarks (T, 33, 3) float32, visibility (T, 33)): mapped points with z = 0,
        unmapped points NaN with visibility 0.
    """
    k = np.asarray(keypoints, dtype=np.float32)
    if k.ndim != 3 or k.shape[1] != 17 or k.shape[2] not in (2, 3):
        raise LandmarkFormatError(
            f"COCO-17 keypoints have shape {k.shape}, expected (T, 17, 2) or (T, 17, 3)"
        )
    if scores is None:
        scores = k[..., 2] if k.shape[2] == 3 else np.ones(k.shape[:2], np.float32)
    s = np.clip(np.nan_to_num(np.asarray(scores, dtype=np.float32)), 0.0, 1.0)
    xy = k[..., :2].copy()
    if image_size is not None:
        xy /= np.array(image_size, dtype=np.float32)
    T = len(k)
    landmarks = np.full((T, 33, 3), np.nan, dtype=np.float32)
    visibility = np.zeros((T, 33), dtype=np.float32)
    frame_missing = np.all(s == 0, axis=1)
    for j, coco_name in enumerate(COCO17_NAMES):
        i = POSE_LANDMARK_NAMES.index(COCO17_TO_POSE[coco_name])
        seen = (s[:, j] > min_score) & ~frame_missing & np.all(np.isfinite(xy[:, j]), axis=1)
        landmarks[seen, i, :2] = xy[seen, j]
        landmarks[seen, i, 2] = 0.0
        visibility[seen, i] = s[seen, j]
    return landmarks, visibility


def read_pyskl_pickle(
    path: str | os.PathLike,
    *,
    split: str | None = None,
    label_names: Sequence[str] | None = None,
    fps: float = 30.0,
    group_pattern: str | None = None,
    min_score: float = 0.0,
) -> Dataset:
    """Read a pyskl / mmaction2 skeleton pickle of 2D COCO-17 keypoints.

    The file holds `{"split": {name: [frame_dir, ...]}, "annotations": [...]}` (or
    just the list), each annotation with `frame_dir`, `label` (int), `img_shape`
    (height, width), `keypoint` (M persons, T, 17, 2) in pixels and optionally
    `keypoint_score` (M, T, 17). The most confident person of each clip is kept.

    The pickle is read by a restricted unpickler (`core.archives.SafeUnpickler`) that
    builds only plain containers and numpy arrays: a crafted file cannot run code.

    Args:
        path: the `.pkl` file.
        split: keep only the clips of this split (e.g. "xsub_train").
        label_names: class names indexed by the integer labels (default "0", "1", ...).
        fps: frame rate (pyskl does not store it; NTU and Kinetics are 30).
        group_pattern: regular expression finding the subject in `frame_dir`, e.g.
            r"P(?P<group>\\d{3})" for NTU RGB+D names; default: one group per clip.
        min_score: keypoints scoring at or below this are missing.

    Raises:
        DatasetError: unreadable file, unknown split, or no clips.
        LandmarkFormatError: keypoints that are not 2D COCO-17 (e.g. NTU's 3D 25-joint
            skeletons, which have no meaningful 33-point mapping here).
    """
    path = Path(path)
    if special_file_problem(path):
        raise DatasetError(f"skeleton file {path} {special_file_problem(path)}")
    try:
        with open(path, "rb") as handle:
            content = safe_pickle_load(handle)
    except FileNotFoundError:
        raise DatasetError(f"skeleton file {path} does not exist") from None
    except Exception as exc:
        raise DatasetError(
            f"{path}: cannot read the pickle ({type(exc).__name__}: {exc})"
        ) from None
    annotations = content.get("annotations") if isinstance(content, dict) else content
    if not isinstance(annotations, list):
        raise DatasetError(f"{path}: no 'annotations' list in the pickle")
    if split is not None:
        splits = content.get("split", {}) if isinstance(content, dict) else {}
        if split not in splits:
            raise DatasetError(f"{path}: no split {split!r} (splits: {sorted(splits)})")
        wanted = set(splits[split])
        annotations = [a for a in annotations if a.get("frame_dir") in wanted]
    pattern = re.compile(group_pattern) if group_pattern else None
    sequences, labels, groups = [], [], []
    for n, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            raise DatasetError(
                f"{path}: annotation {n} is a {type(ann).__name__}, not a dict with"
                " 'keypoint' and 'label'"
            )
        name = str(ann.get("frame_dir", f"clip{n}"))
        kp = np.asarray(ann["keypoint"], dtype=np.float32)
        if kp.ndim == 3:
            kp = kp[None]
        if kp.ndim != 4 or kp.shape[2] != 17 or kp.shape[3] not in (2, 3):
            raise LandmarkFormatError(
                f"{path}: clip {name} has keypoints of shape {kp.shape}; only 2D COCO-17"
                " skeletons (M, T, 17, 2) map onto the 33-point pose layout"
            )
        score = ann.get("keypoint_score")
        score = (
            np.asarray(score, dtype=np.float32).reshape(kp.shape[:3])
            if score is not None
            else (kp[..., 2] if kp.shape[3] == 3 else np.ones(kp.shape[:3], np.float32))
        )
        person = int(np.argmax(np.nan_to_num(score).sum(axis=(1, 2))))
        h, w = (int(v) for v in ann.get("img_shape", ann.get("original_shape", (0, 0))))
        size = (w, h) if w > 0 and h > 0 else None
        xyz, vis = coco17_to_pose(kp[person, ..., :2], score[person], size, min_score=min_score)
        seq = _sequence(xyz, vis, "pose", fps, f"{path.name}:{name}")
        if size is not None:
            seq = seq.replace(image_size=size)
        label = int(ann["label"])
        sequences.append(seq)
        labels.append(str(label_names[label]) if label_names is not None else str(label))
        groups.append(_group_of(name, pattern, name))
    if not sequences:
        raise DatasetError(f"{path}: no clips{f' in split {split!r}' if split else ''}")
    return Dataset(tuple(sequences), tuple(labels), tuple(groups), name=path.stem)
