"""Real data through every stage: MediaPipe → normalizer → Keras → TFLite → LiteRT."""

from __future__ import annotations

import numpy as np
import pytest
from media import make_astronaut_video

from poseact.deploy.export import export_tflite
from poseact.extract.extractor import extract_video
from poseact.extract.options import ExtractorOptions
from poseact.loading import load_default_dataset
from poseact.runtime.model import TFLiteGestureModel
from poseact.train.classifier import GestureClassifier
from poseact.train.options import ModelOptions, TrainingOptions


@pytest.fixture(scope="module")
def synthetic_model(tmp_path_factory):
    """A GRU trained on 4 subjects of the embedded synthetic dataset, exported."""
    data = load_default_dataset()
    subjects = sorted(set(data.groups))[:4]
    small = data.subset([i for i, g in enumerate(data.groups) if g in subjects])
    clf = GestureClassifier(
        model=ModelOptions(units=32), training=TrainingOptions(epochs=8, seed=0)
    ).fit(small)
    path = tmp_path_factory.mktemp("e2e") / "activities.tflite"
    export_tflite(clf, path, quantization="int8")
    return clf, path


def test_astronaut_video_through_every_stage(tmp_path, synthetic_model):
    clf, path = synthetic_model
    video = make_astronaut_video(tmp_path / "astronaut.mp4", frames=24, fps=24.0)
    sequence = extract_video(video, ExtractorOptions(layout="pose"))
    assert len(sequence) == 24 and sequence.detected.all()
    assert np.allclose(np.diff(sequence.timestamps), 1 / 24, atol=2e-3)
    assert sequence.image_size == (640, 480)

    keras_probs = clf.predict_proba([sequence])[0]
    with TFLiteGestureModel(path) as model:
        features = model.features([sequence])
        assert features.shape == (1, model.spec.window, model.spec.frame_features)
        assert np.all(np.isfinite(features))
        tflite_probs = model.predict_proba([sequence])[0]
        label = model.predict([sequence])[0]
    assert label in {*clf.classes_, "unknown"}  # the default rejection rule may refuse it
    assert np.isclose(tflite_probs.sum(), 1.0, atol=1e-4)
    assert np.argmax(tflite_probs) == np.argmax(keras_probs)
