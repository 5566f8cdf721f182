"""Bad landmark files and datasets (issue 6): real files on disk; see docs/reliability.md.

Each case asserts the error type and that the message names the input (file, clip or
dataset). Array-level checks of `LandmarkSequence` (wrong shape, duplicate timestamps,
inf) are in tests/test_sequence.py; these tests go through the files users have.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_names

from poseact.core.errors import DatasetError, LandmarkFormatError, UnknownLabelError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset, read_landmark_csv, write_landmark_csv
from poseact.deploy.export import export_tflite
from poseact.loading import load_dataset, load_sequence
from poseact.runtime.model import TFLiteGestureModel
from poseact.train.classifier import GestureClassifier
from poseact.train.evaluate import evaluate
from poseact.train.options import ModelOptions, TrainingOptions


def _arrays(T: int = 12, K: int = 33, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "format_version": np.array(1),
        "timestamps": np.arange(T) / 30.0,
        "landmarks": rng.random((T, K, 3)).astype(np.float32),
        "visibility": np.ones((T, K), np.float32),
        "layout": np.array("pose"),
    }


def _npz(path: Path, **changes) -> Path:
    """A landmark .npz as `LandmarkSequence.save` writes it, with some arrays changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{**_arrays(), **changes})
    return path


# ---------------------------------------------------------------------- landmark files
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"landmarks": np.zeros((12, 32, 3))}, r"shape \(12, 32, 3\), expected \(T, 33, 3\)"),
        ({"landmarks": np.zeros((12, 33, 2))}, r"expected \(T, 33, 3\)"),
        ({"landmarks": np.zeros((12, 99))}, "shape"),
        ({"layout": np.array("hands")}, r"expected \(T, 42, 3\) for layout 'hands'"),
        ({"layout": np.array("feet")}, "unknown landmark layout 'feet'"),
        ({"visibility": np.ones((12, 21))}, "visibility"),
        ({"timestamps": np.arange(11) / 30}, "timestamps .* shape"),
        ({"landmarks": np.full((12, 33, 3), np.inf)}, "inf"),
        ({"timestamps": np.r_[0.0, np.nan, np.arange(2, 12) / 30]}, "NaN or inf"),
        ({"timestamps": np.r_[0.2, 0.1, np.arange(2, 12) / 30]}, "not strictly increasing"),
        ({"timestamps": np.r_[0.0, 0.0, np.arange(2, 12) / 30]}, "drop duplicates"),
        ({"landmarks": np.array([["a"] * 3] * 33 * 12).reshape(12, 33, 3)}, "numeric|string"),
        ({"visibility": np.full((12, 33), 2.0)}, r"outside \[0, 1\]"),
    ],
    ids=[
        "32-points",
        "2-coords",
        "2-dims",
        "hands-layout-pose-points",
        "unknown-layout",
        "visibility-shape",
        "too-few-timestamps",
        "inf",
        "nan-timestamp",
        "unsorted",
        "duplicate",
        "strings",
        "visibility-range",
    ],
)
def test_bad_landmark_npz_files(tmp_path, changes, message):
    path = _npz(tmp_path / "clip 7.npz", **changes)
    with pytest.raises(LandmarkFormatError, match=message) as info:
        LandmarkSequence.load(path)
    assert_names(info, path)
    # the same file inside a dataset folder: the folder load names the clip
    root = tmp_path / "data"
    _npz(root / "wave" / "ok.npz")
    path.rename(root / "wave" / path.name)
    with pytest.raises(LandmarkFormatError, match=message) as info:
        Dataset.from_folder(root, progress=False)
    assert_names(info, root / "wave" / path.name)


def _csv(path: Path, edit=None) -> Path:
    """A landmark CSV as `write_landmark_csv` writes it, then `edit(rows)` in place."""
    arrays = _arrays()
    seq = LandmarkSequence(
        timestamps=arrays["timestamps"],
        landmarks=arrays["landmarks"],
        visibility=arrays["visibility"],
    )
    write_landmark_csv(seq, path)
    if edit is not None:
        with path.open(newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
        edit(table)
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(table)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: [row.__delitem__(slice(-4, None)) for row in t], "match no layout"),
        (lambda t: t[1].__setitem__(5, "inf"), "inf"),
        (lambda t: t[1].__setitem__(5, "lots"), "non-numeric"),
        (lambda t: t[2].__setitem__(0, t[1][0]), "drop duplicates"),
        (lambda t: t.__setitem__(slice(1, 3), [t[2], t[1]]), "not strictly increasing"),
        (lambda t: t[3].pop(), "row 4 has 132 columns, the header 133"),
        (lambda t: t[0].__setitem__(0, "time"), "no 'timestamp' column"),
        (lambda t: t.__delitem__(slice(1, None)), "no data rows"),
    ],
    ids=["missing-point", "inf", "text", "duplicate", "unsorted", "short-row", "no-time", "empty"],
)
def test_bad_landmark_csv_files(tmp_path, edit, message):
    path = _csv(tmp_path / "clip.csv", edit)
    with pytest.raises(LandmarkFormatError, match=message) as info:
        read_landmark_csv(path)
    assert_names(info, path)
    with pytest.raises(LandmarkFormatError):
        load_sequence(path)


