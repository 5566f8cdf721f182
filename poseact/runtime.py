"""Run exported poseact models with LiteRT: numpy + `ai-edge-litert`, no TensorFlow.

This module (with `poseact.normalize`, `poseact.sequence` and `poseact.errors`, which
it uses) is all a phone, a Pi or a server needs to classify landmark sequences:

    >>> model = TFLiteGestureModel("gestures.tflite")
    >>> model.predict([sequence])            # offline: whole clips
    >>> recognizer = StreamingRecognizer(model)
    >>> for event in recognizer.push(t, landmarks, visibility): ...   # live

It never imports TensorFlow or Keras. Without `ai-edge-litert` it falls back to
`tf.lite.Interpreter`, if TensorFlow happens to be installed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.errors import ModelFormatError, UnknownLabelError
from poseact.normalize import Normalizer, NormalizerSpec, StreamingFeaturizer
from poseact.sequence import LandmarkSequence

__all__ = [
    "read_model_metadata",
    "TFLiteGestureModel",
    "DecisionOptions",
    "GestureEvent",
    "StreamingRecognizer",
]

logger = logging.getLogger(__name__)

_TFLITE_MAGIC = b"TFL3"
_METADATA_FORMAT = "poseact-tflite"


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - exercised only without ai-edge-litert
        try:
            import tensorflow as tf
        except ImportError:
            raise ImportError("poseact.runtime needs LiteRT: pip install ai-edge-litert") from None
        Interpreter = tf.lite.Interpreter
    return Interpreter


def _read_model_file(path: Path) -> tuple[bytes, dict[str, Any], bytes | None]:
    """(window model bytes, metadata, stream model bytes or None); validated."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFormatError(f"model file {path} does not exist") from None
    except OSError as exc:
        raise ModelFormatError(f"cannot read model file {path} ({exc})") from None
    if len(data) < 8 or data[4:8] != _TFLITE_MAGIC:
        raise ModelFormatError(f"{path} is not a TFLite model (no TFL3 identifier)")
    try:
        with zipfile.ZipFile(path) as zf:
            metadata = json.loads(zf.read("poseact.json"))
            names = set(zf.namelist())
            stream_name = (metadata.get("stream") or {}).get("file")
            stream = zf.read(stream_name) if stream_name and stream_name in names else None
    except Exception as exc:  # zipfile, zlib, json: any damage to the appended archive
        raise ModelFormatError(
            f"{path} is a TFLite model but not a poseact model: it carries no poseact"
            f" metadata ({type(exc).__name__}); export it with poseact.export_tflite"
        ) from None
    if not isinstance(metadata, dict) or metadata.get("format") != _METADATA_FORMAT:
        raise ModelFormatError(f"{path}: metadata is not poseact's ({_METADATA_FORMAT})")
    # The network itself lies outside the (CRC-checked) archive: check it against the
    # sha256 written at export before LiteRT parses it (a damaged flatbuffer can crash
    # the interpreter). Files exported before poseact recorded it are not checked.
    digest, size = metadata.get("model_sha256"), metadata.get("model_size")
    if digest is not None and (
        not isinstance(size, int)
        or not 8 <= size <= len(data)
        or hashlib.sha256(data[:size]).hexdigest() != digest
    ):
        raise ModelFormatError(
            f"{path}: checksum mismatch: the network does not match the sha256 recorded"
            " when it was exported, so the file is corrupt; copy, download or export it again"
        )
    digest = (metadata.get("stream") or {}).get("sha256") if stream is not None else None
    if digest is not None and hashlib.sha256(stream).hexdigest() != digest:
        raise ModelFormatError(
            f"{path}: checksum mismatch: the stream model does not match the sha256 recorded"
            " when it was exported, so the file is corrupt; copy, download or export it again"
        )
    return data, metadata, stream


