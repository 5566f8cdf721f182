"""Reliability, round two (issue 13): data that must not be lost, state that must not
hang, model files that must not lie.

Real faults only: two real recorder processes into one folder, a real tmpfs that fills
up, real model files edited on disk, children with a timeout and a memory measurement
where the old code looped or allocated gigabytes. The item numbers are those of
issue 13; see docs/reliability.md.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import archive_start, tmpfs, video_frames
from media import make_astronaut_video
from reliability import (
    assert_one_line_error,
    files,
    peak_rss_of,
    python_child,
    run_cli,
    user_environment,
)

import poseact

SIZE = (320, 240)


def is_temp(path: Path) -> bool:
    return path.name.startswith(".poseact-tmp-")


@pytest.fixture(scope="module")
def camera_video(tmp_path_factory) -> Path:
    """A real 40-frame video of a person, played as the camera."""
    return make_astronaut_video(
        tmp_path_factory.mktemp("camera") / "camera.mp4", frames=40, size=SIZE
    )


# ---------------------------------------------------------------------- 2. two recorders
_RECORDER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import poseact

    video, root, videos, go = sys.argv[1:5]

    def camera():  # both recorders start their first clip at the same moment
        Path(f"{go}.{os.getpid()}").touch()
        while not Path(go).exists():
            time.sleep(0.002)
        with poseact.open_source(video) as source:
            yield from source

    options = poseact.RecorderOptions(
        labels=("wave",), repetitions=3, clip_seconds=10 / 30, countdown_seconds=0.0,
        pause_seconds=0.0, preview=False, save_video=True,
    )
    for path in poseact.record_dataset(camera(), root, options, video_root=videos):
        print(path)
    """
)


