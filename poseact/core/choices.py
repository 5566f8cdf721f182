"""Every fixed list of choices, in one dependency-free module.

The options dataclasses validate against these, and the CLI builds its `choices=` and
help from them without importing Keras, scikit-learn or MediaPipe.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Architecture",
    "ARCHITECTURE_TABLE",
    "ARCHITECTURES",
    "AUTO_CANDIDATES",
    "MODEL_ARCHITECTURES",
    "RECURRENT",
    "STREAMING",
    "INPUT_STREAMS",
    "SAMPLINGS",
    "CENTERS",
    "SCALES",
    "QUANTIZATIONS",
    "SMOOTHINGS",
    "EXTRACTION_LAYOUTS",
    "IMAGE_SUFFIXES",
]


@dataclass(frozen=True)
class Architecture:
    """Everything poseact needs to know about one network architecture (one row each).

    Attributes:
        name: as `ModelOptions.architecture` takes it.
        body: how the window model is built (`poseact.train.networks`): "recurrent"
            (GRU or LSTM layers), "trunk" (a trunk of `poseact.train.zoo`), "frame_mlp"
            (per-frame MLP, averaged) or "window_mlp" (an MLP over the whole window).
        step: its single-step form for live streams, which carries a state: "cells"
            (the recurrent cells; GRU 1 state vector per layer, LSTM 2), "tcn" (each
            conv level's past inputs), or None: it streams by re-running the window
            model over the last W rows.
        int8: how `export_tflite` quantizes it to int8: "full_integer", or
            "dynamic_range" (weights only: a looped recurrent layer crashes the
            converter, and statistics pooling's standard deviation loses too much in
            8-bit activations).
    """

    name: str
    body: str
    step: str | None
    int8: str

    @property
    def streams(self) -> bool:
        """True when it has a single-step stateful model (exact, one invoke a frame)."""
        return self.step is not None


#: One row per architecture: adding one is a row here and its builder (see docs/models.md).
ARCHITECTURE_TABLE = {
    a.name: a
    for a in (
        Architecture("gru", body="recurrent", step="cells", int8="dynamic_range"),
        Architecture("lstm", body="recurrent", step="cells", int8="dynamic_range"),
        Architecture("frame_mlp", body="frame_mlp", step=None, int8="full_integer"),
        Architecture("window_mlp", body="window_mlp", step=None, int8="full_integer"),
        Architecture("early_fusion", body="window_mlp", step=None, int8="full_integer"),
        Architecture("late_fusion", body="trunk", step=None, int8="full_integer"),
        Architecture("tcn", body="trunk", step="tcn", int8="full_integer"),
        Architecture("transformer", body="trunk", step=None, int8="full_integer"),
        Architecture("stats_pool", body="trunk", step=None, int8="dynamic_range"),
    )
}
#: Every `ModelOptions.architecture` (see docs/models.md).
ARCHITECTURES = tuple(ARCHITECTURE_TABLE)
#: What `ModelOptions(architecture="auto")` chooses among, in order (see train/auto.py).
AUTO_CANDIDATES = ("stats_pool", "gru", "tcn")
#: Every value of `ModelOptions.architecture`: a zoo architecture or "auto".
MODEL_ARCHITECTURES = (*ARCHITECTURES, "auto")
#: Architectures built of recurrent layers.
RECURRENT = tuple(a.name for a in ARCHITECTURE_TABLE.values() if a.body == "recurrent")
#: Architectures exported with a single-step streaming model (stateful, exact).
STREAMING = tuple(a.name for a in ARCHITECTURE_TABLE.values() if a.streams)
#: Every `ModelOptions.inputs`: which feature streams the network reads.
INPUT_STREAMS = ("positions", "velocities", "both", "two_branch")
#: Every `NormalizerSpec.sampling`: how a clip becomes one window.
SAMPLINGS = ("center", "end", "segments")
#: Every `NormalizerSpec.center` (body parts of kind "body").
CENTERS = ("hips", "shoulders")
#: Every `NormalizerSpec.scale` (body parts of kind "body").
SCALES = ("torso", "shoulders")
#: Every `export_tflite` quantization.
QUANTIZATIONS = ("float", "float16", "int8")
#: Every `DecisionOptions.smoothing`.
SMOOTHINGS = ("ema", "majority")
#: The layouts MediaPipe extraction produces (`ExtractorOptions.layout`).
EXTRACTION_LAYOUTS = ("pose", "hands", "pose+hands")
#: Photos poseact reads (MediaPipe's IMAGE mode): one-frame clips, e.g. a Model Maker
#: folder `label/*.jpg`.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
