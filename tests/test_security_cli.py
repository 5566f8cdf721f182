"""Round three (issue 28) through the command line, in child processes.

Each test drives `python -m poseact.cli` with a user's environment and reads stderr
as the user sees it (file descriptor 2), with real faults: device nodes made with
mknod (root), FIFOs, a real malicious pickle, real tmpfs mounts that fill up, two
real exports at once, a local HTTP server counting requests.
"""

from __future__ import annotations

import http.server
import os
import pickle
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import tmpfs
from media import make_astronaut_video
from reliability import (
    assert_one_line_error,
    files,
    run_cli,
    user_environment,
)

import poseact

LEGACY_MODEL = Path(__file__).parent / "data" / "legacy_v1.tflite"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and mount need root")


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_astronaut_video(
        tmp_path_factory.mktemp("v") / "person.mp4", frames=6, size=(320, 240)
    )


@pytest.fixture(scope="module")
def saved_model(asl_gru, tmp_path_factory) -> Path:
    return asl_gru.save(tmp_path_factory.mktemp("model") / "signs.poseact")


@pytest.fixture(scope="module")
def small_data(asl_dataset, tmp_path_factory) -> Path:
    return asl_dataset.subset(range(0, 90, 3)).save(tmp_path_factory.mktemp("d") / "signs.npz")


def _char_device(path: Path) -> Path:
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null
    return path


# ---------------------------------------------------------------------- 1. outputs
def test_predict_never_writes_onto_any_of_its_inputs(asl_tflite, video, tmp_path):
    model = asl_tflite[0]
    folder = tmp_path / "d"
    folder.mkdir()
    first = Path(shutil.copy(video, folder / "x.mp4"))
    second = Path(shutil.copy(video, folder / "x_annotated.mp4"))
    before = {p: p.read_bytes() for p in (first, second)}
    result = run_cli("-q", "predict", model, first, "--output", first, "--no-cache")
    assert_one_line_error(result, "predict", first, "is the input")
    # the output folder holds another input, which the first's annotated video would be
    result = run_cli("-q", "predict", model, first, second, "--output", folder, "--no-cache")
    assert_one_line_error(result, "predict", second, "is the input")
    assert {p: p.read_bytes() for p in (first, second)} == before
    result = run_cli(
        "-q", "live", "--model", model, "--source", first, "--output", first, "--no-preview"
    )
    assert_one_line_error(result, "live", first)
    assert first.read_bytes() == before[first]


@needs_root
def test_outputs_onto_device_nodes_fifos_and_links(saved_model, tmp_path):
    node = _char_device(tmp_path / "null-copy")
    for args in (
        ["export", saved_model, "-o", node],
        ["generate", "-o", node],
    ):
        result = run_cli("-q", *args, timeout=600)
        assert_one_line_error(result, args[0], node, "character device, not a regular file")
        assert stat.S_ISCHR(node.lstat().st_mode)
    fifo = tmp_path / "pipe.tflite"
    os.mkfifo(fifo)
    result = run_cli("-q", "export", saved_model, "-o", fifo, timeout=600)
    assert_one_line_error(result, "export", fifo, "FIFO")
    # a symbolic link is followed: the file it names is written, the link stays
    target = tmp_path / "models" / "real.tflite"
    target.parent.mkdir()
    link = tmp_path / "link.tflite"
    link.symlink_to(target)
    assert run_cli("-q", "export", saved_model, "-o", link, timeout=600).returncode == 0
    assert link.is_symlink() and poseact.read_model_metadata(target)["classes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "link.tflite",
        "models",
        "null-copy",
        "pipe.tflite",
    ]


def test_web_never_replaces_the_users_own_page(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "index.html").write_text("<h1>mine</h1>")
    (folder / "app.js").write_text("// mine")
    result = run_cli("-q", "web", LEGACY_MODEL, folder)
    assert_one_line_error(result, "web", folder, "app.js, index.html", "--force")
    assert (folder / "index.html").read_text() == "<h1>mine</h1>"
    assert run_cli("-q", "web", LEGACY_MODEL, folder, "--force").returncode == 0
    assert "poseact" in (folder / "index.html").read_text()


