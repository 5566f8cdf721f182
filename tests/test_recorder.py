"""Recording datasets with real MediaPipe on generated videos of a real person."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import video_frames
from media import make_astronaut_video

from poseact.apps.recorder import RecordedClip, RecorderOptions, next_clip_number, record_dataset
from poseact.core.atomic import is_temp_file
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import VideoFileSource

FPS = 30.0
SIZE = (320, 240)
CLIP_FRAMES = 15  # 0.5 s at 30 fps
COUNTDOWN_FRAMES = 6  # 0.2 s


def options(**changes) -> RecorderOptions:
    fields = {
        "labels": ("wave", "none"),
        "repetitions": 2,
        "clip_seconds": CLIP_FRAMES / FPS,
        "countdown_seconds": COUNTDOWN_FRAMES / FPS,
        "pause_seconds": 0.0,
        "preview": False,
    }
    fields.update(changes)
    return RecorderOptions(**fields)


def all_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def assert_no_temp_files(*roots: Path) -> None:
    temps = [p for p in all_files(*roots) if is_temp_file(p)]
    assert not temps, temps


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recorder-videos")
    per_clip = COUNTDOWN_FRAMES + CLIP_FRAMES
    return {
        # 2 labels x 2 repetitions and a few frames to spare
        "session": make_astronaut_video(folder / "session.mp4", frames=4 * per_clip + 6, size=SIZE),
        # ends exactly when the first clip is complete
        "one_clip": make_astronaut_video(folder / "one_clip.mp4", frames=per_clip, size=SIZE),
        # ends 4 frames into the second clip
        "cut": make_astronaut_video(folder / "cut.mp4", frames=per_clip + 10, size=SIZE),
    }


@pytest.fixture(scope="module")
def session(videos, tmp_path_factory) -> dict:
    """One recording of 2 labels x 2 repetitions with videos, shared by several tests."""
    root = tmp_path_factory.mktemp("session") / "gestures"
    clips: list[RecordedClip] = []
    saved = record_dataset(videos["session"], root, options(save_video=True), on_clip=clips.append)
    return {"root": root, "videos": root.parent / "gestures-videos", "saved": saved, "clips": clips}


# ---------------------------------------------------------------------------- cheap parts
def test_import_does_not_load_mediapipe_or_opencv():
    code = (
        "import sys, poseact.apps.recorder, poseact.apps.live, poseact.apps.drawing;"
        "bad = [m for m in ('mediapipe', 'cv2', 'tensorflow') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "changes",
    [
        {"labels": ()},
        {"labels": ("wave", "wave")},
        {"labels": ("a/b",)},
        {"labels": (".hidden",)},
        {"labels": (" wave",)},
        {"repetitions": 0},
        {"repetitions": 1.5},
        {"clip_seconds": 0},
        {"clip_seconds": float("nan")},
        {"countdown_seconds": -1},
        {"pause_seconds": "1"},
        {"preview": False, "wait_for_key": True},
        {"extractor": {"layout": "pose"}},
    ],
)
def test_options_are_validated(changes):
    with pytest.raises(ValueError):
        options(**changes)


def test_options_plan_orders():
    assert options().plan() == [("wave", 1), ("wave", 2), ("none", 1), ("none", 2)]
    assert options(interleave=True).plan() == [("wave", 1), ("none", 1), ("wave", 2), ("none", 2)]
    assert options(labels=["a"]).labels == ("a",)
    assert options().total_clips == 4


def test_next_clip_number(tmp_path):
    assert next_clip_number("wave", tmp_path / "missing") == 1
    (tmp_path / "wave_007.npz").touch()
    (tmp_path / "wave_012.mp4").touch()
    (tmp_path / ".poseact-tmp-wave_099.npz.abc.npz").touch()  # an interrupted write
    (tmp_path / "wave_long_050.npz").touch()  # another label's clip
    (tmp_path / "notes.txt").touch()
    assert next_clip_number("wave", tmp_path) == 13
    assert next_clip_number("wave_long", tmp_path) == 51


# ---------------------------------------------------------------------------- recording
def test_session_writes_the_dataset_layout(session):
    root, videos = session["root"], session["videos"]
    expected = ["none/none_001", "none/none_002", "wave/wave_001", "wave/wave_002"]
    assert [p.relative_to(root).with_suffix("").as_posix() for p in all_files(root)] == expected
    assert [p.relative_to(videos).with_suffix("").as_posix() for p in all_files(videos)] == expected
    assert all(p.suffix == ".npz" for p in all_files(root))
    assert all(p.suffix == ".mp4" for p in all_files(videos))
    assert [p.relative_to(root).as_posix() for p in session["saved"]] == [
        "wave/wave_001.npz",
        "wave/wave_002.npz",
        "none/none_001.npz",
        "none/none_002.npz",
    ]
    assert_no_temp_files(root.parent)
    # the raw clips hold exactly the recorded frames
    for path in all_files(videos):
        assert len(video_frames(path)) == CLIP_FRAMES


def test_session_clips_load_as_a_dataset(session):
    dataset = Dataset.from_folder(session["root"], progress=False)
    assert sorted(dataset.labels) == ["none", "none", "wave", "wave"]
    assert dataset.classes == ("none", "wave")
    for sequence in dataset.sequences:
        assert len(sequence) == CLIP_FRAMES
        assert sequence.timestamps[0] == 0.0
        assert np.all(np.diff(sequence.timestamps) > 0)
        np.testing.assert_allclose(sequence.timestamps[-1], (CLIP_FRAMES - 1) / FPS, atol=2e-3)
        assert sequence.layout == "pose" and sequence.image_size == SIZE
        assert sequence.detected.all()  # the astronaut is found in every frame
    # consecutive clips of one stream: no frame lost, none shared
    starts = [clip.start for clip in session["clips"]]
    np.testing.assert_allclose(np.diff(starts), (COUNTDOWN_FRAMES + CLIP_FRAMES) / FPS, atol=2e-3)


def test_on_clip_reports_each_saved_clip(session):
    clips = session["clips"]
    assert [(c.label, c.repetition, c.index, c.number) for c in clips] == [
        ("wave", 1, 1, 1),
        ("wave", 2, 2, 2),
        ("none", 1, 3, 1),
        ("none", 2, 4, 2),
    ]
    for clip in clips:
        assert clip.path in session["saved"] and clip.video_path.is_file()
        loaded = LandmarkSequence.load(clip.path)
        np.testing.assert_array_equal(loaded.landmarks, clip.sequence.landmarks)


def test_classifier_fits_on_a_recorded_dataset(session):
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    dataset = Dataset.from_folder(session["root"], progress=False)
    classifier = GestureClassifier(
        model=ModelOptions(units=8),
        training=TrainingOptions(epochs=1, validation_fraction=0.0),
    ).fit(dataset)
    assert list(classifier.classes_) == ["none", "wave"]
    assert classifier.predict_proba(dataset).shape == (4, 2)


def test_second_session_continues_numbering(session, videos, tmp_path):
    root = tmp_path / "gestures"
    shutil.copytree(session["root"], root)
    shutil.copytree(session["videos"], tmp_path / "gestures-videos")
    saved = record_dataset(
        videos["session"],
        root,
        options(labels=("wave", "clap"), repetitions=1, save_video=True),
    )
    assert [p.relative_to(root).as_posix() for p in saved] == [
        "wave/wave_003.npz",
        "clap/clap_001.npz",
    ]
    assert (tmp_path / "gestures-videos" / "wave" / "wave_003.mp4").is_file()
    assert (tmp_path / "gestures-videos" / "clap" / "clap_001.mp4").is_file()
    assert len(Dataset.from_folder(root, progress=False)) == 6
    assert_no_temp_files(tmp_path)


def test_interrupt_from_on_clip_keeps_the_finished_clip(videos, tmp_path):
    root = tmp_path / "gestures"

    def stop(clip: RecordedClip) -> None:
        raise KeyboardInterrupt

    saved = record_dataset(videos["session"], root, options(save_video=True), on_clip=stop)
    assert saved == [root / "wave" / "wave_001.npz"]
    assert all_files(tmp_path) == [
        tmp_path / "gestures" / "wave" / "wave_001.npz",
        tmp_path / "gestures-videos" / "wave" / "wave_001.mp4",
    ]
    assert len(LandmarkSequence.load(saved[0])) == CLIP_FRAMES


def test_interrupt_mid_clip_discards_it(videos, tmp_path):
    """Ctrl+C while the second clip (and its video) is being written."""
    interrupt_at = 2 * COUNTDOWN_FRAMES + CLIP_FRAMES + 5

    def frames():
        with VideoFileSource(videos["session"]) as source:
            for i, item in enumerate(source):
                if i == interrupt_at:
                    # the second clip's temp video exists right now
                    assert any(is_temp_file(p) for p in all_files(tmp_path))
                    raise KeyboardInterrupt
                yield item

    root = tmp_path / "gestures"
    saved = record_dataset(frames(), root, options(save_video=True))
    assert saved == [root / "wave" / "wave_001.npz"]
    assert_no_temp_files(tmp_path)
    assert [p.name for p in all_files(tmp_path)] == ["wave_001.npz", "wave_001.mp4"]


def test_video_ending_mid_clip_discards_only_that_clip(videos, tmp_path):
    saved = record_dataset(videos["cut"], tmp_path / "gestures", options(save_video=True))
    assert [p.name for p in saved] == ["wave_001.npz"]
    assert [p.name for p in all_files(tmp_path)] == ["wave_001.npz", "wave_001.mp4"]
    assert len(Dataset.from_folder(tmp_path / "gestures", progress=False)) == 1


def test_video_ending_with_a_complete_clip_keeps_it(videos, tmp_path):
    saved = record_dataset(videos["one_clip"], tmp_path, options())
    assert [p.name for p in saved] == ["wave_001.npz"]
    assert len(LandmarkSequence.load(saved[0])) == CLIP_FRAMES


def test_preview_keys_start_and_quit(videos, tmp_path, monkeypatch):
    """The preview path with OpenCV's window calls replaced (no display in tests):
    SPACE starts the first clip, "q" quits while waiting for the second."""
    import cv2

    shown: list[np.ndarray] = []
    keys = {3: ord(" ")}  # frame index in the preview -> key pressed

    def imshow(name, image):
        shown.append(image.copy())

    def wait_key(delay):
        n = len(shown) - 1
        if n == 3 + COUNTDOWN_FRAMES + CLIP_FRAMES + 2:
            return ord("q")
        return keys.get(n, -1)

    monkeypatch.setattr(cv2, "imshow", imshow)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # the window calls are replaced
    monkeypatch.setattr(cv2, "waitKey", wait_key)
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: 1.0)
    monkeypatch.setattr(cv2, "destroyWindow", lambda *a: None)
    saved = record_dataset(
        videos["session"],
        tmp_path,
        options(preview=True, wait_for_key=True, extractor=ExtractorOptions(max_image_side=320)),
    )
    assert [p.name for p in saved] == ["wave_001.npz"]
    assert len(LandmarkSequence.load(saved[0])) == CLIP_FRAMES
    assert shown[0].shape == (SIZE[1], SIZE[0], 3)
    # the preview draws on a copy: status box, skeleton; the raw video would differ
    with VideoFileSource(videos["session"]) as source:
        first = cv2.cvtColor(next(iter(source))[1], cv2.COLOR_RGB2BGR)
    assert np.mean(np.abs(shown[0].astype(int) - first.astype(int))) > 1.0
    assert_no_temp_files(tmp_path)
