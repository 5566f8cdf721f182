"""Reusing what a trained model learned: few-shot fine-tuning and distillation.

- `fine_tune`: start from a trained network's encoder (everything below the softmax
  layer "head"), give it a new head for the new label set and train on a few clips per
  new label (the whole network at a low learning rate, or the head only). With
  `keep_old_labels`, the head keeps the old labels' weights and training rehearses a
  few stored examples of each old label (`RehearsalMemory`) so the model does not
  forget them.
- `distill`: train a small student (e.g. GRU 32) on a larger teacher's softened
  probabilities (Hinton et al., 2015) beside the true labels.

Both train through the one engine (`poseact.train.engine`) and return a new fitted
`GestureClassifier`; the models passed in are not changed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from poseact.core.errors import DatasetError
from poseact.core.native import hides_native_logs
from poseact.data.dataset import Dataset
from poseact.train.classifier import GestureClassifier
from poseact.train.engine import (
    check_training_data,
    classification_loss,
    finish_training,
    representative_windows,
    split_validation,
    train_network,
    training_windows,
)
from poseact.train.networks import build_keras_model
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

    base._check_fitted()
    options = options or FineTuneOptions()
    training = options.training
    spec = base.normalizer_.spec
    check_training_data(data, spec, action="fine-tune", owner="model")
    old_classes = [str(c) for c in base.classes_]
    if options.keep_old_labels:
        classes = sorted(set(old_classes) | set(data.classes))
        background = base.background_ or data.background
    else:
        classes = list(data.classes)
        background = data.background
    if len(classes) < 2:
        raise DatasetError(f"need at least 2 classes to fine-tune, got {classes}")
    started = time.perf_counter()
    normalizer = base.normalizer_
    old_only = [c for c in old_classes if c in classes and c not in set(data.labels)]
    memory = _rehearsal(base, rehearsal, old_only, options)
    index = {c: i for i, c in enumerate(classes)}
    positions = [normalizer.resampled(s) for s in data.sequences]
    labels = list(data.labels)
    if memory is not None:
        positions += list(memory.positions)
        labels += list(memory.labels)
    targets = np.array([index[label] for label in labels], dtype=np.int64)

    model_options = base._model_options()
    rng = np.random.default_rng(training.seed)
    keras.utils.set_random_seed(training.seed)
    net = build_keras_model(
        model_options,
        spec.window,
        spec.frame_features,
        len(classes),
        velocity=spec.velocity,
        positions=spec.num_points * spec.channels,
    )
    for layer in base.model_.layers:
        if layer.name != "head" and layer.weights:
            net.get_layer(layer.name).set_weights(layer.get_weights())
    head = net.get_layer("head")
    kernel, bias = head.get_weights()
    old_kernel, old_bias = base.model_.get_layer("head").get_weights()
    if options.keep_old_labels:
        for j, c in enumerate(old_classes):
            kernel[:, index[c]], bias[index[c]] = old_kernel[:, j], old_bias[j]
    head.set_weights([kernel, bias])
    for layer in net.layers:
        layer.trainable = options.train_encoder or layer.name == "head"
    net.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate),
        loss=classification_loss(len(classes), training.label_smoothing),
        metrics=["accuracy"],
    )
    windows = training_windows(normalizer, positions, targets, training, rng)
    history = train_network(net, windows, None, None, training)
    for layer in net.layers:
        layer.trainable = True
    finish_training(net)

    new_memory = build_memory(normalizer, data, options.rehearsal_per_class, seed=training.seed)
    kept = memory if memory is not None else getattr(base, "rehearsal_", None)
    if kept is not None and options.keep_old_labels:
        new_memory = new_memory.merged(kept.only(old_only))
    sample = rng.permutation(len(positions))[:64]
    clf = GestureClassifier(normalizer=spec, model=model_options, training=training)
    clf._set_fitted(
        classes=classes,
        background=background,
        normalizer=normalizer,
        model=net,
        history=history,
        training_seconds=time.perf_counter() - started,
        representative=normalizer.features(
            np.stack([normalizer.window(positions[i]) for i in sample])
        ),
        rehearsal=new_memory,
    )
    logger.info(
        "fine-tuned %s on %d new clips (+%d rehearsed) in %.1fs: %s",
        model_options.architecture,
        len(data),
        0 if memory is None else len(memory),
        clf.training_seconds_,
        ", ".join(classes),
    )
    return clf


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


def _distillation_loss(num_classes: int, temperature: float, alpha: float):
    """Keras loss on packed targets [one-hot (C) | teacher probabilities (C)]."""
    from keras import ops

    t = float(temperature)

    def distillation_loss(y_true, y_pred):
        onehot, teacher = y_true[:, :num_classes], y_true[:, num_classes:]
        log_q = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        hard = -ops.sum(onehot * log_q, axis=-1)
        soft_teacher = ops.softmax(ops.log(ops.clip(teacher, 1e-7, 1.0)) / t, axis=-1)
        log_soft_student = ops.log_softmax(log_q / t, axis=-1)
        log_soft_teacher = ops.log(ops.clip(soft_teacher, 1e-7, 1.0))
        kl = ops.sum(soft_teacher * (log_soft_teacher - log_soft_student), axis=-1)
        return alpha * hard + (1.0 - alpha) * (t * t) * kl

    return distillation_loss


def _packed_accuracy(num_classes: int):
    from keras import ops

    def accuracy(y_true, y_pred):
        hit = ops.argmax(y_true[:, :num_classes], axis=-1) == ops.argmax(y_pred, axis=-1)
        return ops.cast(hit, "float32")

    return accuracy


class _TeacherWindows:
    """Augmented training batches with packed targets: [one-hot | teacher probs]."""

    def __init__(self, windows, teacher_net, num_classes: int) -> None:
        self.windows, self.teacher_net, self.num_classes = windows, teacher_net, num_classes

    def epoch(self):
        eye = np.eye(self.num_classes, dtype=np.float32)
        for x, y, w in self.windows.epoch():
            probs = np.asarray(self.teacher_net.predict_on_batch(x), dtype=np.float32)
            yield x, np.concatenate([eye[y], probs], axis=1), w


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

    teacher._check_fitted()
    options = options or DistillOptions()
    student = student or ModelOptions(architecture="gru", units=32)
    training = training or TrainingOptions()
    spec = teacher.normalizer_.spec
    check_training_data(data, spec, action="distill", owner="teacher")
    teacher.check_labels(data.labels)
    started = time.perf_counter()
    classes = [str(c) for c in teacher.classes_]
    num_classes = len(classes)
    rng = np.random.default_rng(training.seed)
    keras.utils.set_random_seed(training.seed)
    index = {c: i for i, c in enumerate(classes)}

    train, val = split_validation(data, training, action="distilling")
    normalizer = teacher.normalizer_
    positions = [normalizer.resampled(s) for s in train.sequences]
    targets = np.array([index[label] for label in train.labels], dtype=np.int64)
    windows = _TeacherWindows(
        training_windows(normalizer, positions, targets, training, rng),
        teacher.model_,
        num_classes,
    )
    x_val = y_val = None
    if val is not None:
        x_val = normalizer.transform_many(val.sequences)
        eye = np.eye(num_classes, dtype=np.float32)
        val_targets = np.array([index[label] for label in val.labels], dtype=np.int64)
        y_val = np.concatenate([eye[val_targets], teacher.predict_proba(x_val)], axis=1)

    net = build_keras_model(
        student,
        spec.window,
        spec.frame_features,
        num_classes,
        velocity=spec.velocity,
        positions=spec.num_points * spec.channels,
    )
    net.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate),
        loss=_distillation_loss(num_classes, options.temperature, options.alpha),
        metrics=[_packed_accuracy(num_classes)],
    )
    history = train_network(net, windows, x_val, y_val, training, verbose=verbose)
    finish_training(net)

    clf = GestureClassifier(normalizer=spec, model=student, training=training, verbose=verbose)
    clf._set_fitted(
        classes=classes,
        background=teacher.background_,
        normalizer=normalizer,
        model=net,
        history=history,
        training_seconds=time.perf_counter() - started,
        representative=representative_windows(normalizer, train.sequences, rng),
        rehearsal=build_memory(normalizer, train, seed=training.seed),
    )
    logger.info(
        "distilled %s (%d parameters) from %s (%d) in %.1fs",
        student.architecture,
        net.count_params(),
        teacher._model_options().architecture,
        teacher.model_.count_params(),
        clf.training_seconds_,
    )
    return clf
