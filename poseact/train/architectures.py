"""Names of the model architectures and input streams (no imports: the CLI reads them
to build its help without loading Keras or scikit-learn)."""

from __future__ import annotations

__all__ = ["ARCHITECTURES", "RECURRENT", "STREAMING", "INPUT_STREAMS"]

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
)
RECURRENT = ("gru", "lstm")
#: Architectures exported with a single-step streaming model (stateful, exact).
STREAMING = RECURRENT + ("tcn",)
#: Every `ModelOptions.inputs`: which feature streams the network reads.
INPUT_STREAMS = ("positions", "velocities", "both", "two_branch")
