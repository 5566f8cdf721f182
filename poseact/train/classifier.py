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

import contextlib
import io
import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from poseact.core.atomic import atomic_path, write_error
from poseact.core.choices import ARCHITECTURES, INPUT_STREAMS
from poseact.core.errors import (
    DatasetError,
    ModelFormatError,
    PoseactError,
    UnknownLabelError,
    WriteError,
)
from poseact.core.layouts import get_layout, layout_from_dict, register_layout
from poseact.core.native import hides_native_logs
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset
from poseact.normalize.fitting import fit_normalizer
from poseact.normalize.normalizer import GridCache, Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.runtime.model_file import check_labels as check_model_labels
from poseact.runtime.model_file import read_member
from poseact.runtime.rejection import RejectionRule, calibrate_rejection
from poseact.train.engine import (
    check_training_data,
    classification_loss,
    finish_training,
    representative_windows,
    split_validation,
    train_network,
    training_windows,
    with_transitions,
)
from poseact.train.networks import build_keras_model
from poseact.train.options import ModelOptions, TrainingOptions
from poseact.train.rehearsal import RehearsalMemory, build_memory

__all__ = [
    "GestureClassifier",
    "ARCHITECTURES",
    "INPUT_STREAMS",
]

logger = logging.getLogger(__name__)

_SAVE_FORMAT = "poseact-classifier"
#: Largest Keras model member read from a .poseact (uncompressed bytes).
_MAX_KERAS_BYTES = 1 << 30
_SAVE_VERSION = 1


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


# ---------------------------------------------------------------------- estimator
class NotFittedError(PoseactError, _SklearnNotFittedError):
    """A classifier used before `fit` or `load`.

    A subclass of scikit-learn's `NotFittedError` (so of ValueError and AttributeError
    too): `except sklearn.exceptions.NotFittedError` catches it, and so does
    `except poseact.PoseactError`.
    """


_EMPTY_CLIP_WORDS = "features are all zero"
_empty_clips: list[str] | None = None  # sources collected by the outermost block


