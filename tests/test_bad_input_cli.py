"""The command line on bad input (issue 6): one line naming the input, exit code 2,
no traceback unless --debug. The library cases behind each line are in
tests/test_bad_input_*.py; see docs/reliability.md.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from poseact.cli import main
from poseact.core.errors import PoseactError, VideoReadError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import write_landmark_csv


def _clip(layout: str = "pose", frames: int = 8) -> LandmarkSequence:
    k = {"pose": 33, "hands": 42}[layout]
    return LandmarkSequence(
        timestamps=np.arange(frames) / 30,
        landmarks=np.random.default_rng(0).random((frames, k, 3)),
        visibility=np.ones((frames, k)),
        layout=layout,
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, asl_dataset) -> dict[str, Path]:
    """One bad input of each kind, as files on disk."""
    d = tmp_path_factory.mktemp("cli-bad")
    paths = {
        "text_video": d / "notes.mp4",
        "empty_video": d / "empty.mp4",
        "unsorted_csv": d / "unsorted.csv",
        "hands_npz": _clip("hands").save(d / "hands.npz"),
        "not_a_model": d / "notes.tflite",
        "empty_folder": d / "empty-data",
        "mixed_folder": d / "mixed",
        "unknown_label_folder": d / "signs",
        "damaged_dataset": d / "damaged.npz",
        "output_under_a_file": d / "a-file.txt" / "out.npz",
        "good_csv": write_landmark_csv(_clip(), d / "good.csv"),
    }
    paths["text_video"].write_text("not a video\n" * 20)
    paths["empty_video"].touch()
    write_landmark_csv(_clip(), paths["unsorted_csv"])
    rows = list(csv.reader(paths["unsorted_csv"].open(encoding="utf-8")))
    rows[1], rows[2] = rows[2], rows[1]
    with paths["unsorted_csv"].open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    paths["not_a_model"].write_text("hello")
    (paths["empty_folder"] / "wave").mkdir(parents=True)
    _clip().save(paths["mixed_folder"] / "wave" / "a.npz")
    _clip("hands").save(paths["mixed_folder"] / "clap" / "b.npz")
    asl_dataset.subset(range(0, 90, 10)).to_folder(paths["unknown_label_folder"])
    _clip().save(paths["unknown_label_folder"] / "goodbye" / "g1.npz")
    paths["damaged_dataset"].write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    (d / "a-file.txt").write_text("a file, not a folder")
    return paths


CASES = {
    "text renamed .mp4": (
        ["extract", "{text_video}", "--no-cache", "-o", "{tmp}/x.npz"],
        "text_video",
    ),
    "empty video": (["extract", "{empty_video}", "--no-cache", "-o", "{tmp}/x.npz"], "empty_video"),
    "unsorted timestamps": (["extract", "{unsorted_csv}", "-o", "{tmp}/x.npz"], "unsorted_csv"),
    "not a model": (["predict", "{not_a_model}", "{good_csv}"], "not_a_model"),
    "feature set differs": (["predict", "{model}", "{hands_npz}"], "hands_npz"),
    "empty dataset folder": (["train", "{empty_folder}", "-o", "{tmp}/m.poseact"], "empty_folder"),
    "mixed feature sets": (["train", "{mixed_folder}", "-o", "{tmp}/m.poseact"], "mixed_folder"),
    "unknown label": (["evaluate", "{model}", "{unknown_label_folder}"], "unknown_label_folder"),
    "damaged dataset": (["evaluate", "{model}", "{damaged_dataset}"], "damaged_dataset"),
    "output under a file": (
        ["extract", "{good_csv}", "-o", "{output_under_a_file}"],
        "output_under_a_file",
    ),
}


def _argv(template: list[str], inputs, model, tmp_path) -> list[str]:
    names = {**{k: str(v) for k, v in inputs.items()}, "model": str(model), "tmp": str(tmp_path)}
    return [part.format(**names) for part in template]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_naming_it(case, inputs, asl_tflite, tmp_path, capsys):
    template, culprit = CASES[case]
    code = main(["-q", *_argv(template, inputs, asl_tflite[0], tmp_path)])
    captured = capsys.readouterr()
    command = template[0]
    assert code == 2, captured
    err = captured.err.strip()
    assert err.startswith(f"poseact {command}: error: "), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(inputs[culprit]) in err, err
    assert not list(tmp_path.iterdir()), "nothing is written on error"


def test_debug_shows_the_traceback(inputs, tmp_path):
    with pytest.raises(VideoReadError, match="notes.mp4"):
        main(["--debug", "extract", str(inputs["text_video"]), "-o", str(tmp_path / "x.npz")])
    with pytest.raises(PoseactError, match="notes.tflite"):
        main(["--debug", "predict", str(inputs["not_a_model"]), str(inputs["good_csv"])])
