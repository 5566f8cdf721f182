"""The scripts in examples/ run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_run_tflite_offline_and_streaming(asl_tflite, asl_split, tmp_path):
    path, _ = asl_tflite
    clip = asl_split[1].sequences[0].save(tmp_path / "clip.npz")
    out = _run(str(EXAMPLES / "run_tflite.py"), str(path), str(clip))
    lines = out.splitlines()
    assert lines[0].split()[0] in {"hello", "iloveyou", "thanks"}
    assert len([line for line in lines[:3] if line.split()[0] in asl_split[1].classes]) == 3


def test_export_model_script(asl_gru, tmp_path):
    model = asl_gru.save(tmp_path / "model.poseact")
    out = _run(
        str(EXAMPLES / "export_model.py"),
        str(model),
        "--quantization",
        "float16",
        "--output",
        str(tmp_path / "g.tflite"),
    )
    assert "float16" in out and "ok" in out
    assert "labels: ['hello', 'iloveyou', 'thanks']" in out


def test_train_from_folder_script(asl_dataset, tmp_path):
    root = tmp_path / "signs"
    asl_dataset.subset(range(0, len(asl_dataset), 3)).to_folder(root)
    out = _run(
        str(EXAMPLES / "train_from_folder.py"),
        str(root),
        "--epochs",
        "3",
        "--output",
        str(tmp_path / "m.poseact"),
    )
    assert "30 clips, 3 classes" in out and "macro F1" in out
    assert (tmp_path / "m.poseact").is_file()