@contextlib.contextmanager
def _empty_clips_said_once(data) -> Any:
    """The normalizer's "no usable landmarks ... features are all zero" line for each
    such clip becomes one line for all of them at the end of the block; clips of the
    dataset's background class (which may show nobody: "leave the frame") are only
    counted at INFO level."""
    global _empty_clips
    if _empty_clips is not None:  # an outer block collects
        yield
        return
    _empty_clips = collected = []

    class _Collect(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            if _EMPTY_CLIP_WORDS in str(record.msg) and record.args:
                collected.append(str(record.args[0]))
                return False
            return True

    source = logging.getLogger("poseact.normalize.normalizer")
    collect = _Collect()
    source.addFilter(collect)
    try:
        yield
    finally:
        source.removeFilter(collect)
        _empty_clips = None
    if not collected:
        return
    background = getattr(data, "background", None)
    labels = {}
    if isinstance(data, Dataset):
        labels = {seq.source: label for seq, label in zip(data.sequences, data.labels)}
    names = sorted(set(collected))
    quiet = [n for n in names if background is not None and labels.get(n) == background]
    loud = [n for n in names if n not in quiet]
    if quiet:
        logger.info(
            "%d clips of the background class %r show nobody (fine for 'no gesture')",
            len(quiet),
            background,
        )
    if loud:
        shown = ", ".join(loud[:3]) + (f" and {len(loud) - 3} more" if len(loud) > 3 else "")
        logger.warning(
            "%d clip%s with no usable landmarks in any frame (nothing detected, or below"
            " min_visibility): %s; their features are all zero",
            len(loud),
            "" if len(loud) == 1 else "s",
            shown,
        )


def _says_empty_clips_once(method):
    """Decorator: `method(self, X, ...)` runs inside `_empty_clips_said_once(X)`."""
    import functools

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        with _empty_clips_said_once(X):
            return method(self, X, *args, **kwargs)

    return wrapper


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
        """The fitted model's options (with "auto" resolved), else the requested ones."""
        return getattr(self, "model_options_", None) or self.model or ModelOptions()

    def _training_options(self) -> TrainingOptions:
        return self.training or TrainingOptions()

    def _set_fitted(
        self,
        *,
        classes: Sequence[str],
        background: str | None,
        normalizer: Normalizer,
        model,
        history: dict[str, list[float]],
        training_seconds: float,
        representative: np.ndarray,
        rehearsal: RehearsalMemory | None,
        rejection: RejectionRule | None = None,
    ) -> GestureClassifier:
        """Write the learned state: the one place that sets the fitted `_` attributes."""
        self.classes_ = np.array([str(c) for c in classes])
        self.background_ = background
        self.normalizer_ = normalizer
        self.model_ = model
        self.history_ = history
        self.training_seconds_ = float(training_seconds)
        self.representative_ = representative
        self.rehearsal_ = rehearsal
        self.rejection_ = rejection
        return self

    @_says_empty_clips_once
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
    @hides_native_logs
    @_says_empty_clips_once
    def fit(
        self,
        X,
        y=None,
        *,
        groups: Sequence[str] | None = None,
        cache: GridCache | None = None,
    ) -> GestureClassifier:
        """Train on a `Dataset`, or on sequences `X` with labels `y` (and `groups`).

        Args:
            X: a `Dataset`, or a list of `LandmarkSequence`s.
            y: labels of `X` when it is a list.
            groups: subjects of `X` when it is a list (splits keep them whole).
            cache: a `GridCache` shared by several fits on the same clips (the fitted
                model keeps using it); None normalizes afresh.

        Returns:
            self.

        Raises:
            DatasetError: empty data, one class only, or layouts that differ from the
                normalizer's.
        """
        import keras

        data = _as_dataset(X, y, groups)
        spec = self.normalizer or NormalizerSpec(layout=data.layout)
        model_options = self.model or ModelOptions()
        training = self._training_options()
        check_training_data(data, spec, action="fit", owner="normalizer")
        present = sorted(set(data.labels))
        if len(present) < 2:
            raise DatasetError(f"need at least 2 classes to train, got {present}")
        started = time.perf_counter()
        classes = list(data.classes)
        rng = np.random.default_rng(training.seed)
        keras.utils.set_random_seed(training.seed)

        self.auto_report_ = None
        if model_options.architecture == "auto":
            from poseact.train.auto import choose_architecture

            model_options, self.auto_report_ = choose_architecture(
                data, spec, model_options, training, estimator=type(self), cache=cache
            )
        self.model_options_ = model_options
        train, val = split_validation(data, training, action="training")
        normalizer, positions = fit_normalizer(spec, train.sequences, cache=cache)
        spec = normalizer.spec
        targets = train.label_indices
        background = classes.index(data.background) if data.background in classes else None
        windows = training_windows(
            normalizer,
            positions,
            targets,
            with_transitions(training, model_options.architecture),
            rng,
            background=background,
        )
        x_val = y_val = None
        if val is not None:
            x_val = normalizer.transform_many(val.sequences)
            y_val = val.label_indices

        net = build_keras_model(
            model_options,
            spec.window,
            spec.frame_features,
            len(classes),
            velocity=spec.velocity,
            positions=spec.num_points * spec.channels,
        )
        net.compile(
            optimizer=keras.optimizers.Adam(training.learning_rate),
            loss=classification_loss(len(classes), training.label_smoothing),
            metrics=["accuracy"],
        )
        history = train_network(net, windows, x_val, y_val, training, verbose=self.verbose)
        finish_training(net)
        rejection = None
        if training.reject_rate is not None:  # a separate step after training
            rejection = calibrate_rejection(
                normalizer.features(np.stack([normalizer.window(p) for p in positions])),
                targets,
                classes,
                groups=train.groups,
                validation=None if val is None else (x_val, y_val),
                false_reject=training.reject_rate,
                background=data.background,
                seed=training.seed,
            )
        self._set_fitted(
            classes=classes,
            background=data.background,
            normalizer=normalizer,
            model=net,
            history=history,
            training_seconds=time.perf_counter() - started,
            representative=representative_windows(normalizer, train.sequences, rng),
            # a few windows per class, rehearsed when fine-tuning keeps the old labels
            rehearsal=build_memory(normalizer, train, seed=training.seed),
            rejection=rejection,
        )
        logger.info(
            "trained %s on %d clips in %.1fs (%d epochs)",
            model_options.architecture,
            len(train),
            self.training_seconds_,
            len(history["loss"]),
        )
        return self

    # ------------------------------------------------------------------ predict
    @hides_native_logs
    @_says_empty_clips_once
    def predict_proba(self, X) -> np.ndarray:
        """(N, C) class probabilities, columns in `classes_` order."""
        x = self.features(X)
        return np.asarray(self.model_.predict(x, verbose=0, batch_size=256), dtype=np.float32)

    @_says_empty_clips_once
    def predict(self, X, *, reject: bool = True) -> np.ndarray:
        """(N,) predicted labels.

        Args:
            X: a Dataset, sequences, one sequence or (N, W, F) features.
            reject: with a rejection rule (`rejection_`, see `TrainingOptions.reject_rate`),
                answer "unknown" where a window lies farther from the known clips of
                its best class than that class's threshold; False always names a class.
        """
        self._check_fitted()
        x = self.features(X)
        probs = self.predict_proba(x)
        rule = getattr(self, "rejection_", None)
        if reject and rule is not None:
            return rule.apply(probs, x, self.classes_.tolist(), self.background_)
        return self.classes_[np.argmax(probs, axis=1)]

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
            "layout_definition": get_layout(self.normalizer_.spec.layout).to_dict(),
            "model": asdict(self._model_options()),
            "training": self._training_options().to_dict(),
            "history": self.history_,
            "training_seconds": self.training_seconds_,
            "rejection": None if self.rejection_ is None else self.rejection_.to_dict(),
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
    @hides_native_logs
    def load(cls, path: str | os.PathLike) -> GestureClassifier:
        """Read a classifier written by `save`.

        Raises:
            ModelFormatError: missing file, not a zip, or not a poseact classifier.
        """
        import keras

        import poseact.train.zoo  # noqa: F401  (registers poseact's custom Keras layers)

        path = Path(path)
        try:
            with zipfile.ZipFile(path) as zf:
                where = str(path)
                meta = json.loads(read_member(zf, "poseact.json", where))
                keras_bytes = read_member(zf, "model.keras", where, _MAX_KERAS_BYTES)
                representative = np.load(io.BytesIO(read_member(zf, "representative.npy", where)))
                rehearsal = None
                if "rehearsal.npz" in zf.namelist():
                    member = read_member(zf, "rehearsal.npz", where)
                    with np.load(io.BytesIO(member)) as memory:
                        rehearsal = (memory["positions"].astype(np.float32), memory["labels"])
        except FileNotFoundError:
            raise ModelFormatError(f"model file {path} does not exist") from None
        except ModelFormatError:
            raise
        except Exception as exc:  # zipfile, zlib, json and numpy errors of a corrupt file
            raise ModelFormatError(
                f"{path} is not a poseact classifier file ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(meta, dict) or meta.get("format") != _SAVE_FORMAT:
            raise ModelFormatError(f"{path} is not a poseact classifier file")
        with _metadata_errors(path):
            if meta.get("layout_definition") is not None:
                register_layout(layout_from_dict(meta["layout_definition"]))
            clf = cls(
                normalizer=NormalizerSpec.from_dict(meta["normalizer"]),
                model=ModelOptions(**meta["model"]),
                training=TrainingOptions.from_dict(meta["training"]),
            )
            classes = list(
                check_model_labels(meta["classes"], meta.get("background"), str(path))[0]
            )
        with tempfile.TemporaryDirectory() as tmp:
            keras_file = Path(tmp) / "model.keras"
            try:
                keras_file.write_bytes(keras_bytes)
                model = keras.models.load_model(keras_file, compile=False)
            except Exception as exc:
                raise ModelFormatError(f"{path}: cannot load the Keras model ({exc})") from None
        spec = clf.normalizer
        expected = (spec.window, spec.frame_features, len(classes))
        found = (*tuple(model.input_shape)[1:], model.output_shape[-1])
        if found != expected:
            raise ModelFormatError(
                f"{path}: the Keras model has (window, features, classes) = {found}, but its"
                f" metadata says {expected} (layout {spec.layout!r}); the file was altered or"
                " mixes two models"
            )
        with _metadata_errors(path):  # the rest of the metadata, as clearly
            history = meta.get("history", {})
            if not isinstance(history, dict) or not all(
                isinstance(v, list) for v in history.values()
            ):
                raise ValueError(f"history is {history!r:.60}, not per-epoch lists by name")
            return clf._set_fitted(
                classes=classes,
                background=meta.get("background"),
                normalizer=Normalizer(clf.normalizer),
                model=model,
                history=history,
                training_seconds=meta.get("training_seconds", 0.0),
                representative=representative,
                rehearsal=None
                if rehearsal is None
                else RehearsalMemory(rehearsal[0], tuple(rehearsal[1])),
                rejection=None
                if meta.get("rejection") is None
                else RejectionRule.from_dict(
                    meta["rejection"],
                    classes=classes,
                    background=meta.get("background"),
                    features=clf.normalizer.frame_features,
                    where=str(path),
                ),
            )

    def check_labels(self, labels: Sequence[str]) -> None:
        """Raise UnknownLabelError for labels this model does not know."""
        self._check_fitted()
        unknown = sorted(set(labels) - set(self.classes_))
        if unknown:
            raise UnknownLabelError(
                f"labels {unknown} are unknown to the model (it knows {list(self.classes_)})"
            )


@contextlib.contextmanager
def _metadata_errors(path: str | os.PathLike):
    """Damaged metadata (a wrong type or value, a missing key) → one ModelFormatError
    naming the file."""
    try:
        yield
    except ModelFormatError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(
            f"{path}: invalid poseact metadata ({type(exc).__name__}: {exc})"
        ) from None
