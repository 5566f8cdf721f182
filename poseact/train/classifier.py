"""`GestureClassifier`: a compact Keras sequence classifier in the scikit-learn manner.

Architectures (`ModelOptions.architecture`):

- "stats_pool" (default): per-frame Dense layers, then the mean and standard deviation
  over time (statistics pooling), a softmax head.
- "gru", "lstm": one or two recurrent layers, dropout, a softmax head.
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
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from poseact.core.archives import ArchiveLimitError, check_npz, load_npy_bytes, load_npz
from poseact.core.atomic import atomic_path, write_error
from poseact.core.choices import ARCHITECTURES, INPUT_STREAMS
from poseact.core.errors import (
    DatasetError,
    ModelFormatError,
    PoseactError,
    UnknownLabelError,
    WriteError,
)
from poseact.core.labels import printable
from poseact.core.layouts import get_layout, layout_from_dict, register_layout
from poseact.core.native import hides_native_logs
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset
from poseact.normalize.fitting import fit_normalizer
from poseact.normalize.normalizer import GridCache, Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.runtime.model_file import check_labels as check_model_labels
from poseact.runtime.model_file import check_placement, is_tflite, placement_json, read_member
from poseact.runtime.rejection import RejectionRule
from poseact.train.core import FittedState, train_core
from poseact.train.engine import answer_onset, check_training_data, split_validation
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
#: 2: the parameters as given apart from the fitted state (1: one mixed section).
_SAVE_VERSION = 2


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


def default_spec(data: Dataset) -> NormalizerSpec:
    """The normalizer a classifier uses when given none: timings chosen from the
    clips, except for photos (every clip one frame, e.g. a Model Maker folder): nothing
    moves in them, so the features without motion (no velocities, no paths: they are
    all zero) over a one-frame window, at 30 fps."""
    if data.sequences and all(len(seq) == 1 for seq in data.sequences):
        return NormalizerSpec(
            layout=data.layout, fps=30.0, window=1, sampling="center", velocity=False, path=False
        )
    return NormalizerSpec(layout=data.layout)


class GestureClassifier(ClassifierMixin, BaseEstimator):
    """Classifies landmark sequences into gestures or activities.

    The parameters are stored as given and never changed: `fit` chooses what they
    leave open (fps, window, sampling, feature statistics, the architecture for
    "auto") into fitted attributes, so `get_params()`, `sklearn.base.clone` and
    cross-validation start from the user's recipe, also after `save` and `load`.

    Args:
        normalizer: `NormalizerSpec` (layout, fps, window, features); None: the
            data's layout, timings chosen from the training clips.
        model: `ModelOptions` (architecture, units, layers, dropout); None: defaults.
        training: `TrainingOptions` (epochs, batch size, augmentation, seed, ...);
            None: defaults.
        verbose: 0 trains silently; 1 shows a progress bar over epochs.

    Fitted attributes end in "_" (see `FittedState`, which `fitted_state()` returns):
    `classes_`, `background_`, `normalizer_` (the fitted `Normalizer`),
    `model_options_` (architecture resolved), `training_options_` (the recipe as it
    ran), `model_` (Keras), `onset_`, `placement_`, `rejection_`, `history_`, `training_seconds_`,
    `representative_`, `rehearsal_` (a few normalized windows per class, kept for
    `fine_tune`; saved with the model, set it to None before `save` to leave them
    out), and `auto_report_` (the architecture search of "auto", else None).
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

    def check_finite(self) -> None:
        """Refuse a network with NaN or inf weights (a diverged training run): such a
        model answers NaN probabilities, so it is never saved or exported.

        Raises:
            ModelFormatError: some weight is not finite; the message names the layer.
        """
        self._check_fitted()
        for layer in self.model_.layers:
            for weight in layer.weights:
                if not np.all(np.isfinite(np.asarray(weight))):
                    raise ModelFormatError(
                        f"training diverged: layer {layer.name!r} has NaN or inf weights, so"
                        " the model answers nothing but NaN; nothing was saved (lower"
                        " the learning rate, or check the data)"
                    )

    def fitted_state(self) -> FittedState:
        """Everything this model learned (what `export_tflite` and `save` write).

        Raises:
            NotFittedError: before `fit` or `load`.
        """
        self._check_fitted()
        return FittedState(
            classes=tuple(str(c) for c in self.classes_),
            background=self.background_,
            normalizer=self.normalizer_,
            model=self.model_options_,
            training=self.training_options_,
            network=self.model_,
            onset=self.onset_,
            placement=self.placement_,
            rejection=self.rejection_,
            history=self.history_,
            training_seconds=self.training_seconds_,
            representative=self.representative_,
            rehearsal=self.rehearsal_,
        )

    @classmethod
    def from_fitted(cls, state: FittedState, **params) -> GestureClassifier:
        """A classifier with parameters `params` (as `__init__` takes them) and the
        learned `state` (what `fine_tune` and `distill` return)."""
        return cls(**params)._set_fitted(state)

    def _set_fitted(self, state: FittedState, auto_report=None) -> GestureClassifier:
        """Write the learned state: the one place that sets the fitted `_` attributes."""
        self.classes_ = np.array([str(c) for c in state.classes])
        self.background_ = state.background
        self.normalizer_ = state.normalizer
        self.model_options_ = state.model
        self.training_options_ = state.training
        self.model_ = state.network
        self.onset_ = state.onset
        self.placement_ = state.placement
        self.rejection_ = state.rejection
        self.history_ = state.history
        self.training_seconds_ = float(state.training_seconds)
        self.representative_ = state.representative
        self.rehearsal_ = state.rehearsal
        self.auto_report_ = auto_report
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
        spec = self.normalizer or default_spec(data)
        model_options = self.model or ModelOptions()
        training = self.training or TrainingOptions()
        check_training_data(data, spec, action="fit", owner="normalizer")
        present = sorted(set(data.labels))
        if len(present) < 2:
            raise DatasetError(f"need at least 2 classes to train, got {present}")
        started = time.perf_counter()
        rng = np.random.default_rng(training.seed)
        keras.utils.set_random_seed(training.seed)

        auto_report = None
        if model_options.architecture == "auto":
            from poseact.train.auto import choose_architecture

            model_options, auto_report = choose_architecture(
                data, spec, model_options, training, estimator=type(self), cache=cache
            )
        train, val = split_validation(data, training, action="training")
        normalizer, positions = fit_normalizer(spec, train.sequences, cache=cache)
        state = train_core(
            normalizer,
            positions,
            train.labels,
            classes=data.classes,
            background=data.background,
            model=model_options,
            training=training,
            rng=rng,
            groups=train.groups,
            validation=None
            if val is None
            else (normalizer.transform_many(val.sequences), val.labels),
            # a few windows per class, rehearsed when fine-tuning keeps the old labels
            rehearsal=build_memory(normalizer, train, seed=training.seed),
            verbose=self.verbose,
            started=started,
        )
        self._set_fitted(state, auto_report)
        logger.info(
            "trained %s on %d clips in %.1fs (%d epochs)",
            model_options.architecture,
            len(train),
            self.training_seconds_,
            len(state.history["loss"]),
        )
        self.check_finite()
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
        return self.predict_with_proba(X, reject=reject)[0]

    def predict_with_proba(self, X, *, reject: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(N,) predicted labels (as `predict`) and (N, C) probabilities (as
        `predict_proba`) from one pass of the network."""
        self._check_fitted()
        x = self.features(X)
        probs = self.predict_proba(x)
        rule = self.rejection_
        if reject and rule is not None:
            return rule.apply(probs, x, self.classes_.tolist(), self.background_), probs
        return self.classes_[np.argmax(probs, axis=1)], probs

    def score(self, X, y=None, sample_weight=None) -> float:
        """Accuracy on a Dataset, or on sequences `X` with labels `y`."""
        data = _as_dataset(X, y, None)
        self._check_fitted()
        data.check_labels(list(self.classes_))
        predicted = self.predict(data)
        return float(np.mean(predicted == np.array(data.labels)))

    # ------------------------------------------------------------------ persistence
    def _metadata(self) -> dict[str, Any]:
        """`poseact.json`: the parameters as given, apart from the fitted state."""
        state = self.fitted_state()
        spec = state.normalizer.spec
        return {
            "format": _SAVE_FORMAT,
            "version": _SAVE_VERSION,
            "parameters": {
                "normalizer": None if self.normalizer is None else self.normalizer.to_dict(),
                "model": None if self.model is None else asdict(self.model),
                "training": None if self.training is None else self.training.to_dict(),
                "verbose": int(self.verbose),
            },
            "fitted": {
                "classes": list(state.classes),
                "background": state.background,
                "normalizer": spec.to_dict(),
                "layout_definition": get_layout(spec.layout).to_dict(),
                "model": asdict(state.model),
                "training": state.training.to_dict(),
                "onset": state.onset,
                "placement": placement_json(state.placement),
                "history": state.history,
                "training_seconds": state.training_seconds,
                "rejection": None if state.rejection is None else state.rejection.to_dict(),
            },
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted classifier to one file (a zip: Keras model + JSON), atomically.

        Raises:
            ModelFormatError: the network has non-finite weights (`check_finite`).
            WriteError: the file cannot be written.
        """
        self.check_finite()
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
        with contextlib.suppress(OSError), open(path, "rb") as head:
            if is_tflite(head.read(8)):
                raise ModelFormatError(
                    f"{path} is an exported .tflite model, not a trained classifier: export"
                    " and fine-tuning start from the .poseact file `poseact train` wrote"
                )
        try:
            with zipfile.ZipFile(path) as zf:
                where = str(path)
                meta = json.loads(read_member(zf, "poseact.json", where))
                keras_bytes = read_member(zf, "model.keras", where, _MAX_KERAS_BYTES)
                with zipfile.ZipFile(io.BytesIO(keras_bytes)) as keras_zip:
                    check_npz(keras_zip, f"{where}: model.keras", member_limit=_MAX_KERAS_BYTES)
                representative = load_npy_bytes(
                    read_member(zf, "representative.npy", where), f"{where}: representative.npy"
                )
                rehearsal = None
                if "rehearsal.npz" in zf.namelist():
                    member = read_member(zf, "rehearsal.npz", where)
                    memory = load_npz(io.BytesIO(member), f"{where}: rehearsal.npz")
                    rehearsal = (memory["positions"].astype(np.float32), memory["labels"])
        except FileNotFoundError:
            raise ModelFormatError(f"model file {path} does not exist") from None
        except ModelFormatError:
            raise
        except ArchiveLimitError as exc:
            raise ModelFormatError(str(exc)) from None
        except Exception as exc:  # zipfile, zlib, json and numpy errors of a corrupt file
            raise ModelFormatError(
                f"{path} is not a poseact classifier file ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(meta, dict) or meta.get("format") != _SAVE_FORMAT:
            raise ModelFormatError(f"{path} is not a poseact classifier file")
        with _metadata_errors(path):
            params, fitted = _sections(meta)
            if fitted.get("layout_definition") is not None:
                register_layout(layout_from_dict(fitted["layout_definition"]))
            clf = cls(**params)
            spec = NormalizerSpec.from_dict(fitted["normalizer"])
            model_options = ModelOptions(**fitted["model"])
            training = TrainingOptions.from_dict(fitted["training"])
            background = fitted.get("background")
            classes = list(check_model_labels(fitted["classes"], background, str(path))[0])
        with tempfile.TemporaryDirectory() as tmp:
            keras_file = Path(tmp) / "model.keras"
            try:
                keras_file.write_bytes(keras_bytes)
                model = keras.models.load_model(keras_file, compile=False, safe_mode=True)
            except Exception as exc:
                # Keras quotes the whole refused config (dozens of lines of JSON): one
                # line, the first of its message, is what the user needs
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                first = first if len(first) <= 200 else first[:197] + "..."
                raise ModelFormatError(
                    f"{path}: cannot load the Keras model ({printable(first)}); the file is"
                    " damaged, crafted, or from another poseact version"
                ) from None
        if not all(np.all(np.isfinite(w)) for w in model.get_weights()):
            raise ModelFormatError(
                f"{path}: the network has NaN or inf weights, so it would answer nothing"
                " but NaN; the file is damaged or from a diverged training run: train again"
            )
        expected = (spec.window, spec.frame_features, len(classes))
        found = (*tuple(model.input_shape)[1:], model.output_shape[-1])
        if found != expected:
            raise ModelFormatError(
                f"{path}: the Keras model has (window, features, classes) = {found}, but its"
                f" metadata says {expected} (layout {spec.layout!r}); the file was altered or"
                " mixes two models"
            )
        with _metadata_errors(path):  # the rest of the metadata, as clearly
            history = fitted.get("history", {})
            if not isinstance(history, dict) or not all(
                isinstance(v, list) for v in history.values()
            ):
                raise ValueError(f"history is {history!r:.60}, not per-epoch lists by name")
            onset = (
                fitted["onset"]
                if "onset" in fitted
                else answer_onset(training, model_options.architecture, background)
            )
            state = FittedState(
                classes=tuple(classes),
                background=background,
                normalizer=Normalizer(spec),
                model=model_options,
                training=training,
                network=model,
                onset=None if onset is None else float(onset),
                placement=check_placement(fitted.get("placement"), classes, background, str(path)),
                rejection=None
                if fitted.get("rejection") is None
                else RejectionRule.from_dict(
                    fitted["rejection"],
                    classes=classes,
                    background=background,
                    features=spec.frame_features,
                    where=str(path),
                ),
                history=history,
                training_seconds=fitted.get("training_seconds", 0.0),
                representative=representative,
                rehearsal=None
                if rehearsal is None
                else RehearsalMemory(rehearsal[0], tuple(rehearsal[1])),
            )
            return clf._set_fitted(state)

    def check_labels(self, labels: Sequence[str]) -> None:
        """Raise UnknownLabelError for labels this model does not know."""
        self._check_fitted()
        unknown = sorted(set(labels) - set(self.classes_))
        if unknown:
            raise UnknownLabelError(
                f"labels {unknown} are unknown to the model (it knows {list(self.classes_)})"
            )


def _sections(meta: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the `__init__` parameters, the fitted section) of a `poseact.json`.

    Version 1 files kept one section, the fitted values in the parameters' place: their
    parameters become the fitted recipe without what `fit` learned from the data (the
    feature mean and std), so cross-validating such a model relearns them per fold.
    """
    if meta.get("version", 1) < 2:
        spec = NormalizerSpec.from_dict(meta["normalizer"])
        params = {
            "normalizer": replace(spec, feature_mean=(), feature_std=()),
            "model": ModelOptions(**meta["model"]),
            "training": TrainingOptions.from_dict(meta["training"]),
        }
        return params, meta
    given, fitted = meta["parameters"], meta["fitted"]
    if not isinstance(given, dict) or not isinstance(fitted, dict):
        raise ValueError("parameters and fitted must be objects")
    params = {
        "normalizer": None
        if given.get("normalizer") is None
        else NormalizerSpec.from_dict(given["normalizer"]),
        "model": None if given.get("model") is None else ModelOptions(**given["model"]),
        "training": None
        if given.get("training") is None
        else TrainingOptions.from_dict(given["training"]),
        "verbose": int(given.get("verbose", 0)),
    }
    return params, fitted


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
