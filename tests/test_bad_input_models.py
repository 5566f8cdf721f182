"""Bad model files (issue 6): real files, real LiteRT and Keras; see docs/reliability.md.

Downloads of MediaPipe bundles (truncated, checksum mismatch, missing with the message
saying how to get them) are tested against a local server in tests/test_assets.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import archive_start, assert_names

from poseact.core.errors import LandmarkFormatError, ModelAssetError, ModelFormatError
from poseact.extract.extractor import extract_image
from poseact.extract.options import ExtractorOptions
from poseact.loading import load_model
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.model_file import read_model_metadata
from poseact.train.classifier import GestureClassifier


def with_metadata(model: Path, out: Path, **changes) -> Path:
    """A copy of an exported model whose embedded poseact.json has `changes` applied
    (keys with dots reach into nested dicts: "normalizer.window")."""
    data = model.read_bytes()
    start = archive_start(data)
    with zipfile.ZipFile(io.BytesIO(data[start:])) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    meta = json.loads(members["poseact.json"])
    for key, value in changes.items():
        target = meta
        *parents, last = key.split(".")
        for parent in parents:
            target = target[parent]
        target[last] = value
    members["poseact.json"] = json.dumps(meta).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    out.write_bytes(data[:start] + buffer.getvalue())
    return out


@pytest.fixture(scope="module")
def saved_gru(asl_gru, tmp_path_factory) -> Path:
    return asl_gru.save(tmp_path_factory.mktemp("models") / "signs.poseact")


# ---------------------------------------------------------------------- not a model
def test_files_that_are_not_models(tmp_path, testdata_dir, model_dir, asl_dataset):
    cases = {
        "notes.tflite": b"hello, I am a text file\n" * 10,
        "photo.tflite": (testdata_dir / "hand_thumb_up.jpg").read_bytes(),
        "photo.poseact": (testdata_dir / "hand_thumb_up.jpg").read_bytes(),
        "empty.tflite": b"",
        "bundle.poseact": (model_dir / "hand_landmarker_lite.task").read_bytes(),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    asl_dataset.subset(range(2)).save(tmp_path / "dataset.poseact")
    for path in sorted(tmp_path.iterdir()):
        with pytest.raises(ModelFormatError) as info:
            load_model(path)
        assert_names(info, path)
    with pytest.raises(ModelFormatError, match="does not exist") as info:
        load_model(tmp_path / "missing.tflite")
    assert_names(info, tmp_path / "missing.tflite")
    with pytest.raises(ModelFormatError) as info:
        load_model(tmp_path)  # a folder
    assert_names(info, tmp_path)


def test_tflite_that_is_not_a_poseact_model(tmp_path, model_dir):
    """MediaPipe's own pose detector: a real .tflite without poseact metadata."""
    with zipfile.ZipFile(model_dir / "pose_landmarker_full.task") as bundle:
        detector = tmp_path / "pose_detector.tflite"
        detector.write_bytes(bundle.read("pose_detector.tflite"))
    for load in (load_model, TFLiteGestureModel, read_model_metadata):
        with pytest.raises(ModelFormatError, match="not a poseact model") as info:
            load(detector)
        assert_names(info, detector)


# ---------------------------------------------------------------------- does not fit
def test_model_whose_feature_set_or_window_differs_from_the_input(asl_tflite, asl_gru, shared_dir):
    from conftest import load_asl_signs

    model = TFLiteGestureModel(asl_tflite[0])
    hands = load_asl_signs("hands").subset(range(2))
    for predictor in (model, asl_gru):
        with pytest.raises(LandmarkFormatError, match="layout 'hands', but .* 'pose'") as info:
            predictor.predict(hands)
        assert_names(info, "asl_signs[0]")
    features = asl_gru.features(load_asl_signs("pose").subset(range(2)))
    short = features[:, :20]  # a 20-frame window for a 30-frame model
    with pytest.raises(ModelFormatError, match=r"expects \(N, 30, 212\)") as info:
        model.predict_proba(short)
    assert_names(info, asl_tflite[0].name)
    with pytest.raises(ValueError, match=r"\(2, 20, 212\)"):
        asl_gru.predict_proba(short)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"normalizer.window": 20}, "does not match its metadata"),
        ({"normalizer.layout": "hands"}, "differs from the normalizer's 'hands'"),
        ({"classes": ["a", "b"]}, "3 outputs but its metadata lists 2 classes"),
        ({"normalizer.fps": "fast"}, "invalid poseact metadata"),
        ({"normalizer": None}, "invalid poseact metadata"),
        ({"format": "something-else"}, "metadata is not poseact's"),
        ({"onset": -0.5}, "'onset' must be null or a positive number of seconds: -0.5"),
        ({"onset": "soon"}, "'onset' must be null or a positive number of seconds: 'soon'"),
        ({"placement": {"nobody": [0.5, 0.5]}}, "'placement' names 'nobody', which is not a"),
        ({"placement": {"hello": [0.5]}}, "'placement' of 'hello' must be two positive seconds"),
        ({"placement": [0.5, 0.5]}, "'placement' must be null or an object, got list"),
    ],
    ids=[
        "window",
        "layout",
        "classes",
        "fps",
        "no-normalizer",
        "format",
        "onset",
        "onset-text",
        "placement-label",
        "placement-holds",
        "placement-list",
    ],
)
def test_exported_model_whose_metadata_does_not_fit_its_network(
    asl_tflite, tmp_path, changes, message
):
    bad = with_metadata(asl_tflite[0], tmp_path / "edited.tflite", **changes)
    with pytest.raises(ModelFormatError, match=message) as info:
        load_model(bad)
    assert_names(info, bad)


