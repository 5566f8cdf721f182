"""Open-set rejection ("unknown") and the background class, through real parts."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from poseact.core.errors import ModelFormatError
from poseact.runtime.decider import Decider, DecisionOptions
from poseact.runtime.model_file import ModelMetadata
from poseact.runtime.rejection import RejectionRule, calibrate_rejection


# ---------------------------------------------------------------------- calibration
def test_thresholds_are_the_false_reject_quantile_of_each_class():
    targets = np.repeat([0, 1, 2], 40)
    own = np.linspace(0.5, 0.99, 40)
    probs = np.repeat(((1 - np.tile(own, 3)) / 2)[:, None], 3, axis=1)
    probs[np.arange(120), targets] = np.tile(own, 3)
    rule = calibrate_rejection(
        probs, targets, ["a", "none", "c"], false_reject=0.1, background="none"
    )
    assert set(rule.thresholds) == {"a", "c"}  # the background is never rejected
    assert rule.thresholds["a"] == pytest.approx(np.quantile(own, 0.1))
    assert rule.windows == 120 and rule.false_reject == 0.1
    answers = rule.apply(probs, ["a", "none", "c"], "none")
    rejected_a = np.mean(answers[targets == 0] == "unknown")
    assert rejected_a == pytest.approx(0.1)  # the target share of known windows


def test_a_class_without_validation_windows_gets_the_overall_quantile():
    probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.8, 0.2]])
    rule = calibrate_rejection(probs, np.array([0, 0, 0]), ["a", "b"], false_reject=0.0)
    assert rule.thresholds == {"a": pytest.approx(0.7), "b": pytest.approx(0.7)}


def test_apply_answers_unknown_below_the_class_threshold_only():
    rule = RejectionRule(thresholds={"wave": 0.8, "clap": 0.5})
    probs = np.array([[0.79, 0.21, 0.0], [0.3, 0.55, 0.15], [0.1, 0.2, 0.7], [0.81, 0.19, 0.0]])
    assert rule.apply(probs, ["wave", "clap", "none"], "none").tolist() == [
        "unknown",
        "clap",
        "none",
        "wave",
    ]


def test_calibration_refuses_bad_arguments():
    with pytest.raises(ValueError, match="false_reject"):
        calibrate_rejection(np.ones((1, 2)) / 2, np.zeros(1, int), ["a", "b"], false_reject=1.0)
    with pytest.raises(ValueError, match=r"expected \(N, C\) = \(2, 2\)"):
        calibrate_rejection(np.ones((1, 2)), np.zeros(2, int), ["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        calibrate_rejection(np.ones((0, 2)), np.zeros(0, int), ["a", "b"])


# ---------------------------------------------------------------------- decisions
def test_decider_never_fires_a_rejected_label_and_shows_unknown():
    classes = ["wave", "clap", "none"]
    rule = RejectionRule(thresholds={"wave": 0.9, "clap": 0.6})
    # 20 frames of a confident-but-not-enough wave, then 20 of a clear clap
    frames = [np.array([0.85, 0.1, 0.05])] * 20 + [np.array([0.05, 0.9, 0.05])] * 20
    plain = Decider(classes, "none", DecisionOptions())
    strict = Decider(classes, "none", DecisionOptions(), rule)
    plain_events, strict_events, labels = [], [], []
    for k, p in enumerate(frames):
        plain_events += plain.update(p, k / 30)
        strict_events += strict.update(p, k / 30)
        labels.append(strict.label)
    assert [e.label for e in plain_events if e.end is None] == ["wave", "clap"]
    assert [e.label for e in strict_events if e.end is None] == ["clap"]
    assert labels[:10] == ["unknown"] * 10 and labels[-1] == "clap"


# ---------------------------------------------------------------------- stored rule
def _metadata(rejection) -> dict:
    return {
        "format": "poseact-tflite",
        "classes": ["hello", "none", "thanks"],
        "background": "none",
        "normalizer": {"layout": "pose"},
        "rejection": rejection,
    }


@pytest.mark.parametrize(
    ("rejection", "message"),
    [
        ([0.5], "must be null or an object with 'thresholds'"),
        ({"thresholds": {"bye": 0.5}}, r"name labels \['bye'\] that are not classes"),
        ({"thresholds": {"none": 0.5}}, "background 'none' cannot have a rejection threshold"),
        ({"thresholds": {"hello": 1.5}}, r"threshold of 'hello' must be in \[0, 1\]"),
        ({"thresholds": {"hello": True}}, r"threshold of 'hello' must be in \[0, 1\]"),
        ({"thresholds": {}, "unknown": "thanks"}, "answer 'thanks' must be a string that is not"),
    ],
)
def test_invalid_stored_rules_are_one_line_naming_the_file(rejection, message):
    with pytest.raises(ModelFormatError, match=message) as info:
        ModelMetadata.from_dict(_metadata(rejection), where="m.tflite")
    assert str(info.value).startswith("m.tflite: ") and "\n" not in str(info.value)


def test_a_valid_rule_round_trips_through_the_metadata():
    rule = RejectionRule(thresholds={"hello": 0.8, "thanks": 0.7}, false_reject=0.05, windows=9)
    meta = ModelMetadata.from_dict(_metadata(rule.to_dict()))
    back = RejectionRule.from_dict(meta.rejection, classes=meta.classes)
    assert back == rule


# ---------------------------------------------------------------------- real models
@pytest.fixture(scope="module")
def asl_open_set(asl_split, tmp_path_factory):
    """An ASL GRU trained with a rejection rule, saved and exported (float)."""
    from poseact.deploy.export import export_tflite
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    train, _ = asl_split
    clf = GestureClassifier(
        model=ModelOptions(architecture="gru", units=32),
        training=TrainingOptions(epochs=25, seed=0, reject_rate=0.05),
    ).fit(train)
    folder = tmp_path_factory.mktemp("openset")
    clf.save(folder / "asl.poseact")
    export_tflite(clf, folder / "asl.tflite", quantization="float")
    return clf, folder


def test_fit_calibrates_a_rule_that_save_load_and_export_keep(asl_open_set, asl_split):
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.train.classifier import GestureClassifier

    clf, folder = asl_open_set
    rule = clf.rejection_
    assert set(rule.thresholds) == set(clf.classes_) and rule.windows > 0
    assert all(0.0 < v <= 1.0 for v in rule.thresholds.values())
    assert GestureClassifier.load(folder / "asl.poseact").rejection_ == rule
    model = TFLiteGestureModel(folder / "asl.tflite")
    assert model.rejection == rule
    assert model.metadata["rejection"]["rule"] == "max_probability"

    _, test = asl_split
    probs = model.predict_proba(test)
    best = probs.argmax(axis=1)
    expected = [
        "unknown" if probs[i, b] < rule.thresholds[model.classes_[b]] else model.classes_[b]
        for i, b in enumerate(best)
    ]
    assert model.predict(test).tolist() == expected
    assert model.predict(test, reject=False).tolist() == model.classes_[best].tolist()
    keras_answers = clf.predict(test)
    agree = np.mean(keras_answers == np.array(expected))
    assert agree >= 0.95  # float TFLite ≈ Keras; a window right at a threshold may differ


def test_closed_set_models_carry_no_rule(asl_gru, asl_tflite):
    from poseact.runtime.model import TFLiteGestureModel

    assert asl_gru.rejection_ is None
    model = TFLiteGestureModel(asl_tflite[0])
    assert model.rejection is None and model.metadata.get("rejection") is None


def test_cli_predict_prints_the_rule_answer(asl_open_set, asl_split, tmp_path):
    from poseact.runtime.model import TFLiteGestureModel

    _, folder = asl_open_set
    _, test = asl_split
    model = TFLiteGestureModel(folder / "asl.tflite")
    paths = []
    for i, seq in enumerate(test.sequences[:8]):
        paths.append(str(seq.save(tmp_path / f"clip{i}.npz")))
    expected = model.predict(test.sequences[:8]).tolist()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "poseact.cli",
            "-q",
            "predict",
            str(folder / "asl.tflite"),
            *paths,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    answers = [json.loads(line)["label"] for line in out.splitlines() if line.startswith("{")]
    assert answers == expected


def test_a_gesture_that_gives_way_to_the_background_keeps_its_length():
    """The event ends where the change to "no gesture" began, not at its own start."""
    decider = Decider(["wave", "none"], "none", DecisionOptions(min_frames=3))
    frames = [np.array([0.95, 0.05])] * 30 + [np.array([0.02, 0.98])] * 30
    events = [e for k, p in enumerate(frames) for e in decider.update(p, k / 30)]
    ended = [e for e in events if e.end is not None]
    assert len(ended) == 1
    assert ended[0].start == pytest.approx(0.0)
    # EMA (α 0.3) falls below 0.6 on the second background frame: the change began there
    assert ended[0].end == pytest.approx(31 / 30)
