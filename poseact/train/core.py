"""The one training core: `fit`, `fine_tune` and `distill` all train through `train_core`,
which returns the complete fitted state (`FittedState`).

What a trained model learned lives here in one object: the labels and the background
class, the fitted normalizer (chosen fps, window and sampling, feature mean and std),
the resolved model options, the recipe as it ran, the network, the onset the live
recognizer places events by, the rejection rule, and the windows kept for int8
calibration and rehearsal. A model file's fitted section is this object, written out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from poseact.normalize.normalizer import Normalizer
from poseact.runtime.rejection import RejectionRule, calibrate_rejection
from poseact.train.engine import (
    answer_onset,
    classification_loss,
    finish_training,
    train_network,
    training_windows,
    with_transitions,
)
from poseact.train.networks import build_keras_model
from poseact.train.options import ModelOptions, TrainingOptions
from poseact.train.placement import calibrate_placement
from poseact.train.rehearsal import RehearsalMemory

__all__ = ["FittedState", "Teacher", "train_core"]

#: Unaugmented training windows kept for int8 calibration and default parity data.
REPRESENTATIVE_WINDOWS = 64


@dataclass(frozen=True, kw_only=True)
class FittedState:
    """Everything a training learned (a `GestureClassifier`'s fitted `_` attributes).

    Attributes:
        classes: (C,) labels, in the order of the network's outputs.
        background: the "no gesture" label, or None.
        normalizer: the fitted `Normalizer`; its spec holds the fps, window and sampling
            chosen for the data and the learned per-feature mean and std.
        model: the network's `ModelOptions`, "auto" resolved to the chosen architecture.
        training: the recipe as it ran (`AugmentOptions.transitions` decided).
        network: the trained Keras model.
        onset: seconds of a gesture a window holds when the network begins to answer
            it (None: half the window); the live recognizer places events by it where
            `placement` names no class.
        placement: label → (seconds of the gesture a window holds when the network
            begins to answer it, when it lets go), measured after training
            (`poseact.train.placement`); the live recognizer places events by it. None:
            not measured (no background class, a streaming network, or an older file).
        rejection: the open-set rejection rule, or None.
        history: per-epoch "loss", "accuracy" (and "val_loss", "val_accuracy").
        training_seconds: wall time of the training, seconds.
        representative: (n, W, F) unaugmented training windows (int8 calibration).
        rehearsal: a few normalized windows per class, rehearsed by `fine_tune`, or None.
    """

    classes: tuple[str, ...]
    background: str | None
    normalizer: Normalizer
    model: ModelOptions
    training: TrainingOptions
    network: Any
    onset: float | None
    rejection: RejectionRule | None
    history: dict[str, list[float]]
    training_seconds: float
    representative: np.ndarray
    rehearsal: RehearsalMemory | None
    placement: dict[str, tuple[float, float]] | None = None


@dataclass(frozen=True)
class Teacher:
    """Distillation: a trained teacher network and how its soft targets are weighed.

    Attributes:
        network: the teacher's Keras model (same inputs and classes as the student).
        temperature: softens teacher and student distributions.
        alpha: weight of the loss on the true labels; 1 - alpha goes to the KL
            divergence from the teacher's softened probabilities (scaled by T²).
    """

    network: Any
    temperature: float
    alpha: float


def clip_windows(normalizer: Normalizer, positions: Sequence[np.ndarray]) -> np.ndarray:
    """(N, W, F) model inputs of resampled clips, one window each (`Normalizer.window`),
    as the rejection rule is calibrated on."""
    return normalizer.features(np.stack([normalizer.window(p) for p in positions]))


def train_core(
    normalizer: Normalizer,
    positions: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    classes: Sequence[str],
    background: str | None,
    model: ModelOptions,
    training: TrainingOptions,
    rng: np.random.Generator,
    groups: Sequence[str] | None = None,
    validation: tuple[np.ndarray, Sequence[str]] | None = None,
    prepare: Callable[[Any], None] | None = None,
    teacher: Teacher | None = None,
    rehearsal: RehearsalMemory | None = None,
    verbose: int = 0,
    started: float | None = None,
) -> FittedState:
    """Train a network on resampled clips and return the complete fitted state.

    The background class gives transition windows (`AugmentOptions.transitions`, decided
    per architecture), the onset follows from the recipe, where the network's answers
    begin and end around each gesture is measured after training (the placement), and
    with `training.reject_rate` a rejection rule is calibrated after training.

    Args:
        normalizer: the fitted normalizer.
        positions: resampled clips, each (n, K, C) (`Normalizer.resampled`).
        labels: (N,) the clips' labels, each one of `classes`.
        classes: (C,) the labels the network answers, in output order.
        background: the "no gesture" label (one of `classes`) or None.
        model: the network's options (architecture resolved, not "auto").
        training: the recipe.
        rng: the generator of augmentation and sampling (seeded by the caller).
        groups: (N,) subject of each clip, for the rejection rule (None: one each).
        validation: held-out (M, W, F) windows and their (M,) labels: early stopping.
        prepare: called with the built network before it is compiled (fine-tuning
            copies trained weights and freezes layers there); layers end trainable.
        teacher: distil from this teacher's soft targets instead of the labels alone.
        rehearsal: the rehearsal memory the fitted model keeps.
        verbose: 1 shows a progress bar over epochs.
        started: `time.perf_counter()` when the training began (default: now).

    Returns:
        The `FittedState`.
    """
    import keras

    started = time.perf_counter() if started is None else started
    classes = tuple(str(c) for c in classes)
    index = {c: i for i, c in enumerate(classes)}
    targets = np.array([index[label] for label in labels], dtype=np.int64)
    training = with_transitions(training, model.architecture)
    spec = normalizer.spec
    windows: Any = training_windows(
        normalizer,
        list(positions),
        targets,
        training,
        rng,
        background=index.get(background) if background is not None else None,
    )
    x_val = y_val = fit_val = None
    if validation is not None:
        x_val = validation[0]
        y_val = np.array([index[label] for label in validation[1]], dtype=np.int64)
        fit_val = y_val
    net = build_keras_model(
        model,
        spec.window,
        spec.frame_features,
        len(classes),
        velocity=spec.velocity,
        positions=spec.num_points * spec.channels,
    )
    if prepare is not None:
        prepare(net)
    if teacher is None:
        loss: Any = classification_loss(len(classes), training.label_smoothing)
        metrics: list[Any] = ["accuracy"]
    else:
        loss = _distillation_loss(len(classes), teacher.temperature, teacher.alpha)
        metrics = [_packed_accuracy(len(classes))]
        windows = _TeacherWindows(windows, teacher.network, len(classes))
        if x_val is not None:
            soft = np.asarray(teacher.network.predict(x_val, verbose=0, batch_size=256))
            fit_val = np.concatenate([np.eye(len(classes), dtype=np.float32)[y_val], soft], 1)
    net.compile(optimizer=keras.optimizers.Adam(training.learning_rate), loss=loss, metrics=metrics)
    history = train_network(net, windows, x_val, fit_val, training, verbose=verbose)
    for layer in net.layers:
        layer.trainable = True
    finish_training(net)
    rejection = None
    if training.reject_rate is not None:  # a separate step after training
        rejection = calibrate_rejection(
            clip_windows(normalizer, positions),
            targets,
            classes,
            groups=groups,
            validation=None if x_val is None else (x_val, y_val),
            false_reject=training.reject_rate,
            background=background,
            seed=training.seed,
        )
    placement = None
    onset = answer_onset(training, model.architecture, background)
    if background is not None and training.augment.transitions:  # a window model's
        placement = calibrate_placement(
            net,
            normalizer,
            positions,
            targets,
            classes,
            background,
            np.random.default_rng(training.seed),  # its own: the rest draws as before
            onset=onset,
        )
    sample = rng.permutation(len(positions))[:REPRESENTATIVE_WINDOWS]
    return FittedState(
        classes=classes,
        background=background,
        normalizer=normalizer,
        model=model,
        training=training,
        network=net,
        onset=onset,
        rejection=rejection,
        history=history,
        training_seconds=time.perf_counter() - started,
        representative=normalizer.features(
            np.stack([normalizer.window(positions[i]) for i in sample])
        ),
        rehearsal=rehearsal,
        placement=placement,
    )


# ---------------------------------------------------------------------- distillation
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
