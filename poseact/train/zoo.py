"""The model zoo's Keras building blocks: input streams and the newer architectures.

`poseact.classifier.build_keras_model` assembles every network from three parts:

1. an input stage (`input_stage`) choosing the stream(s) the network sees from the
   normalizer's per-frame features [positions K·C | velocities K·C]: "positions",
   "velocities", "both" (concatenated, the default) or "two_branch" (one per-frame
   Dense branch per stream, concatenated: two-stream fusion);
2. a temporal trunk: GRU/LSTM, a per-frame MLP averaged over time, late fusion of the
   first and last segment, an MLP over the flattened window (early fusion), causal
   dilated 1D convolutions (TCN) or a small transformer encoder;
3. the softmax layer "head" (every architecture has one; fine-tuning replaces it).

The input stage lives inside the model, so an exported `.tflite` still takes the whole
normalizer feature vector and the runtime never needs to know which stream is used.
Every layer converts to TFLite builtin ops (tests/test_zoo.py checks it).

This module imports Keras at import time; `poseact.classifier` imports it lazily.
Custom layers are registered with Keras under the package name "poseact", so saved
models load as long as this module is imported (`GestureClassifier.load` does it).
"""

from __future__ import annotations

import keras
from keras import layers, ops

__all__ = [
    "Slice",
    "TemporalStd",
    "PositionEmbedding",
    "input_stage",
    "apply_input_stage",
    "tcn_dilations",
    "build_trunk",
    "build_tcn_step_model",
    "tcn_state_sizes",
]

_TCN_KERNEL = 3
_TCN_MAX_LEVELS = 6
#: Frames each unit of stats_pool's second frame-level layer sees (a centred 1-D
#: convolution, as the x-vector's TDNN layers): about 0.17 s at 30 fps.
STATS_POOL_CONTEXT = 5


# ---------------------------------------------------------------------- layers
@keras.saving.register_keras_serializable(package="poseact")
class Slice(layers.Layer):
    """`x[..., start:stop]` along `axis` (1: time, -1: features); builtin StridedSlice.

    Args:
        axis: 1 (time axis of (batch, time, features)) or -1 (last axis, any rank).
        start, stop: Python slice bounds (negative counts from the end).
    """

    def __init__(self, axis: int, start: int, stop: int | None, **kwargs) -> None:
        super().__init__(**kwargs)
        if axis not in (1, -1):
            raise ValueError(f"Slice axis must be 1 or -1, got {axis}")
        self.axis, self.start, self.stop = int(axis), int(start), stop

    def call(self, x):
        if self.axis == -1:
            return x[..., self.start : self.stop]
        return x[:, self.start : self.stop]

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="poseact")
class TemporalStd(layers.Layer):
    """Standard deviation over time: (batch, time, d) → (batch, d), builtin ops only.

    sqrt(max(E[x²] - E[x]², 0) + 1e-6): Mean, Mul, Sub, Maximum and Sqrt in TFLite.
    """

    def call(self, x):
        mean = ops.mean(x, axis=1)
        square = ops.mean(x * x, axis=1)
        return ops.sqrt(ops.maximum(square - mean * mean, 0.0) + 1e-6)


