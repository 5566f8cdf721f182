"""Shared fixtures: real MediaPipe models and media from ../shared (beside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("POSEACT_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()
MODEL_DIR = SHARED_DIR / "models"
TESTDATA_DIR = SHARED_DIR / "testdata"
ASL_SIGNS = SHARED_DIR / "data" / "asl_signs" / "asl_signs.npz"

# Tests resolve MediaPipe bundles from ../shared/models, never from the network.
os.environ.setdefault("POSEACT_MODEL_DIR", str(MODEL_DIR))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")
# Two xdist workers share two cores, each with its own `poseact` subprocesses: one
# TensorFlow thread each (children inherit it), not two contending for one core (one
# clean run each, 2026-12-07: 830 s with TensorFlow's own choice, 803 s with one).
for _threads in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")


#: The longest test files (a minute or more each, measured 2026-12-07), run first: the
#: two xdist workers take whole files in collection order (`--dist loadfile`), so a long
#: file last in line keeps one worker busy alone after the other has finished (one clean
#: run each: 831 s before, 814 s after).
LONGEST_FIRST = (
    "test_afternoon_cli.py",
    "test_embedded_dataset.py",
    "test_background_cli.py",
    "test_web.py",
    "test_predict_decisions.py",
    "test_docs.py",
    "test_examples.py",
    "test_report_page.py",
)


def pytest_collection_modifyitems(items: list) -> None:
    """The files of `LONGEST_FIRST` first, in that order; the rest as collected."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"shared data folder not found at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def model_dir(shared_dir: Path) -> Path:
    return MODEL_DIR


@pytest.fixture(scope="session")
def testdata_dir(shared_dir: Path) -> Path:
    return TESTDATA_DIR


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A fresh poseact cache directory for one test."""
    cache = tmp_path / "poseact-cache"
    monkeypatch.setenv("POSEACT_CACHE_DIR", str(cache))
    return cache


def load_asl_signs(layout: str = "pose"):
    """The real ASL recordings (../shared/data/asl_signs) as a poseact Dataset.

    All-zero pose points and hands mean "not detected" in that recording and become NaN.
    The frame rate was not recorded; it is taken as 30 fps.
    """
    import numpy as np

    from poseact.core.sequence import LandmarkSequence
    from poseact.data.dataset import Dataset

    data = np.load(ASL_SIGNS)
    pose = data["pose"].astype(np.float32)  # (90, 30, 33, 4)
    hands = data["hands"].astype(np.float32)  # (90, 30, 2, 21, 3)
    classes = [str(c) for c in data["classes"]]
    pose_missing = np.all(pose == 0, axis=-1)
    xyz = np.where(pose_missing[..., None], np.nan, pose[..., :3])
    vis = np.where(pose_missing, 0.0, pose[..., 3])
    hand_missing = np.all(hands == 0, axis=(-1, -2))  # (90, 30, 2)
    hand_xyz = np.where(hand_missing[..., None, None], np.nan, hands).reshape(90, 30, 42, 3)
    hand_vis = np.repeat(np.where(hand_missing, 0.0, 1.0), 21, axis=-1)
    if layout == "pose":
        points, visibility = xyz, vis
    elif layout == "hands":
        points, visibility = hand_xyz, hand_vis
    else:
        points = np.concatenate([xyz, hand_xyz], axis=2)
        visibility = np.concatenate([vis, hand_vis], axis=2)
    t = np.arange(30) / 30.0
    sequences = [
        LandmarkSequence(
            timestamps=t,
            landmarks=points[i],
            visibility=visibility[i],
            layout=layout,
            image_size=(640, 480),
            source=f"asl_signs[{i}]",
        )
        for i in range(len(points))
    ]
    labels = [classes[i] for i in data["labels"]]
    return Dataset(tuple(sequences), tuple(labels), name="asl_signs")


@pytest.fixture(scope="session")
def asl_dataset(shared_dir):
    return load_asl_signs("pose")


@pytest.fixture(scope="session")
def asl_split(asl_dataset):
    """(train, test): a stratified split of the ASL signs (one signer, no groups)."""
    return asl_dataset.split(0.3, seed=0)


@pytest.fixture(scope="session")
def synthetic_subjects():
    """The shipped synthetic activities of 3 subjects, 2 clips per class each (42 clips,
    7 classes, background "idle"): subjects known, for cross-validation."""
    from poseact.data.dataset import Dataset

    data = Dataset.load(REPO_ROOT / "datasets" / "synthetic_activities.npz")
    subjects = sorted(set(data.groups))[:3]
    seen: dict[tuple[str, str], int] = {}
    keep = []
    for i, (label, group) in enumerate(zip(data.labels, data.groups)):
        if group in subjects and seen.get((label, group), 0) < 2:
            seen[(label, group)] = seen.get((label, group), 0) + 1
            keep.append(i)
    return data.subset(keep)


@pytest.fixture(scope="session")
def asl_gru(asl_split):
    """A real GRU trained on the ASL training split (a few seconds), closed-set (no
    rejection rule: `reject_rate=None`)."""
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    train, _ = asl_split
    return GestureClassifier(
        model=ModelOptions(architecture="gru", units=32),
        training=TrainingOptions(epochs=25, seed=0, reject_rate=None),
    ).fit(train)


@pytest.fixture(scope="session")
def asl_tflite(asl_gru, asl_split, tmp_path_factory):
    """The ASL GRU exported as float TFLite (with its streaming model)."""
    from poseact.deploy.export import export_tflite

    path = tmp_path_factory.mktemp("export") / "asl_float.tflite"
    report = export_tflite(asl_gru, path, quantization="float", parity_data=asl_split[1])
    return path, report


def landmarkers_created(caplog) -> int:
    """MediaPipe landmarkers created so far in this test (the extractor logs each one)."""
    return sum(
        r.name == "poseact.extract.extractor" and r.getMessage().startswith("created ")
        for r in caplog.records
    )
