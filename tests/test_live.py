"""Live recognition with real MediaPipe and a real exported model on a generated video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ASL_SIGNS
from media import astronaut_frames, make_astronaut_video

from poseact.apps.live import LiveFrame, LivePipeline, LiveStats, iter_events, run_live
from poseact.core.errors import ModelFormatError
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import ArraySource
from poseact.runtime.decider import DecisionOptions, GestureEvent
from poseact.runtime.model import TFLiteGestureModel

FRAMES = 30
SIZE = (320, 240)
# Accept any label at once, so that a 1 s video surely produces events (from its 15th
# row: a stream's first answers cover too few rows to start one, `settled`).
EAGER = DecisionOptions(threshold=0.0, min_frames=1, cooldown=0.0)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """A GRU trained briefly on the real ASL pose recordings, exported to TFLite."""
    from poseact.data.dataset import Dataset
    from poseact.deploy.export import export_tflite
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import TrainingOptions

    with np.load(ASL_SIGNS) as data:
        classes = [str(c) for c in data["classes"]]
        arrays = list(data["pose"])
        labels = [classes[i] for i in data["labels"]]
    dataset = Dataset.from_arrays(arrays, labels, fps=30.0, layout="pose")
    classifier = GestureClassifier(training=TrainingOptions(epochs=5)).fit(dataset)
    path = tmp_path_factory.mktemp("live-model") / "asl.tflite"
    export_tflite(classifier, path)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("live-video")
    return make_astronaut_video(folder / "person.mp4", frames=FRAMES, size=SIZE)


def check_events(events, classes) -> None:
    """Start/end pairs, in order, with labels of the model."""
    assert events, "expected at least one event"
    open_label = None
    for event in events:
        assert isinstance(event, GestureEvent)
        assert event.label in classes
        assert 0.0 <= event.confidence <= 1.0
        if event.end is None:
            assert open_label is None
            open_label = event.label
        else:
            assert event.label == open_label and event.end >= event.start
            open_label = None
    assert open_label is None, "the last gesture must be closed when the stream ends"


def test_run_live_over_a_video(video, model_path):
    model = TFLiteGestureModel(model_path)
    classes = set(model.classes_)
    seen: list[GestureEvent] = []
    stats = run_live(video, model, decision=EAGER, preview=False, on_event=seen.append)
    assert isinstance(stats, LiveStats)
    assert stats.frames == FRAMES and stats.stop_reason == "end"
    assert stats.detected_frames == FRAMES
    assert stats.fps > 0 and stats.seconds > 0
    assert stats.extract_seconds > stats.classify_seconds > 0
    assert stats.extract_ms_per_frame > 0
    np.testing.assert_allclose(stats.stream_seconds, (FRAMES - 1) / 30.0, atol=2e-3)
    check_events(stats.events, classes)
    assert list(stats.events) == seen  # the callback saw the same events, in order
    assert "30 frames" in stats.summary()


def test_iter_events_and_max_frames(video, model_path):
    events = list(iter_events(video, model_path, decision=EAGER, max_frames=20))
    check_events(events, {"hello", "iloveyou", "thanks"})
    assert all(e.start < 20 / 30.0 for e in events)
    stats = run_live(video, model_path, decision=EAGER, preview=False, max_frames=20)
    assert stats.frames == 20 and stats.stop_reason == "max_frames"
    assert list(stats.events) == events  # same frames, same decisions


def test_pipeline_frame_by_frame_matches_run_live(model_path):
    frames = astronaut_frames(20, SIZE)
    with LivePipeline(model_path, decision=EAGER) as pipeline:
        results = [pipeline.process(rgb, i / 30.0) for i, rgb in enumerate(frames)]
        end = pipeline.finish()
    assert all(isinstance(r, LiveFrame) for r in results)
    assert [r.index for r in results] == list(range(20))
    last = results[-1]
    assert last.label in pipeline.classes and last.probabilities.shape == (3,)
    np.testing.assert_allclose(last.probabilities.sum(), 1.0, atol=1e-4)
    events = [e for r in results for e in r.events] + end
    assert events
    stats = run_live(ArraySource(frames, fps=30.0), model_path, decision=EAGER, preview=False)
    assert stats.frames == 20
    assert [(e.label, e.start, e.end) for e in stats.events] == [
        (e.label, e.start, e.end) for e in events
    ]


def test_preview_draws_and_q_stops(video, model_path, monkeypatch):
    """The preview path with OpenCV's window calls replaced (no display in tests)."""
    import cv2

    shown: list[np.ndarray] = []
    monkeypatch.setattr(cv2, "imshow", lambda name, image: shown.append(image.copy()))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # the window calls are replaced
    monkeypatch.setattr(cv2, "waitKey", lambda delay: ord("q") if len(shown) == 20 else -1)
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: 1.0)
    monkeypatch.setattr(cv2, "destroyWindow", lambda *a: None)
    stats = run_live(video, model_path, decision=EAGER, preview=True)
    assert stats.frames == 20 and stats.stop_reason == "user"
    assert len(shown) == 20 and shown[0].shape == (SIZE[1], SIZE[0], 3)
    check_events(stats.events, {"hello", "iloveyou", "thanks"})  # closed on stop


def test_bad_arguments(model_path, tmp_path):
    with pytest.raises(ValueError, match="layout"):
        LivePipeline(model_path, extractor=ExtractorOptions(layout="hands"))
    with pytest.raises(ModelFormatError):
        run_live(0, tmp_path / "missing.tflite", preview=False)
    with pytest.raises(ValueError, match="max_frames"):
        iter_events(0, model_path, max_frames=0)
    with pytest.raises(RuntimeError, match="not open"):
        LivePipeline(model_path).process(np.zeros((8, 8, 3), np.uint8), 0.0)
