"""Few-shot fine-tuning and distillation on the real ASL recordings."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from poseact.core.errors import DatasetError
from poseact.data.dataset import Dataset
from poseact.runtime.rejection import MIN_REFERENCES
from poseact.train.classifier import GestureClassifier
from poseact.train.core import _distillation_loss
from poseact.train.fewshot import DistillOptions, FineTuneOptions, distill, fine_tune
from poseact.train.options import ModelOptions, TrainingOptions
from poseact.train.rehearsal import MEMORY_PER_CLASS, RehearsalMemory

NEW = "iloveyou"


def _tuning(epochs: int) -> TrainingOptions:
    """Fine-tuning's default recipe with fewer epochs."""
    return replace(FineTuneOptions().training, epochs=epochs)


def _only(data: Dataset, keep) -> Dataset:
    part = data.subset([i for i, label in enumerate(data.labels) if keep(label)])
    return Dataset(part.sequences, part.labels, part.groups)


@pytest.fixture(scope="module")
def base(asl_split):
    """A GRU that knows "hello" and "thanks" only."""
    train, _ = asl_split
    return GestureClassifier(
        model=ModelOptions(architecture="gru", units=16),
        training=TrainingOptions(epochs=15, seed=0),
    ).fit(_only(train, lambda label: label != NEW))


@pytest.fixture(scope="module")
def five_new(asl_split):
    train, _ = asl_split
    new = _only(train, lambda label: label == NEW)
    return new.subset(range(5))


def test_fit_keeps_a_few_windows_per_class(base):
    memory = base.rehearsal_
    assert isinstance(memory, RehearsalMemory)
    assert sorted(set(memory.labels)) == ["hello", "thanks"]
    assert all(memory.labels.count(c) == MEMORY_PER_CLASS for c in ("hello", "thanks"))
    spec = base.normalizer_.spec
    assert memory.positions.shape[1:] == (spec.window, spec.grid_points, spec.channels)


def test_fine_tune_learns_a_new_sign_from_five_clips(base, five_new, asl_split):
    _, test = asl_split
    before = base.predict_proba(test)
    tuned = fine_tune(base, five_new, options=FineTuneOptions(training=_tuning(epochs=40)))
    assert list(tuned.classes_) == ["hello", "iloveyou", "thanks"]
    truth = np.array(test.labels)
    predicted = tuned.predict(test)
    assert np.mean(predicted[truth == NEW] == NEW) >= 0.6
    assert np.mean(predicted[truth != NEW] == truth[truth != NEW]) >= 0.7
    # the base itself is unchanged
    assert np.array_equal(base.predict_proba(test), before)
    assert list(base.classes_) == ["hello", "thanks"]
    # its memory now covers all three labels, so it can be fine-tuned again
    assert sorted(set(tuned.rehearsal_.labels)) == ["hello", "iloveyou", "thanks"]
    # the rejection rule: the base's, calibrated on all its clips, plus the new sign's
    # references from its five clips (not a rule refitted on 15 clips): what it says of
    # the old signs' clips is what the base's said
    rule, taught = base.rejection_, tuned.rejection_
    assert np.array_equal(taught.center, rule.center) and taught.tail == rule.tail
    for label in ("hello", "thanks"):
        assert np.array_equal(taught.references[label], rule.references[label])
        assert taught.thresholds[label] == rule.thresholds[label]
    # the base's 2 × 9 references fill the budget: the new sign gets the least, 3
    assert len(taught.references[NEW]) == MIN_REFERENCES and taught.thresholds[NEW] > 0
    old = _only(test, lambda label: label != NEW)
    truth = np.array(old.labels)
    ratios = [
        model.rejection_.ratios(model.features(old), list(model.classes_))[
            np.arange(len(truth)), [list(model.classes_).index(t) for t in truth]
        ]
        for model in (base, tuned)
    ]
    assert np.allclose(ratios[0], ratios[1], rtol=1e-6)


def test_fine_tuned_models_save_and_export(base, five_new, asl_split, tmp_path):
    from poseact.deploy.export import export_tflite

    tuned = fine_tune(
        base, five_new, options=FineTuneOptions(training=_tuning(epochs=2), train_encoder=False)
    )
    # head only: the encoder is exactly the base's
    for a, b in zip(
        base.model_.get_layer("recurrent_0").get_weights(),
        tuned.model_.get_layer("recurrent_0").get_weights(),
    ):
        assert np.array_equal(a, b)
    back = GestureClassifier.load(tuned.save(tmp_path / "tuned.poseact"))
    test = asl_split[1]
    assert np.allclose(back.predict_proba(test), tuned.predict_proba(test), atol=1e-6)
    assert back.rehearsal_.labels == tuned.rehearsal_.labels
    report = export_tflite(back, tmp_path / "tuned.tflite", parity_data=test)
    assert report.parity_ok and report.streaming


