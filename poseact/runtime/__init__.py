"""Run exported poseact models with LiteRT: numpy + `ai-edge-litert`, no TensorFlow.

This package (with `poseact.normalize` and `poseact.core`, which it uses) is all a
phone, a Pi or a server needs to classify landmark sequences:

    >>> model = TFLiteGestureModel("gestures.tflite")
    >>> model.predict([sequence])            # offline: whole clips
    >>> recognizer = StreamingRecognizer(model)
    >>> for event in recognizer.push(t, landmarks, visibility): ...   # live

It never imports TensorFlow, Keras, MediaPipe or scikit-learn (import-linter checks it).
"""

from poseact.runtime.decider import Decider, DecisionOptions, GestureEvent
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.model_file import ModelMetadata, read_model_metadata
from poseact.runtime.recognizer import StreamingRecognizer
from poseact.runtime.rejection import UNKNOWN, RejectionRule, calibrate_rejection
from poseact.runtime.steppers import FrameClassifier

__all__ = [
    "TFLiteGestureModel",
    "StreamingRecognizer",
    "Decider",
    "DecisionOptions",
    "GestureEvent",
    "FrameClassifier",
    "ModelMetadata",
    "read_model_metadata",
    "RejectionRule",
    "calibrate_rejection",
    "UNKNOWN",
]