def test_saved_classifier_whose_metadata_does_not_fit_its_network(saved_gru, tmp_path):
    with zipfile.ZipFile(saved_gru) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    meta = json.loads(members["poseact.json"])
    fitted = meta["fitted"]

    def with_fitted(**changes):
        return {**meta, "fitted": {**fitted, **changes}}

    cases = {
        "window": with_fitted(normalizer={**fitted["normalizer"], "window": 20}),
        "classes": with_fitted(classes=["a", "b", "c", "d"]),
        "no-model": {**meta, "fitted": {k: v for k, v in fitted.items() if k != "model"}},
        "no-parameters": {k: v for k, v in meta.items() if k != "parameters"},
        "parameters-list": {**meta, "parameters": [1, 2]},
        "list": [1, 2, 3],
        "training-seconds": with_fitted(training_seconds={"a": 1}),  # found by test_fuzz
        "history": with_fitted(history=7),
        "onset": with_fitted(onset="soon"),
        "placement": with_fitted(placement={"hello": [-1.0, 0.5]}),
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.poseact"
        with zipfile.ZipFile(bad, "w") as zf:
            for member, data in members.items():
                zf.writestr(member, json.dumps(content) if member == "poseact.json" else data)
        with pytest.raises(ModelFormatError) as info:
            GestureClassifier.load(bad)
        assert_names(info, bad)


# ---------------------------------------------------------------------- damaged files
def test_damaged_network_fails_its_checksum_instead_of_crashing_litert(asl_tflite, tmp_path):
    """Bit rot or a bad copy inside the network: without the sha256 recorded at export,
    LiteRT parses the damaged flatbuffer and can segfault (found by tests/test_fuzz.py)."""
    data = asl_tflite[0].read_bytes()
    size = read_model_metadata(asl_tflite[0])["model_size"]
    rng = np.random.default_rng(0)
    for i, offset in enumerate(rng.integers(8, size, 5)):
        damaged = bytearray(data)
        damaged[offset] ^= 0x40
        bad = tmp_path / f"damaged{i}.tflite"
        bad.write_bytes(bytes(damaged))
        with pytest.raises(ModelFormatError, match="checksum mismatch: the network") as info:
            TFLiteGestureModel(bad)
        assert_names(info, bad)
    # the separate stream model of a version 1 file, re-zipped so that the zip CRC is valid
    data = (Path(__file__).parent / "data" / "legacy_v1.tflite").read_bytes()
    start = archive_start(data)
    with zipfile.ZipFile(io.BytesIO(data[start:])) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    stream = bytearray(members["stream.tflite"])
    stream[len(stream) // 2] ^= 0x40
    members["stream.tflite"] = bytes(stream)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    bad = tmp_path / "damaged stream.tflite"
    bad.write_bytes(data[:start] + buffer.getvalue())
    with pytest.raises(ModelFormatError, match="checksum mismatch: the stream model") as info:
        load_model(bad)
    assert_names(info, bad)


# ---------------------------------------------------------------------- truncated files
@pytest.mark.parametrize("keep", [0.999, 0.9, 0.5, 0.1])
def test_truncated_model_files(asl_tflite, saved_gru, tmp_path, keep):
    """A copy or download that stopped early, for both model formats."""
    for source in (asl_tflite[0], saved_gru):
        data = source.read_bytes()
        cut = tmp_path / f"cut-{source.name}"
        cut.write_bytes(data[: int(len(data) * keep)])
        with pytest.raises(ModelFormatError) as info:
            load_model(cut)
        assert_names(info, cut)


def test_truncated_or_wrong_mediapipe_bundle(model_dir, tmp_path, asl_tflite):
    """A half-copied .task file, and a poseact .tflite given as the pose model."""
    data = (model_dir / "pose_landmarker_full.task").read_bytes()
    half = tmp_path / "pose_landmarker_full.task"
    half.write_bytes(data[: len(data) // 3])
    for bundle in (half, asl_tflite[0]):
        with pytest.raises(ModelAssetError, match="could not load the model") as info:
            extract_image(np.zeros((64, 64, 3), np.uint8), ExtractorOptions(pose_model=str(bundle)))
        assert_names(info, bundle)


def test_missing_mediapipe_model_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    from media import make_astronaut_video

    from poseact.cli import main

    monkeypatch.setenv("POSEACT_MODEL_DIR", str(tmp_path / "no models here"))
    monkeypatch.setenv("POSEACT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POSEACT_OFFLINE", "1")
    video = make_astronaut_video(tmp_path / "person.mp4", frames=2, size=(160, 120))
    assert main(["-q", "extract", str(video), "-o", str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("poseact extract: error: MediaPipe model 'pose_full'")
    assert "https://storage.googleapis.com/mediapipe-models/" in err
    assert "POSEACT_MODEL_DIR" in err and "To fix" in err and "Traceback" not in err
    assert not (tmp_path / "out.npz").exists()