# ---------------------------------------------------------------------- 2. units
@needs_root
def test_evaluate_report_on_a_full_disk_is_whole_or_absent(asl_tflite, small_data, tmp_path):
    model = asl_tflite[0]
    reference = tmp_path / "reference"
    assert run_cli("-q", "evaluate", model, small_data, "--report-dir", reference).returncode == 0
    size = sum(p.stat().st_size for p in files(reference))
    with tmpfs(tmp_path / "disk", f"{(size * 3 // 2) // 1024 + 8}k") as disk:
        assert (
            run_cli("-q", "evaluate", model, small_data, "--report-dir", disk / "r").returncode == 0
        )
        before = {p.name: p.read_bytes() for p in files(disk / "r")}
        (disk / "filler").write_bytes(b"x" * (size // 3))
        result = run_cli("-q", "evaluate", model, small_data, "--report-dir", disk / "r2")
        assert result.returncode == 2 and "disk is full" in result.stderr, result.stderr
        assert not (disk / "r2").exists()
        assert {p.name: p.read_bytes() for p in files(disk / "r")} == before
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "r"]


@needs_root
def test_extract_of_a_dataset_onto_a_full_disk_leaves_no_partial_folder(asl_dataset, tmp_path):
    root = tmp_path / "clips"
    for i in range(0, 60, 6):
        asl_dataset.sequences[i].save(root / asl_dataset.labels[i] / f"c{i}.npz")
    size = sum(p.stat().st_size for p in files(root))
    with tmpfs(tmp_path / "disk", f"{max(size // 2 // 1024, 16)}k") as disk:
        result = run_cli("-q", "extract", root, "-o", disk / "out")
        assert result.returncode == 2 and "disk is full" in result.stderr, result.stderr
        assert list(disk.iterdir()) == []


# ---------------------------------------------------------------------- 3. pickles
class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_runs_nothing_in_any_command(saved_model, tmp_path):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "skeletons.pkl"
    crafted.write_bytes(pickle.dumps({"annotations": [{"frame_dir": _Exploit(marker)}]}))
    renamed = shutil.copy(crafted, tmp_path / "data.npz")
    for command, args in [
        ("train", ["train", crafted, "-o", tmp_path / "m.poseact"]),
        ("evaluate", ["evaluate", LEGACY_MODEL, crafted]),
        ("export", ["export", saved_model, "-o", tmp_path / "x.tflite", "--parity-data", crafted]),
        ("demo", ["demo", "--dataset", crafted, "--output-dir", tmp_path / "demo"]),
        ("train", ["train", renamed, "--format", "pyskl", "-o", tmp_path / "m.poseact"]),
    ]:
        result = run_cli("-q", *args, timeout=600)
        assert_one_line_error(result, command, "refused")
        assert not marker.exists(), command


# ---------------------------------------------------------------------- 5. injection
def test_labels_with_escape_sequences_are_refused_and_never_printed_raw(asl_dataset, tmp_path):
    root = tmp_path / "data"
    for i, label in enumerate(["wave", "\x1b[2Jclear"]):
        for k in range(3):
            asl_dataset.sequences[i * 10 + k].save(root / label / f"s{k}_c{i}.npz")
    result = run_cli("-q", "train", root, "-o", tmp_path / "m.poseact", "--epochs", "1")
    line = assert_one_line_error(result, "train", "cannot be a class name", "U+001B")
    assert "\x1b" not in result.stderr and "\\x1b" in line


# ---------------------------------------------------------------------- 7, 9. values, words
@pytest.mark.parametrize(
    "args, needle",
    [
        (
            ["train", "DATA", "-o", "OUT", "--learning-rate", "inf"],
            "learning_rate must be a finite",
        ),
        (["train", "DATA", "-o", "OUT", "--window", "100000"], "from 1 to 1024"),
        (["train", "DATA", "-o", "OUT", "--fps", "inf"], "finite number of frames per second"),
        (["train", "DATA", "-o", "OUT", "--fps", "100000"], "(0, 1000]"),
        (["generate", "-o", "OUT", "--subjects", "100000"], "more than the 100000"),
    ],
    ids=["lr-inf", "window", "fps-inf", "fps-huge", "subjects"],
)
def test_values_that_make_nonsense_are_one_line(args, needle, small_data, tmp_path):
    args = [
        str(small_data) if a == "DATA" else str(tmp_path / "o") if a == "OUT" else a for a in args
    ]
    result = run_cli("-q", *args, timeout=600)
    assert_one_line_error(result, args[0], needle)
    assert not (tmp_path / "o").exists()


def test_a_fifo_given_as_input_is_named_and_does_not_hang(tmp_path):
    fifo = tmp_path / "clip.npz"
    os.mkfifo(fifo)
    result = run_cli("-q", "predict", LEGACY_MODEL, fifo, timeout=120)
    assert_one_line_error(result, "predict", fifo, "FIFO (named pipe)")


def test_export_given_a_tflite_and_a_truncated_tflite(saved_model, tmp_path):
    result = run_cli("-q", "export", LEGACY_MODEL, "-o", tmp_path / "x.tflite", timeout=600)
    assert_one_line_error(result, "export", "exported .tflite model, not a trained classifier")
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(LEGACY_MODEL.read_bytes()[:-200])
    result = run_cli("-q", "predict", cut, LEGACY_MODEL)
    assert_one_line_error(result, "predict", cut, "truncated")


def test_unicode_paths_with_an_ascii_terminal(tmp_path):
    folder = tmp_path / "modèles ✋"
    folder.mkdir()
    model = shutil.copy(LEGACY_MODEL, folder / "signes_café.tflite")
    env = user_environment(PYTHONIOENCODING="ascii", LC_ALL="C", LANG="C")
    result = run_cli("-q", "predict", model, folder / "missing.npz", env=env)
    line = assert_one_line_error(result, "predict", "missing.npz")
    assert "UnicodeEncodeError" not in result.stderr and "mod\\xe8les" in line


def test_two_exports_to_one_file_at_once(saved_model, tmp_path):
    out = tmp_path / "same.tflite"
    command = [
        sys.executable,
        "-m",
        "poseact.cli",
        "-q",
        "export",
        str(saved_model),
        "-o",
        str(out),
    ]
    processes = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=user_environment(),
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=900), p.stderr.read()) for p in processes]
    assert [code for code, _ in results] == [0, 0], results
    assert poseact.TFLiteGestureModel(out).classes_.size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["same.tflite"]


