"""Every fixed list of choices, in one dependency-free module.

The options dataclasses validate against these, and the CLI builds its `choices=` and
help from them without importing Keras, scikit-learn or MediaPipe.
"""

from __future__ import annotations

__all__ = [
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
]

#: Every `ModelOptions.architecture` (see docs/models.md).
ARCHITECTURES = (
    "gru",
    "lstm",
    "frame_mlp",
    "window_mlp",
    "early_fusion",
    "late_fusion",
    "tcn",
    "transformer",
    "stats_pool",
)
#: What `ModelOptions(architecture="auto")` chooses among, in order (see train/auto.py).
AUTO_CANDIDATES = ("stats_pool", "gru", "tcn")
#: Every value of `ModelOptions.architecture`: a zoo architecture or "auto".
MODEL_ARCHITECTURES = (*ARCHITECTURES, "auto")
RECURRENT = ("gru", "lstm")
#: Architectures exported with a single-step streaming model (stateful, exact).
STREAMING = RECURRENT + ("tcn",)
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
