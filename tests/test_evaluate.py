"""Evaluation report: scikit-learn metrics, confusion matrix as numbers and PNG."""

from __future__ import annotations

import json

import numpy as np

from poseact.train.evaluate import evaluate


class _FixedModel:
    """A stand-in predictor with known outputs, to check the arithmetic of the report."""

    classes_ = np.array(["a", "b", "c"])

    def __init__(self, predictions):
        self.predictions = np.array(predictions)

    def predict(self, sequences):
        return self.predictions[: len(sequences)]


def test_metrics_and_confusion_matrix_are_right(tmp_path):
    truth = ["a", "a", "b", "b", "c", "c"]
    report = evaluate(_FixedModel(["a", "b", "b", "b", "c", "a"]), list(range(6)), truth)
    assert report.accuracy == 4 / 6
    assert report.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert np.allclose(report.precision, [0.5, 2 / 3, 1.0])
    assert np.allclose(report.recall, [0.5, 1.0, 0.5])
    f1 = 2 * report.precision * report.recall / (report.precision + report.recall)
    assert np.isclose(report.macro_f1, f1.mean())
    paths = report.save(tmp_path / "report")
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(paths["json"].read_text())
    assert data["per_class"]["b"]["recall"] == 1.0 and data["confusion"][2] == [1, 0, 1]
    assert paths["csv"].read_text().splitlines()[1] == "a,1,1,0"
    assert "accuracy 0.667" in report.summary()


def test_a_class_missing_from_the_test_split_does_not_count_in_macro_f1():
    report = evaluate(_FixedModel(["a", "a", "b"]), [0, 1, 2], ["a", "a", "b"])
    assert report.support.tolist() == [2, 1, 0]
    assert report.macro_f1 == 1.0


def test_the_confusion_matrix_counts_clips_answered_unknown(synthetic_subjects, tmp_path):
    """A model with a rejection rule answers "unknown": its clips are a column of the
    matrix (none dropped), and the network runs once per evaluation."""
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    data = synthetic_subjects
    clf = GestureClassifier(
        model=ModelOptions(units=16), training=TrainingOptions(epochs=2, reject_rate=0.5)
    ).fit(data)
    network, calls = clf.model_, []
    predict = network.predict

    def counted(*args, **kwargs):
        calls.append(1)
        return predict(*args, **kwargs)

    network.predict = counted
    report = evaluate(clf, data)
    assert len(calls) == 1
    assert report.unknown == "unknown" and report.columns[-1] == "unknown"
    assert report.confusion.shape == (len(report.classes), len(report.classes) + 1)
    assert report.confusion.sum() == len(data)
    answered = sum(clip.predicted == "unknown" for clip in report.clips)
    assert answered > 0 and report.confusion[:, -1].sum() == answered
    paths = report.save(tmp_path / "report")
    assert paths["csv"].read_text().splitlines()[0].endswith(",unknown")
    assert json.loads(paths["json"].read_text())["confusion_columns"][-1] == "unknown"
