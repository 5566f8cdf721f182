"""Reliability, round two (issue 13): the command line under adversarial input.

Every test runs `python -m poseact.cli` in a real child process with a user's
environment and reads its stderr pipe, i.e. file descriptor 2 as a terminal shows it,
native libraries included. The item numbers are those of issue 13; see
docs/reliability.md.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from media import astronaut_frames, make_astronaut_video
from reliability import (
    assert_one_line_error,
    files,
    peak_rss_of,
    run_cli,
    user_environment,
)

import poseact

SIZE = (320, 240)


def clip(frames: int = 8, *, layout: str = "pose", timestamps=None, seed: int = 0):
    k = poseact.get_layout(layout).num_points
    rng = np.random.default_rng(seed)
    return poseact.LandmarkSequence(
        timestamps=np.arange(frames) / 30 if timestamps is None else np.asarray(timestamps),
        landmarks=0.3 + 0.4 * rng.random((frames, k, 3)),
        visibility=np.ones((frames, k)),
        layout=layout,
        source="clip",
    )


def write_csv(sequence, path: Path, *, encoding: str = "utf-8") -> Path:
    """A landmark CSV as spreadsheets write it (`timestamp`, `<POINT>.x/.y/.z/.visibility`)."""
    names = poseact.get_layout(sequence.layout).point_names
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["timestamp"] + [f"{n}.{c}" for n in names for c in "x y z visibility".split()]
        )
        for t in range(len(sequence)):
            row = [repr(float(sequence.timestamps[t]))]
            for k in range(len(names)):
                row += [repr(float(v)) for v in sequence.landmarks[t, k]]
                row.append(repr(float(sequence.visibility[t, k])))
            writer.writerow(row)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_astronaut_video(
        tmp_path_factory.mktemp("video") / "person.mp4", frames=8, size=SIZE
    )


@pytest.fixture(scope="module")
def tflite(asl_tflite) -> Path:
    return asl_tflite[0]


@pytest.fixture(scope="module")
def saved_model(asl_gru, tmp_path_factory) -> Path:
    return asl_gru.save(tmp_path_factory.mktemp("model") / "signs.poseact")


#: Finds the subject in clip names "s0_...": with subjects known, the CLI prints no
#: warning about the split, so stderr holds only what these tests look at.
SUBJECTS = r"^(?P<group>s\d)_"


@pytest.fixture(scope="module")
def signs_folder(asl_dataset, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("signs") / "signs"
    for n, i in enumerate(range(0, 90, 6)):
        asl_dataset.sequences[i].save(root / asl_dataset.labels[i] / f"s{n % 3}_clip{i}.npz")
    return root


# ---------------------------------------------------------------------- 1. own input
def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def test_extract_never_overwrites_its_input_video(video, tmp_path):
    source = shutil.copy(video, tmp_path / "v.mp4")
    before = _bytes(source)
    for extra in (["--no-cache"], []):
        result = run_cli(
            "-q",
            "extract",
            source,
            *extra,
            "-o",
            source,
            env=user_environment(POSEACT_CACHE_DIR=str(tmp_path / "cache")),
        )
        assert_one_line_error(result, "extract", source)
        assert _bytes(source) == before
    # the same file under another name: a symbolic link and a hard link
    (tmp_path / "link.mp4").symlink_to(source)
    os.link(source, tmp_path / "hard.mp4")
    for other in ("link.mp4", "hard.mp4"):
        result = run_cli("-q", "extract", source, "--no-cache", "-o", tmp_path / other)
        assert_one_line_error(result, "extract", tmp_path / other)
        assert _bytes(source) == before


def test_extract_of_a_folder_into_itself_is_refused(signs_folder, tmp_path):
    root = tmp_path / "signs"
    shutil.copytree(signs_folder, root)
    before = {p: _bytes(p) for p in files(root)}
    assert_one_line_error(run_cli("-q", "extract", root, "-o", root), "extract", root)
    assert {p: _bytes(p) for p in files(root)} == before


def test_train_and_export_never_overwrite_their_input(asl_dataset, saved_model, tmp_path):
    data = asl_dataset.subset(range(0, 90, 3)).save(tmp_path / "d.npz")
    before = _bytes(data)
    result = run_cli("-q", "train", data, "-o", data, "--epochs", "1", "--units", "4")
    assert_one_line_error(result, "train", data)
    assert _bytes(data) == before
    model = shutil.copy(saved_model, tmp_path / "m.poseact")
    model_before = _bytes(model)
    assert_one_line_error(run_cli("-q", "export", model, "-o", model), "export", model)
    assert _bytes(model) == model_before
    # --report-dir onto the dataset's folder is fine; onto the data file itself is not
    result = run_cli(
        "-q",
        "train",
        data,
        "-o",
        tmp_path / "x.poseact",
        "--report-dir",
        data,
        "--epochs",
        "1",
        "--units",
        "4",
    )
    assert_one_line_error(result, "train", data)
    assert _bytes(data) == before


def test_compare_render_never_overwrites_its_json(tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"runs": []}))
    before = _bytes(report)
    result = run_cli("-q", "compare", "--render", report, "-o", report)
    assert_one_line_error(result, "compare", report)
    assert _bytes(report) == before


# ---------------------------------------------------------------------- 5. timestamp gaps
def test_a_huge_timestamp_gap_does_not_allocate_empty_time(tflite, tmp_path):
    gap = clip(2, timestamps=[0.0, 1e7]).save(tmp_path / "gap.npz")
    argv = [sys.executable, "-m", "poseact.cli", "-q", "predict", str(tflite), str(gap)]
    code, peak, out, err = peak_rss_of(argv, timeout=120, env=user_environment())
    assert peak < 1.5e9, f"peak memory {peak / 1e9:.1f} GB"
    assert code == 2, err[-2000:]
    line = err.strip()
    assert len(line.splitlines()) == 1 and line.startswith("poseact predict: error: "), line
    assert str(gap) in line and "gap" in line, line


# ---------------------------------------------------------------------- 6. no display
@pytest.mark.parametrize("display", [None, ":99"], ids=["DISPLAY unset", "no X server"])
def test_live_with_a_preview_and_no_display_does_not_abort(display, tflite, video):
    env = user_environment(DISPLAY=display, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    result = run_cli(
        "-q",
        "live",
        "--model",
        tflite,
        "--source",
        video,
        "--max-frames",
        "4",
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    notice = result.stderr.strip().splitlines()
    assert len(notice) == 1 and "--no-preview" in notice[0] and "display" in notice[0], notice


def test_record_with_a_preview_and_no_display_does_not_abort(video, tmp_path):
    env = user_environment(DISPLAY=None, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    root = tmp_path / "gestures"
    result = run_cli(
        "-q",
        "record",
        "wave",
        "-o",
        root,
        "--source",
        video,
        "--repetitions",
        "1",
        "--clip-seconds",
        "0.1",
        "--countdown",
        "0",
        "--pause",
        "0",
        env=env,
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    notice = result.stderr.strip().splitlines()
    assert len(notice) == 1 and "--no-preview" in notice[0], notice
    assert [p.name for p in files(root)] == ["wave_001.npz"]
    # waiting for a key needs the window: refused up front, naming --no-preview
    result = run_cli(
        "-q", "record", "wave", "-o", root, "--source", video, "--wait-for-key", env=env
    )
    assert_one_line_error(result, "record", "display")
    assert [p.name for p in files(root)] == ["wave_001.npz"]


# ---------------------------------------------------------------------- 8. tracebacks
@pytest.fixture(scope="module")
def grouped_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("grouped") / "data"
    for label in ("wave", "clap"):
        for subject in range(3):
            clip(8, seed=subject).save(root / label / f"s{subject}_{label}.npz")
    return root


@pytest.mark.parametrize("pattern", ["(", "syn"])
def test_bad_group_patterns_are_one_line(pattern, grouped_folder, tmp_path):
    result = run_cli(
        "-q",
        "train",
        grouped_folder,
        "--group-pattern",
        pattern,
        "-o",
        tmp_path / "m.poseact",
        "--epochs",
        "1",
    )
    assert_one_line_error(result, "train", "group pattern", repr(pattern))
    assert not files(tmp_path)


@pytest.mark.parametrize(
    "flags",
    [["train", "--workers", "0"], ["train", "--window", "0"], ["record", "--repetitions", "0"]],
    ids=" ".join,
)
def test_numbers_out_of_range_are_one_line(flags, grouped_folder, tmp_path):
    command, *rest = flags
    where = (
        [grouped_folder, "-o", tmp_path / "m.poseact", "--group-pattern", SUBJECTS]
        if command == "train"
        else ["wave", "-o", tmp_path / "rec", "--no-preview"]
    )
    result = run_cli("-q", command, *where, *rest)
    assert_one_line_error(result, command, rest[0].lstrip("-").replace("-", "_"), rest[1])
    assert not files(tmp_path)


def test_web_serve_on_an_impossible_port_is_one_line(tflite, tmp_path):
    for port in ("99999", "-1"):
        result = run_cli("-q", "web", tflite, tmp_path / "site", "--serve", "--port", port)
        assert_one_line_error(result, "web", port)
    assert not (tmp_path / "site").exists(), "nothing is built when --port is impossible"


def test_compare_render_of_json_without_its_keys_is_one_line(tmp_path):
    for name, content in {
        "empty.json": "{}",
        "list.json": "[1, 2]",
        "runs.json": '{"runs": [{}]}',
        "text.json": "not json",
    }.items():
        path = tmp_path / name
        path.write_text(content)
        result = run_cli("-q", "compare", "--render", path, "-o", tmp_path / "out.md")
        assert_one_line_error(result, "compare", path)
    assert not (tmp_path / "out.md").exists()


def test_a_clip_given_as_a_dataset_says_so(tflite, tmp_path):
    single = clip(8).save(tmp_path / "one clip.npz")
    result = run_cli("-q", "evaluate", tflite, single)
    line = assert_one_line_error(result, "evaluate", single)
    assert "landmark clip" in line and "not a dataset" in line, line


# ---------------------------------------------------------------------- 10. wrong results
def test_extract_writes_what_the_suffix_says(tmp_path):
    source = clip(6).save(tmp_path / "a.npz")
    result = run_cli("-q", "extract", source, "-o", tmp_path / "x.csv")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "x.csv").read_text(encoding="utf-8")
    assert text.startswith("timestamp,"), text[:40]
    back = poseact.load_sequence(tmp_path / "x.csv")
    np.testing.assert_allclose(back.landmarks, poseact.LandmarkSequence.load(source).landmarks)
    result = run_cli("-q", "extract", source, "-o", tmp_path / "x.json")
    assert_one_line_error(result, "extract", tmp_path / "x.json", ".json")
    assert not (tmp_path / "x.json").exists()


def test_demo_with_zero_epochs_is_refused(tmp_path):
    result = run_cli("-q", "demo", "--epochs", "0", "--output-dir", tmp_path / "demo", timeout=120)
    assert_one_line_error(result, "demo", "epochs")
    assert not (tmp_path / "demo").exists()


def test_video_claiming_12800_fps_is_reported(tmp_path):
    """A real person in 20 frames whose container says 12,800 fps (1.6 ms in all)."""
    fast = poseact.write_video(tmp_path / "fast.mp4", astronaut_frames(20, SIZE), fps=12800)
    result = run_cli("-q", "extract", fast, "--no-cache", "-o", tmp_path / "x.npz")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("WARNING") and str(fast) in lines[0], lines
    assert "12800 fps" in lines[0], lines
    assert len(poseact.LandmarkSequence.load(tmp_path / "x.npz")) == 20


# ---------------------------------------------------------------------- 11. native logs
def test_errors_after_loading_mediapipe_are_one_line(video, tmp_path):
    (tmp_path / "a-file.txt").write_text("a file, not a folder")
    out = tmp_path / "a-file.txt" / "out.npz"
    result = run_cli("-q", "extract", video, "--no-cache", "-o", out)
    assert_one_line_error(result, "extract", out)
    # the same without -q: progress bars go to stderr only on a terminal
    result = run_cli("extract", video, "--no-cache", "-o", out)
    assert_one_line_error(result, "extract", out)


def test_errors_after_loading_tensorflow_and_litert_are_one_line(
    saved_model, tflite, signs_folder, tmp_path
):
    unknown = tmp_path / "signs"
    shutil.copytree(signs_folder, unknown)
    clip(8).save(unknown / "goodbye" / "s0_g1.npz")
    for model in (saved_model, tflite):
        result = run_cli("-q", "evaluate", model, unknown, "--group-pattern", SUBJECTS)
        assert_one_line_error(result, "evaluate", unknown, "goodbye")


def test_native_logs_come_back_with_debug(saved_model, signs_folder, tmp_path):
    """--debug keeps the user's environment for native libraries (and the traceback)."""
    result = run_cli("--debug", "evaluate", saved_model, tmp_path / "missing")
    assert result.returncode != 0 and "Traceback" in result.stderr
    assert len(result.stderr.strip().splitlines()) > 1


