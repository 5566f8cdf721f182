"""GestureClassifier: real Keras training on real landmark recordings (ASL signs)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from poseact.core.errors import DatasetError, ModelFormatError, PoseactError, UnknownLabelError
from poseact.data.dataset import Dataset
from poseact.train.classifier import GestureClassifier, NotFittedError
from poseact.train.evaluate import evaluate
from poseact.train.options import ModelOptions, TrainingOptions


def test_gru_learns_real_signs_from_pose(asl_gru, asl_split):
    _, test = asl_split
    assert asl_gru.score(test) >= 0.9
    probs = asl_gru.predict_proba(test)
    assert probs.shape == (len(test), 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert list(asl_gru.classes_) == ["hello", "iloveyou", "thanks"]
    assert asl_gru.history_["loss"][-1] < asl_gru.history_["loss"][0]


@pytest.mark.parametrize("architecture", ["lstm", "frame_mlp", "window_mlp"])
def test_other_architectures_train_and_beat_chance(architecture, asl_split):
    train, test = asl_split
    clf = GestureClassifier(
        model=ModelOptions(architecture=architecture, units=32),
        training=TrainingOptions(epochs=15, seed=0),
    ).fit(train)
    assert clf.score(test) > 0.6  # chance is 1/3


def test_pose_and_hands_features(shared_dir):
    from conftest import load_asl_signs

    from poseact.normalize.spec import NormalizerSpec

    train, test = load_asl_signs("pose+hands").split(0.3, seed=0)
    clf = GestureClassifier(
        normalizer=NormalizerSpec(layout="pose+hands"),
        model=ModelOptions(units=32),
        training=TrainingOptions(epochs=15),
    ).fit(train)
    # positions and velocities of 75 points, 10 body angles, 19 per hand and the path
    assert clf.features(test).shape == (len(test), 30, 75 * 3 * 2 + 10 + 2 * 19 + 3 * 4 + 2 * 2)
    assert clf.score(test) >= 0.9


def test_same_seed_same_model(asl_split):
    train, test = asl_split
    small = train.subset(range(0, len(train), 3))
    make = lambda: GestureClassifier(  # noqa: E731
        model=ModelOptions(units=16), training=TrainingOptions(epochs=2, seed=7)
    ).fit(small)
    assert np.allclose(make().predict_proba(test), make().predict_proba(test), atol=1e-6)


def test_scikit_learn_contract(asl_split):
    clf = GestureClassifier(model=ModelOptions(units=16), verbose=0)
    params = clf.get_params()
    assert params["model"] == ModelOptions(units=16) and "training" in params
    copy = clone(clf)
    assert copy.get_params()["model"] == ModelOptions(units=16)
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.predict(asl_split[1])
    # scikit-learn's own exception and poseact's base class both catch it
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    for caught in (SklearnNotFittedError, PoseactError):
        with pytest.raises(caught):
            clf.predict(asl_split[1])
    # fit leaves the caller's options untouched (no defaults written back)
    clf.fit(asl_split[0].subset(range(0, len(asl_split[0]), 5)))
    assert clf.normalizer is None and clf.training is None


def test_save_and_load_give_the_same_predictions(asl_gru, asl_split, tmp_path):
    path = asl_gru.save(tmp_path / "model.poseact")
    back = GestureClassifier.load(path)
    test = asl_split[1]
    assert np.allclose(back.predict_proba(test), asl_gru.predict_proba(test), atol=1e-6)
    assert back.normalizer_.spec == asl_gru.normalizer_.spec
    assert list(tmp_path.iterdir()) == [path]
    not_model = tmp_path / "x.poseact"
    not_model.write_text("hello")
    with pytest.raises(ModelFormatError, match="x.poseact"):
        GestureClassifier.load(not_model)


def test_a_loaded_model_keeps_the_parameters_as_given(synthetic_subjects, tmp_path):
    """What fit chose (fps, window, feature statistics) is fitted state: after save and
    load the parameters are the user's, clone fits from scratch, and cross-validation
    of the loaded model equals that of a fresh one (same seeds)."""
    from poseact.train.crossval import leave_one_subject_out

    data = synthetic_subjects
    fresh = GestureClassifier(model=ModelOptions(units=16), training=TrainingOptions(epochs=2))
    fitted = clone(fresh).fit(data)
    assert fitted.normalizer_.spec.standardized and fitted.normalizer_.spec.fps is not None
    loaded = GestureClassifier.load(fitted.save(tmp_path / "model.poseact"))
    assert loaded.get_params() == fresh.get_params()
    assert loaded.normalizer is None  # the chosen timing and statistics are not parameters
    assert loaded.normalizer_.spec == fitted.normalizer_.spec
    assert loaded.fitted_state().onset == fitted.onset_
    assert not hasattr(clone(loaded), "model_")
    on_loaded = leave_one_subject_out(loaded, data)
    on_fresh = leave_one_subject_out(fresh, data)
    assert on_loaded.subjects == on_fresh.subjects and len(on_loaded.subjects) == 3
    for a, b in zip(on_loaded.reports, on_fresh.reports):
        assert np.array_equal(a.confusion, b.confusion)


def test_bad_training_data_is_refused(asl_split):
    train = asl_split[0]
    one_class = train.subset([i for i, lab in enumerate(train.labels) if lab == "hello"])
    with pytest.raises(DatasetError, match="at least 2 classes"):
        GestureClassifier().fit(one_class)
    with pytest.raises(ValueError, match="architecture"):
        ModelOptions(architecture="resnet")


def test_evaluation_on_unknown_labels_is_refused(asl_gru, asl_split):
    test = asl_split[1]
    renamed = Dataset(
        test.sequences, tuple("bye" if lab == "hello" else lab for lab in test.labels)
    )
    with pytest.raises(UnknownLabelError, match="bye"):
        asl_gru.score(renamed)
    with pytest.raises(UnknownLabelError, match="bye"):
        evaluate(asl_gru, renamed)
