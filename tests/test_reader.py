"""The read-ahead frame reader on the real test videos: same frames, bounded, clean exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from poseact.extract.reader import ReadAhead
from poseact.extract.sources import VideoFileSource

REPO = Path(__file__).resolve().parents[1]


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "poseact-reader"]


def test_same_frames_and_timestamps_as_the_source(testdata_dir):
    path = testdata_dir / "hand_open.mp4"
    with VideoFileSource(path) as source:
        expected = list(source)
    with VideoFileSource(path) as source, ReadAhead(source) as frames:
        got = list(frames)
    assert len(got) == len(expected) == 202
    assert [t for t, _ in got] == [t for t, _ in expected]
    for (_, a), (_, b) in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert not reader_threads()


def test_reads_at_most_depth_frames_ahead(testdata_dir):
    decoded = []

    def counted():
        with VideoFileSource(testdata_dir / "hand_open.mp4") as source:
            for t, rgb in source:
                decoded.append(t)
                yield t, rgb

    frames = iter(ReadAhead(counted(), depth=3))
    next(frames)
    time.sleep(0.5)  # ample time for the reader to run ahead as far as it may
    # one consumed, three queued, one decoded and waiting for room
    assert len(decoded) <= 1 + 3 + 1
    frames.close()
    assert not reader_threads()


def test_early_stop_joins_the_thread_before_the_source_closes(testdata_dir):
    with VideoFileSource(testdata_dir / "person_thumb_up.mp4") as source:
        with ReadAhead(source, depth=2) as frames:
            for i, _ in enumerate(frames):
                if i == 5:
                    break
        assert not reader_threads()  # the source is closed only after this
    assert not reader_threads()


def test_a_decoding_error_reaches_the_consumer_after_the_good_frames(testdata_dir):
    def failing():
        with VideoFileSource(testdata_dir / "hand_open.mp4") as source:
            for i, frame in enumerate(source):
                if i == 7:
                    raise OSError("disk went away")
                yield frame

    seen = 0
    with pytest.raises(OSError, match="disk went away"):
        for _ in ReadAhead(failing()):
            seen += 1
    assert seen == 7
    assert not reader_threads()


def test_an_exception_in_the_consumer_stops_the_reader(testdata_dir):
    with VideoFileSource(testdata_dir / "hand_open.mp4") as source:
        with pytest.raises(LookupError, match="the consumer failed"):
            for i, _ in enumerate(ReadAhead(source)):
                if i == 3:
                    raise LookupError("the consumer failed")
    assert not reader_threads()


def test_iterated_once_and_depth_checked(testdata_dir):
    with pytest.raises(ValueError, match="depth"):
        ReadAhead([], depth=0)
    reader = ReadAhead([1, 2])
    assert list(reader) == [1, 2]
    with pytest.raises(RuntimeError, match="once"):
        list(reader)


def test_ctrl_c_stops_reader_and_process_cleanly(testdata_dir):
    """A real SIGINT while frames are being read: KeyboardInterrupt, no hang, no leak."""
    code = f"""
import signal, sys, threading
# Ctrl+C raises KeyboardInterrupt even if this child inherited SIGINT ignored (a
# background job's children do)
signal.signal(signal.SIGINT, signal.default_int_handler)
from poseact.extract.reader import ReadAhead
from poseact.extract.sources import VideoFileSource
try:
    with VideoFileSource({str(testdata_dir / "person_thumb_up.mp4")!r}) as source:
        for n, (t, rgb) in enumerate(ReadAhead(source, depth=2)):
            if n == 0:
                print("reading", flush=True)
            threading.Event().wait(0.05)  # a slow consumer
    print("finished without interrupt", flush=True)
except KeyboardInterrupt:
    left = [t.name for t in threading.enumerate() if t.name == "poseact-reader"]
    print("interrupted", left, flush=True)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "reading"
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    finally:
        child.kill()
    assert out.strip() == "interrupted []"
    assert child.returncode == 0


def test_extract_video_gives_the_unthreaded_landmarks(testdata_dir):
    """extract_video (reader thread) against the plain loop on the same frames."""
    from poseact.extract.extractor import LandmarkExtractor, extract_video
    from poseact.extract.options import ExtractorOptions

    path = testdata_dir / "person_thumb_up.mp4"
    options = ExtractorOptions(layout="pose", frame_step=5)
    threaded = extract_video(path, options)
    timestamps, landmarks, visibility = [], [], []
    with VideoFileSource(path, frame_step=5) as source, LandmarkExtractor(options) as extractor:
        for t, rgb in source:  # no reader thread
            frame = extractor.process(rgb, t)
            timestamps.append(t)
            landmarks.append(frame.landmarks)
            visibility.append(frame.visibility)
    assert len(threaded) == len(timestamps) == 39
    np.testing.assert_array_equal(threaded.timestamps, timestamps)
    np.testing.assert_array_equal(threaded.landmarks, np.stack(landmarks))
    np.testing.assert_array_equal(threaded.visibility, np.stack(visibility))
    assert threaded.detected.all()
    assert not reader_threads()
