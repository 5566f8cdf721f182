"""Faults (issue 6): processes killed mid-write, full disks, two writers of one file.

Real faults only: SIGKILL of real processes, a real tmpfs or a real file-size limit,
real `multiprocessing` processes. The invariant everywhere: a file under its final name
is complete (the old one, or the new one); temp files of killed writes are ignored by
every reader; a rerun picks up where the killed run stopped. See docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import landmarkers_created
from helpers import tmpfs
from media import make_astronaut_video

from poseact.apps.recorder import next_clip_number
from poseact.core.atomic import is_temp_file
from poseact.core.errors import WriteError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset, write_landmark_csv
from poseact.extract.batch import extract_many
from poseact.extract.cache import LandmarkCache
from poseact.extract.options import ExtractorOptions

SIZE = (320, 240)


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def run_python(code: str, *args: str | Path) -> subprocess.Popen:
    """Start `python -c code args...` (the environment, with POSEACT_MODEL_DIR, is kept)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Poll `condition()` every 2 ms until true; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(
                f"the process ended first (rc {process.returncode}):\n{process.stderr.read()}"
            )
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("timed out")
        time.sleep(0.002)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("fault-videos")
    return [
        make_astronaut_video(folder / f"person{i}.mp4", frames=6 + i, size=SIZE) for i in range(5)
    ]


@pytest.fixture
def sequence() -> LandmarkSequence:
    """A clip big enough not to fit a 16 KiB disk (random values barely compress)."""
    rng = np.random.default_rng(0)
    return LandmarkSequence(
        timestamps=np.arange(120) / 30.0,
        landmarks=rng.random((120, 33, 3)),
        visibility=rng.random((120, 33)),
        source="big clip",
    )


# ---------------------------------------------------------------------- killed processes
def test_killed_extraction_leaves_complete_entries_and_a_rerun_resumes(videos, tmp_path, caplog):
    caplog.set_level("DEBUG", logger="poseact.extract.extractor")
    cache = LandmarkCache(tmp_path / "cache")
    child = run_python(
        """
        import sys
        from poseact.extract.cache import LandmarkCache
        from poseact.extract.batch import extract_many
        extract_many(sys.argv[2:], cache=LandmarkCache(sys.argv[1]), progress=False)
        """,
        cache.directory,
        *videos,
    )
    wait_for(lambda: len(cache.entries()) >= 1, child)
    kill(child)  # while it extracts (or writes) the next videos
    done = cache.entries()
    assert 1 <= len(done) < len(videos)
    assert all(is_temp_file(p) for p in files(cache.directory) if p not in done)
    for entry in done:
        assert len(LandmarkSequence.load(entry)) >= 6  # complete, readable entries

    before = landmarkers_created(caplog)
    results = extract_many(videos, cache=cache, progress=False)
    assert landmarkers_created(caplog) - before == len(videos) - len(done)
    assert [len(s) for s in results] == [6, 7, 8, 9, 10]
    assert len(cache.entries()) == len(videos)


_DIE_IN_SAVE = """
    import os, signal, sys
    import numpy as np
    from poseact.core.sequence import LandmarkSequence

    real = np.savez_compressed

    def die_half_way(handle, **arrays):  # SIGKILL with half the file written
        real(handle, **arrays)
        handle.flush()
        handle.truncate(handle.tell() // 2)
        os.kill(os.getpid(), signal.SIGKILL)

    np.savez_compressed = die_half_way
    new = LandmarkSequence.load(sys.argv[1])
"""


def test_kill_inside_a_cache_write(videos, tmp_path):
    cache = LandmarkCache(tmp_path / "cache")
    clip = tmp_path / "clip.npz"
    extract_many(videos[:1], cache=False, progress=False)[0].save(clip)
    child = run_python(
        _DIE_IN_SAVE
        + """
    from poseact.extract.options import ExtractorOptions
    from poseact.extract.cache import LandmarkCache
    LandmarkCache(sys.argv[2]).put(sys.argv[3], ExtractorOptions(), new)
    """,
        clip,
        cache.directory,
        videos[0],
    )
    assert child.wait(timeout=60) == -signal.SIGKILL
    leftovers = files(cache.directory)
    assert len(leftovers) == 1 and is_temp_file(leftovers[0])  # the half-written temp file
    assert cache.entries() == [] and cache.get(videos[0], ExtractorOptions()) is None
    extract_many(videos[:1], cache=cache, progress=False)  # a rerun extracts and stores
    assert len(cache.entries()) == 1


