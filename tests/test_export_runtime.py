"""TFLite export and the LiteRT runtime: parity with Keras, metadata, streaming."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import pytest

from poseact.core.errors import ModelFormatError
from poseact.deploy.export import export_tflite
from poseact.runtime.decider import DecisionOptions
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.model_file import read_model_metadata
from poseact.runtime.recognizer import StreamingRecognizer


def test_float_export_matches_keras(asl_tflite, asl_gru, asl_split):
    path, report = asl_tflite
    assert report.parity_ok and report.max_abs_diff < 1e-4
    assert report.parity_windows == len(asl_split[1]) and report.streaming
    with TFLiteGestureModel(path) as model:
        keras = asl_gru.predict_proba(asl_split[1])
        assert np.max(np.abs(model.predict_proba(asl_split[1]) - keras)) < 1e-4
        assert model.score(asl_split[1]) == asl_gru.score(asl_split[1])


def test_the_file_carries_labels_and_normalizer(asl_tflite, asl_gru):
    path, _ = asl_tflite
    with zipfile.ZipFile(path) as zf:  # readable with nothing but the standard library
        names = set(zf.namelist())
        labels = zf.read("labels.txt").decode().split()
    assert names == {"poseact.json", "labels.txt"}  # the stream form is a signature
    assert labels == ["hello", "iloveyou", "thanks"]
    meta = read_model_metadata(path)
    assert meta["version"] == 2 and meta["stream"]["signature"] == "stream"
    assert meta["normalizer"] == asl_gru.normalizer_.spec.to_dict()
    assert meta["window"] == 30 and meta["architecture"] == "gru"
    assert meta["stream"]["state_size"] == 32


def _builtin_ops_only(path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    ops = {op["op_name"] for op in interp._get_ops_details()}
    assert not any("Flex" in op or op == "CUSTOM" for op in ops), ops


@pytest.mark.parametrize("quantization", ["float16", "int8"])
def test_quantized_exports_agree_with_keras(quantization, asl_gru, asl_split, asl_tflite, tmp_path):
    path = tmp_path / f"asl_{quantization}.tflite"
    report = export_tflite(asl_gru, path, quantization=quantization, parity_data=asl_split[1])
    assert report.parity_ok and report.argmax_agreement >= 0.98
    assert report.size_bytes < asl_tflite[1].size_bytes * 0.7
    assert read_model_metadata(path)["quantization"] == quantization
    _builtin_ops_only(path)


def test_int8_of_an_mlp_is_fully_integer(asl_split, tmp_path):
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    clf = GestureClassifier(
        model=ModelOptions(architecture="window_mlp", units=32),
        training=TrainingOptions(epochs=10),
    ).fit(asl_split[0])
    report = export_tflite(
        clf, tmp_path / "mlp.tflite", quantization="int8", parity_data=asl_split[1]
    )
    assert report.parity_ok and not report.streaming
    assert read_model_metadata(report.path)["int8_mode"] == "full_integer"


def test_runtime_imports_neither_tensorflow_nor_keras(asl_tflite, asl_split):
    path, _ = asl_tflite
    code = (
        "import sys, numpy as np\n"
        "from poseact.runtime import TFLiteGestureModel\n"
        f"m = TFLiteGestureModel({str(path)!r})\n"
        "x = np.zeros((1, 30, m.spec.frame_features), np.float32)\n"
        "p = m.predict_proba(x)\n"
        "assert abs(p.sum() - 1) < 1e-4\n"
        "bad = [n for n in ('tensorflow', 'keras', 'mediapipe', 'sklearn') if n in sys.modules]\n"
        "print('loaded:', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stream_model_equals_window_model_on_a_window(asl_tflite, asl_split):
    path, _ = asl_tflite
    with TFLiteGestureModel(path) as model:
        for window in model.features(asl_split[1])[:5]:
            stepper = model.stepper()
            for row in window:
                probs = stepper.step(row)
            assert np.max(np.abs(probs - model.predict_window(window))) < 1e-5


def test_streaming_recognizer_fires_events_on_a_stream_of_signs(asl_tflite, asl_split):
    path, _ = asl_tflite
    test = asl_split[1]
    picks = [test.labels.index(label) for label in ("hello", "thanks", "iloveyou")]
    seen = []
    recognizer = StreamingRecognizer(
        path, DecisionOptions(threshold=0.5, min_frames=2, cooldown=0.0), on_event=seen.append
    )
    t = 0.0
    frames = []
    for i in picks:  # three signs back to back, 1 s each
        seq = test.sequences[i]
        for lm, vis in zip(seq.landmarks, seq.visibility):
            frames.append((t, lm, vis))
            t += 1 / 30
    events = list(recognizer.run(frames, image_size=(640, 480)))
    assert events == seen
    labels = {e.label for e in events}
    assert labels <= {"hello", "thanks", "iloveyou"} and len(labels) >= 2
    for event in events:
        assert event.end is None or event.end >= event.start
        assert 0.5 <= event.confidence <= 1.0


def test_a_gap_longer_than_a_window_ends_the_sign_and_starts_the_stream_over(asl_tflite, asl_split):
    """Three real signs back to back, the camera frozen for 2 s in the middle of one
    that is going on: it ends at the last frame before the gap, and the frames after
    are decided as a new stream (the same events as a fresh recognizer on them)."""
    path, _ = asl_tflite
    test = asl_split[1]
    frames, t = [], 0.0
    for label in ("hello", "thanks", "iloveyou"):
        seq = test.sequences[test.labels.index(label)]
        for lm, vis in zip(seq.landmarks, seq.visibility):
            frames.append((t, lm, vis))
            t += 1 / 30
    options = DecisionOptions(threshold=0.5, min_frames=2, cooldown=0.0)
    plain = StreamingRecognizer(path, options)
    starts = [i for i, f in enumerate(frames) for e in plain.push(*f) if e.end is None]
    assert starts, "no sign started on the stream"
    cut = starts[0] + 5  # a sign is going on: the camera freezes here for 2 s
    gapped = frames[:cut] + [(when + 2.0, lm, vis) for when, lm, vis in frames[cut:]]

    events = list(StreamingRecognizer(path, options).run(gapped, image_size=(640, 480)))

    before = StreamingRecognizer(path, options)
    expected = [e for f in gapped[:cut] for e in before.push(*f, image_size=(640, 480))]
    expected += before.finish(gapped[cut - 1][0])
    expected += StreamingRecognizer(path, options).run(gapped[cut:], image_size=(640, 480))
    assert events == expected
    ended = [e for e in events if e.end == gapped[cut - 1][0]]
    assert len(ended) == 1 and ended[0].start < ended[0].end  # the sign going on
    assert ended[0].start == [e for e in events if e.end is None][0].start
    assert not [e for e in events if e.end is not None and e.start < gapped[cut][0] < e.end]


def test_not_a_model_and_not_a_poseact_model(asl_tflite, tmp_path):
    text = tmp_path / "notes.tflite"
    text.write_text("hello world, not a model")
    with pytest.raises(ModelFormatError, match="notes.tflite.*not a TFLite model"):
        TFLiteGestureModel(text)
    path, _ = asl_tflite
    data = path.read_bytes()
    bare = tmp_path / "bare.tflite"
    # the window model alone: a valid TFLite file without poseact metadata
    bare.write_bytes(data[: _archive_start(path)])
    with pytest.raises(ModelFormatError, match="bare.tflite.*not a poseact model"):
        TFLiteGestureModel(bare)
    with pytest.raises(ModelFormatError, match="does not exist"):
        TFLiteGestureModel(tmp_path / "missing.tflite")


def _archive_start(path) -> int:
    """Offset of the zip archive appended to an exported model."""
    import struct

    data = path.read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    return eocd - cd_size - cd_offset
