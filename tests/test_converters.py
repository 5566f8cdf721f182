"""Converters from public formats: each test builds its own small sample first."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from poseact.core.errors import DatasetError, LandmarkFormatError
from poseact.core.layouts import POSE_LANDMARK_NAMES, get_layout
from poseact.data.formats import (
    COCO17_NAMES,
    COCO17_TO_POSE,
    coco17_to_pose,
    holistic_to_landmarks,
    read_holistic_folder,
    read_holistic_npz,
    read_landmark_table,
    read_pyskl_pickle,
)
from poseact.data.registry import read_public_dataset


# ---------------------------------------------------------------------- CSV tables
def _hand_rows(rng, label, frames, z=False):
    rows = []
    for _ in range(frames):
        xy = rng.uniform(0.2, 0.8, size=(21, 3 if z else 2)).round(4)
        rows.append([label] + [f"{v}" for v in xy.reshape(-1)])
    return rows


def _write(path, rows, header=None):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_row_per_static_sample_of_one_hand(tmp_path):
    """keypoint.csv style: integer label, 21 wrist-relative (x, y), no header."""
    rng = np.random.default_rng(0)
    rows = _hand_rows(rng, 0, 3) + _hand_rows(rng, 2, 2)
    rows[0][1:3] = ["0.0", "0.0"]  # the wrist at the origin is a point, not "missing"
    path = _write(tmp_path / "keypoint.csv", rows)
    data = read_landmark_table(path, rows="sample", label_names=["open", "close", "point"])
    assert len(data) == 5 and data.labels == ("open",) * 3 + ("point",) * 2
    seq = data.sequences[0]
    assert seq.layout == "hands" and seq.landmarks.shape == (1, 42, 3)
    assert np.all(np.isnan(seq.landmarks[:, :21]))  # the left hand is missing
    right = seq.landmarks[0, 21:]
    expected = np.array([float(v) for v in rows[0][1:]], np.float32).reshape(21, 2)
    assert np.allclose(right[:, :2], expected) and np.all(right[:, 2] == 0)
    assert np.all(seq.visibility[0, 21:] == 1) and np.all(seq.visibility[0, :21] == 0)
    left = read_landmark_table(path, rows="sample", hand="left")
    assert not np.any(np.isnan(left.sequences[0].landmarks[:, :21]))
    assert left.labels[0] == "0"


def test_one_row_per_frame_with_header_and_z(tmp_path):
    rng = np.random.default_rng(1)
    header = ["class"] + [f"{c}{i}" for i in range(21) for c in "xyz"]
    rows = _hand_rows(rng, "wave", 4, z=True) + _hand_rows(rng, "fist", 3, z=True)
    rows += _hand_rows(rng, "wave", 2, z=True)
    rows[5][1:] = ["0"] * 63  # a frame without the hand
    path = _write(tmp_path / "log.csv", rows, header)
    data = read_landmark_table(path, label_column="class")
    assert [len(s) for s in data.sequences] == [4, 3, 2]
    assert data.labels == ("wave", "fist", "wave")
    assert np.all(np.isnan(data.sequences[1].landmarks[1, 21:]))  # all zeros → missing
    assert np.isclose(data.sequences[0].fps, 30.0)
    cut = read_landmark_table(path, frames=2)
    assert [len(s) for s in cut.sequences] == [2, 2, 2, 1, 2]


def test_pose_rows_with_visibility_and_clip_and_group_columns(tmp_path):
    rng = np.random.default_rng(2)
    rows = []
    for clip, (label, subject) in enumerate([("squat", "s1"), ("squat", "s2"), ("wave", "s1")]):
        for _ in range(5):
            values = rng.uniform(0.1, 0.9, size=(33, 4)).round(4)
            rows.append([label, f"c{clip}", subject] + list(values.reshape(-1)))
    path = _write(tmp_path / "pose.csv", rows)
    data = read_landmark_table(path, clip_column=1, group_column=2)
    assert len(data) == 3 and data.layout == "pose" and data.groups == ("s1", "s2", "s1")
    values = np.array(rows[0][3:], np.float32).reshape(33, 4)
    assert np.allclose(data.sequences[0].landmarks[0], values[:, :3])
    assert np.allclose(data.sequences[0].visibility[0], values[:, 3])
    train, test = data.split(0.3, seed=0, by="group")
    assert set(train.groups).isdisjoint(test.groups)


def test_one_row_per_whole_clip(tmp_path):
    rng = np.random.default_rng(3)
    rows = [["jump"] + list(rng.uniform(size=10 * 33 * 2).round(3)) for _ in range(2)]
    path = _write(tmp_path / "clips.csv", rows)
    data = read_landmark_table(path, rows="sample", frames=10)
    assert [len(s) for s in data.sequences] == [10, 10] and data.layout == "pose"
    assert np.allclose(
        data.sequences[1].landmarks[3, :, :2],
        np.array(rows[1][1:], np.float32).reshape(10, 33, 2)[3],
    )


def test_table_errors_name_the_problem(tmp_path):
    path = _write(tmp_path / "bad.csv", [["a", "1", "2", "3"]])
    with pytest.raises(LandmarkFormatError, match="3 values per row match no known layout"):
        read_landmark_table(path)
    ragged = _write(tmp_path / "ragged.csv", [["a"] + ["0.5"] * 42, ["b", "0.1"]])
    with pytest.raises(LandmarkFormatError, match="43 columns"):
        read_landmark_table(ragged)
    with pytest.raises(DatasetError, match="rows must be"):
        read_landmark_table(ragged, rows="clip")


# ---------------------------------------------------------------------- holistic
def _asl_vectors(n_per_class=2, frames=6):
    """A few real ASL recordings as 1662-value holistic vectors (face zeros)."""
    from conftest import ASL_SIGNS

    data = np.load(ASL_SIGNS)
    picked = np.concatenate([np.flatnonzero(data["labels"] == c)[:n_per_class] for c in range(3)])
    pose = data["pose"][picked, :frames].reshape(len(picked), frames, 132)
    hands = data["hands"][picked, :frames].reshape(len(picked), frames, 126)
    face = np.zeros((len(picked), frames, 1404), np.float32)
    vectors = np.concatenate([pose, face, hands], axis=-1)
    labels = [str(data["classes"][j]) for j in data["labels"][picked]]
    return vectors, labels, picked


def test_npy_folder_round_trip_of_real_recordings(shared_dir, tmp_path):
    from conftest import load_asl_signs

    vectors, labels, picked = _asl_vectors()
    root = tmp_path / "MP_Data"
    for i, (clip, label) in enumerate(zip(vectors, labels)):
        for t, frame in enumerate(clip):
            folder = root / label / str(i)
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{t}.npy", frame)
    data = read_holistic_folder(root)
    assert (
        data.layout == "pose+hands"
        and len(data) == 6
        and data.classes == tuple(sorted(set(labels)))
    )
    reference = load_asl_signs("pose+hands")
    for seq, label, index in zip(data.sequences, data.labels, picked):
        ref = reference.sequences[index]
        assert label == reference.labels[index]
        assert np.allclose(seq.landmarks, ref.landmarks[:6], equal_nan=True)
        assert np.allclose(seq.visibility, ref.visibility[:6])
    assert read_public_dataset(root, layout="hands").layout == "hands"
    # frames are ordered by number: 10.npy comes after 9.npy
    extra = root / labels[0] / "0"
    for t in range(6, 11):
        np.save(extra / f"{t}.npy", vectors[0, t % 6])
    again = read_holistic_folder(root, layout="pose")
    assert len(again.sequences[0]) == 11
    assert np.allclose(
        again.sequences[0].landmarks[10], again.sequences[0].landmarks[4], equal_nan=True
    )


def test_holistic_vectors_zeros_mean_missing():
    vectors = np.zeros((2, 258), np.float32)
    vectors[0, :132] = 0.5  # pose in frame 0 only
    vectors[1, 132 + 63 :] = 0.25  # right hand in frame 1 only
    xyz, vis = holistic_to_landmarks(vectors, "pose+hands")
    assert xyz.shape == (2, 75, 3)
    assert not np.isnan(xyz[0, :33]).any() and np.isnan(xyz[1, :33]).all()
    assert np.isnan(xyz[:, 33:54]).all()  # left hand never seen
    assert np.isnan(xyz[0, 54:]).all() and np.allclose(xyz[1, 54:], 0.25)
    assert np.all(vis[1, 54:] == 1) and np.all(vis[0, 54:] == 0)
    with pytest.raises(LandmarkFormatError, match="1662"):
        holistic_to_landmarks(np.zeros((2, 100)))
    with pytest.raises(LandmarkFormatError, match="no \\['pose'\\]"):
        holistic_to_landmarks(np.zeros((2, 126)), "pose")


def test_the_repacked_asl_file_reads_like_the_folder(shared_dir):
    from conftest import ASL_SIGNS, load_asl_signs

    data = read_holistic_npz(ASL_SIGNS, layout="pose")
    reference = load_asl_signs("pose")
    assert data.labels == reference.labels and len(data) == 90
    assert np.allclose(
        data.sequences[7].landmarks, reference.sequences[7].landmarks, equal_nan=True
    )
    assert read_public_dataset(ASL_SIGNS).layout == "pose+hands"


# ---------------------------------------------------------------------- COCO-17
def test_coco17_mapping_is_by_name_and_unmapped_points_are_nan():
    assert len(COCO17_TO_POSE) == 17 and set(COCO17_TO_POSE) == set(COCO17_NAMES)
    keypoints = np.arange(2 * 17 * 2, dtype=np.float32).reshape(2, 17, 2) * 10
    scores = np.full((2, 17), 0.9, np.float32)
    scores[1] = 0.0  # a frame without the person
    xyz, vis = coco17_to_pose(keypoints, scores, image_size=(640, 480))
    layout = get_layout("pose")
    lw = layout.index("LEFT_WRIST")
    assert np.allclose(xyz[0, lw, :2], keypoints[0, COCO17_NAMES.index("left_wrist")] / (640, 480))
    assert xyz[0, lw, 2] == 0 and vis[0, lw] == pytest.approx(0.9)
    mapped = {POSE_LANDMARK_NAMES.index(v) for v in COCO17_TO_POSE.values()}
    unmapped = [i for i in range(33) if i not in mapped]
    assert len(unmapped) == 16 and np.isnan(xyz[:, unmapped]).all() and not vis[:, unmapped].any()
    assert np.isnan(xyz[1]).all()


def _pyskl_annotation(rng, name, label, frames=8, persons=2):
    keypoint = rng.uniform(50, 400, size=(persons, frames, 17, 2)).astype(np.float32)
    score = rng.uniform(0.5, 1.0, size=(persons, frames, 17)).astype(np.float32)
    score[1:] *= 0.2  # a background person with low confidence
    return {
        "frame_dir": name,
        "label": label,
        "img_shape": (480, 640),
        "original_shape": (480, 640),
        "total_frames": frames,
        "keypoint": keypoint,
        "keypoint_score": score,
    }


def test_pyskl_pickle_with_splits_and_subjects(tmp_path):
    rng = np.random.default_rng(4)
    names = ["S001C001P001R001A001", "S001C001P002R001A002", "S001C001P003R001A001"]
    annotations = [_pyskl_annotation(rng, n, i % 2) for i, n in enumerate(names)]
    path = tmp_path / "ntu60_2d.pkl"
    split = {"xsub_train": names[:2], "xsub_val": names[2:]}
    path.write_bytes(pickle.dumps({"split": split, "annotations": annotations}))
    data = read_pyskl_pickle(
        path, label_names=["drink water", "eat meal"], group_pattern=r"P(?P<group>\d{3})"
    )
    assert data.labels == ("drink water", "eat meal", "drink water")
    assert data.groups == ("001", "002", "003") and data.layout == "pose"
    seq = data.sequences[0]
    assert seq.image_size == (640, 480) and len(seq) == 8
    nose = annotations[0]["keypoint"][0, :, 0] / (640, 480)  # the confident person
    assert np.allclose(seq.landmarks[:, 0, :2], nose)
    train = read_pyskl_pickle(path, split="xsub_train")
    assert len(train) == 2 and train.labels == ("0", "1")
    assert len(read_public_dataset(path)) == 3
    with pytest.raises(DatasetError, match="no split 'xview'"):
        read_pyskl_pickle(path, split="xview")
    ntu3d = tmp_path / "ntu3d.pkl"
    ann = dict(annotations[0], keypoint=np.zeros((1, 4, 25, 3), np.float32))
    del ann["keypoint_score"]
    ntu3d.write_bytes(pickle.dumps([ann]))
    with pytest.raises(LandmarkFormatError, match="only 2D COCO-17"):
        read_pyskl_pickle(ntu3d)
