"""Export a fitted `GestureClassifier` to one self-describing `.tflite` file.

The file is one TFLite model with a zip archive appended, the way TFLite Metadata
carries associated files. LiteRT loads the model and ignores the archive; `zipfile`
reads the archive without TensorFlow:

- the model has signature `window` (subgraph 0: input (1, W, F) float32, output (1, C)
  probabilities) and, for the streaming architectures (GRU, LSTM, TCN), signature
  `stream`: the single-step stateful form, inputs frame (L, F) and state (L, S),
  outputs probabilities (L, C) and the new state (L, S), L = `STREAM_LANES`. The two
  share one copy of the weights (`poseact.deploy.signatures`);
- `poseact.json`: labels, background class, normalizer spec, window, feature count,
  architecture, quantization, the stream signature's name and state size;
- `labels.txt`: one label per line, in output order.

Files of metadata version 1 carried the single-step model as a second network,
`stream.tflite`, in the archive; the runtime still reads them.

`poseact.json` also records `inputs`, the stream(s) the network reads ("positions",
"velocities", "both", "two_branch"). The selection happens inside the model, so the
model input is always the normalizer's full (W, F) features and runtimes need not care.
`model_size` and `model_sha256` describe the model's bytes (the file's first
`model_size` bytes, both signatures); the runtime checks them before LiteRT parses it.

Only TFLite builtin ops are used (no Flex / Select TF ops). Quantization: "float"
(float32), "float16" (weights in float16), "int8": full integer with a representative
dataset for the MLP baselines; dynamic range (int8 weights, float activations) for
GRU/LSTM, since full-integer conversion of a looped GRU/LSTM crashes the TF 2.21
converter and unrolled ones lose accuracy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poseact import __version__
from poseact.core.atomic import atomic_path
from poseact.core.choices import ARCHITECTURE_TABLE, QUANTIZATIONS
from poseact.core.layouts import get_layout
from poseact.core.native import hides_native_logs
from poseact.deploy.signatures import STREAM_SIGNATURE, merge_signatures
from poseact.runtime.model_file import (
    METADATA_FORMAT,
    METADATA_VERSION,
    model_archive,
    placement_json,
)
from poseact.train.classifier import GestureClassifier
from poseact.train.networks import build_step_model, state_sizes

__all__ = ["QUANTIZATIONS", "ExportReport", "export_tflite"]

logger = logging.getLogger(__name__)

# Parity targets checked on export (see docs/export.md).
FLOAT_TOLERANCE = 1e-4
INT8_MIN_AGREEMENT = 0.98
# Staggered recurrent states the streaming runtime keeps: the stream model's batch size.
STREAM_LANES = 2


@dataclass(frozen=True)
class ExportReport:
    """What `export_tflite` wrote and how closely it matches Keras.

    Attributes:
        path: the written `.tflite` file.
        size_bytes: its size, archive included.
        quantization: "float", "float16" or "int8".
        streaming: whether a single-step model is embedded.
        max_abs_diff: largest |p_tflite - p_keras| over the parity windows.
        argmax_agreement: share of parity windows with the same predicted class.
        parity_windows: number of windows compared.
        parity_ok: float: max_abs_diff < 1e-4; float16: argmax agreement ≥ 0.98 and
            max_abs_diff < 1e-2; int8: argmax agreement ≥ 0.98.
        written: the file is at `path` (False: it failed its parity check and was
            not kept).
    """

    path: Path
    written: bool
    size_bytes: int
    quantization: str
    streaming: bool
    max_abs_diff: float
    argmax_agreement: float
    parity_windows: int
    parity_ok: bool

    def summary(self) -> str:
        return (
            f"{self.path.name}: {self.size_bytes / 1024:.1f} KB, {self.quantization},"
            f" parity max|Δp|={self.max_abs_diff:.2e}, argmax agreement"
            f" {self.argmax_agreement:.1%} on {self.parity_windows} windows"
            f" ({'ok' if self.parity_ok else 'FAILED'})"
        )


def _convert(
    model,
    quantization: str,
    representative: Callable | None,
    full_int8: bool,
    batch: int = 1,
) -> bytes:
    import keras
    import tensorflow as tf

    # Batch fixed: recurrent layers lower to builtin ops only with static shapes.
    inputs = [
        keras.Input(batch_shape=(batch, *tensor.shape[1:]), name=tensor.name.split(":")[0])
        for tensor in model.inputs
    ]
    fixed = keras.Model(inputs, model(inputs if len(inputs) > 1 else inputs[0]))
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if full_int8:
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its trace
        return bytes(converter.convert())


@hides_native_logs
def export_tflite(
    classifier: GestureClassifier,
    path: str | os.PathLike,
    *,
    quantization: str = "float",
    streaming: bool = True,
    parity_data=None,
    threshold: float | None = None,
    keep_on_parity_failure: bool = False,
) -> ExportReport:
    """Write `classifier` as a self-describing `.tflite` and check it against Keras.

    Args:
        classifier: a fitted `GestureClassifier`.
        path: destination `.tflite` file (written atomically).
        quantization: "float", "float16" or "int8".
        streaming: also embed the single-step streaming model (GRU, LSTM, TCN).
        parity_data: held-out windows for the parity check and int8 calibration: a
            `Dataset`, sequences, or a (N, W, F) feature array; default: the training
            windows kept by `fit`.
        threshold: the decision threshold stored in the model (e.g. chosen with
            `poseact evaluate-stream --sweep`); the live recognizer and the web page
            use it unless given another (`DecisionOptions.threshold`). None: the
            default, `DEFAULT_THRESHOLD`.
        keep_on_parity_failure: keep the file when it fails its parity check; by
            default nothing is left under `path` then (an earlier file stays as it
            was), and the report says so (`written` False).

    Returns:
        An `ExportReport` with the file size and parity figures.

    Raises:
        ValueError: unknown quantization, or a threshold outside (0, 1].
        NotFittedError: the classifier is not fitted.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    classifier.check_finite()
    fitted = classifier.fitted_state()
    architecture = fitted.model.architecture
    spec = fitted.normalizer.spec
    parity = classifier.features(parity_data) if parity_data is not None else fitted.representative
    calibration = np.concatenate([fitted.representative, parity[:200]])

    def representative():
        for window in calibration:
            yield [window[None].astype(np.float32)]

    # Full-integer int8 for the feed-forward nets; weights only (dynamic range) for the
    # recurrent ones and for stats_pool, whose standard deviation over time (a square
    # root of a difference of means) loses too much in 8-bit activations.
    full_int8 = ARCHITECTURE_TABLE[architecture].int8 == "full_integer"
    network = _convert(fitted.network, quantization, representative, full_int8)
    has_stream = streaming and ARCHITECTURE_TABLE[architecture].streams
    sizes: list[int] = []
    if has_stream:
        step = build_step_model(fitted.network, architecture)
        stream_model = _convert(step, quantization, None, False, batch=STREAM_LANES)
        network = merge_signatures(network, stream_model)  # one copy of the weights
        sizes = state_sizes(fitted.network, architecture)
    metadata = {
        "format": METADATA_FORMAT,
        "version": METADATA_VERSION,
        "poseact_version": __version__,
        "classes": list(fitted.classes),
        "background": fitted.background,
        "rejection": None if fitted.rejection is None else fitted.rejection.to_dict(),
        "normalizer": spec.to_dict(),
        # seconds of a gesture the window holds when it begins to answer it (events are
        # placed by it); null: half the window
        "onset": fitted.onset,
        # per class: seconds of the gesture the window holds when the answer begins and
        # when it lets go (measured after training; events are placed by them)
        "placement": placement_json(fitted.placement),
        # the decision threshold chosen for this model; null: the default
        "threshold": None if threshold is None else float(threshold),
        "window": spec.window,
        "frame_features": spec.frame_features,
        "layout": spec.layout,
        "layout_definition": get_layout(spec.layout).to_dict(),
        "architecture": architecture,
        "inputs": fitted.model.inputs,
        "quantization": quantization,
        "int8_mode": ("full_integer" if full_int8 else "dynamic_range")
        if quantization == "int8"
        else None,
        "stream": {
            "signature": STREAM_SIGNATURE,
            "state_size": int(sum(sizes)),
            "state_parts": sizes,
            "lanes": STREAM_LANES,
        }
        if has_stream
        else None,
    }
    # lets the runtime detect a damaged network before LiteRT parses it
    metadata["model_size"] = len(network)
    metadata["model_sha256"] = hashlib.sha256(network).hexdigest()
    data = network + model_archive(metadata, None)

    from poseact.runtime.model import TFLiteGestureModel

    keras_probs = classifier.predict_proba(parity)
    # the parity check reads the file written, before it is published under its name:
    # two exports to one file each check their own model, then one of them wins whole;
    # a model that fails the check is not published unless asked
    stack = contextlib.ExitStack()
    candidate = stack.enter_context(atomic_path(path, suffix=".tflite"))
    try:
        candidate.write_bytes(data)
        with TFLiteGestureModel(candidate) as exported:
            tflite_probs = exported.predict_proba(parity)
    except BaseException:
        stack.__exit__(*sys.exc_info())
        raise
    diff = float(np.max(np.abs(tflite_probs - keras_probs))) if len(parity) else 0.0
    agree = (
        float(np.mean(np.argmax(tflite_probs, 1) == np.argmax(keras_probs, 1)))
        if len(parity)
        else 1.0
    )
    if quantization == "float":
        ok = diff < FLOAT_TOLERANCE
    elif quantization == "float16":
        ok = agree >= INT8_MIN_AGREEMENT and diff < 1e-2
    else:
        ok = agree >= INT8_MIN_AGREEMENT
    written = ok or keep_on_parity_failure
    if written:
        stack.close()  # renames the checked file onto `path`
    else:
        with contextlib.suppress(_NotKept):
            stack.__exit__(_NotKept, _NotKept(), None)
    report = ExportReport(
        path=Path(path),
        written=written,
        size_bytes=len(data),
        quantization=quantization,
        streaming=has_stream,
        max_abs_diff=diff,
        argmax_agreement=agree,
        parity_windows=len(parity),
        parity_ok=ok,
    )
    if not ok:
        logger.warning(
            "exported model does not match Keras: %s; %s",
            report.summary(),
            f"kept at {path} as asked"
            if written
            else f"nothing was written to {path} (keep_on_parity_failure=True,"
            " --keep-on-parity-failure, keeps such a file)",
        )
    return report


class _NotKept(Exception):
    """Ends the temporary file of a model that failed its parity check."""
