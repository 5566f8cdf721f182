"""Files written by poseact 0.1.0 (before the stage sub-packages) still load and agree.

tests/data/legacy/ holds a GRU and a TCN (custom Keras layers) trained on the real ASL
recordings by the 0.1.0 code, saved (`.poseact`) and exported (`.tflite`, GRU int8
with its stream model, TCN float), with the old code's probabilities on 10 test clips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from poseact.core.sequence import LandmarkSequence
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.recognizer import StreamingRecognizer

LEGACY = Path(__file__).parent / "data" / "legacy"


@pytest.fixture(scope="module")
def clips() -> list[LandmarkSequence]:
    pose = np.load(LEGACY / "asl_test_pose.npy")
    visibility = np.load(LEGACY / "asl_test_visibility.npy")
    return [
        LandmarkSequence(np.arange(len(p)) / 30.0, p, v, layout="pose")
        for p, v in zip(pose, visibility)
    ]


@pytest.mark.parametrize("arch", ["gru", "tcn"])
def test_a_classifier_saved_by_0_1_0_loads_and_predicts_the_same(arch, clips):
    from poseact.train.classifier import GestureClassifier

    clf = GestureClassifier.load(LEGACY / f"asl_{arch}16_v0.1.0.poseact")
    expected = np.load(LEGACY / f"asl_{arch}16_v0.1.0_expected.npy")
    np.testing.assert_allclose(clf.predict_proba(clips), expected, atol=1e-5)
    assert list(clf.classes_) == ["hello", "iloveyou", "thanks"]


@pytest.mark.parametrize("arch, tolerance", [("gru", 0.05), ("tcn", 1e-4)])
def test_a_model_exported_by_0_1_0_runs(arch, tolerance, clips):
    expected = np.load(LEGACY / f"asl_{arch}16_v0.1.0_expected.npy")
    with TFLiteGestureModel(LEGACY / f"asl_{arch}16_v0.1.0.tflite") as model:
        assert model.has_stream_model
        probs = model.predict_proba(clips)
        assert np.abs(probs - expected).max() < tolerance
        assert (probs.argmax(1) == expected.argmax(1)).mean() >= 0.9
        recognizer = StreamingRecognizer(model)
        for t, landmarks, visibility in zip(
            clips[0].timestamps, clips[0].landmarks, clips[0].visibility
        ):
            recognizer.push(t, landmarks, visibility)
        assert recognizer.label in model.classes_
