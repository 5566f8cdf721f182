"""LandmarkSequence: validation, immutability, files."""

from __future__ import annotations

import numpy as np
import pytest

from poseact.core.errors import LandmarkFormatError
from poseact.core.layouts import LAYOUTS, get_layout
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import read_landmark_csv, write_landmark_csv


def _sequence(T: int = 5, layout: str = "pose", **kwargs) -> LandmarkSequence:
    rng = np.random.default_rng(0)
    K = LAYOUTS[layout].num_points
    return LandmarkSequence(
        timestamps=np.arange(T) / 30.0,
        landmarks=rng.random((T, K, 3)).astype(np.float32),
        visibility=np.ones((T, K), np.float32),
        layout=layout,
        **kwargs,
    )


def test_layouts_name_points_and_mirror_pairs():
    pose = get_layout("pose")
    assert pose.num_points == 33 and pose.index("LEFT_HIP") == 23
    perm = pose.mirror_permutation
    assert perm[pose.index("LEFT_WRIST")] == pose.index("RIGHT_WRIST")
    assert perm[pose.index("NOSE")] == pose.index("NOSE")
    assert np.array_equal(perm[perm], np.arange(33))
    hands = get_layout("hands")
    assert hands.num_points == 42
    assert hands.mirror_permutation[0] == 21  # left wrist ↔ right wrist
    assert get_layout("pose+hands").num_points == 75
    with pytest.raises(LandmarkFormatError, match="unknown landmark layout 'feet'"):
        get_layout("feet")


def test_arrays_are_read_only_and_replace_makes_a_new_sequence():
    seq = _sequence()
    with pytest.raises(ValueError):
        seq.landmarks[0, 0, 0] = 1.0
    other = seq.replace(source="x.mp4")
    assert other is not seq and other.source == "x.mp4" and seq.source == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"landmarks": np.zeros((5, 32, 3))}, r"shape \(5, 32, 3\), expected \(T, 33, 3\)"),
        ({"timestamps": np.array([0, 0.1, 0.1, 0.2, 0.3])}, "not strictly increasing"),
        ({"timestamps": np.array([0, 0.2, 0.1, 0.3, 0.4])}, "not strictly increasing"),
        ({"timestamps": np.arange(4) / 30}, "timestamps .* shape"),
        ({"visibility": np.ones((5, 3))}, "visibility"),
        ({"landmarks": np.full((5, 33, 3), np.inf)}, "inf"),
    ],
)
def test_bad_arrays_raise_with_the_source_named(change, message):
    seq = _sequence()
    fields = {
        "timestamps": seq.timestamps,
        "landmarks": seq.landmarks,
        "visibility": seq.visibility,
        "source": "clip7.npz",
        **change,
    }
    with pytest.raises(LandmarkFormatError, match=message) as info:
        LandmarkSequence(**fields)
    assert "clip7.npz" in str(info.value)


def test_from_array_accepts_visibility_and_hand_pairs():
    a = np.random.default_rng(1).random((4, 33, 4)).astype(np.float32)
    a[1] = np.nan
    seq = LandmarkSequence.from_array(a, fps=25.0)
    assert np.allclose(seq.timestamps, np.arange(4) / 25.0)
    assert np.allclose(seq.visibility[0], a[0, :, 3])
    assert np.all(seq.visibility[1] == 0) and not seq.detected[1]
    hands = LandmarkSequence.from_array(np.zeros((3, 2, 21, 3)), fps=30, layout="hands")
    assert hands.landmarks.shape == (3, 42, 3)


def test_save_load_round_trip_keeps_everything(tmp_path):
    seq = _sequence(image_size=(1280, 720), world=np.zeros((5, 33, 3)))
    path = seq.save(tmp_path / "clip.npz")
    back = LandmarkSequence.load(path)
    assert np.array_equal(back.landmarks, seq.landmarks)
    assert np.array_equal(back.timestamps, seq.timestamps)
    assert back.image_size == (1280, 720) and back.world.shape == (5, 33, 3)
    assert back.source == str(path)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.npz"]  # no temp files left


def test_load_rejects_files_that_are_not_landmarks(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(LandmarkFormatError, match="notes.npz"):
        LandmarkSequence.load(text)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(LandmarkFormatError, match="not a poseact landmark file"):
        LandmarkSequence.load(other)
    with pytest.raises(LandmarkFormatError, match="no such"):
        LandmarkSequence.load(tmp_path / "missing.npz")


def test_csv_round_trip_keeps_missing_points(tmp_path):
    seq = _sequence(layout="hands")
    lm = seq.landmarks.copy()
    lm[2, :21] = np.nan  # left hand missing in frame 2
    vis = seq.visibility.copy()
    vis[2, :21] = 0
    seq = seq.replace(landmarks=lm, visibility=vis)
    path = write_landmark_csv(seq, tmp_path / "clip.csv")
    back = read_landmark_csv(path)
    assert back.layout == "hands"
    assert np.allclose(back.landmarks, seq.landmarks, equal_nan=True)
    assert np.allclose(back.visibility, seq.visibility)


def test_csv_with_unknown_columns_is_rejected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,A.x,A.y\n0,1,2\n")
    with pytest.raises(LandmarkFormatError, match="bad.csv.*match no layout"):
        read_landmark_csv(path)


def test_between_cuts_a_real_clip_by_its_timestamps(asl_split):
    train, _ = asl_split
    sign = train.sequences[0].replace(world=None)  # a real 30-frame recording at 30 fps
    part = sign.between(sign.timestamps[10], sign.timestamps[20])
    assert len(part) == 10 and part.timestamps[0] == 0.0
    assert np.array_equal(part.landmarks, sign.landmarks[10:20], equal_nan=True)
    assert np.allclose(part.timestamps, sign.timestamps[10:20] - sign.timestamps[10])
    assert part.layout == sign.layout and part.source == sign.source
    assert len(sign.between(sign.timestamps[25])) == 5  # to the last frame
    with pytest.raises(ValueError, match=r"no frame between 9 s and 10 s") as error:
        sign.between(9.0, 10.0)
    assert str(error.value).startswith(f"{sign.source}: ") and sign.source