def test_csv_that_is_not_text(tmp_path, testdata_dir):
    photo = tmp_path / "photo.csv"
    photo.write_bytes((testdata_dir / "hand_thumb_up.jpg").read_bytes())
    with pytest.raises(LandmarkFormatError, match="cannot read") as info:
        read_landmark_csv(photo)
    assert_names(info, photo)
    huge = tmp_path / "huge cell.csv"
    huge.write_text('timestamp,"' + "x" * 200_000 + '"\n0,1\n', encoding="utf-8")
    with pytest.raises(LandmarkFormatError, match="field larger") as info:
        read_landmark_csv(huge)
    assert_names(info, huge)


def test_nan_points_are_missing_not_errors(tmp_path):
    landmarks = _arrays()["landmarks"]
    landmarks[3:5] = np.nan  # two frames without anybody
    landmarks[:, 15] = np.nan  # a wrist never seen
    seq = LandmarkSequence.load(_npz(tmp_path / "holes.npz", landmarks=landmarks))
    assert np.all(seq.visibility[3:5] == 0) and np.all(seq.visibility[:, 15] == 0)
    assert list(seq.detected) == [True] * 3 + [False] * 2 + [True] * 7
    back = read_landmark_csv(write_landmark_csv(seq, tmp_path / "holes.csv"))
    np.testing.assert_allclose(back.landmarks, seq.landmarks, equal_nan=True)


def test_all_nan_sequence_is_kept_and_reported(tmp_path, asl_gru, caplog):
    """Nobody in any frame: a valid recording (e.g. of an empty room for a background
    class); saving and loading keep it, and classifying it logs a warning naming it."""
    nothing = np.full((12, 33, 3), np.nan, np.float32)
    path = _npz(tmp_path / "empty room.npz", landmarks=nothing)
    seq = LandmarkSequence.load(path)
    assert not seq.detected.any() and np.all(seq.visibility == 0)
    with caplog.at_level("WARNING", logger="poseact.normalize.normalizer"):
        probs = asl_gru.predict_proba([seq])
    assert np.all(np.isfinite(probs)) and abs(float(probs.sum()) - 1) < 1e-4
    # one warning for all such clips, naming each
    assert "1 clip with no usable landmarks" in caplog.text and str(path) in caplog.text


def test_mixed_feature_sets_in_one_folder(tmp_path):
    root = tmp_path / "data"
    _npz(root / "wave" / "pose clip.npz")
    hands = LandmarkSequence(
        timestamps=np.arange(5) / 30,
        landmarks=np.random.default_rng(1).random((5, 42, 3)),
        visibility=np.ones((5, 42)),
        layout="hands",
    )
    write_landmark_csv(hands, root / "clap" / "hands clip.csv")
    with pytest.raises(DatasetError, match="mixes landmark layouts") as info:
        Dataset.from_folder(root, progress=False)
    assert_names(info, root, root / "wave" / "pose clip.npz", root / "clap" / "hands clip.csv")


# ---------------------------------------------------------------------- datasets
def test_empty_dataset_folder_and_files(tmp_path):
    root = tmp_path / "data"
    (root / "wave").mkdir(parents=True)
    (root / "wave" / "notes.txt").write_text("no clips here")
    (root / "wave" / ".poseact-tmp-clip.npz.x1.npz").write_bytes(b"left by a crash")
    with pytest.raises(DatasetError, match="holds no clips") as info:
        load_dataset(root)
    assert_names(info, root)
    empty = tmp_path / "empty.npz"
    empty.touch()
    with pytest.raises(DatasetError, match=r"not a readable \.npz") as info:
        load_dataset(empty)
    assert_names(info, empty)
    with pytest.raises(DatasetError, match="empty dataset"):
        Dataset((), ()).save(tmp_path / "nothing.npz")
    assert not (tmp_path / "nothing.npz").exists()


