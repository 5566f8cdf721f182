"""LiteRT interpreters with named tensors: the one place the runtime touches LiteRT."""

from __future__ import annotations

import contextlib

from poseact.core.errors import ModelFormatError
from poseact.core.native import hidden_native_logs, hides_native_logs


def interpreter_class():
    """LiteRT's `Interpreter` class (from `ai-edge-litert`, a dependency of poseact)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - exercised only without ai-edge-litert
        raise ImportError("poseact.runtime needs LiteRT: pip install ai-edge-litert") from None
    return Interpreter


def _release(runner: object, *names: str) -> None:
    """Drop a runner's interpreter objects with their native logs hidden (LiteRT logs
    "DestroyAccelerator" as it frees them)."""
    with contextlib.suppress(Exception), hidden_native_logs():
        for name in names:
            runner.__dict__.pop(name, None)


class Runner:
    """One LiteRT interpreter with named inputs/outputs, invoked on batch-1 tensors."""

    @hides_native_logs
    def __init__(self, content: bytes, num_threads: int | None, where: str) -> None:
        Interpreter = interpreter_class()
        try:
            self.interpreter = Interpreter(model_content=content, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except Exception as exc:  # LiteRT raises ValueError, RuntimeError, ...
            raise ModelFormatError(f"{where}: LiteRT cannot load the model ({exc})") from None
        self.where = where
        self.inputs = self.interpreter.get_input_details()
        self.outputs = self.interpreter.get_output_details()

    def __del__(self) -> None:
        _release(self, "interpreter")

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


class SignatureRunner:
    """One signature of a LiteRT model, tensors set and read by their signature names.

    Shapes are static (poseact exports fixed batch sizes), so the signature's tensors
    are allocated once. Invoking goes straight to the interpreter's subgraph when
    LiteRT exposes it (as fast as the primary subgraph: ~15 µs per stream step),
    otherwise through LiteRT's public `SignatureRunner`, which re-allocates each call.

    Args:
        content: the model's bytes.
        signature: the signature key ("stream").
        num_threads: LiteRT CPU threads (None: LiteRT's default).
        where: what error messages name (the model file).

    Raises:
        ModelFormatError: LiteRT cannot load the model, or it has no such signature.
    """

    @hides_native_logs
    def __init__(self, content: bytes, signature: str, num_threads: int | None, where: str) -> None:
        Interpreter = interpreter_class()
        self.where = where
        try:
            self.interpreter = Interpreter(model_content=content, num_threads=num_threads)
            signatures = self.interpreter.get_signature_list()
        except Exception as exc:  # LiteRT raises ValueError, RuntimeError, ...
            raise ModelFormatError(f"{where}: LiteRT cannot load the model ({exc})") from None
        if signature not in signatures:
            raise ModelFormatError(
                f"{where}: the model has no {signature!r} signature (it has {sorted(signatures)})"
            )
        runner = self.interpreter.get_signature_runner(signature)
        self._runner = runner
        #: name -> tensor details (index, shape, dtype), as LiteRT reports them
        self.inputs: dict[str, dict] = runner.get_input_details()
        self.outputs: dict[str, dict] = runner.get_output_details()
        self._pending: dict[str, object] = {}
        self._results: dict[str, object] = {}
        wrapper = getattr(self.interpreter, "_interpreter", None)
        self._fast = all(
            hasattr(wrapper, name)
            for name in (
                "GetSubgraphIndexFromSignature",
                "AllocateTensors",
                "SetTensor",
                "GetTensor",
                "Invoke",
            )
        )
        if self._fast:
            try:
                self._subgraph = wrapper.GetSubgraphIndexFromSignature(signature)
                wrapper.AllocateTensors(self._subgraph)
            except Exception as exc:
                raise ModelFormatError(f"{where}: LiteRT cannot load the model ({exc})") from None
            self._wrapper = wrapper
            self._input_index = {name: int(d["index"]) for name, d in self.inputs.items()}
            self._output_index = {name: int(d["index"]) for name, d in self.outputs.items()}

    def __del__(self) -> None:
        _release(self, "_wrapper", "_runner", "interpreter")

    def set(self, name: str, value) -> None:
        """Set input `name` (a float32 array of its shape) for the next `invoke`."""
        if self._fast:
            self._wrapper.SetTensor(self._input_index[name], value, self._subgraph)
        else:
            self._pending[name] = value

    def invoke(self) -> None:
        try:
            if self._fast:
                self._wrapper.Invoke(self._subgraph)
            else:
                self._results = self._runner(**self._pending)
        except Exception as exc:  # a damaged model can load and still fail to run
            raise ModelFormatError(f"{self.where}: LiteRT cannot run the model ({exc})") from None

    def get(self, name: str):
        """Output `name` of the last `invoke` (a copy)."""
        if self._fast:
            return self._wrapper.GetTensor(self._output_index[name], self._subgraph)
        return self._results[name].copy()
