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
    "WriteError": "poseact.errors",
    # extract
    "resolve_model": "poseact.assets",
    "ExtractorOptions": "poseact.landmarks",
    "LandmarkExtractor": "poseact.landmarks",
    "LandmarkCache": "poseact.landmarks",
    "extract_video": "poseact.landmarks",
    "extract_image": "poseact.landmarks",
    "extract_frames": "poseact.landmarks",
    "extract_cached": "poseact.landmarks",
    "extract_many": "poseact.landmarks",
    "open_source": "poseact.landmarks",
    "write_video": "poseact.landmarks",
    # normalize
    "NormalizerSpec": "poseact.normalize",
    "Normalizer": "poseact.normalize",
    "StreamingFeaturizer": "poseact.normalize",
    # dataset
    "Dataset": "poseact.dataset",
    "AugmentOptions": "poseact.augment",
    "generate_activities": "poseact.synthetic",
    # public dataset formats
    "read_landmark_table": "poseact.converters",
    "read_holistic_folder": "poseact.converters",
    "read_holistic_npz": "poseact.converters",
    "read_pyskl_pickle": "poseact.converters",
    "read_public_dataset": "poseact.converters",
    "coco17_to_pose": "poseact.converters",
    # model
    "GestureClassifier": "poseact.classifier",
    "ModelOptions": "poseact.classifier",
    "TrainingOptions": "poseact.classifier",
    "EvaluationReport": "poseact.evaluate",
    "evaluate": "poseact.evaluate",
    # reuse and comparison
    "FineTuneOptions": "poseact.fewshot",
    "RehearsalMemory": "poseact.fewshot",
    "DistillOptions": "poseact.fewshot",
    "distill": "poseact.fewshot",
    "CompareOptions": "poseact.compare",
    "ComparisonReport": "poseact.compare",
    "compare_models": "poseact.compare",
    # export and runtime
    "export_tflite": "poseact.export",
    "ExportReport": "poseact.export",
    "TFLiteGestureModel": "poseact.runtime",
    "StreamingRecognizer": "poseact.runtime",
    "DecisionOptions": "poseact.runtime",
    "GestureEvent": "poseact.runtime",
    "read_model_metadata": "poseact.runtime",
    # live use
    "RecorderOptions": "poseact.recorder",
    "record_dataset": "poseact.recorder",
    "run_live": "poseact.live",
    "iter_events": "poseact.live",
    "LiveStats": "poseact.live",
    # files and the demo
    "load_model": "poseact.loading",
    "load_dataset": "poseact.loading",
    "load_sequence": "poseact.loading",
    "load_default_dataset": "poseact.loading",
    "run_demo": "poseact.demo",
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
    from poseact.assets import resolve_model  # noqa: F401
    from poseact.augment import AugmentOptions  # noqa: F401
    from poseact.classifier import GestureClassifier, ModelOptions, TrainingOptions  # noqa: F401
    from poseact.compare import CompareOptions, ComparisonReport, compare_models  # noqa: F401
    from poseact.converters import (  # noqa: F401
        coco17_to_pose,
        read_holistic_folder,
        read_holistic_npz,
        read_landmark_table,
        read_public_dataset,
        read_pyskl_pickle,
    )
    from poseact.dataset import Dataset  # noqa: F401
    from poseact.demo import run_demo  # noqa: F401
    from poseact.errors import *  # noqa: F403
    from poseact.evaluate import EvaluationReport, evaluate  # noqa: F401
    from poseact.export import ExportReport, export_tflite  # noqa: F401
    from poseact.fewshot import (  # noqa: F401
        DistillOptions,
        FineTuneOptions,
        RehearsalMemory,
        distill,
    )
    from poseact.landmarks import (  # noqa: F401
        ExtractorOptions,
        LandmarkCache,
        LandmarkExtractor,
        extract_cached,
        extract_frames,
        extract_image,
        extract_many,
        extract_video,
        open_source,
    )
    from poseact.live import LiveStats, iter_events, run_live  # noqa: F401
    from poseact.loading import (  # noqa: F401
        load_dataset,
        load_default_dataset,
        load_model,
        load_sequence,
    )
    from poseact.normalize import Normalizer, NormalizerSpec, StreamingFeaturizer  # noqa: F401
    from poseact.recorder import RecorderOptions, record_dataset  # noqa: F401
    from poseact.runtime import (  # noqa: F401
        DecisionOptions,
        GestureEvent,
        StreamingRecognizer,
        TFLiteGestureModel,
        read_model_metadata,
    )
    from poseact.sequence import LAYOUTS, LandmarkSequence, Layout, get_layout  # noqa: F401
    from poseact.synthetic import generate_activities  # noqa: F401