def test_kill_while_overwriting_a_dataset_clip_keeps_the_old_clip(sequence, tmp_path):
    root = tmp_path / "data"
    old = LandmarkSequence.from_array(np.zeros((4, 33, 3)), fps=30).save(root / "wave" / "a.npz")
    LandmarkSequence.from_array(np.ones((4, 33, 3)), fps=30).save(root / "clap" / "b.npz")
    before = old.read_bytes()
    new = sequence.save(tmp_path / "new.npz")
    child = run_python(_DIE_IN_SAVE + "    new.save(sys.argv[2])\n", new, old)
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert old.read_bytes() == before
    data = Dataset.from_folder(root, progress=False)  # the temp file is not a clip
    assert data.labels == ("clap", "wave") and len(data.sequences[1]) == 4
    assert any(is_temp_file(p) for p in files(root))


def test_killed_recording_keeps_finished_clips_and_continues(tmp_path):
    """The camera hangs in the middle of the second clip and the user kills poseact."""
    video = make_astronaut_video(tmp_path / "camera.mp4", frames=40, size=SIZE)
    root, video_root = tmp_path / "gestures", tmp_path / "videos"
    child = run_python(
        """
        import sys, time
        from poseact.extract.sources import VideoFileSource
        from poseact.apps.recorder import RecorderOptions, record_dataset

        def camera():  # 3 frames of countdown, clips of 10 frames; hangs in clip 2
            with VideoFileSource(sys.argv[1]) as source:
                for i, frame in enumerate(source):
                    if i == 20:
                        time.sleep(600)
                    yield frame

        options = RecorderOptions(labels=("wave",), repetitions=3, clip_seconds=10 / 30,
                                  countdown_seconds=3 / 30, pause_seconds=0.0,
                                  preview=False, save_video=True)
        record_dataset(camera(), sys.argv[2], options, video_root=sys.argv[3])
        """,
        video,
        root,
        video_root,
    )
    wait_for(
        lambda: (
            any(is_temp_file(p) for p in files(video_root))
            and (root / "wave" / "wave_001.npz").exists()
        ),
        child,
    )
    time.sleep(0.3)  # let it reach the hang
    kill(child)
    assert [p.name for p in files(root)] == ["wave_001.npz"]
    finals = [p for p in files(video_root) if not is_temp_file(p)]
    assert [p.name for p in finals] == ["wave_001.mp4"]
    assert len(LandmarkSequence.load(root / "wave" / "wave_001.npz")) == 10
    assert len(Dataset.from_folder(root, progress=False)) == 1
    assert next_clip_number("wave", root / "wave", video_root / "wave") == 2


def test_interrupted_model_save_keeps_the_previous_model(asl_gru, tmp_path, monkeypatch):
    import zipfile

    from poseact.train.classifier import GestureClassifier

    path = asl_gru.save(tmp_path / "model.poseact")
    before = path.read_bytes()
    real = zipfile.ZipFile.writestr

    def interrupted(self, name, data, *args, **kwargs):
        if getattr(name, "filename", name) == "representative.npy":
            raise KeyboardInterrupt  # Ctrl+C half-way through writing the zip
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        asl_gru.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and files(tmp_path) == [path]
    assert list(GestureClassifier.load(path).classes_) == list(asl_gru.classes_)