def test_damaged_dataset_file(tmp_path, asl_dataset):
    path = asl_dataset.subset(range(3)).save(tmp_path / "three.npz")
    with np.load(path) as data:
        arrays = dict(data)
    header = json.loads(str(arrays["header"]))
    cases = {
        "offsets": {"offsets": arrays["offsets"][:-1]},
        "layout": {"header": np.array(json.dumps({**header, "layout": "feet"}))},
        "no-layout": {
            "header": np.array(json.dumps({k: v for k, v in header.items() if k != "layout"}))
        },
        "sizes": {"image_sizes": np.array(["a", "b"])},
        "format": {"header": np.array(json.dumps({**header, "format": "other"}))},
    }
    for name, change in cases.items():
        bad = tmp_path / f"{name}.npz"
        np.savez(bad, **{**arrays, **change})
        with pytest.raises(DatasetError) as info:
            Dataset.load(bad)
        assert_names(info, bad)


@pytest.fixture(scope="module")
def unicode_folder(tmp_path_factory, asl_dataset) -> Path:
    """The ASL signs with labels holding spaces, Cyrillic, an emoji and a comma, and
    one label with a single clip."""
    names = {"hello": "say hello, wave", "iloveyou": "я тебя люблю", "thanks": "🙏 thanks"}
    root = tmp_path_factory.mktemp("unicode") / "signs"
    keep = [i for i, label in enumerate(asl_dataset.labels) if label != "thanks"][:24]
    keep.append(asl_dataset.labels.index("thanks"))  # a label with one clip
    for i in keep:
        seq, label = asl_dataset.sequences[i], asl_dataset.labels[i]
        seq.save(root / names[label] / f"clip {i:02d}.npz")
    return root


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # the emoji in the PNG
def test_unicode_labels_and_a_label_with_one_clip_through_every_file(unicode_folder, tmp_path):
    data = Dataset.from_folder(unicode_folder, progress=False)
    assert data.class_counts()["🙏 thanks"] == 1
    back = Dataset.load(data.save(tmp_path / "signs.npz"))
    assert back.labels == data.labels and back.classes == data.classes
    train, test = data.split(0.3, seed=0)
    assert "🙏 thanks" in train.labels and "🙏 thanks" not in test.labels  # stays in training
    assert test.class_counts()["🙏 thanks"] == 0 and "🙏 thanks" in test.classes

    clf = GestureClassifier(
        model=ModelOptions(units=8), training=TrainingOptions(epochs=3, seed=0)
    ).fit(train)
    clf = GestureClassifier.load(clf.save(tmp_path / "модель.poseact"))
    assert list(clf.classes_) == list(data.classes)
    report = evaluate(clf, test)  # a class missing from the test split
    assert report.support[list(report.classes).index("🙏 thanks")] == 0
    saved = report.save(tmp_path / "report")
    rows = list(csv.reader(saved["csv"].open(encoding="utf-8")))
    # the comma in a label does not split it; "unknown" is the rejection rule's column
    assert rows[0][1:] in (list(data.classes), [*data.classes, "unknown"])
    assert json.loads(saved["json"].read_text(encoding="utf-8"))["classes"] == list(data.classes)

    export_tflite(clf, tmp_path / "жесты.tflite", streaming=False)
    model = TFLiteGestureModel(tmp_path / "жесты.tflite")
    assert list(model.classes_) == list(data.classes)
    assert set(model.predict(test)) <= set(data.classes)


def test_unknown_label_at_evaluation(asl_gru, asl_tflite, asl_split, tmp_path):
    _, test = asl_split
    extra = test.sequences[0].replace(source="goodbye/clip 1.npz")
    data = Dataset(test.sequences + (extra,), test.labels + ("goodbye",), name="signs v2")
    with pytest.raises(UnknownLabelError, match=r"\['goodbye'\]") as info:
        evaluate(asl_gru, data)
    assert_names(info, "signs v2", "goodbye/clip 1.npz")
    model = TFLiteGestureModel(asl_tflite[0])
    with pytest.raises(UnknownLabelError, match=r"\['goodbye'\]") as info:
        evaluate(model, data)
    assert_names(info, asl_tflite[0])
    with pytest.raises(UnknownLabelError) as info:
        asl_gru.score(data)
    assert_names(info, "signs v2")


def test_model_and_dataset_with_other_labels_or_features(asl_gru, shared_dir):
    from conftest import load_asl_signs

    pose = load_asl_signs("pose")
    fewer = pose.subset([i for i, label in enumerate(pose.labels) if label != "thanks"][:10])
    report = evaluate(asl_gru, fewer)  # a subset of the model's labels is fine
    assert report.num_clips == 10 and list(report.classes) == list(asl_gru.classes_)
    hands = load_asl_signs("hands").subset(range(2))
    with pytest.raises(LandmarkFormatError, match="layout 'hands', but .* expects 'pose'") as info:
        asl_gru.predict(hands)
    assert_names(info, "asl_signs[0]")
