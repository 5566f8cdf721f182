"""Keras networks: the window model of every architecture, and its single-step twin for streaming.

Keras is imported inside the functions: importing this module costs nothing."""

from __future__ import annotations

from poseact.core.choices import ARCHITECTURE_TABLE
from poseact.train.options import ModelOptions


# ---------------------------------------------------------------------- Keras models
def build_keras_model(
    options: ModelOptions,
    window: int,
    features: int,
    num_classes: int,
    *,
    velocity: bool = True,
    positions: int | None = None,
):
    """The Keras network: input (batch, window, features) → (batch, num_classes) probs.

    `velocity` says whether the features hold velocities beside positions (the
    normalizer's flag) and `positions` how many features the positions stream has
    (K·C; None: half the features); `options.inputs` selects streams inside the network.

    Raises:
        ValueError: `options.inputs` needs velocities but `velocity` is False.
    """
    import keras
    from keras import layers

    import poseact.train.zoo as zoo

    inputs = keras.Input(shape=(window, features), name="window")
    arch = options.architecture
    body = ARCHITECTURE_TABLE[arch].body
    x = zoo.input_stage(inputs, options.inputs, features, velocity, options.units, positions)
    if body == "trunk":
        x = zoo.build_trunk(x, arch, options.units, options.layers, window, options.dropout)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
    elif body == "recurrent":
        layer_cls = layers.GRU if arch == "gru" else layers.LSTM
        for i in range(options.layers):
            last = i == options.layers - 1
            x = layer_cls(options.units, return_sequences=not last, name=f"recurrent_{i}")(x)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
    elif body == "frame_mlp":
        x = layers.Dense(options.units, activation="relu", name="frame_dense_0")(x)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        x = layers.Dense(options.units, activation="relu", name="frame_dense_1")(x)
        x = layers.Dense(num_classes, activation="softmax", name="head")(x)
        outputs = layers.GlobalAveragePooling1D(name="average")(x)
    else:  # "window_mlp"
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(2 * options.units, activation="relu", name="dense_0")(x)
        x = layers.Dropout(options.dropout, name="dropout")(x)
        x = layers.Dense(options.units, activation="relu", name="dense_1")(x)
        outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=f"poseact_{arch}")


def state_sizes(model, architecture: str) -> list[int]:
    """Sizes of the recurrent state vectors, in the order the step model packs them."""
    if ARCHITECTURE_TABLE[architecture].step == "tcn":
        import poseact.train.zoo as zoo

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

    import poseact.train.zoo as zoo

    step = ARCHITECTURE_TABLE[architecture].step
    if step == "tcn":
        return zoo.build_tcn_step_model(model)
    if step != "cells":
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