# ---------------------------------------------------------------------- full disks
@contextlib.contextmanager
def file_size_limit(limit: int):
    """RLIMIT_FSIZE for this process (SIGXFSZ ignored, so writes fail with EFBIG)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


@pytest.fixture(params=["tmpfs", "file-size-limit"])
def full_disk(request, tmp_path):
    """(folder, context): writes above 16 KiB inside `context` fail like on a full disk.

    "tmpfs" mounts a real 16 KiB tmpfs (needs root; skipped otherwise); "file-size-limit"
    sets RLIMIT_FSIZE to 16 KiB around the write.
    """
    folder = tmp_path / "disk"
    if request.param == "tmpfs":
        with tmpfs(folder, "16k"):
            yield folder, contextlib.nullcontext
    else:
        folder.mkdir()
        yield folder, lambda: file_size_limit(16 * 1024)


def assert_full_disk_error(excinfo: pytest.ExceptionInfo, path: Path) -> None:
    message = str(excinfo.value)
    assert str(path) in message and "nothing was saved" in message, message
    assert "disk is full" in message or "file-size limit" in message, message


def test_full_disk_when_saving_clips_and_datasets(full_disk, sequence, asl_dataset):
    folder, limit = full_disk
    previous = LandmarkSequence.from_array(np.zeros((2, 33, 3)), fps=30).save(folder / "clip.npz")
    before = previous.read_bytes()
    writes = {
        folder / "clip.npz": lambda path: sequence.save(path),
        folder / "clip.csv": lambda path: write_landmark_csv(sequence, path),
        folder / "signs.npz": lambda path: asl_dataset.save(path),
    }
    for path, write in writes.items():
        with limit(), pytest.raises(WriteError) as info:
            write(path)
        assert_full_disk_error(info, path)
    assert files(folder) == [previous] and previous.read_bytes() == before


def test_full_disk_when_saving_a_model(full_disk, asl_gru):
    folder, limit = full_disk
    path = folder / "model.poseact"
    with limit(), pytest.raises(WriteError) as info:
        asl_gru.save(path)
    assert_full_disk_error(info, path)
    assert files(folder) == []


def test_full_disk_under_the_cache_and_the_command_line(
    full_disk, sequence, videos, caplog, capsys, tmp_path
):
    from poseact.cli import main

    folder, limit = full_disk
    cache = LandmarkCache(folder / "cache")
    with limit(), caplog.at_level("WARNING", logger="poseact.extract.cache"):
        assert cache.put(videos[0], ExtractorOptions(), sequence) is None  # a warning only
    assert "not saved" in caplog.text and str(videos[0]) in caplog.text
    assert cache.entries() == [] and files(folder) == []

    clip = write_landmark_csv(sequence, tmp_path / "clip.csv")
    out = folder / "clip.npz"
    with limit():
        code = main(["-q", "extract", str(clip), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("poseact extract: error: cannot write")
    assert str(out) in err and len(err.strip().splitlines()) == 1
    assert files(folder) == []


# ---------------------------------------------------------------------- two writers
def _put_repeatedly(cache_dir: str, video: str, value: float, times: int) -> None:
    sequence = LandmarkSequence.from_array(np.full((90, 33, 3), value), fps=30)
    cache = LandmarkCache(cache_dir)
    for _ in range(times):
        cache.put(video, ExtractorOptions(), sequence)


def test_two_processes_writing_the_same_cache_entry(videos, tmp_path):
    cache = LandmarkCache(tmp_path / "cache")
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(
            target=_put_repeatedly, args=(str(cache.directory), str(videos[0]), value, 100)
        )
        for value in (0.25, 0.75)
    ]
    for writer in writers:
        writer.start()
    seen = set()
    while any(w.is_alive() for w in writers):
        hit = cache.get(videos[0], ExtractorOptions())  # a torn entry would be a miss
        if hit is not None:
            values = np.unique(hit.landmarks)
            assert len(values) == 1 and len(hit) == 90, "a mix of two writes"
            seen.add(float(values[0]))
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert seen and seen <= {0.25, 0.75}
    assert len(cache.entries()) == 1 and files(cache.directory) == cache.entries()
    assert cache.get(videos[0], ExtractorOptions()) is not None
