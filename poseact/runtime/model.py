"""`TFLiteGestureModel`: an exported poseact model, run by LiteRT on whole clips or windows."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from poseact.core.errors import LandmarkFormatError, ModelFormatError, UnknownLabelError
from poseact.core.sequence import LandmarkSequence
from poseact.normalize.normalizer import Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.runtime.litert import Runner
from poseact.runtime.model_file import read_model_file
from poseact.runtime.rejection import RejectionRule
from poseact.runtime.steppers import FrameClassifier, StatefulStepper, WindowStepper

__all__ = [
    "TFLiteGestureModel",
]

logger = logging.getLogger(__name__)


class TFLiteGestureModel:
    """An exported poseact model, run by LiteRT.

    Thread safety: one model may be shared by threads. Its offline methods
    (`predict_window`, `predict_proba`, `predict`, `score`) hold a lock around the one
    LiteRT interpreter, so concurrent calls take turns and each gets its own answer.
    What `stepper()` returns (and `StreamingRecognizer`s) keep the state of one stream:
    make one per stream and thread; one used from two threads at once raises
    `PoseactError` instead of mixing their frames.

    Args:
        path: a `.tflite` written by `poseact.export_tflite`.
        num_threads: LiteRT CPU threads (None: LiteRT's default).

    Attributes:
        classes_: (C,) labels, in output order.
        background: the "no gesture" class, or None.
        spec: the `NormalizerSpec` the model was trained with.
        onset: seconds of a gesture its window holds when it begins to answer it
            (`AugmentOptions.onset`), or None: half the window.
        placement: label → (seconds of the gesture its window holds when the network
            begins to answer it, when it lets go), measured after training; events of
            those labels are placed by them. None: not measured (older files).
        threshold: the decision threshold stored in the model (`export_tflite`'s
            `threshold`), or None: `DecisionOptions`' default.
        metadata: the whole embedded metadata dict.

    Raises:
        ModelFormatError: the file is missing, not TFLite, or not a poseact model.
    """

    def __init__(self, path: str | os.PathLike, *, num_threads: int | None = None) -> None:
        self.path = Path(path)
        model_file = read_model_file(self.path)
        content, stream = model_file.content, model_file.stream
        try:
            self.spec = NormalizerSpec.from_dict(model_file.metadata.normalizer)
        except (KeyError, TypeError, ValueError, LandmarkFormatError) as exc:
            raise ModelFormatError(f"{self.path}: invalid poseact metadata ({exc})") from None
        self.classes_ = np.array(model_file.metadata.classes)
        self.metadata = dict(model_file.metadata.raw)
        self.background: str | None = model_file.metadata.background
        self.onset: float | None = model_file.metadata.onset
        self.placement = model_file.metadata.placement
        self.threshold: float | None = model_file.metadata.threshold
        self.rejection: RejectionRule | None = None
        if model_file.metadata.rejection is not None:
            self.rejection = RejectionRule.from_dict(
                model_file.metadata.rejection,
                classes=self.classes_.tolist(),
                background=self.background,
                features=self.spec.frame_features,
                where=str(self.path),
            )
        self.normalizer = Normalizer(self.spec)
        self._lock = threading.Lock()
        self._num_threads = num_threads
        self._window = Runner(content, num_threads, str(self.path))
        if len(self._window.inputs) != 1 or len(self._window.outputs) != 1:
            raise ModelFormatError(
                f"{self.path}: the window model has {len(self._window.inputs)} inputs and"
                f" {len(self._window.outputs)} outputs, expected 1 and 1"
            )
        detail = self._window.inputs[0]
        expected = (self.spec.window, self.spec.frame_features)
        if tuple(detail["shape"][1:]) != expected:
            raise ModelFormatError(
                f"{self.path}: model input {tuple(detail['shape'])} does not match its"
                f" metadata (window {expected[0]}, {expected[1]} features)"
            )
        outputs = int(self._window.outputs[0]["shape"][-1])
        if outputs != len(self.classes_):
            raise ModelFormatError(
                f"{self.path}: the model has {outputs} outputs but its metadata lists"
                f" {len(self.classes_)} classes"
            )
        # the single-step model: a signature of this model (version 2), or the
        # separate network of a version 1 file
        described = model_file.metadata.stream or {}
        self._stream_signature: str | None = None
        self._stream_content: bytes | None = None
        if isinstance(described.get("signature"), str):
            self._stream_signature = described["signature"]
            self._stream_content = content
        elif stream is not None:
            self._stream_content = stream

    def __enter__(self) -> TFLiteGestureModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the interpreter (optional; also done by garbage collection)."""
        with self._lock:
            self._window = None

    def __repr__(self) -> str:
        return (
            f"TFLiteGestureModel({str(self.path)!r}, classes={list(self.classes_)},"
            f" window={self.spec.window}, layout={self.spec.layout!r})"
        )

    @property
    def has_stream_model(self) -> bool:
        return self._stream_content is not None

    # ------------------------------------------------------------------ offline
    def features(self, X) -> np.ndarray:
        """(N, W, F) float32 model inputs for sequences, one sequence, or features."""
        if isinstance(X, np.ndarray):
            expected = (self.spec.window, self.spec.frame_features)
            if X.ndim != 3 or X.shape[1:] != expected:
                raise ModelFormatError(
                    f"features have shape {X.shape}, but {self.path.name} expects"
                    f" (N, {expected[0]}, {expected[1]})"
                )
            return X.astype(np.float32, copy=False)
        if isinstance(X, LandmarkSequence):
            X = [X]
        sequences = getattr(X, "sequences", X)  # a Dataset or a list of sequences
        return self.normalizer.transform_many(list(sequences))

    def predict_window(self, window: np.ndarray) -> np.ndarray:
        """(C,) probabilities for one (W, F) feature window."""
        with self._lock:  # one interpreter: set, invoke and read as one step
            runner = self._window
            if runner is None:
                raise ModelFormatError(f"{self.path}: model is closed")
            interpreter = runner.interpreter
            interpreter.set_tensor(runner.inputs[0]["index"], window[None].astype(np.float32))
            runner.invoke()
            probs = interpreter.get_tensor(runner.outputs[0]["index"])[0].copy()
        if not np.all(np.isfinite(probs)):
            raise ModelFormatError(
                f"{self.path} gives non-finite class probabilities ({probs.tolist()}) for a"
                " finite input: its weights are not finite (trained with a diverging"
                " learning rate?); train and export it again"
            )
        return probs

    def predict_proba(self, X) -> np.ndarray:
        """(N, C) class probabilities for sequences (or a (N, W, F) feature array)."""
        x = self.features(X)
        out = np.empty((len(x), len(self.classes_)), dtype=np.float32)
        for i, window in enumerate(x):
            out[i] = self.predict_window(window)
        return out

    def predict(self, X, *, reject: bool = True) -> np.ndarray:
        """(N,) predicted labels.

        Args:
            X: sequences, one sequence, a Dataset or (N, W, F) features.
            reject: with a model that carries a rejection rule (`rejection`), answer
                its `unknown` label (default "unknown") where a window lies farther
                from the known clips of its best class than that class's threshold;
                False always names a class.
        """
        return self.predict_with_proba(X, reject=reject)[0]

    def predict_with_proba(self, X, *, reject: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(N,) predicted labels (as `predict`) and (N, C) probabilities (as
        `predict_proba`) from one pass of the network."""
        x = self.features(X)
        probs = self.predict_proba(x)
        if reject and self.rejection is not None:
            return self.rejection.apply(probs, x, self.classes_.tolist(), self.background), probs
        return self.classes_[np.argmax(probs, axis=1)], probs

    def score(self, X, y=None) -> float:
        """Accuracy on a Dataset, or on sequences `X` with labels `y`."""
        labels = list(getattr(X, "labels", y))
        unknown = sorted(set(labels) - set(self.classes_))
        if unknown:
            raise UnknownLabelError(
                f"labels {unknown} are unknown to {self.path.name} (it knows {list(self.classes_)})"
            )
        return float(np.mean(self.predict(X) == np.array(labels)))

    # ------------------------------------------------------------------ streaming
    def stepper(self, *, stateful: bool = True) -> FrameClassifier:
        """A per-frame classifier over feature rows (F,).

        Args:
            stateful: use the embedded single-step model (one invoke per frame for
                its staggered lanes, see docs/streaming.md); False, or a file without
                one, re-runs the window model over the last W rows every frame.
        """
        if stateful and self._stream_content is not None:
            return StatefulStepper(
                self._stream_content,
                signature=self._stream_signature,
                window=self.spec.window,
                classes=len(self.classes_),
                features=self.spec.frame_features,
                num_threads=self._num_threads,
                where=str(self.path),
            )
        return WindowStepper(self.predict_window, self.spec.window)
