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
