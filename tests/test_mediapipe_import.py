"""MediaPipe imported without TensorFlow: same landmarks, TensorFlow still importable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

EXTRACT = """
import json, sys, time
{before}
from poseact.extract.mp import import_mediapipe
start = time.perf_counter()
import_mediapipe()
seconds = time.perf_counter() - start
tf_after_mediapipe = "tensorflow" in sys.modules
from poseact.extract.extractor import extract_image, extract_video
from poseact.extract.options import ExtractorOptions
image = extract_image({image!r}, ExtractorOptions(layout="hands"))
video = extract_video({video!r}, ExtractorOptions(layout="pose", frame_step=10))
tf_after_extraction = "tensorflow" in sys.modules
matplotlib_loaded = "matplotlib" in sys.modules
{after}
print(json.dumps({{
    "seconds": seconds, "tf_after_mediapipe": tf_after_mediapipe,
    "tf_after_extraction": tf_after_extraction, "tf_version": tf_version,
    "matplotlib_loaded": matplotlib_loaded, "drawing": drawing,
    "image": image.landmarks.tolist(), "video": video.landmarks.tolist(),
    "video_t": video.timestamps.tolist(), "visibility": video.visibility.tolist(),
}}))
"""


def run_child(testdata_dir: Path, before: str, after: str) -> dict:
    code = EXTRACT.format(
        before=before,
        after=after,
        image=str(testdata_dir / "hand_thumb_up.jpg"),
        video=str(testdata_dir / "person_thumb_up.mp4"),
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_same_landmarks_without_tensorflow_and_tensorflow_still_imports(testdata_dir):
    hidden = run_child(
        testdata_dir,
        before="",
        after="import tensorflow as tf\ntf_version = tf.__version__\n"
        "import mediapipe\n"
        "drawing = mediapipe.tasks.vision.drawing_utils.DrawingSpec().thickness",
    )
    assert not hidden["tf_after_mediapipe"] and not hidden["tf_after_extraction"]
    # MediaPipe's drawing helpers (and matplotlib) load when first used, not before
    assert not hidden["matplotlib_loaded"] and hidden["drawing"] == 2
    assert hidden["tf_version"]  # imported afterwards, in the same process
    normal = run_child(
        testdata_dir,
        before="import tensorflow",
        after="tf_version = None\ndrawing = None",
    )
    assert normal["tf_after_mediapipe"]
    for key in ("image", "video", "video_t", "visibility"):
        assert hidden[key] == normal[key], key  # bit for bit (NaN serializes as NaN)


@pytest.mark.slow
def test_tensorflow_imports_in_another_thread_meanwhile():
    code = """
import sys, threading
from poseact.extract.mp import import_mediapipe
result = {}
def load_tf():
    import tensorflow as tf
    result["tf"] = tf.__version__
thread = threading.Thread(target=load_tf)
thread.start()
mp = import_mediapipe()
thread.join()
assert result["tf"], result
assert mp.tasks.vision.PoseLandmarker
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
