"""Tests of the SYNTHETIC activity generator and the dataset shipped in datasets/."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from poseact.cli import main
from poseact.core.layouts import POSE_LANDMARK_NAMES
from poseact.data.dataset import Dataset
from poseact.data.synthetic import ACTIVITIES, generate_activities, render_clip

SHIPPED = Path(__file__).resolve().parents[1] / "datasets" / "synthetic_activities.npz"
P = {name: i for i, name in enumerate(POSE_LANDMARK_NAMES)}


def assert_same_datasets(a: Dataset, b: Dataset) -> None:
    """Every array, label, group and image size equal, bit for bit (NaN == NaN)."""
    assert a.labels == b.labels
    assert a.groups == b.groups
    assert a.classes == b.classes
    assert a.background == b.background
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a.sequences, b.sequences)):
        assert x.image_size == y.image_size, i
        assert np.array_equal(x.timestamps, y.timestamps), i
        assert np.array_equal(x.landmarks, y.landmarks, equal_nan=True), i
        assert np.array_equal(x.visibility, y.visibility), i


@pytest.fixture(scope="module")
def shipped() -> Dataset:
    if not SHIPPED.is_file():
        pytest.fail(f"{SHIPPED} is missing; run poseact generate -o {SHIPPED}")
    return Dataset.load(SHIPPED)


# ---------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_arrays():
    a = generate_activities(num_subjects=2, clips_per_class=1, seed=5)
    b = generate_activities(num_subjects=2, clips_per_class=1, seed=5)
    assert len(a) == 2 * len(ACTIVITIES)
    assert_same_datasets(a, b)


def test_different_seeds_differ():
    a = generate_activities(num_subjects=2, clips_per_class=1, seed=0)
    b = generate_activities(num_subjects=2, clips_per_class=1, seed=1)
    assert a.labels == b.labels
    for x, y in zip(a.sequences, b.sequences):
        assert x.landmarks.shape != y.landmarks.shape or not np.array_equal(
            x.landmarks, y.landmarks, equal_nan=True
        )


def test_choosing_classes_does_not_change_other_clips():
    full = generate_activities(num_subjects=2, clips_per_class=2, seed=7)
    some = generate_activities(num_subjects=2, clips_per_class=2, classes=["wave", "punch"], seed=7)
    assert some.background is None  # no idle clips, so no background class
    keep = [i for i, label in enumerate(full.labels) if label in ("wave", "punch")]
    assert [full.labels[i] for i in keep] == list(some.labels)
    assert [full.groups[i] for i in keep] == list(some.groups)
    for i, seq in zip(keep, some.sequences):
        assert np.array_equal(full.sequences[i].landmarks, seq.landmarks, equal_nan=True)
        assert np.array_equal(full.sequences[i].timestamps, seq.timestamps)


def test_render_clip_is_the_dataset_clip():
    data = generate_activities(num_subjects=2, clips_per_class=2, classes=["clap"], seed=3)
    clip = render_clip("clap", seed=3, subject=1, rep=1)
    assert data.groups[3] == "s01"
    assert np.array_equal(data.sequences[3].landmarks, clip.landmarks, equal_nan=True)


def test_shipped_file_is_the_default_generation(shipped, tmp_path):
    regenerated = generate_activities()
    path = regenerated.save(tmp_path / "regenerated.npz", precision="float16")
    assert_same_datasets(Dataset.load(path), shipped)


# ---------------------------------------------------------------------- contents
def test_shipped_dataset_contents(shipped):
    assert shipped.name == "synthetic-activities"
    assert set(shipped.classes) == set(ACTIVITIES) and len(shipped.classes) >= 7
    assert shipped.background == "idle"
    subjects = sorted(set(shipped.groups))
    assert len(subjects) >= 10
    for subject in subjects:
        counts = {c: 0 for c in shipped.classes}
        for label, group in zip(shipped.labels, shipped.groups):
            counts[label] += group == subject
        assert min(counts.values()) >= 4, (subject, counts)
    rates = {round(seq.fps) for seq in shipped.sequences}
    assert len(rates & {15, 24, 25, 30, 60}) >= 3, rates
    assert {seq.image_size for seq in shipped.sequences} == {(640, 480), (1280, 720), (720, 1280)}
    missing = [int((~seq.detected).sum()) for seq in shipped.sequences]
    assert sum(missing) > 0 and sum(m > 0 for m in missing) < len(missing)
    for seq in shipped.sequences:
        assert 2.0 - 1e-9 <= seq.duration <= 3.5 + 1e-9
        assert np.all(np.diff(seq.timestamps) > 0)
        assert np.all(seq.visibility[~seq.detected] == 0)
        assert np.all(np.isfinite(seq.landmarks[seq.detected]))


def test_mediapipe_conventions(shipped):
    """LEFT_* is the person's left (image right when facing the camera), y points down,
    z is relative to the hip centre and negative towards the camera."""
    left_on_right, head_up, nose_near = [], [], []
    for seq in shipped.sequences:
        lm = seq.landmarks[seq.detected]
        left_on_right.append(
            np.median(lm[:, P["LEFT_SHOULDER"], 0] - lm[:, P["RIGHT_SHOULDER"], 0])
        )
        hips = (lm[:, P["LEFT_HIP"]] + lm[:, P["RIGHT_HIP"]]) / 2
        head_up.append(np.median(lm[:, P["NOSE"], 1] - hips[:, 1]))
        nose_near.append(np.median(lm[:, P["NOSE"], 2]))
        assert abs(np.median(hips[:, 2])) < 0.02  # z is hip-relative (plus noise)
    assert np.mean(np.array(left_on_right) > 0) > 0.97
    assert np.all(np.array(head_up) < 0)
    assert np.mean(np.array(nose_near) < 0) > 0.9


def test_out_of_frame_points_have_low_visibility(shipped):
    lm = np.concatenate([s.landmarks for s in shipped.sequences])
    vis = np.concatenate([s.visibility for s in shipped.sequences])
    x, y = lm[..., 0], lm[..., 1]
    outside = (x < -0.05) | (x > 1.05) | (y < -0.05) | (y > 1.05)
    inside = (x > 0.1) & (x < 0.9) & (y > 0.1) & (y < 0.9)
    assert outside.sum() > 100  # some points do leave the frame
    assert np.median(vis[outside]) < 0.2 < 0.9 < np.median(vis[inside])


def test_wave_side_varies(shipped):
    sides = set()
    for seq, label in zip(shipped.sequences, shipped.labels):
        if label == "wave":
            lm = seq.landmarks[seq.detected]
            left = np.median(lm[:, P["LEFT_WRIST"], 1])
            right = np.median(lm[:, P["RIGHT_WRIST"], 1])
            sides.add("left" if left < right else "right")
    assert sides == {"left", "right"}


# ---------------------------------------------------------------------- learnability
def clip_features(seq) -> np.ndarray:
    """Per-clip statistics of hip-centred, shoulder-width-scaled x, y (and z).

    Mean, standard deviation and mean absolute speed (per second) of every point.
    """
    width, height = seq.image_size
    p = seq.landmarks.astype(np.float64)
    p[..., [0, 2]] *= width / height  # undo the aspect ratio
    p[seq.visibility < 0.3] = np.nan
    hips = (p[:, P["LEFT_HIP"]] + p[:, P["RIGHT_HIP"]]) / 2
    shoulders = np.linalg.norm(
        p[:, P["LEFT_SHOULDER"], :2] - p[:, P["RIGHT_SHOULDER"], :2], axis=-1
    )
    q = (p - hips[:, None]) / shoulders[:, None, None]
    frames = np.all(np.isfinite(q[:, [P["LEFT_HIP"], P["LEFT_SHOULDER"]]]), axis=(1, 2))
    q, t = q[frames], seq.timestamps[frames]
    speed = np.abs(np.diff(q, axis=0)) / np.diff(t)[:, None, None]
    with warnings.catch_warnings():  # all-NaN columns (points never seen) become 0
        warnings.simplefilter("ignore", RuntimeWarning)
        stats = [np.nanmean(q, 0), np.nanstd(q, 0), np.nanmean(speed, 0)]
    return np.nan_to_num(np.concatenate([s.ravel() for s in stats]))


def test_classes_are_distinguishable_on_unseen_subjects(shipped):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    subjects = sorted(set(shipped.groups))[:10]
    train_subjects, test_subjects = subjects[:7], subjects[7:]
    X = np.array([clip_features(s) for s in shipped.sequences])
    y = np.array(shipped.labels)
    groups = np.array(shipped.groups)
    train, test = np.isin(groups, train_subjects), np.isin(groups, test_subjects)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    model.fit(X[train], y[train])
    accuracy = float(np.mean(model.predict(X[test]) == y[test]))
    print(f"per-clip logistic regression, 3 unseen subjects: accuracy {accuracy:.3f}")
    assert accuracy >= 0.6  # chance is 1/7


# ---------------------------------------------------------------------- API
def test_command_line_writes_a_dataset(tmp_path, capsys):
    out = tmp_path / "tiny.npz"
    assert (
        main(
            ["generate", "-o", str(out), "--subjects", "1", "--clips-per-class", "1", "--seed", "2"]
        )
        == 0
    )
    line = capsys.readouterr().out.strip()
    assert str(out) in line and "7 clips" in line
    loaded = Dataset.load(out)
    expected = generate_activities(num_subjects=1, clips_per_class=1, seed=2)
    assert loaded.labels == ACTIVITIES and loaded.groups == ("s00",) * 7
    for a, b in zip(loaded.sequences, expected.sequences):  # stored as float16
        as_stored = b.landmarks.astype(np.float16).astype(np.float32)
        assert np.array_equal(a.landmarks, as_stored, equal_nan=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"classes": ["wave", "moonwalk"]},
        {"classes": []},
        {"num_subjects": 0},
        {"clips_per_class": 0},
        {"seed": -1},
    ],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        generate_activities(**kwargs)


def test_render_clip_rejects_unknown_activity():
    with pytest.raises(ValueError, match="moonwalk"):
        render_clip("moonwalk")
    with pytest.raises(ValueError, match="subject"):
        render_clip("wave", subject=-2)


def test_none_counts_mean_defaults_and_one_class_may_be_a_string():
    data = generate_activities(num_subjects=1, clips_per_class=None, classes="wave")
    assert data.labels == ("wave",) * 4 and data.background is None
