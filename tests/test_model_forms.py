"""One model file, two forms: the window model and the single-step model as signatures.

Also: files written by the version 1 exporter (a second network in the archive) still
load and answer exactly as they did (tests/data/legacy_v1.tflite, see its README).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import load_asl_signs

from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.model_file import read_model_metadata

DATA = Path(__file__).parent / "data"
LEGACY = DATA / "legacy_v1.tflite"


def test_a_version_1_file_loads_and_answers_as_it_did():
    meta = read_model_metadata(LEGACY)
    assert meta["version"] == 1 and meta["stream"]["file"] == "stream.tflite"
    with zipfile.ZipFile(LEGACY) as zf:
        assert "stream.tflite" in zf.namelist()
    expected = np.load(DATA / "legacy_v1_outputs.npz")
    _, test = load_asl_signs("pose").split(0.3, seed=0)
    assert [s.source for s in test.sequences] == list(expected["sources"])
    with TFLiteGestureModel(LEGACY) as model:
        assert model.has_stream_model
        np.testing.assert_allclose(model.predict_proba(test), expected["window_probs"], atol=1e-6)
        stepper = model.stepper()
        steps = np.stack([stepper.step(row) for row in model.features(test)[0]])
        np.testing.assert_allclose(steps, expected["stream_probs"], atol=1e-6)


@pytest.fixture(scope="module")
def default_gru():
    """A GRU of the default size (64 units): what the size targets are about."""
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    train, test = load_asl_signs("pose").split(0.3, seed=0)
    clf = GestureClassifier(
        model=ModelOptions(architecture="gru"), training=TrainingOptions(epochs=30, seed=0)
    )
    return clf.fit(train), test


@pytest.mark.parametrize(("quantization", "limit_kb"), [("int8", 100), ("float", 250)])
def test_one_network_with_both_signatures(default_gru, quantization, limit_kb, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from poseact.deploy.export import export_tflite

    clf, test = default_gru
    path = tmp_path / f"gru_{quantization}.tflite"
    report = export_tflite(clf, path, quantization=quantization, parity_data=test)
    assert report.parity_ok and report.streaming
    assert report.size_bytes <= limit_kb * 1024, report.summary()
    meta = read_model_metadata(path)
    signatures = Interpreter(model_path=str(path)).get_signature_list()
    assert signatures == {
        "window": {"inputs": ["window"], "outputs": ["probabilities"]},
        "stream": {"inputs": ["frame", "state"], "outputs": ["probabilities", "state"]},
    }
    assert meta["stream"] == {
        "signature": "stream",
        "state_size": 64,
        "state_parts": [64],
        "lanes": 2,
    }
    with TFLiteGestureModel(path) as model:
        windows = model.features(test)
        # a clip of exactly W frames: the stream form gives the window form's answer
        for window in windows[:3]:
            stepper = model.stepper()
            last = [stepper.step(row) for row in window][-1]
            np.testing.assert_allclose(last, model.predict_window(window), atol=1e-5)


def test_merged_signatures_compute_what_each_network_computed_alone(asl_gru, asl_split):
    """Bit for bit: the merge only relocates subgraphs and shares identical weights."""
    from ai_edge_litert.interpreter import Interpreter

    from poseact.deploy.export import STREAM_LANES, _convert
    from poseact.deploy.signatures import merge_signatures
    from poseact.train.networks import build_step_model

    window = _convert(asl_gru.model_, "int8", None, False)
    stream = _convert(build_step_model(asl_gru.model_, "gru"), "int8", None, False, STREAM_LANES)
    merged = merge_signatures(window, stream)
    assert len(merged) < 0.75 * (len(window) + len(stream))
    x = asl_gru.features(asl_split[1])[:4]

    def run(content, key, **inputs):
        runner = Interpreter(model_content=content).get_signature_runner(key)
        return list(runner(**inputs).values())

    for w in x:
        alone = run(window, "serving_default", window=w[None])
        np.testing.assert_array_equal(run(merged, "window", window=w[None])[0], alone[0])
    state = np.zeros((STREAM_LANES, 32), np.float32)
    alone_state = state
    for row in x[0]:
        rows = np.repeat(row[None], STREAM_LANES, 0)
        outputs = Interpreter(model_content=merged).get_signature_runner("stream")(
            frame=rows, state=state
        )
        alone = Interpreter(model_content=stream).get_signature_runner("serving_default")(
            frame=rows, state=alone_state
        )
        np.testing.assert_array_equal(outputs["probabilities"], alone["output_0"])
        np.testing.assert_array_equal(outputs["state"], alone["output_1"])
        state, alone_state = outputs["state"], alone["output_1"]
