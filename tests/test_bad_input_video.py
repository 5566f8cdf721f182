"""Bad video input (issue 6): real files, real MediaPipe; see docs/reliability.md.

Every case ends either in a poseact error whose message names the file, or in a
sequence that keeps time true. Cases already tested elsewhere are listed in
docs/reliability.md with their test (missing, empty, text-as-.mp4 and folder inputs:
tests/test_landmarks.py::test_unreadable_videos_name_the_file).
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_names
from media import astronaut_frames, make_astronaut_video, write_video

from poseact.core.errors import NoPoseDetected, VideoReadError
from poseact.extract.batch import extract_many
from poseact.extract.cache import LandmarkCache, extract_cached
from poseact.extract.extractor import extract_video
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import VideoFileSource
from poseact.normalize.normalizer import Normalizer
from poseact.runtime.model import TFLiteGestureModel

SIZE = (320, 240)


# ---------------------------------------------------------------------- a real VFR .mp4
_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


def _boxes(data: bytes):
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        assert size >= 8, "64-bit or open-ended MP4 boxes are not expected here"
        yield kind, data[pos + 8 : pos + size]
        pos += size


def _find(data: bytes, path: list[bytes]) -> bytes:
    for kind, body in _boxes(data):
        if kind == path[0]:
            return body if len(path) == 1 else _find(body, path[1:])
    raise KeyError(path)


def _retime(data: bytes, deltas: list[int], media_total: int, movie_total: int) -> bytes:
    out = b""
    for kind, body in _boxes(data):
        if kind in _MP4_CONTAINERS:
            body = _retime(body, deltas, media_total, movie_total)
        elif kind == b"stts":  # time-to-sample: one entry per frame, its own duration
            entries = b"".join(struct.pack(">II", 1, d) for d in deltas)
            body = body[:4] + struct.pack(">I", len(deltas)) + entries
        elif kind == b"mdhd":
            body = body[:16] + struct.pack(">I", media_total) + body[20:]
        elif kind == b"mvhd":
            body = body[:16] + struct.pack(">I", movie_total) + body[20:]
        elif kind == b"tkhd":
            body = body[:20] + struct.pack(">I", movie_total) + body[24:]
        elif kind == b"elst":
            body = body[:8] + struct.pack(">I", movie_total) + body[12:]
        out += struct.pack(">I4s", 8 + len(body), kind) + body
    return out


def make_vfr_mp4(frames: np.ndarray, times: np.ndarray, path: Path) -> Path:
    """A variable-frame-rate .mp4: frame i is presented at `times[i]` seconds.

    OpenCV writes a constant-rate mp4v file (its index `moov` after the data); this
    rewrites the index's time-to-sample table (and the durations) so that each frame
    has its own duration, which is what a phone's VFR recording holds.
    """
    write_video(path, frames, 30.0)
    data = path.read_bytes()
    mdhd = _find(data, [b"moov", b"trak", b"mdia", b"mdhd"])
    mvhd = _find(data, [b"moov", b"mvhd"])
    assert mdhd[0] == 0 and mvhd[0] == 0, "version-0 headers expected"
    assert data.find(b"moov") > data.find(b"mdat"), "index after the data expected"
    media_scale = struct.unpack(">I", mdhd[12:16])[0]
    movie_scale = struct.unpack(">I", mvhd[12:16])[0]
    ticks = np.round(np.asarray(times) * media_scale).astype(np.int64)
    deltas = [int(d) for d in np.diff(ticks)] + [int(np.median(np.diff(ticks)))]
    media_total = sum(deltas)
    movie_total = int(round(media_total / media_scale * movie_scale))
    path.write_bytes(_retime(data, deltas, media_total, movie_total))
    return path


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad-videos")
    return {"person": make_astronaut_video(folder / "person.mp4", frames=10, size=SIZE)}


# ---------------------------------------------------------------------- unreadable files
def test_truncated_download_of_a_real_video_is_refused(testdata_dir, tmp_path):
    """A real H.264 clip with its index first, cut in half: the frames that remain would
    decode, but the container lists 195; no truncated clip reaches a cache."""
    data = (testdata_dir / "person_thumb_up.mp4").read_bytes()
    cut = tmp_path / "thumb up (half).mp4"
    cut.write_bytes(data[: len(data) // 2])
    cache = LandmarkCache(tmp_path / "cache")
    options = ExtractorOptions(frame_step=10, max_image_side=320)
    with pytest.raises(VideoReadError, match="truncated or corrupt") as info:
        extract_cached(cut, options, cache)
    assert_names(info, cut)
    assert "of the 20 frames" in str(info.value)
    assert cache.entries() == []


def test_truncated_file_with_its_index_at_the_end(clips, tmp_path):
    data = clips["person"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # OpenCV writes the index (moov) last
    with pytest.raises(VideoReadError, match="cannot open") as info:
        extract_video(cut)
    assert_names(info, cut)


def test_corrupt_bytes_in_the_middle(clips, tmp_path):
    data = bytearray(clips["person"].read_bytes())
    middle = len(data) // 3
    data[middle : middle + 2000] = np.random.default_rng(0).bytes(2000)
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(bytes(data))
    with pytest.raises(VideoReadError, match="decoding stopped after") as info:
        extract_many([clips["person"], bad], cache=LandmarkCache(tmp_path / "c"), progress=False)
    assert_names(info, bad)
    # the good video before it was extracted and cached; the corrupt one was not
    assert len(LandmarkCache(tmp_path / "c").entries()) == 1


def test_zero_frame_video(tmp_path):
    import cv2

    path = tmp_path / "zero frames.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    writer.release()  # a valid container holding no frame
    assert path.stat().st_size > 0
    with pytest.raises(VideoReadError, match="no frames") as info:
        VideoFileSource(path)
    assert_names(info, path)


def test_audio_and_image_files_renamed_mp4(tmp_path, testdata_dir):
    audio = tmp_path / "voice.mp4"
    with wave.open(str(tmp_path / "voice.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.sin(np.arange(8000) / 5) * 3000).astype("<i2").tobytes())
    (tmp_path / "voice.wav").rename(audio)
    with pytest.raises(VideoReadError, match="cannot open") as info:
        extract_video(audio)
    assert_names(info, audio)
    # a JPEG renamed .mp4 is decodable image data: FFmpeg reads it as a one-frame video
    photo = tmp_path / "photo.mp4"
    photo.write_bytes((testdata_dir / "hand_thumb_up.jpg").read_bytes())
    sequence = extract_video(photo, ExtractorOptions(require_detection=False))
    assert len(sequence) == 1 and sequence.source == str(photo)


# ---------------------------------------------------------------------- people
def test_video_with_no_person(tmp_path, caplog):
    """A real photo of a cat panning across the frame: nobody there."""
    from skimage import data

    cat = data.chelsea()  # (300, 451, 3)
    frames = np.stack([np.ascontiguousarray(cat[:240, 8 * i : 8 * i + 320]) for i in range(6)])
    path = write_video(tmp_path / "cat.mp4", frames, 30.0)
    with pytest.raises(NoPoseDetected, match="no person detected in any of the 6 frames") as info:
        extract_video(path)
    assert_names(info, path)
    # opting out keeps the frames as NaN rows; the normalizer says so and gives zeros
    empty = extract_video(path, ExtractorOptions(require_detection=False))
    assert len(empty) == 6 and not empty.detected.any()
    with caplog.at_level("WARNING", logger="poseact.normalize.normalizer"):
        features = Normalizer().transform(empty)
    assert np.all(features == 0)
    assert str(path) in caplog.text and "no usable landmarks" in caplog.text


def test_person_leaves_halfway(tmp_path):
    frames = astronaut_frames(16, SIZE)
    frames[8:] = 90  # the grey background the astronaut stood in front of
    path = write_video(tmp_path / "leaves.mp4", frames, 30.0)
    sequence = extract_video(path)
    assert len(sequence) == 16, "frames without anybody are kept, so time stays true"
    np.testing.assert_allclose(sequence.timestamps, np.arange(16) / 30.0, atol=1e-3)
    np.testing.assert_array_equal(sequence.detected, np.arange(16) < 8)
    assert np.all(np.isnan(sequence.landmarks[8:])) and np.all(sequence.visibility[8:] == 0)
    assert np.all(np.isfinite(Normalizer().transform(sequence)))


# ---------------------------------------------------------------------- time and size
def test_variable_frame_rate_video_keeps_true_timestamps(tmp_path):
    """Frames dropped irregularly (as a phone does in low light): the decoded timestamps
    are the presentation times, and resampling to 30 fps recovers the motion."""
    frames = astronaut_frames(18, SIZE)
    keep = np.array([0, 1, 2, 3, 5, 6, 9, 10, 11, 15, 16, 17])
    vfr = make_vfr_mp4(frames[keep], keep / 30.0, tmp_path / "vfr.mp4")
    cfr = write_video(tmp_path / "cfr.mp4", frames, 30.0)
    with VideoFileSource(vfr) as source:
        assert source.frame_count == 12 and source.fps != 30.0  # the container's average
    a, b = extract_video(cfr), extract_video(vfr)
    np.testing.assert_allclose(b.timestamps, keep / 30.0, atol=1e-3)
    normalizer = Normalizer()
    assert len(normalizer.resampled(b)) == len(normalizer.resampled(a)) == 18
    # The astronaut slides at constant speed: the nose on the 30 fps grid matches the
    # constant-rate video, and would not if frames were taken as evenly spaced.
    grid = np.arange(18) / 30.0
    nose = np.interp(grid, b.timestamps, b.landmarks[:, 0, 0])
    naive = np.interp(grid[:12], grid[:12], b.landmarks[:, 0, 0])
    assert np.max(np.abs(nose - a.landmarks[:, 0, 0])) < 0.02
    assert np.max(np.abs(naive - a.landmarks[:12, 0, 0])) > 0.04


@pytest.mark.parametrize("frames", [1, 3])
def test_clip_shorter_than_the_model_window(frames, tmp_path, asl_tflite):
    path = make_astronaut_video(tmp_path / f"short{frames}.mp4", frames=frames, size=SIZE)
    sequence = extract_video(path)
    assert len(sequence) == frames and sequence.detected.all()
    model = TFLiteGestureModel(asl_tflite[0])
    assert model.spec.window == 30 > frames
    probs = model.predict_proba([sequence])
    assert probs.shape == (1, 3) and np.all(np.isfinite(probs))
    assert abs(float(probs.sum()) - 1.0) < 1e-4


def test_huge_resolution_is_scaled_down_frame_by_frame(tmp_path):
    """Three 4000x3000 frames (36 MB each as RGB): extraction holds one frame at a time
    and detects on a copy scaled to `max_image_side`."""
    import tracemalloc

    path = make_astronaut_video(tmp_path / "huge.mp4", frames=3, size=(4000, 3000))
    tracemalloc.start()
    try:
        sequence = extract_video(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(sequence) == 3 and sequence.detected.all()
    assert sequence.image_size == (4000, 3000)
    assert peak < 250e6, f"peak {peak / 1e6:.0f} MB"
