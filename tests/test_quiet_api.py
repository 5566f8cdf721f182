"""The Python API is quiet at the file-descriptor level (issue 29, item 3).

A fresh process imports poseact, fits, predicts in a loop (batches of changing sizes:
what makes TensorFlow retrace), exports, runs the `.tflite` with LiteRT and extracts a
real video with MediaPipe; everything that reaches file descriptor 2 is read: only the
script's own lines and poseact's own warnings may be there. `POSEACT_NATIVE_LOGS=1`
brings the native lines back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEACT_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()

SCRIPT = r"""
import logging, sys
import poseact
print("step imported", file=sys.stderr)
data = poseact.load_dataset("datasets/asl_signs/asl_signs.npz")
train, test = data.split(0.3, seed=0)
clf = poseact.GestureClassifier(
    normalizer=poseact.NormalizerSpec(layout="pose+hands"),
    model=poseact.ModelOptions(units=8),
    training=poseact.TrainingOptions(epochs=1, seed=0),
).fit(train)
print("step fitted", file=sys.stderr)
for n in range(1, 9):
    clf.predict(test.sequences[:n])
print("step predicted", file=sys.stderr)
poseact.export_tflite(clf, sys.argv[1])
print("step exported", file=sys.stderr)
poseact.TFLiteGestureModel(sys.argv[1]).predict(test.sequences[:3])
print("step litert", file=sys.stderr)
poseact.extract_video(sys.argv[2], poseact.ExtractorOptions(layout="pose", frame_step=10))
print("step extracted", file=sys.stderr)
from poseact.core.native import hidden_native_logs
with hidden_native_logs():  # poseact's own warnings come through, as they are made
    logging.getLogger("poseact.example").warning("poseact's own warning")
"""

#: A native library's log line: glog/absl, or TensorFlow Lite / LiteRT.
NATIVE = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+|(?:INFO|WARNING|ERROR): )", re.M)


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    environ.setdefault("POSEACT_MODEL_DIR", str(SHARED / "models"))
    environ["POSEACT_CACHE_DIR"] = str(tmp_path / "cache")
    environ.pop("POSEACT_NATIVE_LOGS", None)
    for key in ("TF_CPP_MIN_LOG_LEVEL", "GLOG_minloglevel"):
        environ.pop(key, None)
    environ.update(env)
    video = SHARED / "testdata" / "person_thumb_up.mp4"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "m.tflite"), str(video)],
        capture_output=True,  # descriptor 2 of the child is this pipe: what a user sees
        text=True,
        cwd=REPO_ROOT,
        env=environ,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_api_writes_only_its_own_lines_to_stderr(tmp_path):
    err = _run(tmp_path).stderr
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[:-1] == [
        "step imported",
        "step fitted",
        "step predicted",
        "step exported",
        "step litert",
        "step extracted",
    ], err
    # (TensorFlow's import configures the root logger: its format, poseact's words)
    assert lines[-1].endswith("poseact's own warning"), err


def test_poseact_native_logs_brings_them_back(tmp_path):
    err = _run(tmp_path, POSEACT_NATIVE_LOGS="1").stderr
    native = NATIVE.findall(err)
    assert len(native) >= 10, err
    assert "Sparsity tensors" in err or "XNNPACK" in err
    assert "step extracted" in err
