"""The CLI: a thin layer over the API, with one-line errors and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from media import make_astronaut_video

from poseact.cli import main
from poseact.train.options import TrainingOptions


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory, asl_dataset):
    """A landmark dataset folder root/<label>/<clip>.npz from the real ASL recordings."""
    root = tmp_path_factory.mktemp("cli") / "signs"
    asl_dataset.subset(range(0, len(asl_dataset), 2)).to_folder(root)
    return root


def test_train_evaluate_export_predict(small_folder, tmp_path, capsys):
    model = tmp_path / "model.poseact"
    report = tmp_path / "report"
    assert (
        main(
            [
                "-q",
                "train",
                str(small_folder),
                "-o",
                str(model),
                "--epochs",
                "20",
                "--units",
                "16",
                "--report-dir",
                str(report),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "45 clips, 3 classes" in out and "accuracy" in out
    assert re.search(r"normalizer: \d+ fps, window \d+ frames \([\d.]+ s\), sampling \w+", out)
    assert (report / "confusion.png").is_file() and model.is_file()

    assert main(["-q", "evaluate", str(model), str(small_folder)]) == 0
    assert "macro F1" in capsys.readouterr().out

    tflite = tmp_path / "m.tflite"
    assert (
        main(
            [
                "-q",
                "export",
                str(model),
                "-o",
                str(tflite),
                "--quantization",
                "int8",
                "--parity-data",
                str(small_folder),
            ]
        )
        == 0
    )
    assert "int8" in capsys.readouterr().out and tflite.is_file()

    clip = next((small_folder / "thanks").iterdir())
    assert main(["-q", "predict", str(tflite), str(clip), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert result["label"] in {"hello", "iloveyou", "thanks"}
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-4


def test_extract_a_real_video(tmp_path, capsys, isolated_cache):
    video = make_astronaut_video(tmp_path / "person.mp4", frames=8)
    out = tmp_path / "person.npz"
    assert main(["-q", "extract", str(video), "-o", str(out)]) == 0
    assert "8 frames, a person in 8" in capsys.readouterr().out
    from poseact.core.sequence import LandmarkSequence

    assert LandmarkSequence.load(out).landmarks.shape == (8, 33, 3)


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.tflite"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("poseact evaluate: error:") and "missing.tflite" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["train", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "poseact.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("poseact ")
    result = subprocess.run(
        [sys.executable, "-m", "poseact.cli", "predict", "nope.tflite", "x.npz"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "nope.tflite" in result.stderr
    assert "Traceback" not in result.stderr


COMMANDS = [
    "extract", "train", "evaluate", "export", "predict", "demo", "compare", "record",
    "evaluate-stream", "live", "show", "models", "generate", "web",
]  # fmt: skip


def test_help_is_in_a_users_words_and_offers_only_flags_that_apply():
    """Every --help, as a user runs it: no code names (backticks, module paths, constants,
    "Options' default"), defaults written out; evaluate-stream offers no flags it would
    ignore; live takes the model as its first argument like the other commands."""
    texts = {}
    for command in COMMANDS:
        proc = subprocess.run(
            [sys.executable, "-m", "poseact.cli", command, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        texts[command] = proc.stdout.split("\nenvironment:")[0]
    for command, text in texts.items():
        for internal in ("`", "poseact.", "Options'", "resolve_model", "AUTO_CANDIDATES"):
            assert internal not in text, f"poseact {command} --help says {internal!r}"
        words = re.sub(r"-[-\w]+ [A-Z][A-Z_]*", "", text.split("\n\n", 1)[1])  # no metavars
        assert not re.findall(r"\b(?!POSEACT_)[A-Z]{2,}_[A-Z_]+\b", words), (command, words)
    epochs = f"(default: {TrainingOptions().epochs})"
    assert epochs in texts["demo"] and "(default: 3)" in texts["compare"]
    for flag in ("--layout", "--workers", "--group-pattern", "--allow-missing"):
        assert flag not in texts["evaluate-stream"]
    assert texts["live"].startswith("usage: poseact live [-h]") and " [model]" in texts["live"]
