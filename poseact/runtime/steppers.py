"""Per-frame classifiers: feature rows (F,) in, class probabilities (C,) out."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import numpy as np

from poseact.core.errors import ModelFormatError, PoseactError
from poseact.runtime.litert import Runner, SignatureRunner


class FrameClassifier:
    """Feeds normalized feature rows (F,) one at a time; returns (C,) probabilities.

    Attributes:
        context: how many of the rows so far the last answer covers (the newest ones).
        rows: the `RowWindow` of the last W rows the classifier keeps to answer
            (`WindowStepper`), or None (the stream model keeps a state instead).
    """

    context: int = 0
    rows: RowWindow | None = None

    def reset(self) -> None:
        raise NotImplementedError

    def step(self, row: np.ndarray) -> np.ndarray:
        """(C,) probabilities after `row` (F,). A classifier keeps one stream's state:
        used from two threads at once it raises `PoseactError` (make one per thread)."""
        busy = self.__dict__.setdefault("_busy", threading.Lock())
        if not busy.acquire(blocking=False):
            raise PoseactError(
                f"{type(self).__name__} is being used from two threads at once; it keeps"
                " one stream's state: make one per stream (model.stepper() or a new"
                " StreamingRecognizer for each thread)"
            )
        try:
            return self._step(row)
        finally:
            busy.release()

    def _step(self, row: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class StatefulStepper(FrameClassifier):
    """Runs the embedded single-step model: one invoke per frame for all lanes.

    The model was trained on `window`-frame windows from a zero state, so a state is
    not carried forever: L lanes (the stream model's batch size, 2 by default) run
    staggered by window / L frames, each restarting from zero after `window` frames,
    and the lane that has seen the most frames answers. With 2 lanes every answer
    covers the last W/2 to W frames, and a clip of exactly W frames gives the window
    model's answer (see docs/streaming.md). All lanes share one invoke (batch L).

    Args:
        content: the `.tflite` holding the single-step model.
        signature: its signature in `content` (a version 2 file), or None when
            `content` is the separate single-step network of a version 1 file.
        window: W, the frames a lane sees before it restarts.
        classes: C, the number of classes.
        features: F, the features of one row.
        num_threads: LiteRT threads (None: LiteRT's default).
        where: the model file, named in errors.

    Raises:
        ModelFormatError: the single-step model's tensors do not fit these sizes.
    """

    def __init__(
        self,
        content: bytes,
        *,
        signature: str | None,
        window: int,
        classes: int,
        features: int,
        num_threads: int | None = None,
        where: str = "model",
    ) -> None:
        self.window = window
        if signature is not None:
            stream: _SignatureStream | _SeparateStream = _SignatureStream(
                content, signature, num_threads, where
            )
        else:
            stream = _SeparateStream(content, classes, num_threads, where)
        frame, state, probs = stream.frame_shape, stream.state_shape, stream.probs_shape
        lanes = int(state[0])
        if (
            int(frame[0]) != lanes
            or int(probs[0]) != lanes
            or int(probs[-1]) != classes
            or int(frame[-1]) != features
        ):
            raise ModelFormatError(f"{where}: stream model has unexpected tensors")
        self._stream = stream
        self._size = int(state[-1])
        self._offsets = np.array([round(j * self.window / lanes) for j in range(lanes)])
        self._lane_offsets = [int(offset) for offset in self._offsets]
        self._features = int(frame[-1])
        self._rows = np.zeros((lanes, self._features), np.float32)
        self.reset()

    @property
    def lanes(self) -> int:
        return len(self._offsets)

    def reset(self) -> None:
        self._n = 0
        self.context = 0
        self._states = np.zeros((self.lanes, self._size), np.float32)

    def _step(self, row: np.ndarray) -> np.ndarray:
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
        probs, self._states = self._stream.step(self._rows, self._states)
        self._n += 1
        self.context = oldest + 1
        return probs[answer].copy()


class _SignatureStream:
    """The `stream` signature of a version 2 model: frame, state in; probabilities, state out."""

    def __init__(self, content: bytes, signature: str, num_threads: int | None, where: str):
        self._runner = runner = SignatureRunner(content, signature, num_threads, where)
        if set(runner.inputs) != {"frame", "state"} or set(runner.outputs) != {
            "probabilities",
            "state",
        }:
            raise ModelFormatError(
                f"{where}: the {signature!r} signature has inputs {sorted(runner.inputs)}"
                f" and outputs {sorted(runner.outputs)}, expected frame, state and"
                " probabilities, state"
            )
        self.frame_shape = tuple(runner.inputs["frame"]["shape"])
        self.state_shape = tuple(runner.inputs["state"]["shape"])
        self.probs_shape = tuple(runner.outputs["probabilities"]["shape"])

    def step(self, rows: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (L, C), new states (L, S)) for rows (L, F), states (L, S)."""
        runner = self._runner
        runner.set("frame", rows)
        runner.set("state", states)
        runner.invoke()
        return runner.get("probabilities"), runner.get("state")  # copies already


class _SeparateStream:
    """The separate single-step network of a version 1 model file."""

    def __init__(self, content: bytes, classes: int, num_threads: int | None, where: str):
        self._runner = Runner(content, num_threads, where)
        frame = self._runner.input_index("frame")
        state = self._runner.input_index("state")
        self._frame, self._state = frame["index"], state["index"]
        outputs = self._runner.outputs
        if len(outputs) != 2:
            raise ModelFormatError(f"{where}: stream model has unexpected tensors")
        # outputs: probabilities (L, C), then state (L, S); the ":N" name suffix gives
        # the exporter's order when the two have the same size
        ordered = sorted(outputs, key=lambda o: o["name"].rsplit(":", 1)[-1])
        if int(ordered[0]["shape"][-1]) != classes and int(ordered[1]["shape"][-1]) == classes:
            ordered.reverse()
        probs, new_state = ordered
        self._probs_index, self._state_index = probs["index"], new_state["index"]
        self.frame_shape = tuple(frame["shape"])
        self.state_shape = tuple(state["shape"])
        self.probs_shape = tuple(probs["shape"])

    def step(self, rows: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        interp = self._runner.interpreter
        interp.set_tensor(self._frame, rows)
        interp.set_tensor(self._state, states)
        self._runner.invoke()
        return interp.get_tensor(self._probs_index), interp.get_tensor(self._state_index)


class RowWindow:
    """The last W feature rows (F,) as a (W, F) window, padded as the window model's
    input is until W rows have come: the first row repeated (`Normalizer.window` repeats
    a short clip's first frame; the featurizer's first row is that frame held, with no
    motion in its velocity and acceleration streams, so the rows are the same).

    Args:
        window: W.
    """

    def __init__(self, window: int) -> None:
        self.size = int(window)
        self.reset()

    def reset(self) -> None:
        self._rows: deque[np.ndarray] = deque(maxlen=self.size)
        self._window: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def push(self, row: np.ndarray) -> None:
        self._rows.append(row)
        self._window = None

    def window(self) -> np.ndarray:
        """(W, F) the rows so far, newest last (at least one must have been pushed);
        built once per push, however many readers ask (the classifier, the rejection
        rule)."""
        if self._window is None:
            rows = list(self._rows)
            rows = [rows[0]] * (self.size - len(rows)) + rows
            self._window = np.stack(rows)
            self._window.flags.writeable = False  # shared: nobody may change it
        return self._window


class WindowStepper(FrameClassifier):
    """Re-runs the window model over the last W rows (for the MLP baselines).

    Args:
        predict_window: (W, F) feature window → (C,) probabilities.
        window: W, the rows of a window.
    """

    def __init__(self, predict_window: Callable[[np.ndarray], np.ndarray], window: int) -> None:
        self.predict_window = predict_window
        self.rows = RowWindow(window)
        self.reset()

    def reset(self) -> None:
        self.rows.reset()
        self.context = 0

    def _step(self, row: np.ndarray) -> np.ndarray:
        self.rows.push(row)
        self.context = len(self.rows)
        return self.predict_window(self.rows.window())
