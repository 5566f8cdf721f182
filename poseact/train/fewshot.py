"""Reusing what a trained model learned: few-shot fine-tuning and distillation.

- `fine_tune`: start from a trained network's encoder (everything below the softmax
  layer "head"), give it a new head for the new label set and train on a few clips per
  new label (the whole network at a low learning rate, or the head only). With
  `keep_old_labels`, the head keeps the old labels' weights and training rehearses a
  few stored examples of each old label (`RehearsalMemory`) so the model does not
  forget them.
- `distill`: train a small student (e.g. GRU 32) on a larger teacher's softened
  probabilities (Hinton et al., 2015) beside the true labels.

Both train through the one training core (`poseact.train.core.train_core`), keep the
background class (its transition windows), the onset and the rejection rule (a
fine-tuned model's extends the model's rule with the new clips, `extend_rejection`; a
student's is calibrated on its training clips), and return a new fitted
`GestureClassifier`; the models passed in are not changed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from poseact.core.errors import DatasetError
from poseact.core.native import hides_native_logs
from poseact.data.dataset import Dataset
from poseact.runtime.rejection import extend_rejection
from poseact.train.classifier import GestureClassifier
from poseact.train.core import Teacher, clip_windows, train_core
from poseact.train.engine import check_training_data, split_validation
from poseact.train.options import ModelOptions, TrainingOptions
from poseact.train.rehearsal import MEMORY_PER_CLASS, RehearsalMemory, build_memory

__all__ = ["FineTuneOptions", "fine_tune", "DistillOptions", "distill"]

logger = logging.getLogger(__name__)


def _fine_tune_training() -> TrainingOptions:
    # few clips leave nothing to validate on: all epochs, no early stopping
    return TrainingOptions(epochs=60, batch_size=16, learning_rate=1e-3, validation_fraction=0.0)


@dataclass(frozen=True, kw_only=True)
class FineTuneOptions:
    """How to fine-tune a trained model on new labels.

    Attributes:
        training: the recipe (`TrainingOptions`): by default 60 epochs of batches of 16
            at learning rate 1e-3 (gentle on the trained encoder; 3e-3 suits head-only
            training), no validation split (a few clips leave nothing to validate on).
        keep_old_labels: keep the model's labels beside the new ones (rehearsing stored
            examples); False replaces the head by one for the new data's labels only.
        train_encoder: update the whole network, starting from the trained encoder
            (default); False freezes the encoder and trains only the new head, which
            forgets least but learns new labels less well (docs/comparison.md: on the
            embedded dataset, new-label accuracy from 5 clips 0.88 with the encoder
            trained vs 0.60 frozen, old labels 0.94 vs 0.95).
        rehearsal_per_class: old examples per class rehearsed, and new examples per
            class added to the fine-tuned model's own memory.
    """

    training: TrainingOptions = field(default_factory=_fine_tune_training)
    keep_old_labels: bool = True
    train_encoder: bool = True
    rehearsal_per_class: int = MEMORY_PER_CLASS

    def __post_init__(self) -> None:
        if not isinstance(self.training, TrainingOptions):
            raise TypeError("FineTuneOptions.training must be a TrainingOptions")
        if self.rehearsal_per_class < 0:
            raise ValueError("FineTuneOptions.rehearsal_per_class must be >= 0")


def _rehearsal(base: GestureClassifier, rehearsal, old_only, options: FineTuneOptions):
    """The rehearsal windows of the old labels that `data` lacks, or None."""
    if not (options.keep_old_labels and old_only and options.rehearsal_per_class > 0):
        return None
    if isinstance(rehearsal, Dataset):
        memory = build_memory(base.normalizer_, rehearsal, options.rehearsal_per_class)
    elif isinstance(rehearsal, RehearsalMemory):
        memory = rehearsal
    else:
        memory = getattr(base, "rehearsal_", None)
    if memory is None or not len(memory.only(old_only)):
        raise DatasetError(
            f"keeping the old labels {old_only} needs rehearsal examples: pass"
            " rehearsal=<Dataset of old clips>, or fine-tune a model trained by fit"
            " (it stores a few), or set FineTuneOptions(keep_old_labels=False)"
        )
    return memory.only(old_only).capped(options.rehearsal_per_class)


@hides_native_logs
def fine_tune(
    base: GestureClassifier,
    data: Dataset,
    *,
    rehearsal: Dataset | RehearsalMemory | None = None,
    options: FineTuneOptions | None = None,
) -> GestureClassifier:
    """Teach a trained classifier the labels of `data` from a few clips each.

    Args:
        base: a fitted `GestureClassifier` (any architecture; its "head" is replaced).
        data: the new clips (≥ 5 per new label recommended); may also hold more clips
            of labels the model knows.
        rehearsal: old examples to rehearse when keeping old labels: a `Dataset`, a
            `RehearsalMemory`, or None for the memory stored in `base` by `fit`.
        options: `FineTuneOptions`.

    Returns:
        A new fitted `GestureClassifier` (same normalizer and architecture as `base`).

    Raises:
        NotFittedError: `base` is not fitted.
        DatasetError: empty data, another layout than the model's, fewer than 2
            classes, or old labels to keep without rehearsal examples.
    """
    import keras

    fitted = base.fitted_state()
    options = options or FineTuneOptions()
    training = _keeping_rejection(options.training, fitted.rejection)
    normalizer = fitted.normalizer
    check_training_data(data, normalizer.spec, action="fine-tune", owner="model")
    old_classes = list(fitted.classes)
    if options.keep_old_labels:
        classes = sorted(set(old_classes) | set(data.classes))
        background = fitted.background or data.background
    else:
        classes = list(data.classes)
        background = data.background
    if len(classes) < 2:
        raise DatasetError(f"need at least 2 classes to fine-tune, got {classes}")
    started = time.perf_counter()
    old_only = [c for c in old_classes if c in classes and c not in set(data.labels)]
    memory = _rehearsal(base, rehearsal, old_only, options)
    index = {c: i for i, c in enumerate(classes)}
    positions = [normalizer.resampled(s) for s in data.sequences]
    labels = list(data.labels)
    groups = list(data.groups)
    if memory is not None:
        positions += list(memory.positions)
        labels += list(memory.labels)
        groups += [f"rehearsal {i}" for i in range(len(memory))]

    def start_from_base(net) -> None:
        """The base's trained encoder; its head's weights for the labels kept."""
        for layer in fitted.network.layers:
            if layer.name != "head" and layer.weights:
                net.get_layer(layer.name).set_weights(layer.get_weights())
        head = net.get_layer("head")
        kernel, bias = head.get_weights()
        old_kernel, old_bias = fitted.network.get_layer("head").get_weights()
        if options.keep_old_labels:
            for j, c in enumerate(old_classes):
                kernel[:, index[c]], bias[index[c]] = old_kernel[:, j], old_bias[j]
        head.set_weights([kernel, bias])
        for layer in net.layers:
            layer.trainable = options.train_encoder or layer.name == "head"

    new_memory = build_memory(normalizer, data, options.rehearsal_per_class, seed=training.seed)
    kept = memory if memory is not None else fitted.rehearsal
    if kept is not None and options.keep_old_labels:
        new_memory = new_memory.merged(kept.only(old_only))
    # the model's rule, calibrated on all its training clips, is kept and extended with
    # the new clips (a rule of before 2026-12-07, without its tail, is calibrated anew)
    rule = fitted.rejection
    extend = training.reject_rate is not None and rule is not None and rule.tail is not None
    rng = np.random.default_rng(training.seed)
    keras.utils.set_random_seed(training.seed)
    state = train_core(
        normalizer,
        positions,
        labels,
        classes=classes,
        background=background,
        model=fitted.model,
        training=dataclasses.replace(training, reject_rate=None) if extend else training,
        rng=rng,
        groups=groups,
        prepare=start_from_base,
        rehearsal=new_memory,
        started=started,
    )
    if extend:
        new_clips = clip_windows(normalizer, positions[: len(data)])
        state = dataclasses.replace(
            state,
            training=dataclasses.replace(state.training, reject_rate=training.reject_rate),
            rejection=extend_rejection(
                rule,
                new_clips,
                np.array([index[label] for label in data.labels]),
                classes,
                groups=list(data.groups),
                background=background,
                seed=training.seed,
            ),
        )
    clf = GestureClassifier.from_fitted(state, **base.get_params())
    logger.info(
        "fine-tuned %s on %d new clips (+%d rehearsed) in %.1fs: %s",
        fitted.model.architecture,
        len(data),
        0 if memory is None else len(memory),
        clf.training_seconds_,
        ", ".join(classes),
    )
    return clf


def _keeping_rejection(training: TrainingOptions, rule) -> TrainingOptions:
    """`training`, calibrating a rejection rule at the rate of the model's own `rule` (a
    model that rejected keeps rejecting as it did; the recipe's rate, on by default,
    applies to a model without one)."""
    if rule is None:
        return training
    return dataclasses.replace(training, reject_rate=rule.false_reject)


# ---------------------------------------------------------------------- distillation
@dataclass(frozen=True, kw_only=True)
class DistillOptions:
    """Knowledge distillation settings.

    Attributes:
        temperature: softens teacher and student distributions (T > 1 shows the
            teacher's "dark knowledge" about similar classes).
        alpha: weight of the usual loss on the true labels; 1 - alpha goes to the KL
            divergence from the teacher's softened probabilities (scaled by T²).
    """

    temperature: float = 2.0
    alpha: float = 0.5

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"DistillOptions.temperature must be > 0, got {self.temperature}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"DistillOptions.alpha must be in [0, 1], got {self.alpha}")


@hides_native_logs
def distill(
    teacher: GestureClassifier,
    data: Dataset,
    *,
    student: ModelOptions | None = None,
    training: TrainingOptions | None = None,
    options: DistillOptions | None = None,
    verbose: int = 0,
) -> GestureClassifier:
    """Train a small student network from a fitted teacher's soft targets.

    The student uses the teacher's normalizer (same features) and labels; each
    augmented training batch is labelled by the teacher on the fly.

    Args:
        teacher: a fitted `GestureClassifier`.
        data: labelled training clips (the teacher's training set, typically).
        student: `ModelOptions` of the student; default a GRU with 32 units.
        training: `TrainingOptions` (epochs, early stopping, augmentation, seed).
        options: `DistillOptions` (temperature, alpha).
        verbose: 1 shows a progress bar over epochs.

    Returns:
        A new fitted `GestureClassifier`: the student, exportable like any other.

    Raises:
        NotFittedError: the teacher is not fitted.
        DatasetError: empty data, another layout, or labels the teacher does not know.
    """
    import keras

    fitted = teacher.fitted_state()
    options = options or DistillOptions()
    student = student or ModelOptions(architecture="gru", units=32)
    given = training
    training = _keeping_rejection(training or TrainingOptions(), fitted.rejection)
    normalizer = fitted.normalizer
    check_training_data(data, normalizer.spec, action="distill", owner="teacher")
    teacher.check_labels(data.labels)
    started = time.perf_counter()
    rng = np.random.default_rng(training.seed)
    keras.utils.set_random_seed(training.seed)
    train, val = split_validation(data, training, action="distilling")
    state = train_core(
        normalizer,
        [normalizer.resampled(s) for s in train.sequences],
        train.labels,
        classes=fitted.classes,
        background=fitted.background,
        model=student,
        training=training,
        rng=rng,
        groups=train.groups,
        validation=None if val is None else (normalizer.transform_many(val.sequences), val.labels),
        teacher=Teacher(fitted.network, options.temperature, options.alpha),
        rehearsal=build_memory(normalizer, train, seed=training.seed),
        verbose=verbose,
        started=started,
    )
    clf = GestureClassifier.from_fitted(
        state,
        normalizer=teacher.normalizer,
        model=student,
        training=given,
        verbose=verbose,
    )
    logger.info(
        "distilled %s (%d parameters) from %s (%d) in %.1fs",
        student.architecture,
        state.network.count_params(),
        fitted.model.architecture,
        fitted.network.count_params(),
        clf.training_seconds_,
    )
    return clf
