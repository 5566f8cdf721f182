"""poseact: pose-based gesture and activity recognition.

extract (MediaPipe) → normalize → dataset → classifier (Keras) → export (TFLite) →
runtime (LiteRT, no TensorFlow). Names are imported lazily so that `import poseact`
and `import poseact.runtime` stay fast and never import TensorFlow or MediaPipe.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data model
    "LandmarkSequence": "poseact.sequence",
    "Layout": "poseact.sequence",
    "LAYOUTS": "poseact.sequence",
    "get_layout": "poseact.sequence",
    # errors
    "PoseactError": "poseact.errors",
    "VideoReadError": "poseact.errors",
    "NoPoseDetected": "poseact.errors",
    "LandmarkFormatError": "poseact.errors",
    "DatasetError": "poseact.errors",
    "UnknownLabelError": "poseact.errors",
    "ModelFormatError": "poseact.errors",
    "ModelAssetError": "poseact.errors",
    "NotFittedError": "poseact.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'poseact' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from poseact.errors import *  # noqa: F403
    from poseact.sequence import LAYOUTS, LandmarkSequence, Layout, get_layout  # noqa: F401
