"""Dataset: folders, packed files, splits that do not leak."""

from __future__ import annotations

import numpy as np
import pytest

from poseact.core.errors import DatasetError, UnknownLabelError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset, write_landmark_csv


def _clip(seed: int, T: int = 12, layout: str = "pose", source: str = "") -> LandmarkSequence:
    K = 33 if layout == "pose" else 42
    rng = np.random.default_rng(seed)
    return LandmarkSequence(
        timestamps=np.arange(T) / 30.0,
        landmarks=rng.random((T, K, 3)),
        visibility=np.ones((T, K)),
        layout=layout,
        source=source,
    )


def _dataset(n_groups: int = 6, per_group: int = 4) -> Dataset:
    seqs, labels, groups = [], [], []
    for g in range(n_groups):
        for i in range(per_group):
            seqs.append(_clip(g * 100 + i))
            labels.append(["wave", "clap"][i % 2])
            groups.append(f"s{g}")
    return Dataset(tuple(seqs), tuple(labels), tuple(groups), background="none")


def test_classes_are_sorted_and_include_the_background():
    data = _dataset()
    assert data.classes == ("clap", "none", "wave")
    assert data.class_counts() == {"clap": 12, "none": 0, "wave": 12}
    assert list(data.label_indices[:2]) == [2, 0]


def test_group_split_keeps_every_subject_on_one_side():
    data = _dataset()
    train, test = data.split(0.3, seed=1)
    assert set(train.groups).isdisjoint(test.groups)
    assert len(train) + len(test) == len(data)
    assert train.classes == test.classes == data.classes
    again = data.split(0.3, seed=1)[1]
    assert again.groups == test.groups  # same seed, same split
    other = [data.split(0.3, seed=s)[1].groups for s in range(6)]
    assert len({tuple(sorted(set(g))) for g in other}) > 1


def test_stratified_split_without_groups_keeps_class_shares():
    data = Dataset(tuple(_clip(i) for i in range(20)), tuple(["a"] * 10 + ["b"] * 10))
    train, test = data.split(0.2, seed=0)
    assert test.class_counts() == {"a": 2, "b": 2}
    assert train.class_counts() == {"a": 8, "b": 8}


def test_split_errors_name_the_problem():
    one_group = Dataset((_clip(0), _clip(1)), ("a", "b"), ("s1", "s1"))
    with pytest.raises(DatasetError, match="all 2 clips belong to group 's1'"):
        one_group.split(0.5, by="group")
    with pytest.raises(DatasetError, match="cannot split a dataset of 1"):
        Dataset((_clip(0),), ("a",)).split()
    with pytest.raises(DatasetError, match="test_fraction"):
        _dataset().split(1.5)


def test_mixed_layouts_and_mismatched_lengths_are_rejected():
    with pytest.raises(DatasetError, match="mixes landmark layouts"):
        Dataset((_clip(0), _clip(1, layout="hands")), ("a", "b"))
    with pytest.raises(DatasetError, match="2 sequences but 1 labels"):
        Dataset((_clip(0), _clip(1)), ("a",))


def test_unknown_labels_are_reported():
    with pytest.raises(UnknownLabelError, match=r"\['wave'\]"):
        _dataset().check_labels(["clap", "none"])


def test_packed_file_round_trip(tmp_path):
    data = _dataset()
    path = data.save(tmp_path / "data.npz")
    back = Dataset.load(path)
    assert back.labels == data.labels and back.groups == data.groups
    assert back.classes == data.classes and back.background == "none"
    for a, b in zip(back.sequences, data.sequences):
        assert np.array_equal(a.landmarks, b.landmarks)
        assert np.array_equal(a.timestamps, b.timestamps)
    half = data.save(tmp_path / "half.npz", precision="float16")
    assert half.stat().st_size < path.stat().st_size
    assert np.allclose(
        Dataset.load(half).sequences[0].landmarks, data.sequences[0].landmarks, atol=1e-3
    )


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="x.npz"):
        Dataset.load(bad)
    with pytest.raises(DatasetError, match="does not exist"):
        Dataset.load(tmp_path / "missing.npz")


def test_from_folder_reads_npz_and_csv_and_finds_groups(tmp_path):
    root = tmp_path / "data"
    _clip(1).save(root / "wave" / "alice_1.npz")
    _clip(2).save(root / "wave" / "bob_1.npz")
    write_landmark_csv(_clip(3), root / "clap" / "alice_2.csv")
    (root / "clap" / "notes.txt").write_text("ignored")
    (root / "clap" / ".poseact-tmp-half.npz").write_bytes(b"partial")  # left by a crash
    data = Dataset.from_folder(root, group_pattern=r"^(?P<group>[a-z]+)_")
    assert data.labels == ("clap", "wave", "wave")
    assert data.groups == ("alice", "alice", "bob")
    written = data.to_folder(tmp_path / "copy")
    assert sorted(p.relative_to(tmp_path / "copy").as_posix() for p in written) == [
        "clap/alice_2.npz",
        "wave/alice_1.npz",
        "wave/bob_1.npz",
    ]


def test_unicode_and_spaces_in_labels(tmp_path):
    root = tmp_path / "data"
    _clip(1).save(root / "thumbs up" / "a.npz")
    _clip(2).save(root / "привет" / "b.npz")
    data = Dataset.from_folder(root)
    assert set(data.classes) == {"thumbs up", "привет"}


def test_empty_or_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        Dataset.from_folder(tmp_path / "nope")
    (tmp_path / "empty" / "wave").mkdir(parents=True)
    with pytest.raises(DatasetError, match="holds no clips"):
        Dataset.from_folder(tmp_path / "empty")
