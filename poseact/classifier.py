"""`GestureClassifier`: a compact Keras sequence classifier in the scikit-learn manner.

Architectures (`ModelOptions.architecture`):

- "gru" (default), "lstm": one or two recurrent layers, dropout, a softmax head.
- "frame_mlp": baseline; an MLP classifies each frame, predictions averaged over time.
- "window_mlp" (also named "early_fusion"): an MLP over the flattened window.
- "late_fusion": a shared per-frame tower over the first and last third, merged on top.
- "tcn": causal dilated 1D convolutions; streams frame by frame like the GRU.
- "transformer": a small transformer encoder (`layers` blocks, 4 heads).

`ModelOptions.inputs` picks the stream(s): positions, velocities, both, or two
per-frame branches (see `poseact.zoo` and docs/models.md).

TensorFlow/Keras are imported only when a model is built, trained or loaded.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from poseact._atomic import atomic_path, write_error
from poseact.architectures import ARCHITECTURES, INPUT_STREAMS, RECURRENT
from poseact.augment import AugmentOptions, augment_positions
from poseact.dataset import Dataset
from poseact.errors import (
    DatasetError,
    ModelFormatError,
    NotFittedError,
    UnknownLabelError,
    WriteError,
)
from poseact.normalize import Normalizer, NormalizerSpec
from poseact.sequence import LandmarkSequence

__all__ = [
    "ModelOptions",
    "TrainingOptions",
    "GestureClassifier",
    "ARCHITECTURES",
    "INPUT_STREAMS",
]

logger = logging.getLogger(__name__)

_SAVE_FORMAT = "poseact-classifier"
_SAVE_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class ModelOptions:
    """Architecture of the network.

    Attributes:
        architecture: one of `ARCHITECTURES`.
        units: width of each recurrent or hidden layer (32-128 keeps models < 100 KB).
        layers: number of recurrent layers or transformer blocks (1-3); ignored by
            the MLPs and the TCN (its depth follows the window).
        dropout: dropout rate before the classification head.
        inputs: the per-frame stream(s) the network sees: "positions", "velocities",
            "both" (all normalizer features, concatenated) or "two_branch" (one Dense
            branch per stream, merged); velocities need `NormalizerSpec.velocity`.
    """

    architecture: str = "gru"
    units: int = 64
    layers: int = 1
    dropout: float = 0.2
    inputs: str = "both"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; expected one of {ARCHITECTURES}"
            )
        if not 1 <= self.units <= 1024:
            raise ValueError(f"ModelOptions.units must be in [1, 1024], got {self.units}")
        if self.layers not in (1, 2, 3):
            raise ValueError(f"ModelOptions.layers must be 1, 2 or 3, got {self.layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelOptions.dropout must be in [0, 1), got {self.dropout}")
        if self.inputs not in INPUT_STREAMS:
            raise ValueError(
                f"unknown ModelOptions.inputs {self.inputs!r}; expected one of {INPUT_STREAMS}"
            )


@dataclass(frozen=True, kw_only=True)
class TrainingOptions:
    """How to train.

    Attributes:
        epochs: maximum passes over the training clips.
        batch_size: windows per gradient step.
        learning_rate: Adam learning rate.
        validation_fraction: share of the training clips (by group) held out for early
            stopping; 0 trains for all epochs.
        patience: epochs without validation improvement before stopping.
        class_weights: weight classes inversely to their frequency.
        augment: on-the-fly augmentation.
        seed: seed of every random choice (weights, shuffling, augmentation, splits).
    """

    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 3e-3
    validation_fraction: float = 0.15
    patience: int = 10
    class_weights: bool = True
    augment: AugmentOptions = field(default_factory=AugmentOptions)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"TrainingOptions.epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"TrainingOptions.batch_size must be >= 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError("TrainingOptions.learning_rate must be > 0")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError("TrainingOptions.validation_fraction must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingOptions:
        data = dict(data)
        data["augment"] = AugmentOptions(**data.get("augment", {}))
        return cls(**data)


# ---------------------------------------------------------------------- Keras models
def build_keras_model(
    options: ModelOptions, window: int, features: int, num_classes: int, *, velocity: bool = True
):
    """The Keras network: input (batch, window, features) → (batch, num_classes) probs.

    `velocity` says whether the features hold velocities beside positions (the
    normalizer's flag); `options.inputs` selects streams inside the network.

    Raises:
        ValueError: `options.inputs` needs velocities but `velocity` is False.
    """
    import keras
    from keras import layers

    from poseact import zoo

    inputs = keras.Input(shape=(window, features), name="window")
    arch = options.architecture
    x = zoo.input_stage(inputs, options.inputs, features, velocity, options.units)
    if arch in ("tcn", "transformer", "late_fusion"):
        x = zoo.build_trunk(x, arch, options.units, options.layers, window, options.dropout)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
    elif arch in RECURRENT:
        layer_cls = layers.GRU if arch == "gru" else layers.LSTM
        for i in range(options.layers):
            last = i == options.layers - 1
            x = layer_cls(options.units, return_sequences=not last, name=f"recurrent_{i}")(x)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
    elif arch == "frame_mlp":
        x = layers.Dense(options.units, activation="relu", name="frame_dense_0")(x)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        x = layers.Dense(options.units, activation="relu", name="frame_dense_1")(x)
        x = layers.Dense(num_classes, activation="softmax", name="head")(x)
        outputs = layers.GlobalAveragePooling1D(name="average")(x)
    else:  # window_mlp, early_fusion
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(2 * options.units, activation="relu", name="dense_0")(x)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        x = layers.Dense(options.units, activation="relu", name="dense_1")(x)
        outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=f"poseact_{arch}")


def state_sizes(model, architecture: str) -> list[int]:
    """Sizes of the recurrent state vectors, in the order the step model packs them."""
    if architecture == "tcn":
        from poseact import zoo

        return zoo.tcn_state_sizes(model)
    sizes: list[int] = []
    for layer in model.layers:
        if layer.name.startswith("recurrent_"):
            units = layer.cell.units
            sizes += [units] if architecture == "gru" else [units, units]
    return sizes


def build_step_model(model, architecture: str):
    """Single-step stateful twin of a trained recurrent (or TCN) model.

    Inputs: "frame" (batch, features) and "state" (batch, S) with every layer's state
    concatenated; outputs: probabilities (batch, classes) and the new state (batch, S).
    Feeding frames one by one from a zero state gives exactly the window model's output
    after the last frame.
    """
    import keras
    from keras import layers

    from poseact import zoo

    if architecture == "tcn":
        return zoo.build_tcn_step_model(model)
    if architecture not in RECURRENT:
        raise ValueError(f"architecture {architecture!r} has no single-step form")
    features = model.input_shape[-1]
    sizes = state_sizes(model, architecture)
    frame = keras.Input(shape=(features,), name="frame")
    state = keras.Input(shape=(sum(sizes),), name="state")
    x = zoo.apply_input_stage(model, frame)
    new_states = []
    offset = 0
    for layer in model.layers:
        if not layer.name.startswith("recurrent_"):
            continue
        parts = 1 if architecture == "gru" else 2
        layer_states = []
        for _ in range(parts):
            a, b = offset, offset + layer.cell.units
            layer_states.append(
                layers.Lambda(lambda s, a=a, b=b: s[:, a:b], name=f"state_{a}_{b}")(state)
            )
            offset = b
        x, states = layer.cell(x, layer_states if parts > 1 else layer_states[0])
        new_states += list(states) if isinstance(states, list | tuple) else [states]
    probs = model.get_layer("head")(x)
    packed = new_states[0] if len(new_states) == 1 else layers.Concatenate()(new_states)
    return keras.Model([frame, state], [probs, packed], name=f"{model.name}_step")


# ---------------------------------------------------------------------- training data
class _TrainingWindows:
    """Batches of augmented windows: positions → augment → crop → features."""

    def __init__(
        self,
        positions: list[np.ndarray],
        targets: np.ndarray,
        weights: np.ndarray,
        normalizer: Normalizer,
        options: TrainingOptions,
        rng: np.random.Generator,
    ) -> None:
        self.positions = positions
        self.targets = targets
        self.weights = weights
        self.normalizer = normalizer
        self.options = options
        self.rng = rng

    def epoch(self):
        """Yield (x, y, w) batches for one shuffled pass over the clips."""
        spec = self.normalizer.spec
        order = self.rng.permutation(len(self.positions))
        bs = self.options.batch_size
        aug = self.options.augment
        for begin in range(0, len(order), bs):
            idx = order[begin : begin + bs]
            x = np.empty((len(idx), spec.window, spec.frame_features), dtype=np.float32)
            for row, i in enumerate(idx):
                p = augment_positions(self.positions[i], spec.layout, aug, self.rng)
                start = None
                if aug.random_crop and p.shape[0] > spec.window:
                    start = int(self.rng.integers(0, p.shape[0] - spec.window + 1))
                x[row] = self.normalizer.features(self.normalizer.window(p, start=start))
            yield x, self.targets[idx], self.weights[idx]


def _prefetch(batches, depth: int = 2):
    """Iterate `batches` from a thread that keeps up to `depth` batches ready.

    Augmenting the next batch (numpy) overlaps with Keras training on this one (TF
    releases the GIL), on another core. The batches and the order in which they draw
    random numbers are unchanged, so training gives the same result.
    """
    import queue
    import threading

    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(done)

    thread = threading.Thread(target=produce, name="poseact-batches", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _validation_batches(x_val, y_val) -> dict:
    """`evaluate` arguments for the validation windows (batches of 256), built once.

    With TensorFlow, a batched `tf.data.Dataset` made once: Keras builds one from numpy
    arrays on every `evaluate` call, which costs more than evaluating a few hundred
    windows. The batches, and so the figures, are the same.
    """
    if x_val is None:
        return {}
    import keras

    if keras.backend.backend() != "tensorflow":
        return {"x": x_val, "y": y_val, "batch_size": 256}
    import tensorflow as tf

    return {"x": tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)}


def _as_dataset(X, y, groups) -> Dataset:
    if isinstance(X, Dataset):
        if y is not None:
            raise DatasetError("pass labels inside the Dataset, not as y")
        return X
    if isinstance(X, LandmarkSequence):
        raise DatasetError("fit needs a list of sequences, not one LandmarkSequence")
    if y is None:
        raise DatasetError("labels y are required when X is a list of sequences")
    return Dataset(tuple(X), tuple(str(v) for v in y), tuple(groups or ()))


def check_training_data(data: Dataset, spec: NormalizerSpec, *, action: str, owner: str) -> None:
    """Raise DatasetError for an empty dataset or one whose layout differs from `spec`'s.

    `action` ("fit", "fine-tune", ...) and `owner` ("normalizer", "model", ...) name
    the operation and whose layout is expected, in the message.
    """
    if len(data) == 0:
        raise DatasetError(f"cannot {action} on an empty dataset")
    if data.layout != spec.layout:
        raise DatasetError(
            f"dataset layout {data.layout!r} differs from the {owner}'s {spec.layout!r}"
        )


# ---------------------------------------------------------------------- estimator
class GestureClassifier(ClassifierMixin, BaseEstimator):
    """Classifies landmark sequences into gestures or activities.

    Args:
        normalizer: `NormalizerSpec` (layout, fps, window, features); default pose.
        model: `ModelOptions` (architecture, units, layers, dropout).
        training: `TrainingOptions` (epochs, batch size, augmentation, seed, ...).
        verbose: 0 trains silently; 1 shows a progress bar over epochs.

    Fitted attributes end in "_": `classes_`, `background_`, `model_` (Keras),
    `normalizer_`, `history_`, `training_seconds_`, `representative_`, `rehearsal_`
    (a few normalized windows per class, kept for `fine_tune`; saved with the model,
    set it to None before `save` to leave them out).
    """

    def __init__(
        self,
        normalizer: NormalizerSpec | None = None,
        model: ModelOptions | None = None,
        training: TrainingOptions | None = None,
        verbose: int = 0,
    ) -> None:
        self.normalizer = normalizer
        self.model = model
        self.training = training
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    @property
    def normalizer_spec_(self) -> NormalizerSpec:
        self._check_fitted()
        return self.normalizer_.spec

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "this GestureClassifier is not fitted yet; call fit() or load() first"
            )

    def _model_options(self) -> ModelOptions:
        return self.model or ModelOptions()

    def _training_options(self) -> TrainingOptions:
        return self.training or TrainingOptions()

    def features(self, X) -> np.ndarray:
        """Model inputs (N, W, F) float32 for a Dataset, sequences, or one sequence."""
        self._check_fitted()
        if isinstance(X, np.ndarray):
            expected = (self.normalizer_.spec.window, self.normalizer_.spec.frame_features)
            if X.ndim != 3 or X.shape[1:] != expected:
                raise DatasetError(f"feature array has shape {X.shape}, expected (N, *{expected})")
            return X.astype(np.float32, copy=False)
        if isinstance(X, LandmarkSequence):
            X = [X]
        sequences = X.sequences if isinstance(X, Dataset) else list(X)
        return self.normalizer_.transform_many(sequences)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, groups: Sequence[str] | None = None) -> GestureClassifier:
        """Train on a `Dataset`, or on sequences `X` with labels `y` (and `groups`).

        Returns:
            self.

        Raises:
            DatasetError: empty data, one class only, or layouts that differ from the
                normalizer's.
        """
        import keras

        data = _as_dataset(X, y, groups)
        spec = self.normalizer or NormalizerSpec(layout=data.layout)
        model_options = self._model_options()
        training = self._training_options()
        check_training_data(data, spec, action="fit", owner="normalizer")
        present = sorted(set(data.labels))
        if len(present) < 2:
            raise DatasetError(f"need at least 2 classes to train, got {present}")
        started = time.perf_counter()
        self.classes_ = np.array(data.classes)
        self.background_ = data.background
        self.normalizer_ = Normalizer(spec)
        rng = np.random.default_rng(training.seed)
        keras.utils.set_random_seed(training.seed)

        train, val = data, None
        if training.validation_fraction > 0 and len(data) >= 10:
            try:
                train, val = data.split(training.validation_fraction, seed=training.seed)
            except DatasetError as exc:
                logger.info("no validation split (%s); training without early stopping", exc)
        positions = [self.normalizer_.resampled(s) for s in train.sequences]
        targets = train.label_indices
        counts = np.bincount(targets, minlength=len(self.classes_)).astype(np.float64)
        if training.class_weights:
            per_class = np.where(
                counts > 0, len(targets) / (len(present) * np.maximum(counts, 1)), 0
            )
        else:
            per_class = np.ones(len(self.classes_))
        weights = per_class[targets].astype(np.float32)
        windows = _TrainingWindows(positions, targets, weights, self.normalizer_, training, rng)
        x_val = y_val = None
        if val is not None:
            x_val = self.normalizer_.transform_many(val.sequences)
            y_val = val.label_indices

        net = build_keras_model(
            model_options,
            spec.window,
            spec.frame_features,
            len(self.classes_),
            velocity=spec.velocity,
        )
        net.compile(
            optimizer=keras.optimizers.Adam(training.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = self._train_loop(net, windows, x_val, y_val, training)
        self.model_ = net
        self.history_ = history
        self.training_seconds_ = time.perf_counter() - started
        # A few unaugmented training windows: calibration data for int8 export.
        sample = rng.permutation(len(train))[:64]
        self.representative_ = self.normalizer_.transform_many([train.sequences[i] for i in sample])
        # A few windows per class, rehearsed when fine-tuning keeps the old labels.
        from poseact.fewshot import build_memory

        self.rehearsal_ = build_memory(self.normalizer_, train, seed=training.seed)
        logger.info(
            "trained %s on %d clips in %.1fs (%d epochs)",
            model_options.architecture,
            len(train),
            self.training_seconds_,
            len(history["loss"]),
        )
        return self

    def _train_loop(self, net, windows, x_val, y_val, training: TrainingOptions) -> dict:
        """Epoch loop with early stopping on validation loss, restoring the best weights."""
        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        if x_val is not None:
            history.update(val_loss=[], val_accuracy=[])
        best, best_weights, waited = np.inf, None, 0
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=training.epochs, desc="training", unit="epoch")
        val_data = _validation_batches(x_val, y_val)
        for _epoch in range(training.epochs):
            losses, accs, sizes = [], [], []
            batches = windows.epoch()
            if type(windows) is _TrainingWindows:  # numpy only: safe in a second thread
                batches = _prefetch(batches)
            for x, y, w in batches:
                loss, acc = net.train_on_batch(x, y, sample_weight=w, return_dict=False)
                losses.append(loss)
                accs.append(acc)
                sizes.append(len(y))
            history["loss"].append(float(np.average(losses, weights=sizes)))
            history["accuracy"].append(float(np.average(accs, weights=sizes)))
            status = {"loss": f"{history['loss'][-1]:.3f}"}
            if x_val is not None:
                val_loss, val_acc = net.evaluate(**val_data, verbose=0)
                history["val_loss"].append(float(val_loss))
                history["val_accuracy"].append(float(val_acc))
                status.update(val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
                if val_loss < best - 1e-4:
                    best, best_weights, waited = val_loss, net.get_weights(), 0
                else:
                    waited += 1
            if bar is not None:
                bar.set_postfix(status)
                bar.update(1)
            if x_val is not None and waited >= training.patience:
                break
        if bar is not None:
            bar.close()
        if best_weights is not None:
            net.set_weights(best_weights)
        return history

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X) -> np.ndarray:
        """(N, C) class probabilities, columns in `classes_` order."""
        x = self.features(X)
        return np.asarray(self.model_.predict(x, verbose=0, batch_size=256), dtype=np.float32)

    def predict(self, X) -> np.ndarray:
        """(N,) predicted labels."""
        self._check_fitted()
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y=None, sample_weight=None) -> float:
        """Accuracy on a Dataset, or on sequences `X` with labels `y`."""
        data = _as_dataset(X, y, None)
        self._check_fitted()
        data.check_labels(list(self.classes_))
        predicted = self.predict(data)
        return float(np.mean(predicted == np.array(data.labels)))

    # ------------------------------------------------------------------ persistence
    def _metadata(self) -> dict[str, Any]:
        return {
            "format": _SAVE_FORMAT,
            "version": _SAVE_VERSION,
            "classes": [str(c) for c in self.classes_],
            "background": self.background_,
            "normalizer": self.normalizer_.spec.to_dict(),
            "model": asdict(self._model_options()),
            "training": self._training_options().to_dict(),
            "history": self.history_,
            "training_seconds": self.training_seconds_,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted classifier to one file (a zip: Keras model + JSON), atomically."""
        self._check_fitted()
        path = Path(path)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                keras_file = Path(tmp) / "model.keras"
                self.model_.save(keras_file)
                buffer = io.BytesIO()
                np.save(buffer, self.representative_, allow_pickle=False)
                with atomic_path(path) as out:
                    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
                        zf.writestr("poseact.json", json.dumps(self._metadata(), indent=1))
                        zf.write(keras_file, "model.keras")
                        zf.writestr("representative.npy", buffer.getvalue())
                        memory = getattr(self, "rehearsal_", None)
                        if memory is not None:
                            buffer = io.BytesIO()
                            np.savez_compressed(
                                buffer,
                                positions=memory.positions.astype(np.float16),
                                labels=np.array(memory.labels, dtype=str),
                            )
                            zf.writestr("rehearsal.npz", buffer.getvalue())
        except OSError as exc:  # the Keras file in the temporary folder (disk full, ...)
            if isinstance(exc, WriteError):
                raise
            raise write_error(path, exc) from exc
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> GestureClassifier:
        """Read a classifier written by `save`.

        Raises:
            ModelFormatError: missing file, not a zip, or not a poseact classifier.
        """
        import keras

        from poseact import zoo  # noqa: F401  (registers poseact's custom Keras layers)

        path = Path(path)
        try:
            with zipfile.ZipFile(path) as zf:
                meta = json.loads(zf.read("poseact.json"))
                keras_bytes = zf.read("model.keras")
                representative = np.load(io.BytesIO(zf.read("representative.npy")))
                rehearsal = None
                if "rehearsal.npz" in zf.namelist():
                    with np.load(io.BytesIO(zf.read("rehearsal.npz"))) as memory:
                        rehearsal = (memory["positions"].astype(np.float32), memory["labels"])
        except FileNotFoundError:
            raise ModelFormatError(f"model file {path} does not exist") from None
        except Exception as exc:  # zipfile, zlib, json and numpy errors of a corrupt file
            raise ModelFormatError(
                f"{path} is not a poseact classifier file ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(meta, dict) or meta.get("format") != _SAVE_FORMAT:
            raise ModelFormatError(f"{path} is not a poseact classifier file")
        try:
            clf = cls(
                normalizer=NormalizerSpec.from_dict(meta["normalizer"]),
                model=ModelOptions(**meta["model"]),
                training=TrainingOptions.from_dict(meta["training"]),
            )
            classes = [str(c) for c in meta["classes"]]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"{path}: invalid poseact metadata ({type(exc).__name__}: {exc})"
            ) from None
        with tempfile.TemporaryDirectory() as tmp:
            keras_file = Path(tmp) / "model.keras"
            try:
                keras_file.write_bytes(keras_bytes)
                clf.model_ = keras.models.load_model(keras_file, compile=False)
            except Exception as exc:
                raise ModelFormatError(f"{path}: cannot load the Keras model ({exc})") from None
        spec = clf.normalizer
        expected = (spec.window, spec.frame_features, len(classes))
        found = (*tuple(clf.model_.input_shape)[1:], clf.model_.output_shape[-1])
        if found != expected:
            raise ModelFormatError(
                f"{path}: the Keras model has (window, features, classes) = {found}, but its"
                f" metadata says {expected}; the file was altered or mixes two models"
            )
        clf.classes_ = np.array(classes)
        clf.background_ = meta.get("background")
        clf.normalizer_ = Normalizer(clf.normalizer)
        clf.history_ = meta.get("history", {})
        clf.training_seconds_ = meta.get("training_seconds", 0.0)
        clf.representative_ = representative
        clf.rehearsal_ = None
        if rehearsal is not None:
            from poseact.fewshot import RehearsalMemory

            clf.rehearsal_ = RehearsalMemory(rehearsal[0], tuple(rehearsal[1]))
        return clf

    def check_labels(self, labels: Sequence[str]) -> None:
        """Raise UnknownLabelError for labels this model does not know."""
        self._check_fitted()
        unknown = sorted(set(labels) - set(self.classes_))
        if unknown:
            raise UnknownLabelError(
                f"labels {unknown} are unknown to the model (it knows {list(self.classes_)})"
            )

    # ------------------------------------------------------------------ reuse
    def fine_tune(self, data: Dataset, *, rehearsal=None, options=None) -> GestureClassifier:
        """A new classifier that also knows the labels of `data`, learned from few clips.

        Starts from this model's encoder, gives it a head for the new label set (old
        labels keep their weights) and trains on `data` plus rehearsed old examples:
        the whole network at a low learning rate by default, or the head only
        (`FineTuneOptions(train_encoder=False)`). See `poseact.fewshot.fine_tune`;
        this model is not changed.

        Args:
            data: new clips, e.g. 5-20 per new label.
            rehearsal: old examples to rehearse (`Dataset` or `RehearsalMemory`);
                None uses the few windows per class stored by `fit` (`rehearsal_`).
            options: `FineTuneOptions` (epochs, keep_old_labels, train_encoder, ...).

        Returns:
            The fine-tuned `GestureClassifier`.

        Raises:
            NotFittedError: this model is not fitted.
            DatasetError: see `poseact.fewshot.fine_tune`.
        """
        from poseact.fewshot import fine_tune

        return fine_tune(self, data, rehearsal=rehearsal, options=options)