# ---------------------------------------------------------------------- 12. messages
def test_csv_with_a_byte_order_mark_is_read(tmp_path):
    bom = write_csv(clip(5), tmp_path / "excel.csv", encoding="utf-8-sig")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    result = run_cli("-q", "extract", bom, "-o", tmp_path / "x.npz")
    assert result.returncode == 0, result.stderr
    assert len(poseact.LandmarkSequence.load(tmp_path / "x.npz")) == 5


def test_one_clip_per_class_says_test_fraction_0(tmp_path):
    root = tmp_path / "data"
    for i, label in enumerate(("wave", "clap", "none")):
        # hand clips: random points under the pose layout would (rightly) draw a warning
        # that no body is plausible, before the error this test is about
        clip(8, layout="hands", seed=i).save(root / label / "only.npz")
    result = run_cli(
        "-q", "train", root, "-o", tmp_path / "m.poseact", "--epochs", "1",
        "--group-pattern", r"^(?P<group>\w+)$",
    )  # fmt: skip
    assert_one_line_error(result, "train", "--test-fraction 0")


def test_report_dir_that_is_a_file(tmp_path, asl_dataset):
    data = asl_dataset.subset(range(0, 90, 3)).save(tmp_path / "d.npz")
    report = tmp_path / "report"
    report.write_text("a file")
    result = run_cli(
        "-q",
        "train",
        data,
        "-o",
        tmp_path / "m.poseact",
        "--report-dir",
        report,
        "--epochs",
        "1",
        "--units",
        "4",
    )
    line = assert_one_line_error(result, "train", report)
    assert "Errno" not in line and "not a folder" in line, line
    assert not (tmp_path / "m.poseact").exists(), "refused before training"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to drop the capability that reads any file",
)
def test_unreadable_video_says_permission_denied(video, tmp_path):
    """chmod 000 stops a user, not root: the CLI runs as root without the capabilities
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), i.e. like any user."""
    locked = shutil.copy(video, tmp_path / "locked.mp4")
    os.chmod(locked, 0o000)
    argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable]
    argv += ["-m", "poseact.cli", "-q", "extract", str(locked), "--no-cache"]
    argv += ["-o", str(tmp_path / "x.npz")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                            env=user_environment())  # fmt: skip
    line = assert_one_line_error(result, "extract", locked)
    assert "permission denied" in line.lower() and "not a video" not in line, line


@pytest.mark.slow
def test_ten_thousand_group_names_are_summarized(tmp_path):
    n = 10_000
    rng = np.random.default_rng(0)
    labels = ("wave", "clap")
    data = poseact.Dataset.from_arrays(
        list(rng.random((n, 2, 33, 3))),
        [labels[i % 2] for i in range(n)],
        groups=[f"subject-with-a-long-name-{i // 2:05d}" for i in range(n)],
    ).save(tmp_path / "many.npz")
    result = run_cli(
        "-q",
        "train",
        data,
        "-o",
        tmp_path / "m.poseact",
        "--epochs",
        "1",
        "--units",
        "2",
        "--window",
        "2",
        "--batch-size",
        "1024",
        "--no-velocity",
        "--no-yardstick",  # a forest on 8,000 clips of noise: half a minute, no names
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "accuracy" in result.stdout and "yardstick" not in result.stdout
    assert len(result.stdout) < 4000, f"{len(result.stdout)} characters printed"
    assert "and 999 more" in result.stdout or "more" in result.stdout, result.stdout[-500:]
