"""The scripts in examples/ run as documented, on what `poseact record` makes and on the
datasets shipped in datasets/, and write nothing inside the repository (issue 29, item 2).

Each script runs in a subprocess from the repository root (where a user who cloned it
stands); afterwards `git status` must show no new file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"


def _untracked() -> set[str]:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line[3:] for line in out.splitlines() if line.startswith("??")}


@pytest.fixture
def in_repo(tmp_path):
    """Run from the repository root with a temp folder as TMPDIR; check nothing new
    appears in the repository."""
    before = _untracked()
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    environ["TMPDIR"] = str(tmp_path)
    environ["POSEACT_CACHE_DIR"] = str(tmp_path / "cache")

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=REPO_ROOT,
            env=environ,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    yield run
    assert _untracked() == before, "an example wrote inside the repository"


def _written(out: str, tmp_path: Path) -> Path:
    """The path an example says it wrote to, which must lie in the temp folder."""
    match = re.search(r"(?:written to|saved|exported to) ([^\s;]+)", out)
    assert match, out
    path = Path(match.group(1))
    assert path.exists() and tmp_path in path.resolve().parents, path
    return path


def test_run_tflite_offline_and_streaming(asl_tflite, asl_split, tmp_path, in_repo):
    path, _ = asl_tflite
    clip = asl_split[1].sequences[0].save(tmp_path / "clip.npz")
    out = in_repo(str(EXAMPLES / "run_tflite.py"), str(path), str(clip)).stdout
    lines = out.splitlines()
    assert lines[0].split()[0] in {"hello", "iloveyou", "thanks"}
    assert len([line for line in lines[:3] if line.split()[0] in asl_split[1].classes]) == 3


def test_export_model_script(asl_gru, tmp_path, in_repo):
    model = asl_gru.save(tmp_path / "model.poseact")
    out = in_repo(str(EXAMPLES / "export_model.py"), str(model), "--quantization", "float16")
    assert "float16" in out.stdout and "ok" in out.stdout
    assert "labels: ['hello', 'iloveyou', 'thanks']" in out.stdout
    assert _written(out.stdout, tmp_path).suffix == ".tflite"


def _recorded_folder(dataset, root: Path) -> Path:
    """A folder as `poseact record --subject` makes it: label/label_subject_NNN.npz, the
    subject stored in each clip (four subjects, names with underscores before them)."""
    from dataclasses import replace

    subjects = ("alice", "bob", "carol", "dave")
    for i, (seq, label) in enumerate(zip(dataset.sequences, dataset.labels)):
        subject = subjects[i % len(subjects)]
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        replace(seq, subject=subject).save(folder / f"{label}_{subject}_{i:03d}.npz")
    return root


def test_train_from_folder_reads_the_subjects_record_stores(asl_dataset, tmp_path, in_repo):
    """A folder of `thumb_up_alice_001`-style clips: the split holds out whole subjects
    (not "thumb"), the test side holds every class, the score is far above chance."""
    root = _recorded_folder(asl_dataset.subset(range(0, len(asl_dataset), 2)), tmp_path / "rec")
    out = in_repo(str(EXAMPLES / "train_from_folder.py"), str(root), "--epochs", "15").stdout
    assert "45 clips, 3 classes" in out and "4 groups" in out
    held = re.search(r"test subjects \(never seen in training\): (.*)", out)
    assert held and set(held.group(1).split(", ")) <= {"alice", "bob", "carol", "dave"}, out
    assert "holds no clip" not in out
    accuracy = float(re.search(r"accuracy (\d\.\d+)", out).group(1))
    assert accuracy > 0.6, out
    assert _written(out, tmp_path).name == "model.poseact"


@pytest.mark.slow
def test_asl_signs_demo_uses_the_shipped_dataset(tmp_path, in_repo):
    out = in_repo(str(EXAMPLES / "asl_signs_demo.py"), "--epochs", "3").stdout
    assert "hello" in out or "accuracy" in out
    _written(out, tmp_path)


@pytest.mark.slow
def test_fine_tune_new_gesture_uses_the_shipped_dataset(tmp_path, in_repo):
    out = in_repo(
        str(EXAMPLES / "fine_tune_new_gesture.py"),
        "--epochs", "3", "--tune-epochs", "3", "--units", "8",
        "--output-dir", str(tmp_path / "out"),
    ).stdout  # fmt: skip
    assert "labels: ['hello', 'thanks'] -> ['hello', 'iloveyou', 'thanks']" in out, out
    assert "accuracy on 'iloveyou'" in out and "(ok)" in out, out
    assert _written(out, tmp_path) == tmp_path / "out" / "fine_tuned.poseact"
    assert (tmp_path / "out" / "fine_tuned.tflite").is_file()


@pytest.mark.slow
def test_distill_small_model_writes_to_a_temp_folder(tmp_path, in_repo):
    out = in_repo(
        str(EXAMPLES / "distill_small_model.py"), "datasets/asl_signs/asl_signs.npz",
        "--epochs", "2", "--teacher-units", "16", "--student-units", "8",
    ).stdout  # fmt: skip
    assert "distilled student GRU 8" in out and "scratch student GRU 8" in out, out
    assert _written(out, tmp_path).name == "student.tflite"  # in a new temp folder
