"""The extract stage with real MediaPipe models on real frames."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import landmarkers_created
from media import astronaut_frames, make_astronaut_video, write_video

from poseact.core.errors import ModelAssetError, NoPoseDetected, VideoReadError
from poseact.extract.batch import extract_many
from poseact.extract.cache import LandmarkCache, extract_cached
from poseact.extract.extractor import (
    LandmarkExtractor,
    extract_frames,
    extract_image,
    extract_video,
)
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import ArraySource, FrameSource, VideoFileSource, open_source

HANDS = ExtractorOptions(layout="hands")


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Small generated videos shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        "astronaut": make_astronaut_video(folder / "astronaut.mp4", frames=20, fps=30.0),
        "gap": make_astronaut_video(folder / "gap.mp4", frames=15, fps=30.0, blank=range(5, 10)),
        "small_a": make_astronaut_video(folder / "small_a.mp4", frames=6, size=(320, 240)),
        "small_b": make_astronaut_video(
            folder / "small_b.mp4", frames=7, fps=25.0, size=(360, 240)
        ),
        "black": write_video(folder / "black.mp4", np.zeros((6, 120, 160, 3), np.uint8), 30.0),
    }


@pytest.fixture(scope="module")
def hand_rgb(testdata_dir) -> np.ndarray:
    from poseact.extract.extractor import _read_image

    return _read_image(testdata_dir / "hand_thumb_up.jpg")


def assert_same(a, b) -> None:
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    np.testing.assert_array_equal(a.visibility, b.visibility)
    assert a.layout == b.layout and a.image_size == b.image_size


# ---------------------------------------------------------------------------- cheap parts
def test_import_does_not_load_mediapipe_or_opencv():
    code = (
        "import sys, poseact.extract.extractor, poseact.extract.batch, poseact.extract.assets;"
        "bad = [m for m in ('mediapipe', 'cv2', 'tensorflow') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "changes",
    [
        {"layout": "face"},
        {"min_detection_confidence": 1.5},
        {"min_tracking_confidence": "high"},
        {"num_hands": 3},
        {"frame_step": 0},
        {"max_image_side": 8},
        {"world_landmarks": 1},
        {"pose_model": ""},
    ],
)
def test_options_are_validated(changes):
    with pytest.raises(ValueError):
        ExtractorOptions(**changes)


def test_options_dict_and_replace():
    options = ExtractorOptions(layout="pose+hands", pose_model=Path("/x/pose.task"))
    assert options.pose_model == "/x/pose.task"
    assert options.to_dict()["layout"] == "pose+hands"
    assert options.num_points == 75 and options.uses_pose and options.uses_hands
    assert dataclasses.replace(options, frame_step=3).frame_step == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.layout = "pose"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ExtractorOptions("pose")  # type: ignore[misc]  # keyword-only


def test_array_source_timestamps():
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    with ArraySource(frames, fps=10.0) as source:
        assert isinstance(source, FrameSource)
        assert [t for t, _ in source] == pytest.approx([0.0, 0.1, 0.2])
    source = ArraySource(list(frames[:, :, :, 0]), timestamps=[0.5, 0.6, 0.9])
    times, images = zip(*source, strict=True)
    assert times == (0.5, 0.6, 0.9) and images[0].shape == (8, 8, 3)
    with pytest.raises(ValueError):
        ArraySource(frames)
    with pytest.raises(ValueError):
        ArraySource(frames, timestamps=[0.0, 0.0, 1.0])


def test_video_file_source_timestamps_and_step(clips):
    with open_source(str(clips["astronaut"])) as source:
        assert isinstance(source, VideoFileSource)
        assert source.size == (640, 480) and source.fps == pytest.approx(30.0)
        times = [t for t, rgb in source]
    np.testing.assert_allclose(times, np.arange(20) / 30.0, atol=1e-3)
    with VideoFileSource(clips["astronaut"], frame_step=3) as source:
        frames = list(source)
        again = [t for t, _ in source]  # a second pass starts again from the first frame
    np.testing.assert_allclose([t for t, _ in frames], np.arange(0, 20, 3) / 30.0, atol=1e-3)
    assert again == [t for t, _ in frames]
    assert frames[0][1].shape == (480, 640, 3) and frames[0][1].dtype == np.uint8


def test_open_source_digit_means_camera():
    with pytest.raises(VideoReadError, match="camera 97"):
        open_source("97")


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "folder"])
def test_unreadable_videos_name_the_file(tmp_path, kind):
    path = tmp_path / f"clip_{kind}.mp4"
    if kind == "empty":
        path.touch()
    elif kind == "text":
        path.write_text("this is not a video\n" * 50)
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(VideoReadError, match=f"clip_{kind}.mp4"):
        extract_video(path)
    with pytest.raises(VideoReadError, match=f"clip_{kind}.mp4"):
        extract_many([path], cache=False, progress=False)


def test_unreadable_image_names_the_file(tmp_path):
    text = tmp_path / "photo.jpg"
    text.write_text("not a jpeg")
    with pytest.raises(VideoReadError, match="photo.jpg"):
        extract_image(text)
    with pytest.raises(VideoReadError, match="nothing.png"):
        extract_image(tmp_path / "nothing.png")
    with pytest.raises(VideoReadError, match="float"):
        extract_image(np.zeros((10, 10, 3), np.float32))


def test_missing_model_file_is_an_asset_error(tmp_path):
    options = ExtractorOptions(pose_model=str(tmp_path / "nope" / "pose.task"))
    with pytest.raises(ModelAssetError, match="pose.task"):
        extract_image(np.zeros((64, 64, 3), np.uint8), options)


# ---------------------------------------------------------------------------- images
def test_extract_image_hand(testdata_dir):
    sequence = extract_image(testdata_dir / "hand_thumb_up.jpg", HANDS)
    assert len(sequence) == 1 and sequence.layout == "hands"
    assert sequence.image_size == (640, 521)
    assert sequence.source.endswith("hand_thumb_up.jpg")
    found = np.isfinite(sequence.landmarks[0, :, 0]).reshape(2, 21)
    assert found.sum() == 21, "exactly one hand"
    # MediaPipe labels this (unmirrored) photo's hand "Left" -> points 0-20.
    assert found[0].all() and not found[1].any()
    assert 0.5 < sequence.visibility[0, 0] <= 1.0 and sequence.visibility[0, 21] == 0.0
    xy = sequence.landmarks[0, :21, :2]
    assert np.all((xy > 0) & (xy < 1))


def test_handedness_slots_and_duplicate_labels(hand_rgb):
    with LandmarkExtractor(HANDS, running_mode="image") as extractor:
        mirrored = extractor.process(hand_rgb[:, ::-1])
        twice = extractor.process(np.concatenate([hand_rgb, hand_rgb], axis=1))
        both = extractor.process(np.concatenate([hand_rgb, hand_rgb[:, ::-1]], axis=1))
    per_slot = lambda frame: np.isfinite(frame.landmarks[:, 0]).reshape(2, 21).sum(1).tolist()  # noqa: E731
    assert per_slot(mirrored) == [0, 21], "a mirrored left hand is labelled right"
    # Two hands both labelled "Left": only the higher-scoring one is kept.
    assert per_slot(twice) == [21, 0]
    assert per_slot(both) == [21, 21]
    assert twice.image_size == (2 * hand_rgb.shape[1], hand_rgb.shape[0])


def test_extract_image_astronaut_pose():
    from skimage import data

    sequence = extract_image(data.astronaut(), ExtractorOptions(world_landmarks=True))
    assert sequence.landmarks.shape == (1, 33, 3) and sequence.source == "<array>"
    assert np.all(np.isfinite(sequence.landmarks)) and sequence.image_size == (512, 512)
    assert sequence.world is not None and np.all(np.isfinite(sequence.world))
    nose = sequence.landmarks[0, 0]
    assert 0.3 < nose[0] < 0.6 and 0.1 < nose[1] < 0.4  # her face is upper middle
    assert sequence.visibility[0, 0] > 0.9


def test_black_image_raises_or_gives_nan():
    black = np.zeros((240, 320, 3), np.uint8)
    with pytest.raises(NoPoseDetected, match="<array>"):
        extract_image(black)
    sequence = extract_image(black, ExtractorOptions(require_detection=False))
    assert np.all(np.isnan(sequence.landmarks)) and np.all(sequence.visibility == 0)


def test_process_requires_open_and_tolerates_repeated_timestamps():
    frames = astronaut_frames(3, (320, 240))
    extractor = LandmarkExtractor(ExtractorOptions())
    with pytest.raises(RuntimeError, match="not open"):
        extractor.process(frames[0], 0.0)
    with extractor:
        results = [extractor.process(frame, 1.0) for frame in frames]  # same timestamp
        live = extractor.process(frames[0])  # no timestamp: monotonic clock
    assert all(r.detected for r in results) and live.detected
    assert results[0].landmarks.shape == (33, 3) and results[0].image_size == (320, 240)


# ---------------------------------------------------------------------------- videos
def test_extract_video_generated(clips):
    path = clips["astronaut"]
    sequence = extract_video(path)
    assert len(sequence) == 20 and sequence.source == str(path)
    np.testing.assert_allclose(sequence.timestamps, np.arange(20) / 30.0, atol=1e-3)
    assert sequence.fps == pytest.approx(30.0, rel=1e-3)
    assert sequence.image_size == (640, 480)
    assert sequence.detected.all()
    # She slides from left to right.
    nose_x = sequence.landmarks[:, 0, 0]
    assert nose_x[-1] > nose_x[0] + 0.1


def test_frames_without_person_are_nan_rows(clips):
    sequence = extract_video(clips["gap"])
    assert len(sequence) == 15
    np.testing.assert_allclose(sequence.timestamps, np.arange(15) / 30.0, atol=1e-3)
    expected = np.ones(15, bool)
    expected[5:10] = False
    np.testing.assert_array_equal(sequence.detected, expected)
    assert np.all(np.isnan(sequence.landmarks[5:10])) and np.all(sequence.visibility[5:10] == 0)


def test_blank_video_raises_no_pose_detected(clips):
    with pytest.raises(NoPoseDetected, match="black.mp4"):
        extract_video(clips["black"])
    with pytest.raises(NoPoseDetected, match="black.mp4"):
        extract_many([clips["astronaut"], clips["black"]], cache=False, progress=False)


def test_extract_frames_from_arrays_matches_video_timestamps():
    frames = astronaut_frames(6, (320, 240))
    calls = []
    options = ExtractorOptions(frame_step=2)
    sequence = extract_frames(
        ArraySource(frames, fps=20.0, name="arrays"), options, progress=lambda *a: calls.append(a)
    )
    np.testing.assert_allclose(sequence.timestamps, [0.0, 0.1, 0.2])
    assert sequence.detected.all() and sequence.source == "arrays"
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_real_video_with_frame_step(testdata_dir):
    path = testdata_dir / "person_thumb_up.mp4"
    options = ExtractorOptions(frame_step=13, max_image_side=640)
    sequence = extract_video(path, options)
    assert len(sequence) == 15  # ceil(195 / 13)
    np.testing.assert_allclose(sequence.timestamps, np.arange(15) * 13 / 25.0, atol=1e-3)
    assert sequence.image_size == (1280, 720)  # original size, although detected at 640x360
    assert sequence.detected.all()
    shoulders = sequence.landmarks[:, [11, 12], :2]
    assert np.all(np.isfinite(shoulders)) and np.all((shoulders > 0) & (shoulders < 1))


def test_real_video_pose_and_hands(testdata_dir):
    options = ExtractorOptions(layout="pose+hands", frame_step=40, world_landmarks=True)
    sequence = extract_video(testdata_dir / "person_thumb_up.mp4", options)
    assert sequence.landmarks.shape == (5, 75, 3) and sequence.world.shape == (5, 75, 3)
    assert np.isfinite(sequence.landmarks[:, :33, 0]).all(), "pose in every frame"
    hands = np.isfinite(sequence.landmarks[:, 33:, 0]).reshape(5, 2, 21)
    assert hands.all(axis=2).any(), "a whole hand in some frame"
    assert np.array_equal(hands.any(axis=2), hands.all(axis=2)), "hands are all or nothing"


# ---------------------------------------------------------------------------- cache
def test_cache_hits_need_no_landmarker(clips, tmp_path, caplog):
    caplog.set_level("DEBUG", logger="poseact.extract.extractor")
    cache = LandmarkCache(tmp_path / "landmarks")
    paths = [clips["small_a"], clips["small_b"]]
    options = ExtractorOptions()
    before = landmarkers_created(caplog)
    first = extract_many(paths, options, cache=cache, progress=False)
    assert landmarkers_created(caplog) == before + 2
    assert len(cache.entries()) == 2

    second = extract_many(paths, options, cache=cache, progress=False)
    assert landmarkers_created(caplog) == before + 2, "cache hits create no landmarker"
    for a, b, path in zip(first, second, paths, strict=True):
        assert_same(a, b)
        assert b.source == str(path)

    # Content-addressed: a renamed copy hits too; other options miss.
    copy = shutil.copy(paths[0], tmp_path / "renamed.mp4")
    assert cache.get(copy, options) is not None
    assert cache.get(copy, ExtractorOptions(frame_step=2)) is None
    assert cache.key(copy, options) != cache.key(
        copy, ExtractorOptions(min_tracking_confidence=0.6)
    )

    # Temp files of unfinished writes are not entries.
    (cache.directory / ".poseact-tmp-x.npz.123.npz").write_bytes(b"partial")
    assert len(cache.entries()) == 2


def test_corrupt_cache_entry_is_a_miss_and_replaced(clips, tmp_path):
    cache = LandmarkCache(tmp_path / "landmarks")
    path = clips["small_a"]
    options = ExtractorOptions()
    entry = cache.path_for(path, options)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"PK\x03\x04 definitely not a zip")
    assert cache.get(path, options) is None
    sequence = extract_cached(path, options, cache)
    assert sequence.detected.all()
    assert_same(cache.get(path, options), sequence)


def test_default_cache_lives_in_user_cache_dir(clips, isolated_cache):
    sequence = extract_cached(clips["small_b"])
    entries = LandmarkCache().entries()
    assert len(entries) == 1 and entries[0].parent == isolated_cache / "landmarks"
    assert_same(LandmarkCache().get(clips["small_b"], ExtractorOptions()), sequence)


def test_parallel_workers_match_sequential(clips):
    paths = [clips["small_a"], clips["small_b"]]
    sequential = extract_many(paths, cache=False, workers=1, progress=False)
    parallel = extract_many(paths, cache=False, workers=2, progress=False)
    assert [s.source for s in parallel] == [str(p) for p in paths]
    for a, b in zip(sequential, parallel, strict=True):
        assert_same(a, b)
    assert len(parallel[0]) == 6 and len(parallel[1]) == 7


def test_wrong_model_bundle_is_an_asset_error(model_dir):
    options = ExtractorOptions(pose_model=str(model_dir / "hand_landmarker_full.task"))
    with pytest.raises(ModelAssetError, match="pose_detector.tflite"):
        extract_image(np.zeros((64, 64, 3), np.uint8), options)
