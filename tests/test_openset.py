"""Open-set rejection ("unknown") and the background class, through real parts."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from poseact.core.errors import ModelFormatError
from poseact.runtime.decider import Decider, DecisionOptions, answer_times
from poseact.runtime.model_file import ModelMetadata
from poseact.runtime.rejection import (
    CAP,
    RejectionRule,
    calibrate_rejection,
    dequantize,
    describe,
    extend_rejection,
    pooled_tail,
    quantize,
)


# ---------------------------------------------------------------------- calibration
def _clips(rng, centres, per_class, window=16, features=3, spread=0.2):
    """(N, W, F) windows around each class centre, with motion, and (N,) targets."""
    targets = np.repeat(np.arange(len(centres)), per_class)
    windows = (
        np.asarray(centres)[targets][:, None, :]
        + rng.normal(0, spread, (len(targets), window, features))
        + np.sin(np.arange(window) / 2)[None, :, None] * rng.uniform(0.5, 1, (len(targets), 1, 1))
    )
    return windows.astype(np.float32), targets


@pytest.mark.parametrize("frames", [1, 2, 7, 16, 30])
def test_a_window_is_described_by_numpys_median_and_median_absolute_deviation(frames):
    w = np.random.default_rng(frames).normal(0, 1, (3, frames, 5))
    w[0, : frames // 2 + 1, 2] = 7.0  # ties, and a majority of one value
    median = np.median(w, axis=1)
    mad = np.median(np.abs(w - median[:, None]), axis=1)
    assert np.array_equal(describe(w), np.concatenate([median, 1.4826 * mad], axis=1))
    means = describe(w, "mean_std")
    assert np.array_equal(means, np.concatenate([w.mean(axis=1), w.std(axis=1)], axis=1))
    with pytest.raises(ValueError, match="descriptor must be one of"):
        describe(w, "mean_max")


def test_thresholds_are_each_class_mean_distance_times_one_pooled_tail():
    rng = np.random.default_rng(0)
    windows, targets = _clips(rng, [[0, 0, 0], [3, 0, 0], [0, 3, 0]], 30)
    groups = [f"s{i % 6}" for i in range(len(targets))]
    classes = ["a", "none", "c"]
    rule = calibrate_rejection(
        windows, targets, classes, groups=groups, false_reject=0.1, background="none"
    )
    assert set(rule.thresholds) == {"a", "c"} and set(rule.references) == {"a", "c"}
    assert rule.cap == 4.0
    # brute force: each clip against the references (every clip here) of other subjects,
    # each number's difference counting at most the cap
    z = (describe(windows) - rule.center) / rule.scale
    distances = {}
    for c, label in ((0, "a"), (2, "c")):
        members = np.flatnonzero(targets == c)
        refs = rule.references[label].astype(np.float64)
        distances[label] = np.array(
            [
                min(
                    np.sqrt(np.sum(np.minimum(np.abs(z[i] - refs[k]), 4.0) ** 2))
                    for k, j in enumerate(members)
                    if groups[j] != groups[i]
                )
                for i in members
            ]
        )
    # the tail: exponential excesses beyond the pooled ratios' upper quartile
    ratios = np.concatenate([d / d.mean() for d in distances.values()])
    start = np.quantile(ratios, 0.75)
    factor = start + np.mean(ratios[ratios > start] - start) * np.log(0.25 / 0.1)
    for label, d in distances.items():
        assert rule.thresholds[label] == pytest.approx(d.mean() * factor, rel=1e-6)
    assert rule.tail == pytest.approx(factor, rel=1e-9)  # kept for labels taught later
    assert rule.windows == 60 and rule.false_reject == 0.1
    # about the target share of known clips of new subjects is turned away (the tail is
    # one for all classes: counted over both gestures)
    fresh, fresh_targets = _clips(np.random.default_rng(1), [[0, 0, 0], [3, 0, 0], [0, 3, 0]], 200)
    probs = np.eye(3)[fresh_targets]
    answers = rule.apply(probs, fresh, classes, "none")
    assert 0.02 <= np.mean(answers[fresh_targets != 1] == "unknown") <= 0.25
    assert np.all(answers[fresh_targets == 1] == "none")  # the background is never rejected


@pytest.mark.parametrize("rate", [0.01, 0.05])
def test_the_pooled_tail_turns_away_the_rate_asked_for_whatever_the_bulk_looks_like(rate):
    """Calibration ratios of two modes (clips near a reference, and those whose own
    group's reference was left out): the tail follows the largest ratios, so about
    `rate` of fresh clips drawn alike lie beyond it. The robust log-normal fitted to
    all of them (until 2026-12-07) put the factor inside the second mode: 32 % beyond
    at a rate of 1 %."""

    def draw(rng, n):
        near = rng.lognormal(np.log(0.5), 0.1, n)
        far = 1.2 + rng.exponential(0.4, n)
        return np.where(rng.random(n) < 0.6, near, far)

    rng = np.random.default_rng(0)
    calibration = {"a": draw(rng, 150), "b": 1.7 * draw(rng, 150)}
    factor = pooled_tail(calibration, rate)
    fresh = draw(np.random.default_rng(1), 200_000)
    beyond = np.mean(fresh / np.mean(calibration["a"]) > factor)
    assert rate / 4 <= beyond <= rate * 2
    assert pooled_tail(calibration, 0.0) == pytest.approx(
        max(float(np.max(d / np.mean(d))) for d in calibration.values())
    )
    assert pooled_tail({}, rate) is None


def test_a_movement_unlike_the_known_clips_is_unknown_even_when_the_network_is_sure():
    rng = np.random.default_rng(2)
    windows, targets = _clips(rng, [[0, 0, 0], [3, 0, 0]], 25)
    rule = calibrate_rejection(windows, targets, ["wave", "clap"], false_reject=0.02)
    known, _ = _clips(np.random.default_rng(3), [[0, 0, 0]], 5)
    still = np.zeros((3, 16, 3), np.float32)  # no motion at all
    elsewhere, _ = _clips(np.random.default_rng(4), [[0, 0, 4]], 3)
    sure = np.tile([[0.99, 0.01]], (11, 1))  # the network calls every window "wave"
    answers = rule.apply(sure, np.concatenate([known, still, elsewhere]), ["wave", "clap"])
    assert answers.tolist() == ["wave"] * 5 + ["unknown"] * 6
    ratios = rule.ratios(np.concatenate([known, still]), ["wave", "clap"])
    assert np.all(ratios[:5, 0] <= 1) and np.all(ratios[5:, 0] > 1)


def test_references_stay_within_the_budget_and_the_seed_picks_them():
    rng = np.random.default_rng(5)
    windows, targets = _clips(rng, [[0, 0, 0], [3, 0, 0]], 40)
    rule = calibrate_rejection(windows, targets, ["a", "b"], budget=6 * 2 * 10, seed=1)
    assert [len(r) for r in rule.references.values()] == [10, 10]  # 10 of 40 each (D = 6)
    # one byte per number in the file: int8 codes, each row with its own scale, and the
    # rule computes with exactly what the file holds
    stored = rule.to_dict()["references"]["a"]
    assert stored["dtype"] == "int8" and stored["shape"] == [10, 6]
    codes, scale = quantize(rule.references["a"])
    assert np.array_equal(dequantize(codes, scale), rule.references["a"])
    assert np.abs(codes).max() == 127
    # the farthest-point choice covers the class: every clip lies nearer its nearest
    # reference than with a random choice of as many
    z = (describe(windows[targets == 0]) - rule.center) / rule.scale
    chosen = np.sqrt(((z[:, None] - rule.references["a"][None]) ** 2).sum(-1)).min(1).max()
    picks = np.random.default_rng(0).choice(len(z), 10, replace=False)
    randomly = np.sqrt(((z[:, None] - z[picks][None]) ** 2).sum(-1)).min(1).max()
    assert chosen < randomly
    again = calibrate_rejection(windows, targets, ["a", "b"], budget=6 * 2 * 10, seed=1)
    other = calibrate_rejection(windows, targets, ["a", "b"], budget=6 * 2 * 10, seed=2)
    assert again == rule and other != rule
    # never fewer than MIN_REFERENCES per class, however small the budget
    tiny = calibrate_rejection(windows, targets, ["a", "b"], budget=1)
    assert [len(r) for r in tiny.references.values()] == [3, 3]


def test_a_label_taught_later_extends_the_rule_with_its_tail():
    """`extend_rejection` (fine-tuning): the labels without new clips keep their
    references and thresholds, a new label's threshold is its clips' mean distance to
    the references of other groups times the rule's tail, a known label given new clips
    keeps at least its threshold, and the budget is shared by the labels after."""
    rng = np.random.default_rng(7)
    windows, targets = _clips(rng, [[0, 0, 0], [3, 0, 0], [0, 3, 0]], 12)
    groups = [f"s{i % 4}" for i in range(len(targets))]
    rule = calibrate_rejection(
        windows, targets, ["a", "none", "c"], groups=groups, false_reject=0.05,
        background="none", budget=6 * 2 * 8,
    )  # fmt: skip
    assert [len(r) for r in rule.references.values()] == [8, 8]
    new, _ = _clips(np.random.default_rng(8), [[3, 3, 0]], 5)
    more_c, _ = _clips(np.random.default_rng(9), [[0, 3.2, 0]], 3)
    classes = ["a", "b", "c", "none"]
    taught = extend_rejection(
        rule, np.concatenate([new, more_c]), np.array([1] * 5 + [2] * 3), classes,
        background="none", budget=6 * 2 * 8,
    )  # fmt: skip
    assert np.array_equal(taught.center, rule.center) and taught.tail == rule.tail
    assert taught.cap == rule.cap and taught.false_reject == rule.false_reject
    # "a" keeps its references and threshold; "b" and "c" share what it leaves of the
    # budget (4 references each of 6 numbers), "c" no fewer than it had
    assert list(taught.references) == ["a", "b", "c"] and list(taught.thresholds) == ["a", "b", "c"]
    assert np.array_equal(taught.references["a"], rule.references["a"])
    assert [len(taught.references[k]) for k in ("b", "c")] == [4, 8]
    assert taught.thresholds["a"] == rule.thresholds["a"]
    z = (describe(new) - rule.center) / rule.scale
    refs_b = taught.references["b"]
    d = np.sqrt(((np.minimum(np.abs(z[:, None] - refs_b[None]), CAP)) ** 2).sum(-1))
    own = np.argmin(d, axis=0)  # each reference is one of the clips (int8 as stored)
    assert len(set(own.tolist())) == 4 and np.all(d[own, range(4)] < 0.1 * d.max())
    d[own, range(4)] = np.inf  # each clip its own group: not measured against itself
    assert taught.thresholds["b"] == pytest.approx(d.min(1).mean() * rule.tail, rel=1e-6)
    assert taught.thresholds["c"] >= rule.thresholds["c"]
    assert taught.windows == rule.windows + 8
    # a known "b" clip is answered, one far from every label is not
    far, _ = _clips(np.random.default_rng(10), [[-4, -4, 4]], 2)
    answers = taught.apply(np.eye(4)[[1, 1, 1]], np.concatenate([new[:1], far]), classes, "none")
    assert answers.tolist() == ["b", "unknown", "unknown"]
    with pytest.raises(ValueError, match="no tail"):
        extend_rejection(dataclasses.replace(rule, tail=None), new, np.ones(5, int), classes)


def test_a_class_of_one_recording_gets_references_but_no_threshold():
    rng = np.random.default_rng(6)
    windows, targets = _clips(rng, [[0, 0, 0], [3, 0, 0]], 6)
    groups = ["one"] * 6 + [f"s{i}" for i in range(6)]
    rule = calibrate_rejection(windows, targets, ["a", "b"], groups=groups)
    assert set(rule.references) == {"a", "b"} and set(rule.thresholds) == {"b"}
    far = windows[:1] + 10
    assert rule.apply(np.array([[1.0, 0.0]]), far, ["a", "b"]).tolist() == ["a"]  # never rejected


def test_calibration_refuses_bad_arguments():
    windows, targets = _clips(np.random.default_rng(7), [[0, 0, 0], [1, 0, 0]], 3)
    with pytest.raises(ValueError, match="false_reject"):
        calibrate_rejection(windows, targets, ["a", "b"], false_reject=1.0)
    with pytest.raises(ValueError, match="one length >= 1, got 6 and 5"):
        calibrate_rejection(windows, targets[:5], ["a", "b"])
    with pytest.raises(ValueError, match=r"expected \(N, W, F\)"):
        calibrate_rejection(windows[0], targets, ["a", "b"])
    with pytest.raises(ValueError, match="class indices"):
        calibrate_rejection(windows, targets + 1, ["a", "b"])
    rule = calibrate_rejection(windows, targets, ["a", "b"])
    with pytest.raises(ValueError, match="calibrated on 3 features per frame"):
        rule.ratios(np.zeros((1, 16, 4)), ["a", "b"])


# ---------------------------------------------------------------------- decisions
def test_decider_never_fires_a_rejected_label_and_shows_unknown():
    classes = ["wave", "clap", "none"]
    windows, targets = _clips(np.random.default_rng(8), [[0, 0, 0], [3, 0, 0]], 10)
    rule = calibrate_rejection(windows, targets, classes)
    # 20 frames of a sure wave whose window is unlike the known waves, then a clap
    frames = [np.array([0.95, 0.03, 0.02])] * 20 + [np.array([0.05, 0.9, 0.05])] * 20
    ratios = [np.array([1.5, 0.5, 0.0])] * 20 + [np.array([2.0, 0.8, 0.0])] * 20
    plain = Decider(classes, "none", DecisionOptions())
    strict = Decider(classes, "none", DecisionOptions(reject_starts=True), rule)
    # without reject_starts (the default) the rule is not used live
    assert Decider(classes, "none", DecisionOptions(), rule).rejection is None
    plain_events, strict_events, labels = [], [], []
    for k, (p, r) in enumerate(zip(frames, ratios)):
        plain_events += plain.update(p, k / 30, ratios=r)
        strict_events += strict.update(p, k / 30, ratios=r)
        labels.append(strict.label)
    assert [e.label for e in plain_events if e.end is None] == ["wave", "clap"]
    assert [e.label for e in strict_events if e.end is None] == ["clap"]
    assert labels[:10] == ["unknown"] * 10 and labels[-1] == "clap"


def test_the_rule_judges_a_start_and_places_a_late_one_where_the_network_began():
    """A window sliding onto a wave is unlike whole waves for its first rows: the rule
    lets the wave through late, the event starts where the network first answered it,
    and once going on it lasts while the network answers wave, whatever the ratios."""
    classes = ["wave", "none"]
    windows, targets = _clips(np.random.default_rng(8), [[0, 0, 0], [3, 0, 0]], 10)
    rule = calibrate_rejection(windows, targets, classes, background="none")
    frames = [np.array([0.02, 0.98])] * 10 + [np.array([0.98, 0.02])] * 30
    frames += [np.array([0.02, 0.98])] * 10
    # unlike known waves for the first 8 rows of the wave, and again from its 20th row
    ratios = [np.array([2.0, 0.0])] * 18 + [np.array([0.5, 0.0])] * 12
    ratios += [np.array([2.0, 0.0])] * 20
    options = DecisionOptions(ema_alpha=1.0, min_frames=3, reject_starts=True)
    decider = Decider(classes, "none", options, rule)
    events, labels = [], []
    for k, (p, r) in enumerate(zip(frames, ratios)):
        events += decider.update(p, k / 30, at=(k - 5) / 30, ratios=r)
        labels.append(decider.label)
    assert labels[10:18] == ["unknown"] * 8 and labels[18:40] == ["wave"] * 22
    assert [(e.label, e.end is None) for e in events] == [("wave", True), ("wave", False)]
    started, ended = events
    # reported on row 20 (18 + min_frames - 1), placed where the network's answer began
    assert started.start == pytest.approx((10 - 5) / 30)
    assert ended.end == pytest.approx((40 - 5) / 30)  # the network let go on row 40


# ---------------------------------------------------------------------- stored rule
def _metadata(rejection) -> dict:
    return {
        "format": "poseact-tflite",
        "classes": ["hello", "none", "thanks"],
        "background": "none",
        "normalizer": {"layout": "pose"},
        "rejection": rejection,
    }


def _stored(**changes) -> dict:
    windows, targets = _clips(np.random.default_rng(9), [[0, 0, 0], [1, 0, 0], [2, 0, 0]], 6)
    rule = calibrate_rejection(windows, targets, ["hello", "none", "thanks"], background="none")
    return {**rule.to_dict(), **changes}


@pytest.mark.parametrize(
    ("rejection", "message"),
    [
        ([0.5], "rejection must be null or an object"),
        (
            {"rule": "max_probability", "thresholds": {"hello": 0.5}},
            "rule 'max_probability' is not supported .* train the model again with a reject rate",
        ),
        (_stored(thresholds={"bye": 0.5}), r"names labels \['bye'\] that are not classes"),
        (_stored(thresholds={"none": 0.5}), "threshold for the background 'none'"),
        (_stored(thresholds={"hello": -1.0}), "threshold of 'hello' must be a positive number"),
        (_stored(thresholds={"hello": True}), "threshold of 'hello' must be a positive number"),
        (_stored(unknown="thanks"), "answer 'thanks' must be a string that is not"),
        (_stored(tail="1.5"), "tail must be a positive number or null, got '1.5'"),
        (
            _stored(descriptor="mean_max"),
            r"descriptor must be one of \['median_mad', 'mean_std'\], got 'mean_max'",
        ),
        (_stored(tail=-1.5), "tail must be a positive number, got -1.5"),
        (_stored(center={"dtype": "float32", "shape": [6], "base64": "%%"}), "not valid base64"),
        (
            _stored(center={"dtype": "float32", "shape": [4], "base64": "AAAAAAAAAAA="}),
            r"holds 2 numbers .* shape \[4\]",
        ),
        (_stored(scale={"dtype": "float16", "shape": [6]}), "scale must be an object with dtype"),
        (
            _stored(references={"hello": {"dtype": "float64", "shape": [1, 6], "base64": ""}}),
            "references of 'hello' must be an object with dtype 'int8'",
        ),
        (
            _stored(
                references={
                    "hello": {
                        **_stored()["references"]["hello"],
                        "scale": {"dtype": "float32", "shape": [1], "base64": "AACAPw=="},
                    }
                }
            ),
            "scale must hold one positive number per reference",
        ),
    ],
)
def test_invalid_stored_rules_are_one_line_naming_the_file(rejection, message):
    with pytest.raises(ModelFormatError, match=message) as info:
        ModelMetadata.from_dict(_metadata(rejection), where="m.tflite")
    assert str(info.value).startswith("m.tflite: ") and "\n" not in str(info.value)


def test_a_valid_rule_round_trips_through_the_metadata():
    stored = _stored()
    meta = ModelMetadata.from_dict(_metadata(stored))
    back = RejectionRule.from_dict(meta.rejection, classes=meta.classes, features=3)
    assert back.to_dict() == stored and back.tail == stored["tail"] > 1
    older = {k: v for k, v in stored.items() if k != "tail"}  # written before 2026-12-07
    assert RejectionRule.from_dict(older, classes=meta.classes).tail is None
    with pytest.raises(ModelFormatError, match="windows have 4 features per frame"):
        RejectionRule.from_dict(meta.rejection, classes=meta.classes, features=4)


def test_a_rule_with_float16_references_from_before_reads_as_it_was_stored():
    import base64

    stored = _stored()
    rule = RejectionRule.from_dict(stored, classes=["hello", "none", "thanks"])
    old = {
        **stored,
        "references": {
            label: {
                "dtype": "float16",
                "shape": list(refs.shape),
                "base64": base64.b64encode(refs.astype("<f2").tobytes()).decode("ascii"),
            }
            for label, refs in rule.references.items()
        },
    }
    back = RejectionRule.from_dict(old, classes=["hello", "none", "thanks"])
    for label, refs in rule.references.items():
        assert np.array_equal(back.references[label], refs.astype(np.float16).astype(np.float32))


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
    assert all(v > 0 for v in rule.thresholds.values())
    assert rule.features == clf.normalizer_.spec.frame_features
    assert GestureClassifier.load(folder / "asl.poseact").rejection_ == rule
    model = TFLiteGestureModel(folder / "asl.tflite")
    assert model.rejection == rule
    assert model.metadata["rejection"]["rule"] == "nearest_clip"

    _, test = asl_split
    x = model.features(test)
    probs = model.predict_proba(x)
    best = probs.argmax(axis=1)
    ratios = rule.ratios(x, model.classes_.tolist())
    expected = ["unknown" if ratios[i, b] > 1 else model.classes_[b] for i, b in enumerate(best)]
    assert model.predict(test).tolist() == expected
    assert model.predict(test, reject=False).tolist() == model.classes_[best].tolist()
    keras_answers = clf.predict(test)
    agree = np.mean(keras_answers == np.array(expected))
    assert agree >= 0.95  # float TFLite ≈ Keras; a window right at a threshold may differ
    # a known sign recorded again is rarely turned away (the rule is set for 5 %)
    assert np.mean(np.array(expected) == "unknown") <= 0.15


@pytest.fixture(scope="module")
def asl_hands_split(shared_dir):
    from conftest import load_asl_signs

    return load_asl_signs("pose+hands").split(0.3, seed=0)


def test_a_sign_the_model_never_saw_is_answered_unknown(asl_hands_split):
    """An ASL model of "iloveyou" and "thanks" (pose+hands, one signer) trained with the
    default rule (`TrainingOptions().reject_rate`) against real clips of "hello": the
    network calls them a known sign, the rule does not, and it keeps the known clips."""
    from poseact.data.dataset import Dataset
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import TrainingOptions

    train, test = asl_hands_split
    known = [i for i, label in enumerate(train.labels) if label != "hello"]
    clf = GestureClassifier(training=TrainingOptions(epochs=25, seed=0)).fit(
        Dataset(tuple(train.sequences[i] for i in known), tuple(train.labels[i] for i in known))
    )
    hello = [s for s, label in zip(test.sequences, test.labels) if label == "hello"]
    others = [(s, label) for s, label in zip(test.sequences, test.labels) if label != "hello"]
    closed = clf.predict(hello, reject=False)
    assert set(closed) <= {"iloveyou", "thanks"}  # a closed-set model must name one
    answers = clf.predict(hello)
    assert np.mean(answers == "unknown") >= 0.9
    truth = np.array([label for _, label in others])
    known = [s for s, _ in others]
    assert np.mean(clf.predict(known) == truth) == np.mean(
        clf.predict(known, reject=False) == truth
    )


def test_the_medians_refuse_a_sign_the_means_let_through(asl_split):
    """An ASL model of "hello" and "thanks" (pose landmarks only, one signer) against
    real clips of "iloveyou": the default rule (medians over time) refuses most of them
    (6 of 9 when written); a rule of means and standard deviations over time,
    calibrated on the same clips (the descriptor before 2026-12-07), lets nearly all
    through (9 of 9). Both keep the known clips."""
    from poseact.data.dataset import Dataset
    from poseact.train.classifier import GestureClassifier
    from poseact.train.core import clip_windows
    from poseact.train.options import TrainingOptions

    train, test = asl_split
    keep = [i for i, label in enumerate(train.labels) if label != "iloveyou"]
    known = Dataset(tuple(train.sequences[i] for i in keep), tuple(train.labels[i] for i in keep))
    clf = GestureClassifier(training=TrainingOptions(epochs=25, seed=0)).fit(known)
    classes = list(clf.classes_)
    means = calibrate_rejection(
        clip_windows(clf.normalizer_, [clf.normalizer_.resampled(s) for s in known.sequences]),
        np.array([classes.index(label) for label in known.labels]),
        classes,
        false_reject=clf.rejection_.false_reject,
        descriptor="mean_std",
    )
    unseen = [s for s, label in zip(test.sequences, test.labels) if label == "iloveyou"]
    seen = [s for s, label in zip(test.sequences, test.labels) if label != "iloveyou"]
    refused = {}
    for name, rule in (("medians", clf.rejection_), ("means", means)):
        for clips in (unseen, seen):
            probs, x = clf.predict_proba(clips), clf.features(clips)
            refused[name, len(clips)] = np.mean(rule.apply(probs, x, classes) == "unknown")
    assert clf.rejection_.descriptor == "median_mad"
    assert refused["medians", len(unseen)] >= 0.5 and refused["means", len(unseen)] <= 0.2
    assert refused["medians", len(seen)] == refused["means", len(seen)] == 0.0


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
    decider = Decider(["wave", "none"], "none", DecisionOptions(min_frames=3, ema_alpha=0.3))
    frames = [np.array([0.95, 0.05])] * 30 + [np.array([0.02, 0.98])] * 30
    events = [e for k, p in enumerate(frames) for e in decider.update(p, k / 30)]
    ended = [e for e in events if e.end is not None]
    assert len(ended) == 1
    assert ended[0].start == pytest.approx(0.0)
    # EMA (α 0.3) falls below 0.6 on the second background frame: the change began there
    assert ended[0].end == pytest.approx(31 / 30)


@pytest.mark.parametrize(
    ("confidence", "reported_at"),
    [(1.0, 2), (0.72, 8), (0.85, 3), (0.62, None)],  # frames from the first above 0.6
)
def test_a_start_is_accepted_once_its_evidence_sums_to_one(confidence, reported_at):
    """The default decisions sum the confidence's excess over the threshold from the
    frame the label rose above it: 1.0 at threshold 0.6 gives 0.4 a frame (3 frames),
    0.72 gives 0.12 (9 frames), 0.85 gives 0.25 (4 frames), 0.62 not in 30 frames."""
    decider = Decider(["wave", "none"], "none")
    assert (decider.options.ema_alpha, decider.options.evidence) == (1.0, 1.0)
    frames = [[0.1, 0.9]] * 5 + [[confidence, 1 - confidence]] * 30
    started = [
        k - 5
        for k, p in enumerate(frames)
        for e in decider.update(np.array(p, np.float32), k / 30)
        if e.end is None
    ]
    assert started == ([] if reported_at is None else [reported_at])
    if reported_at is not None:  # placed where it rose above the threshold, not later
        sure = Decider(["wave", "none"], "none", DecisionOptions(evidence=0.0))
        first = [e for k, p in enumerate(frames) for e in sure.update(np.array(p), k / 30)]
        assert first[0].start == pytest.approx(5 / 30)


def test_a_gesture_lasts_while_it_is_the_best_label_even_below_the_threshold():
    """The threshold starts a gesture; a sign whose probability dips to 0.5 in its
    middle (still the best of three) stays one event, and ends when another is best."""
    options = DecisionOptions(ema_alpha=1.0, cooldown=0.0)
    decider = Decider(["wave", "clap", "none"], "none", options)
    frames = [[0.05, 0.05, 0.9]] * 5 + [[0.8, 0.1, 0.1]] * 5 + [[0.5, 0.2, 0.3]] * 10
    frames += [[0.35, 0.2, 0.45]] * 5 + [[0.8, 0.1, 0.1]] * 5
    events = []
    for k, p in enumerate(frames):
        events += decider.update(np.array(p), k / 30)
    assert [(e.label, e.end is None) for e in events] == [
        ("wave", True),
        ("wave", False),  # ended where "none" became the best (row 20), not at row 10
        ("wave", True),
    ]
    assert events[1].end == pytest.approx(20 / 30)
    # below the threshold a gesture does not start: 0.5 alone never fires
    quiet = Decider(["wave", "clap", "none"], "none", DecisionOptions(ema_alpha=1.0))
    assert not [e for _ in range(20) for e in quiet.update(np.array([0.5, 0.2, 0.3]), 0.0)]


def test_with_an_onset_a_gesture_is_placed_where_its_window_began_and_stopped_holding_it():
    """A 64-row window that answers after 15 rows (0.5 s at 30 fps) of a gesture: the
    event starts 14.5 rows before its first answer and ends 48.5 rows before the
    change away from it began, not at the centre of the window (31.5 rows)."""
    decider = Decider(["wave", "none"], "none", DecisionOptions(min_frames=1, ema_alpha=1.0))
    answers = [1] * 40 + [0] * 60 + [1] * 40  # the window answers wave on rows 40..99
    events = []
    for k, c in enumerate(answers):
        now = k / 30
        at, end_at = answer_times(now, 64, 30.0, onset=0.5)
        assert at == pytest.approx(now - 14.5 / 30) and end_at == pytest.approx(now - 48.5 / 30)
        events += decider.update(np.eye(2)[c], now, at, None, end_at)
    assert [(e.label, e.end is None) for e in events] == [("wave", True), ("wave", False)]
    assert events[1].start == pytest.approx((40 - 14.5) / 30)
    assert events[1].end == pytest.approx((100 - 48.5) / 30)
    # without an onset both are the centre of the rows, as for a model trained before it
    assert answer_times(3.0, 64, 30.0) == pytest.approx((3.0 - 31.5 / 30,) * 2)
    assert answer_times(3.0, 30, 30.0, onset=0.5) == pytest.approx((3.0 - 14.5 / 30,) * 2)


def test_one_number_gone_wild_does_not_turn_a_known_clip_away(asl_split):
    """A tracking glitch (one feature far off for three frames of a real ASL clip) does
    not move a median: the clip is answered. It moves a mean and a standard deviation
    (the descriptor of rules before 2026-12-07) far: uncapped they alone carry the clip
    past its class's threshold. One feature off for most of the window moves the median
    too: capped (`CAP`), each number counts at most 4 spreads and the clip is still
    answered."""
    from poseact.normalize.fitting import fit_normalizer
    from poseact.normalize.spec import NormalizerSpec

    train, test = asl_split
    normalizer, _ = fit_normalizer(NormalizerSpec(layout="pose"), train.sequences)
    classes = sorted(set(train.labels))
    windows = normalizer.transform_many(train.sequences)
    targets = np.array([classes.index(label) for label in train.labels])
    x = normalizer.transform_many(test.sequences)
    truth = np.array([classes.index(label) for label in test.labels])
    own = np.arange(len(x)), truth
    glitched, lost = x.copy(), x.copy()
    glitched[:, 10:13, 5] += 40.0  # one standardized feature, three frames
    lost[:, : 2 * x.shape[1] // 3, 5] += 40.0  # two thirds of the window
    rules = {
        (descriptor, cap): calibrate_rejection(
            windows, targets, classes, false_reject=0.01, cap=cap, descriptor=descriptor
        )
        for descriptor in ("median_mad", "mean_std")
        for cap in (CAP, None)
    }
    assert [rule.descriptor for rule in rules.values()] == ["median_mad"] * 2 + ["mean_std"] * 2
    for rule in rules.values():
        assert np.all(rule.ratios(x, classes)[own] <= 1.0)  # every known test clip answered
    assert np.all(rules["median_mad", None].ratios(glitched, classes)[own] <= 1.0)
    assert np.mean(rules["mean_std", None].ratios(glitched, classes)[own] > 1.0) >= 0.9
    for descriptor in ("median_mad", "mean_std"):
        assert np.all(rules[descriptor, CAP].ratios(glitched, classes)[own] <= 1.0)
        assert np.mean(rules[descriptor, None].ratios(lost, classes)[own] > 1.0) >= 0.9
        assert np.all(rules[descriptor, CAP].ratios(lost, classes)[own] <= 1.0)