def read_model_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The `poseact.json` metadata embedded in an exported model (labels, spec, ...).

    Raises:
        ModelFormatError: not a TFLite file, or not a poseact model.
    """
    return _read_model_file(Path(path))[1]


class _Runner:
    """One LiteRT interpreter with named inputs/outputs, invoked on batch-1 tensors."""

    def __init__(self, content: bytes, num_threads: int | None, where: str) -> None:
        Interpreter = _interpreter_class()
        try:
            self.interpreter = Interpreter(model_content=content, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except Exception as exc:  # LiteRT raises ValueError, RuntimeError, ...
            raise ModelFormatError(f"{where}: LiteRT cannot load the model ({exc})") from None
        self.where = where
        self.inputs = self.interpreter.get_input_details()
        self.outputs = self.interpreter.get_output_details()

    def input_index(self, name_part: str) -> dict:
        for detail in self.inputs:
            if name_part in detail["name"]:
                return detail
        raise ModelFormatError(f"{self.where}: model has no input named like {name_part!r}")

    def invoke(self) -> None:
        try:
            self.interpreter.invoke()
        except Exception as exc:  # a damaged model can load and still fail to run
            raise ModelFormatError(f"{self.where}: LiteRT cannot run the model ({exc})") from None


class TFLiteGestureModel:
    """An exported poseact model, run by LiteRT.

    Args:
        path: a `.tflite` written by `poseact.export_tflite`.
        num_threads: LiteRT CPU threads (None: LiteRT's default).

    Attributes:
        classes_: (C,) labels, in output order.
        background: the "no gesture" class, or None.
        spec: the `NormalizerSpec` the model was trained with.
        metadata: the whole embedded metadata dict.

    Raises:
        ModelFormatError: the file is missing, not TFLite, or not a poseact model.
    """

    def __init__(self, path: str | os.PathLike, *, num_threads: int | None = None) -> None:
        self.path = Path(path)
        content, metadata, stream = _read_model_file(self.path)
        try:
            self.spec = NormalizerSpec.from_dict(metadata["normalizer"])
            self.classes_ = np.array([str(c) for c in metadata["classes"]])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{self.path}: invalid poseact metadata ({exc})") from None
        self.metadata = metadata
        self.background: str | None = metadata.get("background")
        self.normalizer = Normalizer(self.spec)
        self._num_threads = num_threads
        self._window = _Runner(content, num_threads, str(self.path))
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
        self._stream_content = stream

    def __enter__(self) -> TFLiteGestureModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the interpreter (optional; also done by garbage collection)."""
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
        runner = self._window
        if runner is None:
            raise ModelFormatError(f"{self.path}: model is closed")
        interpreter = runner.interpreter
        interpreter.set_tensor(runner.inputs[0]["index"], window[None].astype(np.float32))
        runner.invoke()
        return interpreter.get_tensor(runner.outputs[0]["index"])[0].copy()

    def predict_proba(self, X) -> np.ndarray:
        """(N, C) class probabilities for sequences (or a (N, W, F) feature array)."""
        x = self.features(X)
        out = np.empty((len(x), len(self.classes_)), dtype=np.float32)
        for i, window in enumerate(x):
            out[i] = self.predict_window(window)
        return out

    def predict(self, X) -> np.ndarray:
        """(N,) predicted labels."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

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
            return _StatefulStepper(self)
        return _WindowStepper(self)


class FrameClassifier:
    """Feeds normalized feature rows (F,) one at a time; returns (C,) probabilities."""

    def reset(self) -> None:
        raise NotImplementedError

    def step(self, row: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _StatefulStepper(FrameClassifier):
    """Runs the embedded single-step model: one invoke per frame for all lanes.

    The model was trained on `window`-frame windows from a zero state, so a state is
    not carried forever: L lanes (the stream model's batch size, 2 by default) run
    staggered by window / L frames, each restarting from zero after `window` frames,
    and the lane that has seen the most frames answers. With 2 lanes every answer
    covers the last W/2 to W frames, and a clip of exactly W frames gives the window
    model's answer (see docs/streaming.md). All lanes share one invoke (batch L).
    """

    def __init__(self, model: TFLiteGestureModel) -> None:
        self.window = model.spec.window
        self._runner = _Runner(model._stream_content, model._num_threads, str(model.path))
        frame = self._runner.input_index("frame")
        state = self._runner.input_index("state")
        self._frame, self._state = frame["index"], state["index"]
        lanes = int(state["shape"][0])
        self._size = int(state["shape"][-1])
        self._offsets = np.array([round(j * self.window / lanes) for j in range(lanes)])
        self._lane_offsets = [int(offset) for offset in self._offsets]
        self._features = int(frame["shape"][-1])
        outputs = self._runner.outputs
        classes = len(model.classes_)
        if len(outputs) != 2 or int(frame["shape"][0]) != lanes:
            raise ModelFormatError(f"{model.path}: stream model has unexpected tensors")
        # outputs: probabilities (L, C), then state (L, S); the ":N" name suffix gives
        # the exporter's order when the two have the same size
        ordered = sorted(outputs, key=lambda o: o["name"].rsplit(":", 1)[-1])
        if int(ordered[0]["shape"][-1]) != classes and int(ordered[1]["shape"][-1]) == classes:
            ordered.reverse()
        probs, new_state = ordered
        self._probs_index, self._state_index = probs["index"], new_state["index"]
        self._rows = np.zeros((lanes, self._features), np.float32)
        self.reset()

    @property
    def lanes(self) -> int:
        return len(self._offsets)

    def reset(self) -> None:
        self._n = 0
        self._states = np.zeros((self.lanes, self._size), np.float32)

    def step(self, row: np.ndarray) -> np.ndarray:
        # The lanes' ages in plain Python: numpy calls on 2 numbers cost as much as the
        # invoke. The lane that has seen the most frames answers (the first if tied).
        n, answer, oldest = self._n, 0, -1
        for lane, offset in enumerate(self._lane_offsets):
            if n < offset:
                continue  # not started yet
            age = (n - offset) % self.window
            if age == 0:
                self._states[lane] = 0.0  # a lane restarts from a zero state
            if age > oldest:
                answer, oldest = lane, age
        self._rows[:] = row
        interp = self._runner.interpreter
        interp.set_tensor(self._frame, self._rows)
        interp.set_tensor(self._state, self._states)
        self._runner.invoke()
        self._states = interp.get_tensor(self._state_index)  # a copy already
        self._n += 1
        return interp.get_tensor(self._probs_index)[answer].copy()


class _WindowStepper(FrameClassifier):
    """Re-runs the window model over the last W rows (for the MLP baselines)."""

    def __init__(self, model: TFLiteGestureModel) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self._rows: deque[np.ndarray] = deque(maxlen=self.model.spec.window)

    def step(self, row: np.ndarray) -> np.ndarray:
        self._rows.append(row)
        rows = list(self._rows)
        W = self.model.spec.window
        if len(rows) < W:
            first = rows[0].copy()
            if self.model.spec.velocity:  # padding repeats the first frame: no motion
                half = len(first) // 2
                first[half:] = 0.0
            rows = [first] * (W - len(rows)) + rows
        return self.model.predict_window(np.stack(rows))


# ---------------------------------------------------------------------- decisions
@dataclass(frozen=True, kw_only=True)
class DecisionOptions:
    """How per-frame probabilities become gesture events.

    Attributes:
        smoothing: "ema" (exponential moving average) or "majority" (vote over the
            last `majority_frames` argmaxes; confidence is the mean probability).
        ema_alpha: weight of the newest frame in the EMA, in (0, 1].
        majority_frames: frames in the majority vote.
        threshold: minimum smoothed confidence to accept a non-background label.
        min_frames: frames a new label must persist before it is accepted (hysteresis).
        cooldown: seconds after an event ends during which the same label cannot fire.
    """

    smoothing: str = "ema"
    ema_alpha: float = 0.3
    majority_frames: int = 5
    threshold: float = 0.6
    min_frames: int = 3
    cooldown: float = 0.5

    def __post_init__(self) -> None:
        if self.smoothing not in ("ema", "majority"):
            raise ValueError("DecisionOptions.smoothing must be 'ema' or 'majority'")
        if not 0.0 < self.ema_alpha <= 1.0:
            raise ValueError("DecisionOptions.ema_alpha must be in (0, 1]")
        if self.majority_frames < 1 or self.min_frames < 1:
            raise ValueError("DecisionOptions frame counts must be >= 1")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("DecisionOptions.threshold must be in [0, 1]")
        if self.cooldown < 0:
            raise ValueError("DecisionOptions.cooldown must be >= 0 seconds")


@dataclass(frozen=True)
class GestureEvent:
    """A recognized gesture: `label` from `start` to `end` (seconds, stream time).

    `end` is None while the gesture is still going on (the "started" event).
    `confidence` is the highest smoothed probability seen during the event.
    """

    label: str
    start: float
    end: float | None
    confidence: float


class StreamingRecognizer:
    """Live recognition: landmarks frame by frame in, gesture events out.

    Each pushed camera frame is normalized and resampled to the model's rate
    (`StreamingFeaturizer`), classified one step at a time, smoothed, thresholded,
    and turned into events: one when a gesture starts and one when it ends.

    Args:
        model: a `TFLiteGestureModel` or a path to an exported `.tflite`.
        options: `DecisionOptions`.
        on_event: optional callback called with each `GestureEvent`.
        stateful: classify with the single-step model (cheap); False re-runs the
            window model every frame (the reference the stateful path is tested against).
    """

    def __init__(
        self,
        model: TFLiteGestureModel | str | os.PathLike,
        options: DecisionOptions | None = None,
        *,
        on_event: Callable[[GestureEvent], None] | None = None,
        stateful: bool = True,
    ) -> None:
        self.model = model if isinstance(model, TFLiteGestureModel) else TFLiteGestureModel(model)
        self.options = options or DecisionOptions()
        self.on_event = on_event
        self._featurizer = StreamingFeaturizer(self.model.spec)
        self._stepper = self.model.stepper(stateful=stateful)
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self._featurizer.reset()
        self._stepper.reset()
        self._smoothed: np.ndarray | None = None
        self._votes: deque[int] = deque(maxlen=self.options.majority_frames)
        self._recent: deque[np.ndarray] = deque(maxlen=self.options.majority_frames)
        self._candidate: str | None = None
        self._candidate_count = 0
        self._candidate_start = 0.0
        self._current: str | None = None
        self._current_start = 0.0
        self._current_peak = 0.0
        self._last_end: dict[str, float] = {}
        self.label: str | None = None
        self.confidence: float = 0.0
        self.probabilities: np.ndarray = np.zeros(len(self.model.classes_), np.float32)

    def _smooth(self, probs: np.ndarray) -> tuple[int, float]:
        opts = self.options
        if opts.smoothing == "ema":
            if self._smoothed is None:
                self._smoothed = probs.copy()
            else:
                self._smoothed = opts.ema_alpha * probs + (1 - opts.ema_alpha) * self._smoothed
            self.probabilities = self._smoothed
            best = int(np.argmax(self._smoothed))
            return best, float(self._smoothed[best])
        self._votes.append(int(np.argmax(probs)))
        self._recent.append(probs)
        counts = np.bincount(np.array(self._votes), minlength=len(probs))
        best = int(np.argmax(counts))
        mean = np.mean(np.stack(self._recent), axis=0)
        self.probabilities = mean
        return best, float(mean[best])

    def push(
        self,
        timestamp: float,
        landmarks: np.ndarray,
        visibility: np.ndarray,
        image_size: tuple[int, int] | None = None,
    ) -> list[GestureEvent]:
        """Feed one camera frame's landmarks; returns the events it completed or began.

        Args:
            timestamp: seconds (any origin), increasing.
            landmarks: (K, 3) normalized image coordinates, NaN where not detected.
            visibility: (K,) in [0, 1].
            image_size: (width, height) of the camera frame in pixels.
        """
        events: list[GestureEvent] = []
        rows = self._featurizer.push(timestamp, landmarks, visibility, image_size)
        for row in rows:
            probs = self._stepper.step(row)
            if probs is None:
                continue
            best, confidence = self._smooth(probs)
            events += self._decide(str(self.model.classes_[best]), confidence, float(timestamp))
        for event in events:
            if self.on_event is not None:
                self.on_event(event)
        return events

    def _decide(self, label: str, confidence: float, now: float) -> list[GestureEvent]:
        opts = self.options
        accepted = label if confidence >= opts.threshold else None
        if accepted == self.model.background:
            accepted = None
        self.label, self.confidence = label, confidence
        events: list[GestureEvent] = []
        if accepted == self._current:
            self._candidate, self._candidate_count = None, 0
            if accepted is not None:
                self._current_peak = max(self._current_peak, confidence)
            return events
        if accepted != self._candidate:
            self._candidate, self._candidate_count, self._candidate_start = accepted, 0, now
        self._candidate_count += 1
        if self._candidate_count < opts.min_frames:
            return events
        if self._current is not None:
            events.append(GestureEvent(self._current, self._current_start, now, self._current_peak))
            self._last_end[self._current] = now
        self._current = None
        if accepted is not None:
            last = self._last_end.get(accepted)
            if last is not None and now - last < opts.cooldown:
                return events
            self._current, self._current_start = accepted, self._candidate_start
            self._current_peak = confidence
            events.append(GestureEvent(accepted, self._candidate_start, None, confidence))
        self._candidate, self._candidate_count = None, 0
        return events

    def finish(self, timestamp: float) -> list[GestureEvent]:
        """End the stream at `timestamp`: closes a gesture still going on."""
        events = []
        if self._current is not None:
            events.append(
                GestureEvent(
                    self._current, self._current_start, float(timestamp), self._current_peak
                )
            )
            self._last_end[self._current] = float(timestamp)
            self._current = None
        for event in events:
            if self.on_event is not None:
                self.on_event(event)
        return events

    def run(
        self,
        frames: Iterator[tuple[float, np.ndarray, np.ndarray]] | Sequence,
        image_size: tuple[int, int] | None = None,
    ) -> Iterator[GestureEvent]:
        """Iterate events over (timestamp, landmarks (K, 3), visibility (K,)) frames."""
        last = None
        for timestamp, landmarks, visibility in frames:
            last = timestamp
            yield from self.push(timestamp, landmarks, visibility, image_size)
        if last is not None:
            yield from self.finish(last)
