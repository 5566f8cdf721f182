"""The model zoo: every architecture and input stream trains, exports with builtin ops
only, matches Keras, and round-trips through save/load."""

from __future__ import annotations

import numpy as np
import pytest

from poseact.deploy.export import export_tflite
from poseact.normalize.spec import NormalizerSpec
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.model_file import read_model_metadata
from poseact.train.classifier import GestureClassifier
from poseact.train.options import ModelOptions, TrainingOptions


@pytest.fixture(scope="module")
def tiny(asl_split):
    """(train, test): a few real ASL clips, enough to fit in a second."""
    train, test = asl_split
    return train.subset(range(0, len(train), 3)), test.subset(range(0, len(test), 2))


def _fit(data, architecture, inputs="both", units=8, normalizer=None, epochs=1):
    return GestureClassifier(
        normalizer=normalizer,
        model=ModelOptions(architecture=architecture, units=units, inputs=inputs),
        training=TrainingOptions(epochs=epochs, seed=0),
    ).fit(data)


def _ops(path) -> set[str]:
    from ai_edge_litert.interpreter import Interpreter

    return {op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()}


@pytest.mark.parametrize(
    ("architecture", "inputs"),
    [
        ("late_fusion", "both"),
        ("early_fusion", "positions"),
        ("tcn", "two_branch"),
        ("transformer", "velocities"),
        ("gru", "two_branch"),
    ],
)
def test_zoo_exports_builtin_ops_matching_keras(architecture, inputs, tiny, tmp_path):
    train, test = tiny
    clf = _fit(train, architecture, inputs)
    report = export_tflite(clf, tmp_path / "m.tflite", parity_data=test)
    assert report.parity_ok and report.max_abs_diff < 1e-4, report.summary()
    ops = _ops(report.path)
    assert not any("Flex" in op or op == "CUSTOM" for op in ops), ops
    meta = read_model_metadata(report.path)
    assert meta["architecture"] == architecture and meta["inputs"] == inputs
    assert report.streaming == (architecture in ("gru", "tcn"))
    if report.streaming:  # the stream model fed W rows from zero equals the window model
        with TFLiteGestureModel(report.path) as model:
            window = model.features(test)[0]
            stepper = model.stepper()
            for row in window:
                probs = stepper.step(row)
            assert np.max(np.abs(probs - model.predict_window(window))) < 1e-5


def test_tcn_step_model_is_exact_in_keras(tiny):
    from poseact.train.networks import build_step_model, state_sizes

    clf = _fit(tiny[0], "tcn", units=8)
    window = clf.features(tiny[1])[:2]
    step = build_step_model(clf.model_, "tcn")
    state = np.zeros((2, sum(state_sizes(clf.model_, "tcn"))), np.float32)
    for t in range(window.shape[1]):
        probs, state = step.predict_on_batch([window[:, t], state])
    assert np.allclose(probs, clf.predict_proba(window), atol=1e-5)


def test_input_stream_selection_happens_inside_the_model(tiny):
    train, test = tiny
    assert ModelOptions().inputs == "both"
    positions = _fit(train, "frame_mlp", "positions")
    velocities = _fit(train, "frame_mlp", "velocities")
    features = positions.features(test)
    half = features.shape[-1] // 2
    moved = features.copy()
    moved[..., half:] += 1.0  # change only the velocity half
    assert np.allclose(positions.predict_proba(moved), positions.predict_proba(features), atol=1e-6)
    assert not np.allclose(velocities.predict_proba(moved), velocities.predict_proba(features))


def test_velocity_streams_need_velocity_features(tiny):
    with pytest.raises(ValueError, match="needs velocity features"):
        _fit(tiny[0], "gru", "two_branch", normalizer=NormalizerSpec(velocity=False))
    with pytest.raises(ValueError, match="unknown ModelOptions.inputs"):
        ModelOptions(inputs="optical_flow")
    with pytest.raises(ValueError, match="unknown architecture"):
        ModelOptions(architecture="resnet")
    # positions without velocity features: nothing to select, the model takes them all
    # (the positions, the joint angles and the path: the body centre's velocity and
    # trailing offset)
    clf = _fit(tiny[0], "late_fusion", "positions", normalizer=NormalizerSpec(velocity=False))
    assert clf.features(tiny[1]).shape[-1] == 99 + 10 + 4


def test_custom_layers_survive_save_and_load(tiny, tmp_path):
    train, test = tiny
    clf = _fit(train, "transformer", "two_branch", units=4)
    back = GestureClassifier.load(clf.save(tmp_path / "t.poseact"))
    assert back.model == ModelOptions(architecture="transformer", units=4, inputs="two_branch")
    assert np.allclose(back.predict_proba(test), clf.predict_proba(test), atol=1e-6)
    assert back.rehearsal_ is not None and len(back.rehearsal_) == len(clf.rehearsal_)