def test_replacing_the_labels_and_missing_rehearsal(base, five_new, asl_split):
    train, _ = asl_split
    thanks = _only(train, lambda label: label == "thanks").subset(range(5))
    replaced = fine_tune(
        base,
        Dataset(five_new.sequences + thanks.sequences, five_new.labels + thanks.labels),
        options=FineTuneOptions(training=_tuning(epochs=1), keep_old_labels=False),
    )
    assert list(replaced.classes_) == ["iloveyou", "thanks"]
    assert sorted(replaced.rejection_.references) == ["iloveyou", "thanks"]
    assert replaced.rejection_.thresholds["thanks"] >= base.rejection_.thresholds["thanks"]
    # a model whose rule has no tail (saved before 2026-12-07) gets a rule calibrated anew
    older = copy.copy(base)
    older.rejection_ = replace(base.rejection_, tail=None)
    anew = fine_tune(older, five_new, options=FineTuneOptions(training=_tuning(epochs=1)))
    assert anew.rejection_.tail is not None
    assert not np.array_equal(anew.rejection_.center, base.rejection_.center)
    assert len(anew.rejection_.references["hello"]) == 5  # its rehearsed clips
    forgetful = copy.copy(base)
    forgetful.rehearsal_ = None
    with pytest.raises(DatasetError, match="needs rehearsal examples"):
        fine_tune(forgetful, five_new, options=FineTuneOptions(training=_tuning(epochs=1)))
    # old clips given explicitly work instead of a stored memory
    old = _only(train, lambda label: label != NEW)
    tuned = fine_tune(
        forgetful, five_new, rehearsal=old, options=FineTuneOptions(training=_tuning(epochs=1))
    )
    assert len(tuned.classes_) == 3
    with pytest.raises(DatasetError, match="at least 2 classes"):
        fine_tune(base, five_new, options=FineTuneOptions(keep_old_labels=False))


def test_fine_tune_and_distill_keep_background_onset_and_rejection(synthetic_subjects, tmp_path):
    """Every training goes through one core: the background class still gives
    transition windows, the onset follows, the rejection rule is refitted, and the
    export carries the onset training gave."""
    from poseact.deploy.export import export_tflite
    from poseact.runtime.model import TFLiteGestureModel

    data = synthetic_subjects
    base = GestureClassifier(
        model=ModelOptions(units=16), training=TrainingOptions(epochs=2, reject_rate=0.1)
    ).fit(data)
    assert base.background_ == "idle" and base.onset_ is not None
    assert base.rejection_ is not None
    tuned = fine_tune(
        base, data.subset(range(0, len(data), 3)), options=FineTuneOptions(training=_tuning(2))
    )
    student = distill(base, data, student=ModelOptions(units=8), training=_tuning(2))
    for model in (tuned, student):
        assert model.background_ == "idle"
        assert model.onset_ == base.onset_
        assert model.training_options_.augment.transitions > 0
        assert model.rejection_ is not None
        assert model.rejection_.false_reject == base.rejection_.false_reject
    path = export_tflite(tuned, tmp_path / "tuned.tflite").path
    with TFLiteGestureModel(path) as exported:
        assert exported.onset == tuned.onset_
        assert exported.rejection is not None and exported.background == "idle"


def test_distillation_loss_reduces_to_its_parts():
    from keras import ops

    onehot = np.eye(3, dtype=np.float32)[[0, 2]]
    student = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], np.float32)
    hard_only = _distillation_loss(3, 4.0, 1.0)
    y = np.concatenate([onehot, student], axis=1)
    expected = -np.log(np.array([0.7, 0.6]))
    assert np.allclose(ops.convert_to_numpy(hard_only(y, student)), expected, atol=1e-5)
    soft_only = _distillation_loss(3, 4.0, 0.0)  # the student equals its teacher
    assert np.allclose(ops.convert_to_numpy(soft_only(y, student)), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        DistillOptions(temperature=0)


def test_a_small_student_learns_from_the_teacher(asl_gru, asl_split):
    train, test = asl_split
    student = distill(
        asl_gru,
        train,
        student=ModelOptions(units=8),
        training=TrainingOptions(epochs=15, seed=0),
    )
    assert list(student.classes_) == list(asl_gru.classes_)
    assert student.model_.count_params() < asl_gru.model_.count_params() / 3
    assert student.score(test) >= 0.6  # chance is 1/3
    assert student.history_["loss"][-1] < student.history_["loss"][0]
