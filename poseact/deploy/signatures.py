"""One `.tflite` holding the window and the single-step model as two signatures.

The TF 2.21 converter cannot write both forms into one model from Keras: converting two
functions of one `tf.Module` (`from_concrete_functions` with the module, or a SavedModel
with two signatures) keeps the weights as resource variables and writes no initializer,
so every signature fails with `READ_VARIABLE ... variable != nullptr`; without the
module it converts one function only. So each form is converted on its own, by the path
that has always worked (builtin ops only, the same quantization), and the two
flatbuffers are merged here:

- the stream model's subgraphs are appended after the window model's (the window
  model stays subgraph 0, so a runtime that knows nothing of signatures still runs it);
- constant buffers with the same bytes are stored once: the converter quantizes and
  lays out the shared weights identically in both forms (GRU/LSTM kernels, the TCN's
  convolutions, the head), so nearly all weight bytes are shared;
- operator codes are merged, and the control-flow operators' subgraph indices
  (WHILE, IF, CALL_ONCE) shifted;
- the signatures are renamed `window` (input `window`, output `probabilities`) and
  `stream` (inputs `frame`, `state`; outputs `probabilities`, `state`).

Each signature then computes exactly what its model computed alone (tested bit for bit).
This module needs TensorFlow's flatbuffer schema, so it runs at export time only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["WINDOW_SIGNATURE", "STREAM_SIGNATURE", "merge_signatures"]

WINDOW_SIGNATURE = "window"
STREAM_SIGNATURE = "stream"
#: The schema's `force_align` for buffer data: kernels read weights in place.
_ALIGNMENT = 16


def _schema() -> Any:
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated


def _bytes(data: Any) -> bytes:
    return np.asarray(data, dtype=np.uint8).tobytes()


def _aligned_buffer_class(schema: Any) -> type:
    """`BufferT` whose `Pack` aligns the data to 16 bytes, as the C++ exporter does."""

    class AlignedBuffer(schema.BufferT):
        def Pack(self, builder) -> int:  # noqa: N802 (the schema's method name)
            data = None
            if self.data is not None and len(self.data):
                raw = _bytes(self.data)
                builder.StartVector(1, len(raw), _ALIGNMENT)
                builder.head = builder.head - len(raw)
                builder.Bytes[builder.head : builder.head + len(raw)] = raw
                data = builder.EndVector()
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return schema.BufferEnd(builder)

    return AlignedBuffer


def _version(text: bytes) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(b".") if part.isdigit())


def _rename_outputs(signature: Any, names: tuple[str, ...], what: str) -> None:
    """Name the outputs `output_0`, `output_1`, ... (Keras output order) as `names`."""
    outputs = list(signature.outputs or [])
    if len(outputs) != len(names):
        raise ValueError(f"the {what} model has {len(outputs)} outputs, expected {len(names)}")
    ordered = sorted(outputs, key=lambda o: int(o.name.rsplit(b"_", 1)[-1]))
    for output, name in zip(ordered, names):
        output.name = name.encode()


def merge_signatures(window: bytes, stream: bytes) -> bytes:
    """One flatbuffer with signatures `window` (subgraph 0) and `stream`, weights shared.

    Args:
        window: the converted window model (one signature; probabilities out).
        stream: the converted single-step model (one signature; probabilities and the
            new state out, in that order).

    Returns:
        The merged `.tflite` bytes.

    Raises:
        ValueError: a model has not exactly one signature, unexpected outputs, or
            operators this merge cannot relocate (StableHLO).
    """
    import flatbuffers

    schema = _schema()
    merged = schema.ModelT.InitFromPackedBuf(bytearray(window), 0)
    other = schema.ModelT.InitFromPackedBuf(bytearray(stream), 0)
    if len(merged.signatureDefs or []) != 1 or len(other.signatureDefs or []) != 1:
        raise ValueError("each model must have exactly one signature to be merged")

    def code_key(code: Any) -> tuple:
        return (code.builtinCode, code.deprecatedBuiltinCode, code.customCode, code.version)

    codes = {code_key(code): i for i, code in enumerate(merged.operatorCodes)}
    code_map = []
    for code in other.operatorCodes:
        key = code_key(code)
        if key not in codes:
            codes[key] = len(merged.operatorCodes)
            merged.operatorCodes.append(code)
        code_map.append(codes[key])

    by_content: dict[bytes, int] = {}
    for i, buffer in enumerate(merged.buffers):
        if buffer.data is not None and len(buffer.data):
            by_content.setdefault(_bytes(buffer.data), i)
    buffer_map: dict[int, int] = {0: 0}  # buffer 0 is the schema's empty sentinel

    def relocate(index: int) -> int:
        if index in buffer_map:
            return buffer_map[index]
        buffer = other.buffers[index]
        if buffer.data is not None and len(buffer.data):
            content = _bytes(buffer.data)
            if content in by_content:
                buffer_map[index] = by_content[content]
                return buffer_map[index]
            by_content[content] = len(merged.buffers)
        buffer_map[index] = len(merged.buffers)
        merged.buffers.append(buffer)
        return buffer_map[index]

    offset = len(merged.subgraphs)
    for subgraph in other.subgraphs:
        for tensor in subgraph.tensors or []:
            tensor.buffer = relocate(tensor.buffer)
        for op in subgraph.operators or []:
            op.opcodeIndex = code_map[op.opcodeIndex]
            options = op.builtinOptions
            if isinstance(options, schema.WhileOptionsT):
                options.condSubgraphIndex += offset
                options.bodySubgraphIndex += offset
            elif isinstance(options, schema.IfOptionsT):
                options.thenSubgraphIndex += offset
                options.elseSubgraphIndex += offset
            elif isinstance(options, schema.CallOnceOptionsT):
                options.initSubgraphIndex += offset
            if op.builtinOptions2Type:
                raise ValueError("the stream model has StableHLO operators; cannot merge it")
        merged.subgraphs.append(subgraph)

    first, second = merged.signatureDefs[0], other.signatureDefs[0]
    first.signatureKey = WINDOW_SIGNATURE.encode()
    second.signatureKey = STREAM_SIGNATURE.encode()
    second.subgraphIndex += offset
    _rename_outputs(first, ("probabilities",), "window")
    _rename_outputs(second, ("probabilities", "state"), "stream")
    merged.signatureDefs.append(second)

    # keep the newer of the two minimum runtime versions
    ours = {entry.name: entry for entry in merged.metadata or []}
    for entry in other.metadata or []:
        if entry.name == b"min_runtime_version" and entry.name in ours:
            mine = merged.buffers[ours[entry.name].buffer]
            theirs = other.buffers[entry.buffer]
            if _version(_bytes(theirs.data).rstrip(b"\0")) > _version(
                _bytes(mine.data).rstrip(b"\0")
            ):
                merged.buffers[ours[entry.name].buffer] = theirs

    aligned = _aligned_buffer_class(schema)
    for buffer in merged.buffers:
        buffer.__class__ = aligned
    builder = flatbuffers.Builder(len(window) + len(stream))
    builder.Finish(merged.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
