"""LiteRT interpreters with named tensors: the one place the runtime touches LiteRT."""

from __future__ import annotations

from poseact.core.errors import ModelFormatError


def interpreter_class():
    """LiteRT's `Interpreter` class (from `ai-edge-litert`, a dependency of poseact)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - exercised only without ai-edge-litert
        raise ImportError("poseact.runtime needs LiteRT: pip install ai-edge-litert") from None
    return Interpreter


class Runner:
    """One LiteRT interpreter with named inputs/outputs, invoked on batch-1 tensors."""

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
