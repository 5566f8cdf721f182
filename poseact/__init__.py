"""poseact: pose-based gesture and activity recognition.

extract (MediaPipe) → normalize → data → train (Keras) → deploy (TFLite) → runtime
(LiteRT, no TensorFlow): each stage is a sub-package (docs/pipeline.md). Names are
imported lazily, so that `import poseact` and `import poseact.runtime` stay fast and
never import TensorFlow or MediaPipe.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from poseact.core.native import hidden_native_logs as _hidden_native_logs  # noqa: E402
from poseact.core.native import quiet_native_logs as _quiet_native_logs  # noqa: E402

# Before TensorFlow or MediaPipe load (they read their log levels once): quieter C++ logs.
_quiet_native_logs()
# OpenCV refuses to decode images above this many pixels (its default is 2**30): the
# same limit as poseact's own header check (core.archives.MAX_IMAGE_PIXELS), for every
# format OpenCV reads, before cv2 loads.
__import__("os").environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", "100000000")

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data model
    "LandmarkSequence": "poseact.core.sequence",
    "Layout": "poseact.core.layouts",
    "LAYOUTS": "poseact.core.layouts",
    "get_layout": "poseact.core.layouts",
    "register_layout": "poseact.core.layouts",
    "BodyPart": "poseact.core.layouts",
    # errors
    "PoseactError": "poseact.core.errors",
    "VideoReadError": "poseact.core.errors",
    "NoPoseDetected": "poseact.core.errors",
    "LandmarkFormatError": "poseact.core.errors",
    "DatasetError": "poseact.core.errors",
    "UnknownLabelError": "poseact.core.errors",
    "ModelFormatError": "poseact.core.errors",
    "ModelAssetError": "poseact.core.errors",
    "NotFittedError": "poseact.train.classifier",
    "WriteError": "poseact.core.errors",
    "OutputRefused": "poseact.core.errors",
    # extract
    "resolve_model": "poseact.extract.assets",
    "ExtractorOptions": "poseact.extract.options",
    "LandmarkExtractor": "poseact.extract.extractor",
    "LandmarkCache": "poseact.extract.cache",
    "extract_video": "poseact.extract.extractor",
    "extract_image": "poseact.extract.extractor",
    "extract_frames": "poseact.extract.extractor",
    "extract_people": "poseact.extract.extractor",
    "Tracker": "poseact.core.tracking",
    "TrackerOptions": "poseact.core.tracking",
    "extract_cached": "poseact.extract.cache",
    "extract_many": "poseact.extract.batch",
    "open_source": "poseact.extract.sources",
    "write_video": "poseact.extract.video",
    # normalize
    "NormalizerSpec": "poseact.normalize.spec",
    "Normalizer": "poseact.normalize.normalizer",
    "StreamingFeaturizer": "poseact.normalize.streaming",
    # dataset
    "Dataset": "poseact.data.dataset",
    "AugmentOptions": "poseact.data.augment",
    "generate_activities": "poseact.data.synthetic",
    # public dataset formats
    "read_landmark_table": "poseact.data.formats",
    "read_holistic_folder": "poseact.data.formats",
    "read_holistic_npz": "poseact.data.formats",
    "read_pyskl_pickle": "poseact.data.formats",
    "read_public_dataset": "poseact.data.registry",
    "coco17_to_pose": "poseact.data.formats",
    # model
    "GestureClassifier": "poseact.train.classifier",
    "ModelOptions": "poseact.train.options",
    "TrainingOptions": "poseact.train.options",
    "EvaluationReport": "poseact.train.evaluate",
    "evaluate": "poseact.train.evaluate",
    "EventReport": "poseact.train.stream_eval",
    "StreamEvaluation": "poseact.train.stream_eval",
    "Annotation": "poseact.train.stream_eval",
    "Detection": "poseact.train.stream_eval",
    "evaluate_events": "poseact.train.stream_eval",
    "StreamDecisions": "poseact.train.stream_eval",
    "decide_stream": "poseact.train.stream_eval",
    "evaluate_stream": "poseact.train.stream_eval",
    "read_annotations": "poseact.train.stream_eval",
    "write_annotations": "poseact.train.stream_eval",
    "RejectionRule": "poseact.runtime.rejection",
    # reuse and comparison
    "FineTuneOptions": "poseact.train.fewshot",
    "RehearsalMemory": "poseact.train.rehearsal",
    "DistillOptions": "poseact.train.fewshot",
    "distill": "poseact.train.fewshot",
    "fine_tune": "poseact.train.fewshot",
    "CompareOptions": "poseact.apps.compare",
    "ComparisonReport": "poseact.apps.compare_report",
    "compare_models": "poseact.apps.compare",
    # export and runtime
    "export_tflite": "poseact.deploy.export",
    "ExportReport": "poseact.deploy.export",
    "TFLiteGestureModel": "poseact.runtime.model",
    "StreamingRecognizer": "poseact.runtime.recognizer",
    "PeopleRecognizer": "poseact.runtime.people",
    "DecisionOptions": "poseact.runtime.decider",
    "GestureEvent": "poseact.runtime.decider",
    "Decider": "poseact.runtime.decider",
    "ModelMetadata": "poseact.runtime.model_file",
    "read_model_metadata": "poseact.runtime.model_file",
    # live use
    "RecorderOptions": "poseact.apps.recorder",
    "record_dataset": "poseact.apps.recorder",
    "run_live": "poseact.apps.live",
    "iter_events": "poseact.apps.live",
    "LiveStats": "poseact.apps.live",
    # files and the demo
    "load_model": "poseact.loading",
    "load_dataset": "poseact.loading",
    "load_sequence": "poseact.loading",
    "load_default_dataset": "poseact.loading",
    "run_demo": "poseact.apps.demo",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'poseact' has no attribute {name!r}")
    with _hidden_native_logs():  # importing TensorFlow or MediaPipe logs from C++
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from poseact.apps.compare import (
        CompareOptions,
        compare_models,
    )
    from poseact.apps.compare_report import (
        ComparisonReport,
    )
    from poseact.apps.demo import (
        run_demo,
    )
    from poseact.apps.live import (
        LiveStats,
        iter_events,
        run_live,
    )
    from poseact.apps.recorder import (
        RecorderOptions,
        record_dataset,
    )
    from poseact.core.errors import (
        DatasetError,
        LandmarkFormatError,
        ModelAssetError,
        ModelFormatError,
        NoPoseDetected,
        OutputRefused,
        PoseactError,
        UnknownLabelError,
        VideoReadError,
        WriteError,
    )
    from poseact.core.layouts import (
        LAYOUTS,
        BodyPart,
        Layout,
        get_layout,
        register_layout,
    )
    from poseact.core.sequence import (
        LandmarkSequence,
    )
    from poseact.core.tracking import (
        Tracker,
        TrackerOptions,
    )
    from poseact.data.augment import (
        AugmentOptions,
    )
    from poseact.data.dataset import (
        Dataset,
    )
    from poseact.data.formats import (
        coco17_to_pose,
        read_holistic_folder,
        read_holistic_npz,
        read_landmark_table,
        read_pyskl_pickle,
    )
    from poseact.data.registry import (
        read_public_dataset,
    )
    from poseact.data.synthetic import (
        generate_activities,
    )
    from poseact.deploy.export import (
        ExportReport,
        export_tflite,
    )
    from poseact.extract.assets import (
        resolve_model,
    )
    from poseact.extract.batch import (
        extract_many,
    )
    from poseact.extract.cache import (
        LandmarkCache,
        extract_cached,
    )
    from poseact.extract.extractor import (
        LandmarkExtractor,
        extract_frames,
        extract_image,
        extract_people,
        extract_video,
    )
    from poseact.extract.options import (
        ExtractorOptions,
    )
    from poseact.extract.sources import (
        open_source,
    )
    from poseact.extract.video import (
        write_video,
    )
    from poseact.loading import (
        load_dataset,
        load_default_dataset,
        load_model,
        load_sequence,
    )
    from poseact.normalize.normalizer import (
        Normalizer,
    )
    from poseact.normalize.spec import (
        NormalizerSpec,
    )
    from poseact.normalize.streaming import (
        StreamingFeaturizer,
    )
    from poseact.runtime.decider import (
        Decider,
        DecisionOptions,
        GestureEvent,
    )
    from poseact.runtime.model import (
        TFLiteGestureModel,
    )
    from poseact.runtime.model_file import (
        ModelMetadata,
        read_model_metadata,
    )
    from poseact.runtime.people import (
        PeopleRecognizer,
    )
    from poseact.runtime.recognizer import (
        StreamingRecognizer,
    )
    from poseact.runtime.rejection import (
        RejectionRule,
    )
    from poseact.train.classifier import (
        GestureClassifier,
        NotFittedError,
    )
    from poseact.train.evaluate import (
        EvaluationReport,
        evaluate,
    )
    from poseact.train.fewshot import (
        DistillOptions,
        FineTuneOptions,
        distill,
        fine_tune,
    )
    from poseact.train.options import (
        ModelOptions,
        TrainingOptions,
    )
    from poseact.train.rehearsal import (
        RehearsalMemory,
    )
    from poseact.train.stream_eval import (
        Annotation,
        Detection,
        EventReport,
        StreamDecisions,
        StreamEvaluation,
        decide_stream,
        evaluate_events,
        evaluate_stream,
        read_annotations,
        write_annotations,
    )