@keras.saving.register_keras_serializable(package="poseact")
class PositionEmbedding(layers.Layer):
    """Adds a learned (length, dim) position embedding to (batch, length, dim) inputs."""

    def __init__(self, length: int, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.length, self.dim = int(length), int(dim)

    def build(self, input_shape) -> None:
        self.embedding = self.add_weight(
            shape=(self.length, self.dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="embedding",
        )

    def call(self, x):
        return x + ops.expand_dims(self.embedding, 0)

    def get_config(self) -> dict:
        return {**super().get_config(), "length": self.length, "dim": self.dim}


# ---------------------------------------------------------------------- input streams
def input_stage(
    x, inputs: str, features: int, velocity: bool, units: int, positions: int | None = None
):
    """Select the input stream(s) from (batch, window, features) normalizer features.

    Args:
        x: the model input, (batch, window, features).
        inputs: "positions", "velocities", "both" or "two_branch" (positions in one
            branch, every other stream in the other).
        features: F, the normalizer's features per frame.
        velocity: whether the features hold velocities (right after the positions).
        units: width of each "two_branch" branch.
        positions: K·C, the width of the positions stream (the first features);
            None: half the features (positions and velocities only).

    Raises:
        ValueError: a velocity stream was asked for but the features have none.
    """
    if inputs in ("velocities", "two_branch") and not velocity:
        raise ValueError(
            f"ModelOptions.inputs={inputs!r} needs velocity features; use"
            " NormalizerSpec(velocity=True) or inputs='positions'"
        )
    if not velocity or inputs == "both":
        return x
    half = features // 2 if positions is None else int(positions)
    if inputs == "positions":
        return Slice(-1, 0, half, name="select_positions")(x)
    if inputs == "velocities":
        return Slice(-1, half, 2 * half, name="select_velocities")(x)
    p = Slice(-1, 0, half, name="select_positions")(x)
    v = Slice(-1, half, None, name="select_velocities")(x)
    p = layers.Dense(units, activation="relu", name="branch_positions")(p)
    v = layers.Dense(units, activation="relu", name="branch_velocities")(v)
    return layers.Concatenate(name="branch_merge")([p, v])


def apply_input_stage(model, frame):
    """Re-apply a trained model's input stage (shared layers) to one frame (batch, F)."""
    names = {layer.name for layer in model.layers}
    if "branch_merge" in names:
        p = model.get_layer("branch_positions")(model.get_layer("select_positions")(frame))
        v = model.get_layer("branch_velocities")(model.get_layer("select_velocities")(frame))
        return model.get_layer("branch_merge")([p, v])
    for name in ("select_positions", "select_velocities"):
        if name in names:
            return model.get_layer(name)(frame)
    return frame


# ---------------------------------------------------------------------- trunks
def tcn_dilations(window: int) -> list[int]:
    """Dilations 1, 2, 4, ... until the receptive field covers the window (≤ 6 levels)."""
    dilations, field = [], 1
    while field < window and len(dilations) < _TCN_MAX_LEVELS:
        d = 2 ** len(dilations)
        dilations.append(d)
        field += (_TCN_KERNEL - 1) * d
    return dilations or [1]


def _tcn(x, units: int, window: int):
    """Causal residual TCN; the last time step sees the whole window (streaming-friendly)."""
    x = layers.Dense(units, name="tcn_input")(x)
    for level, d in enumerate(tcn_dilations(window)):
        y = layers.Conv1D(
            units,
            _TCN_KERNEL,
            dilation_rate=d,
            padding="causal",
            activation="relu",
            name=f"tcn_conv_{level}",
        )(x)
        x = layers.Add(name=f"tcn_add_{level}")([x, y])
    x = Slice(1, window - 1, window, name="last_step")(x)
    return layers.Reshape((units,), name="last_frame")(x)


def _transformer(x, units: int, blocks: int, window: int):
    heads = 4 if units % 4 == 0 and units >= 16 else 1
    x = layers.Dense(units, name="embed")(x)
    x = PositionEmbedding(window, units, name="position")(x)
    for i in range(blocks):
        h = layers.LayerNormalization(epsilon=1e-5, name=f"attn_norm_{i}")(x)
        h = layers.MultiHeadAttention(heads, units // heads, name=f"attention_{i}")(h, h)
        x = layers.Add(name=f"attn_add_{i}")([x, h])
        h = layers.LayerNormalization(epsilon=1e-5, name=f"mlp_norm_{i}")(x)
        h = layers.Dense(2 * units, activation="relu", name=f"mlp_in_{i}")(h)
        h = layers.Dense(units, name=f"mlp_out_{i}")(h)
        x = layers.Add(name=f"mlp_add_{i}")([x, h])
    x = layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    return layers.GlobalAveragePooling1D(name="pool")(x)


def _late_fusion(x, units: int, window: int):
    """Karpathy et al.'s late fusion on landmarks: a shared per-frame tower over the
    first and the last segment (a third of the window each), merged only at the top."""
    segment = max(1, window // 3)
    tower = [
        layers.Dense(units, activation="relu", name="tower_0"),
        layers.Dense(units, activation="relu", name="tower_1"),
    ]
    ends = []
    for name, (a, b) in (("first", (0, segment)), ("last", (window - segment, window))):
        h = Slice(1, a, b, name=f"{name}_segment")(x)
        for layer in tower:
            h = layer(h)
        ends.append(layers.GlobalAveragePooling1D(name=f"{name}_pool")(h))
    x = layers.Concatenate(name="fusion")(ends)
    return layers.Dense(units, activation="relu", name="fusion_dense")(x)


def _stats_pool(x, units: int, dropout: float):
    """Statistics pooling (x-vector style): frame-level layers, then the mean, standard
    deviation and maximum of each unit over the whole window, then a small MLP.

    As in the x-vector's TDNN, the second frame-level layer is a temporal convolution
    (`STATS_POOL_CONTEXT` frames, centred): each unit sees a short stretch of motion, so
    the local order (which way a point turns, what follows what) survives the pooling,
    which otherwise keeps no frame order beyond the velocity and acceleration streams.
    It needs few clips to learn and exports with builtin ops."""
    x = layers.Dense(units, activation="relu", name="frame_dense_0")(x)
    x = layers.Conv1D(
        units, STATS_POOL_CONTEXT, padding="same", activation="relu", name="frame_context"
    )(x)
    pooled = [
        layers.GlobalAveragePooling1D(name="pool_mean")(x),
        TemporalStd(name="pool_std")(x),
        layers.GlobalMaxPooling1D(name="pool_max")(x),
    ]
    x = layers.Concatenate(name="pool")(pooled)
    x = layers.Dropout(dropout, name="pool_dropout")(x)
    return layers.Dense(units, activation="relu", name="pool_dense")(x)


def build_trunk(x, architecture: str, units: int, layers_: int, window: int, dropout: float):
    """Temporal trunk of the newer architectures: (batch, window, f) → (batch, d).

    `dropout` is applied by the caller before the head; the trunks add none (but
    "stats_pool" after pooling).
    """
    if architecture == "stats_pool":
        return _stats_pool(x, units, dropout)
    if architecture == "tcn":
        return _tcn(x, units, window)
    if architecture == "transformer":
        return _transformer(x, units, layers_, window)
    if architecture == "late_fusion":
        return _late_fusion(x, units, window)
    raise ValueError(f"no zoo trunk for architecture {architecture!r}")


# ---------------------------------------------------------------------- TCN streaming
def _tcn_convs(model) -> list:
    return sorted(
        (layer for layer in model.layers if layer.name.startswith("tcn_conv_")),
        key=lambda layer: int(layer.name.rsplit("_", 1)[1]),
    )


def tcn_state_sizes(model) -> list[int]:
    """Per conv level: the past inputs it needs, (kernel - 1) · dilation · channels."""
    sizes = []
    for conv in _tcn_convs(model):
        kernel, channels = conv.kernel.shape[0], conv.kernel.shape[1]
        sizes.append(int((kernel - 1) * conv.dilation_rate[0] * channels))
    return sizes


def build_tcn_step_model(model):
    """Single-step twin of a trained TCN: inputs "frame" (batch, F) and "state"
    (batch, S), outputs probabilities and the new state.

    The state holds, per conv level, its last (kernel - 1) · dilation inputs. A zero
    state is exactly the causal zero padding of the window model, so feeding W frames
    from a zero state gives the window model's output.
    """
    features = model.input_shape[-1]
    sizes = tcn_state_sizes(model)
    frame = keras.Input(shape=(features,), name="frame")
    state = keras.Input(shape=(sum(sizes),), name="state")
    x = apply_input_stage(model, frame)
    x = model.get_layer("tcn_input")(x)
    new_states, offset = [], 0
    for level, (conv, size) in enumerate(zip(_tcn_convs(model), sizes)):
        kernel, bias = conv.get_weights()
        k, channels, out = kernel.shape
        d = conv.dilation_rate[0]
        past = layers.Lambda(lambda s, a=offset, b=offset + size: s[:, a:b])(state)
        past = layers.Reshape(((k - 1) * d, channels))(past)
        now = layers.Reshape((1, channels))(x)
        history = layers.Concatenate(axis=1)([past, now])  # ((k-1)·d + 1, C)
        taps = layers.Lambda(lambda h, d=d: h[:, ::d])(history)  # (k, C)
        dense = layers.Dense(out, activation="relu", name=f"step_conv_{level}")
        y = dense(layers.Reshape((k * channels,))(taps))
        dense.set_weights([kernel.reshape(k * channels, out), bias])
        new_states.append(layers.Reshape((size,))(layers.Lambda(lambda h: h[:, 1:])(history)))
        x = model.get_layer(f"tcn_add_{level}")([x, y])
        offset += size
    for name in ("dropout", "head"):
        x = model.get_layer(name)(x)
    packed = new_states[0] if len(new_states) == 1 else layers.Concatenate()(new_states)
    return keras.Model([frame, state], [x, packed], name=f"{model.name}_step")
