"""`poseact compare`: a quick run end to end, and the report's tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poseact.apps.compare import CompareOptions
from poseact.apps.compare_report import (
    ComparisonReport,
    ConfigSummary,
    DistillResult,
    FewShotResult,
)
from poseact.data.dataset import Dataset


@pytest.fixture(scope="module")
def small_activities(tmp_path_factory):
    """4 subjects × 4 activities × 2 clips of the embedded dataset, saved as .npz."""
    from poseact.loading import load_default_dataset

    data = load_default_dataset()
    keep, seen = [], {}
    for i, (label, group) in enumerate(zip(data.labels, data.groups)):
        if label in ("idle", "wave", "clap", "squat") and group in ("s00", "s01", "s02", "s03"):
            if seen.get((label, group), 0) < 2:
                seen[(label, group)] = seen.get((label, group), 0) + 1
                keep.append(i)
    part = data.subset(keep)
    small = Dataset(part.sequences, part.labels, part.groups, background="idle", name="small")
    return small.save(tmp_path_factory.mktemp("data") / "small.npz")


def test_compare_command_writes_the_tables(small_activities, tmp_path, capsys):
    from poseact.cli import main

    out, raw = tmp_path / "comparison.md", tmp_path / "comparison.json"
    code = main(
        [
            "-q",
            "compare",
            "--quick",
            "--dataset",
            str(small_activities),
            "--seeds",
            "1",
            "--architectures",
            "frame_mlp",
            "--inputs",
            "both",
            "velocities",
            "--fewshot",
            "-o",
            str(out),
            "--json",
            str(raw),
        ]
    )
    assert code == 0
    text = out.read_text()
    assert "| frame_mlp | velocities |" in text and "| frame_mlp | both |" in text
    assert "subject-wise, 1 of 4 subjects held out" in text
    assert "± " in text and "Teaching new gestures" in text
    assert "`poseact compare --dataset" in text and "--fewshot" in text
    report = json.loads(raw.read_text())
    assert len(report["runs"]) == 3  # architectures × streams × seeds, and the yardstick
    assert "| random_forest (yardstick) | clip statistics |" in text
    assert "Yardstick (random forest on per-clip statistics)" in text
    forest = [c for c in report["configs"] if c["architecture"] == "random_forest"]
    assert len(forest) == 1 and 0 < forest[0]["accuracy"] <= 1 and forest[0]["parameters"] > 0
    config = report["configs"][0]
    assert config["tflite_bytes"] > 0 and config["sequence_ms"] > 0 and config["frame_ms"] > 0
    assert {r["method"] for r in report["fewshot"]} == {
        "fine-tune head",
        "fine-tune all",
        "from scratch",
    }
    assert all(0 <= r["new_accuracy"] <= 1 for r in report["fewshot"])
    assert "best" in capsys.readouterr().out
    rendered = tmp_path / "again.md"
    assert main(["compare", "--render", str(raw), "-o", str(rendered)]) == 0
    assert rendered.read_text() == text


def test_default_grid_and_options():
    options = CompareOptions()
    configs = options.configurations()
    assert len(configs) == 8 + 3 * 3 and options.seeds >= 3 and options.yardstick
    assert ("transformer", "both") in configs and ("transformer", "positions") not in configs
    assert ("tcn", "two_branch") in configs
    full = CompareOptions(stream_architectures=None).configurations()
    assert len(full) == 8 * 4
    first = CompareOptions(inputs=("positions",)).configurations()[0]
    assert first == ("stats_pool", "positions")
    with pytest.raises(ValueError, match="unknown architectures"):
        CompareOptions(architectures=("cnn",))
    with pytest.raises(ValueError, match="unknown input streams"):
        CompareOptions(inputs=("depth",))


def _config(arch, inputs, acc, kb, frame_ms):
    return ConfigSummary(
        "data", arch, inputs, 3, acc, 0.01, acc, 0.02, 1000, int(kb * 1024), False, 0.2,
        frame_ms, 5.0, 0.5,
    )  # fmt: skip


def test_markdown_highlights_and_studies():
    report = ComparisonReport(
        settings={
            **CompareOptions().__dict__,
            "command": "poseact compare",
            "poseact_version": "0",
            "date": "today",
            "machine": "x",
            "fewshot": {"dataset": "data", "labels": ["a", "b"], "rehearsal_per_class": 5},
            "distill": {"temperature": 4.0, "alpha": 0.3},
        },
        datasets={"data": {"summary": "12 clips", "split": "stratified"}},
        configs=[
            _config("gru", "both", 0.95, 50, 0.02),
            _config("tcn", "both", 0.94, 30, 0.03),
            _config("gru", "positions", 0.80, 50, 0.02),
            _config("tcn", "positions", 0.70, 30, 0.03),
            _config("transformer", "both", 0.90, 60, 0.3),
        ],
        fewshot=[FewShotResult("data", "fine-tune head", 5, 0.9, 0.1, 0.95, 0.0, 0.93, 0.02, 3.0)],
        distillation=[DistillResult("data", "teacher", "gru", 128, 0.9, 0, 0.9, 0, 90000, 400000)],
    )
    text = report.to_markdown()
    assert "Most accurate: **gru / both**, 0.950 ± 0.010" in text
    assert "Smallest within 2 points of it: **tcn / both**" in text
    assert "both 0.945, positions 0.750" in text  # over gru and tcn, which have both streams
    assert "| 5 | fine-tune head | 0.900 ± 0.100 |" in text
    assert "teacher (gru 128)" in text
    assert text.index("| gru | both |") < text.index("| tcn | both |")  # best first
    assert np.isclose(report.best("data").accuracy, 0.95)
    again = ComparisonReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.to_markdown() == text