class _Counting(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Counting.requests.append(self.path)
        self.send_error(404)

    def log_message(self, *args) -> None:
        pass


def test_offline_means_no_download_even_when_asked(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = user_environment(
            POSEACT_OFFLINE="1",
            POSEACT_MODEL_DIR=str(tmp_path / "none"),
            POSEACT_CACHE_DIR=str(tmp_path / "cache"),
            XDG_CACHE_HOME=str(tmp_path / "xdg"),
            POSEACT_MODEL_BASE_URL=f"http://127.0.0.1:{server.server_port}",
        )
        result = run_cli("-q", "models", "download", "pose_full", env=env)
        assert result.returncode == 2
        assert "POSEACT_OFFLINE" in result.stderr
        assert _Counting.requests == []
    finally:
        server.shutdown()


def test_busy_and_bad_host_or_port_for_web_serve(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("-q", "web", LEGACY_MODEL, tmp_path / "s", "--serve", "--port", port)
        assert_one_line_error(result, "web", f"127.0.0.1:{port}", "in use by another program")
    result = run_cli("-q", "web", LEGACY_MODEL, tmp_path / "s", "--serve", "--host", "203.0.113.9")
    assert_one_line_error(result, "web", "not an address of this machine")


def test_a_200_class_report_is_bounded(tmp_path):
    """A 200-class evaluation report (issue: 5.7 GB and 147 s) stays small and quick."""
    import resource
    import time

    from poseact.train.evaluate import EvaluationReport

    n = 200
    rng = np.random.default_rng(0)
    confusion = rng.integers(0, 4, (n, n))
    ones = np.ones(n)
    report = EvaluationReport(
        classes=tuple(f"class {i}" for i in range(n)),
        accuracy=0.5,
        macro_f1=0.5,
        precision=ones,
        recall=ones,
        f1=ones,
        support=confusion.sum(axis=1),
        confusion=confusion,
    )
    started = time.perf_counter()
    paths = report.save(tmp_path / "report")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert seconds < 30, seconds
    assert sum(p.stat().st_size for p in paths.values()) < 20 << 20
    assert peak < 8 << 30
