"""The promises made for the embedded dataset: accuracy on unseen subjects, and a
streaming model that decides like the window model (issues 3 and 4)."""

from __future__ import annotations

import pytest

from poseact.deploy.export import export_tflite
from poseact.loading import load_default_dataset
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.recognizer import StreamingRecognizer
from poseact.train.classifier import GestureClassifier
from poseact.train.evaluate import evaluate
from poseact.train.options import ModelOptions, TrainingOptions


@pytest.fixture(scope="module")
def split():
    data = load_default_dataset()
    train, test = data.split(0.25, seed=0, by="group")
    assert set(train.groups).isdisjoint(test.groups)
    return train, test


@pytest.fixture(scope="module")
def trained(split):
    """The default network with the default training, and the streaming GRU trained at
    most 60 passes (the default maximum before 2026-12-07; it runs about 160 of today's
    200 here, 35 s, for the same promise)."""
    train, _ = split
    return {
        ModelOptions().architecture: GestureClassifier(training=TrainingOptions(seed=0)).fit(train),
        "gru": GestureClassifier(
            model=ModelOptions(architecture="gru"), training=TrainingOptions(seed=0, epochs=60)
        ).fit(train),
    }


@pytest.mark.parametrize("architecture", [ModelOptions().architecture, "gru"])
def test_at_least_90_percent_on_unseen_subjects(architecture, trained, split):
    report = evaluate(trained[architecture], split[1])
    assert report.accuracy >= 0.90, report.summary()
    assert report.macro_f1 >= 0.90


def _streams_that_differ(classifier, test, path) -> list[str]:
    """The test clips on which the single-step stream model and the window model end
    with different decisions (each clip streamed frame by frame at its own rate)."""
    export_tflite(classifier, path)
    model = TFLiteGestureModel(path)
    assert model.has_stream_model
    differ = []
    for sequence in test.sequences:
        stateful = StreamingRecognizer(model)
        windowed = StreamingRecognizer(model, stateful=False)
        frames = zip(sequence.timestamps, sequence.landmarks, sequence.visibility)
        for t, landmarks, visibility in frames:
            stateful.push(t, landmarks, visibility, sequence.image_size)
            windowed.push(t, landmarks, visibility, sequence.image_size)
        if stateful.label != windowed.label:
            differ.append(f"{sequence.source}: {stateful.label} vs {windowed.label}")
    return differ


def test_streaming_and_window_models_agree_on_99_percent_of_streams(trained, split, tmp_path):
    """Each test clip is streamed frame by frame at its own frame rate through (a) the
    single-step stateful model and (b) the window model re-run on the last W rows, with
    the same smoothing; the final decisions must match on >= 99 % of the streams.

    A rate of 99 % cannot be read from one training's 84 clips (one clip is 1.2 %), so
    the GRU is trained with seeds 0, 1 and 2 and the 252 streams are pooled: at most
    two may differ. Measured: 0, 0 and 0 clips differ (1, 0 and 0 with the default
    trainings; 0, 0 and 0 with seeds 1 and 2 at 30 passes). Seed 0 is the fixture's GRU
    (60 passes); seeds 1 and 2 train 10 (the two models must agree whatever the
    weights)."""
    train, test = split
    differ = _streams_that_differ(trained["gru"], test, tmp_path / "gru0.tflite")
    for seed in (1, 2):
        gru = GestureClassifier(
            model=ModelOptions(architecture="gru"), training=TrainingOptions(seed=seed, epochs=10)
        ).fit(train)
        differ += _streams_that_differ(gru, test, tmp_path / f"gru{seed}.tflite")
    streams = 3 * len(test)
    assert (streams - len(differ)) / streams >= 0.99, differ