def test_two_recorders_into_one_folder_keep_every_clip(camera_video, tmp_path):
    root, videos, go = tmp_path / "gestures", tmp_path / "videos", tmp_path / "go"
    children = [python_child(_RECORDER, camera_video, root, videos, go) for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.*"))) < 2:
        assert time.monotonic() < deadline, "the recorders did not start"
        assert all(c.poll() is None for c in children), children[0].stderr.read()
        time.sleep(0.01)
    go.touch()
    reported = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err[-2000:]
        reported.append([Path(line) for line in out.split()])
    assert [len(r) for r in reported] == [3, 3]
    clips = [p for p in files(root) if not is_temp(p)]
    assert sorted(reported[0] + reported[1]) == clips, "a clip was overwritten"
    assert len(clips) == 6 and not set(reported[0]) & set(reported[1])
    mp4s = [p for p in files(videos) if not is_temp(p)]
    assert [p.stem for p in mp4s] == [p.stem for p in clips]
    for npz, mp4 in zip(clips, mp4s):
        assert len(poseact.LandmarkSequence.load(npz)) == len(video_frames(mp4)) == 10


@pytest.mark.slow
def test_two_record_commands_at_once(camera_video, tmp_path):
    root = tmp_path / "gestures"
    argv = [
        "-q", "record", "wave", "-o", root, "--source", camera_video, "--repetitions", "2",
        "--clip-seconds", "0.5", "--countdown", "0", "--pause", "0", "--no-preview",
    ]  # fmt: skip
    import subprocess

    children = [
        subprocess.Popen(
            [sys.executable, "-m", "poseact.cli", *map(str, argv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=user_environment(),
        )  # fmt: skip
        for _ in range(2)
    ]
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err[-2000:]
        assert "2 of 2 clips recorded" in out, out
    clips = [p for p in files(root) if not is_temp(p)]
    assert len(clips) == 4, clips
    assert len(poseact.Dataset.from_folder(root, progress=False)) == 4


# ---------------------------------------------------------------------- 3. full disks
def test_recorded_video_on_a_full_disk_is_never_left_unreadable(camera_video, tmp_path):
    root = tmp_path / "gestures"
    with tmpfs(tmp_path / "disk", "48k") as disk:
        result = run_cli(
            "-q", "record", "wave", "-o", root, "--source", camera_video, "--repetitions", "4",
            "--clip-seconds", str(10 / 30), "--countdown", "0", "--pause", "0", "--no-preview",
            "--save-video", "--video-root", disk / "videos",
        )  # fmt: skip
        assert_one_line_error(result, "record", disk / "videos", "disk is full")
        videos = files(disk)
        assert not [p for p in videos if is_temp(p)], "temp files left on the full disk"
        for mp4 in videos:
            assert len(video_frames(mp4)) == 10, f"{mp4.name} is unreadable or short"
        clips = files(root)
        assert [p.stem for p in clips] == [p.stem for p in videos], "each clip has its video"
        assert len(clips) < 4


def test_write_video_on_a_full_disk(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (10, 240, 320, 3), dtype=np.uint8)
    with tmpfs(tmp_path / "disk", "32k") as disk:
        with pytest.raises(poseact.WriteError) as info:
            poseact.write_video(disk / "noise.mp4", frames)
        assert str(disk / "noise.mp4") in str(info.value)
        assert files(disk) == []


def _site_bytes(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in files(site)}


def test_web_onto_a_full_disk_leaves_no_partial_site(asl_tflite, tmp_path):
    model = asl_tflite[0]
    with tmpfs(tmp_path / "small", "1m") as disk:
        result = run_cli("-q", "web", model, disk / "site")
        assert_one_line_error(result, "web", "disk is full")
        assert files(disk) == [], [p.name for p in files(disk)]
    # a complete site, rebuilt onto a disk with room for one copy only: the old one stays
    reference = tmp_path / "reference"
    assert run_cli("-q", "web", model, reference).returncode == 0
    size = sum(p.stat().st_size for p in files(reference))
    with tmpfs(tmp_path / "one-copy", f"{int(size * 1.4) // 4096 * 4 + 64}k") as disk:
        assert run_cli("-q", "web", model, disk / "site").returncode == 0
        before = _site_bytes(disk / "site")
        result = run_cli("-q", "web", model, disk / "site", "--assets", tmp_path / "missing")
        assert result.returncode == 2
        result = run_cli("-q", "web", model, disk / "site")  # needs a second copy's room
        assert_one_line_error(result, "web", "disk is full")
        assert _site_bytes(disk / "site") == before
        assert [p for p in files(disk) if is_temp(p) or p.parent.name.startswith(".")] == []


# ---------------------------------------------------------------------- 4. datasets
def test_float16_save_refuses_values_it_cannot_hold(tmp_path):
    data = poseact.Dataset.from_arrays(
        [np.full((4, 33, 3), 0.5), np.full((4, 33, 3), 70000.0)], ["a", "b"]
    )
    with pytest.raises(poseact.DatasetError, match="float16") as info:
        data.save(tmp_path / "d.npz", precision="float16")
    assert "70000" in str(info.value) or "65504" in str(info.value), info.value
    assert files(tmp_path) == []
    ok = poseact.Dataset.from_arrays([np.full((4, 33, 3), 0.5)] * 2, ["a", "b"])
    assert len(poseact.Dataset.load(ok.save(tmp_path / "ok.npz", precision="float16"))) == 2


@pytest.mark.parametrize("label", ["../escaped", ".", "..", "a/b", "/abs", "nul\0"])
def test_to_folder_refuses_labels_that_are_not_folder_names(label, tmp_path):
    root = tmp_path / "root"
    try:
        data = poseact.Dataset.from_arrays([np.full((4, 33, 3), 0.5)] * 2, ["fine", label])
    except poseact.DatasetError:
        return  # refused when the dataset is made: fine too
    with pytest.raises(poseact.DatasetError, match="folder name"):
        data.to_folder(root)
    assert files(tmp_path) == [], "nothing written, inside or outside the root"


# ---------------------------------------------------------------------- 5. gaps, streaming
def test_streaming_featurizer_gap_does_not_emit_empty_time():
    code = """
        import sys, numpy as np, poseact
        f = poseact.StreamingFeaturizer(poseact.NormalizerSpec())
        p, v = np.full((33, 3), 0.5), np.ones(33)
        f.push(0.0, p, v)
        rows = f.push(1e7, p, v)
        print(len(rows), f.spec.window)
    """
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    code, peak, out, err = peak_rss_of(argv, timeout=60, env=user_environment())
    assert code == 0, err[-2000:]
    rows, window = map(int, out.split())
    assert rows <= window and peak < 1e9, (rows, window, peak)


# ---------------------------------------------------------------------- 7. timestamps
_PUSH = textwrap.dedent(
    """
    import sys, numpy as np, poseact
    model = poseact.TFLiteGestureModel(sys.argv[1])
    recognizer = poseact.StreamingRecognizer(model)
    times = [float(t) for t in sys.argv[2:]]
    p, v = np.full((33, 3), 0.5), np.ones(33)
    for t in times[:-1]:
        recognizer.push(t, p, v)
    try:
        recognizer.push(times[-1], p, v)
    except poseact.LandmarkFormatError as exc:
        print("refused:", exc)
    else:
        print("accepted")
    """
)


@pytest.mark.parametrize(
    "times",
    [["inf"], ["nan"], ["0", "inf"], ["0", "nan"], ["0", "-inf"], ["0.5", "0.5"], ["1", "0.5"]],
    ids=lambda t: "→".join(t),
)
def test_streaming_recognizer_refuses_bad_timestamps(times, asl_tflite):
    child = python_child(_PUSH, asl_tflite[0], *times)
    try:
        out, err = child.communicate(timeout=60)
    except Exception:
        child.kill()
        child.communicate()
        pytest.fail(f"push({times[-1]}) did not return within 60 s")
    assert child.returncode == 0, err[-2000:]
    assert out.startswith("refused:"), out
    assert "timestamp" in out, out


# ---------------------------------------------------------------------- 9. model files
def edited(model: Path, out: Path, edit=None, *, json_padding: int = 0) -> Path:
    """A copy of `model` whose poseact.json went through `edit(dict)`, optionally
    followed by `json_padding` spaces (still valid JSON; deflates ~1000:1)."""
    data = model.read_bytes()
    start = archive_start(data)
    with zipfile.ZipFile(io.BytesIO(data[start:])) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    meta = json.loads(members["poseact.json"])
    if edit is not None:
        edit(meta)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("poseact.json", "w", force_zip64=True) as handle:
            handle.write(json.dumps(meta).encode())
            chunk = b" " * (1 << 20)
            for _ in range(json_padding // len(chunk)):
                handle.write(chunk)
        for name, content in members.items():
            if name != "poseact.json":
                zf.writestr(name, content)
    out.write_bytes(data[:start] + buffer.getvalue())
    return out


@pytest.fixture(scope="module")
def models(asl_tflite, asl_gru, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {"tflite": asl_tflite[0], "poseact": asl_gru.save(folder / "signs.poseact")}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tflite", "poseact"])
def test_model_file_member_that_inflates_to_a_gibibyte(kind, models, tmp_path):
    bomb = edited(models[kind], tmp_path / f"bomb.{kind}", json_padding=1 << 30)
    assert bomb.stat().st_size < models[kind].stat().st_size + 3_000_000
    code = "import sys, poseact\ntry:\n    poseact.load_model(sys.argv[1])\nexcept poseact.ModelFormatError as exc:\n    print(exc)\n"
    argv = [sys.executable, "-c", code, str(bomb)]
    rc, peak, out, err = peak_rss_of(argv, timeout=120, env=user_environment())
    assert rc == 0, err[-2000:]
    assert peak < 1.0e9, f"peak memory {peak / 1e9:.2f} GB"
    assert str(bomb) in out and "poseact.json" in out, out


def _set(key, value):
    def edit(meta):
        meta[key] = value

    return edit


def _set_layout(meta):
    meta["normalizer"]["layout"] = "hands" if meta["normalizer"]["layout"] != "hands" else "pose"


METADATA_EDITS = {
    "duplicate classes": (
        lambda m: m.update(classes=[m["classes"][0]] * len(m["classes"])),
        "duplicate",
    ),
    "classes as a string": (lambda m: m.update(classes="abc"), "classes"),
    "unknown background": (_set("background", "no-such-label"), "no-such-label"),
    "layout differs from the normalizer's": (lambda m: m.update(layout="hands"), "layout"),
    "classes with an empty name": (lambda m: m.update(classes=["", *m["classes"][1:]]), "classes"),
    "classes not strings": (lambda m: m.update(classes=[1, 2, 3]), "classes"),
}


@pytest.mark.parametrize("case", sorted(METADATA_EDITS))
@pytest.mark.parametrize("kind", ["tflite", "poseact"])
def test_model_metadata_is_validated_at_load(case, kind, models, tmp_path):
    edit, needle = METADATA_EDITS[case]
    if kind == "poseact" and case.startswith("layout"):
        edit = _set_layout  # a .poseact has no top-level layout: its spec and network differ
    if kind == "poseact":  # a .poseact keeps what training learned in its fitted section
        edit = (lambda inner: lambda meta: inner(meta["fitted"]))(edit)
    path = edited(models[kind], tmp_path / f"edited.{kind}", edit)
    with pytest.raises(poseact.ModelFormatError) as info:
        poseact.load_model(path)
    message = str(info.value)
    if kind == "poseact" and case.startswith("layout"):  # caught by the spec or the network
        needle = "layout" if "layout" in message else "features per frame"
    assert str(path) in message and needle in message, message
