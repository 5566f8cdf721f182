"""Real-time recognition: camera or video frames → MediaPipe → exported model → events.

Three ways in, from most to least convenient:

- `run_live(source, model)`: the whole loop with an optional preview window (skeleton,
  current label, confidence, pipeline FPS); returns `LiveStats`.
- `iter_events(source, model)`: a generator of `GestureEvent`s, headless.
- `LivePipeline`: one frame at a time (`process(rgb, t) -> LiveFrame`), for your own
  loop, GUI or server.

Time spent per frame is measured in two parts: MediaPipe (`extract_seconds`) and
poseact's normalize + classify + decide (`classify_seconds`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.apps.frames import iter_frames, open_frames
from poseact.apps.live_preview import _annotated, _show
from poseact.core.tracking import TrackerOptions
from poseact.extract.extractor import FrameLandmarks, LandmarkExtractor, stack_people
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import FrameSource, is_camera
from poseact.extract.video import import_cv2
from poseact.runtime.decider import DecisionOptions, GestureEvent
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.people import PeopleRecognizer, PersonState
from poseact.runtime.recognizer import StreamingRecognizer

__all__ = ["LiveFrame", "LiveStats", "LivePipeline", "run_live", "iter_events"]

logger = logging.getLogger(__name__)

EventCallback = Callable[[GestureEvent], None]


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """What the pipeline made of one frame.

    Attributes:
        index: frame number in the stream, from 0.
        timestamp: the frame's time in seconds (source timestamps).
        rgb: (H, W, 3) uint8 RGB, the frame itself (not copied).
        landmarks: MediaPipe's landmarks of the frame ((K, 3) `.landmarks`,
            (K,) `.visibility`, `.image_size`).
        label: the most probable class after smoothing (None before the first
            model step), whether or not it passed the threshold.
        confidence: its smoothed probability in [0, 1].
        probabilities: (C,) smoothed probabilities, in `model.classes_` order.
        events: the gesture events this frame started or ended.
        extract_seconds: wall time spent in MediaPipe for this frame.
        classify_seconds: wall time spent normalizing, classifying and deciding
            (with several people: tracking them too).
        people: with `max_people` > 1, each person's state by track id (their
            landmarks, label, confidence, gesture going on); () otherwise. `label`,
            `confidence` and `probabilities` are then those of the first of them.
        gesture: the gesture going on after this frame (an event started and not yet
            ended), or None (with several people: the first person's).
    """

    index: int
    timestamp: float
    rgb: np.ndarray
    landmarks: FrameLandmarks
    label: str | None
    confidence: float
    probabilities: np.ndarray
    events: tuple[GestureEvent, ...]
    extract_seconds: float
    classify_seconds: float
    people: tuple[PersonState, ...] = ()
    gesture: str | None = None


@dataclass(frozen=True, eq=False)
class LiveStats:
    """Summary of a `run_live` session.

    Attributes:
        frames: frames processed.
        seconds: wall time of the loop, in seconds (including preview and decoding).
        fps: frames / seconds, the pipeline's throughput.
        events: every `GestureEvent`, in order (start events have `end=None`; each
            finished gesture also has an end event).
        extract_seconds: total wall time in MediaPipe.
        classify_seconds: total wall time in normalize + classify + decide.
        detected_frames: frames where MediaPipe found a person (or hand).
        stream_seconds: source time from the first to the last frame.
        stop_reason: "end" (source exhausted), "max_frames", "user" (q/Esc or the
            window closed) or "interrupt" (Ctrl+C).
        layout: the landmark layout ("hands": `detected_frames` counts hands).
        output: the annotated video written (`run_live(output=...)`), or None.
        people: with `max_people` > 1, how many people (tracks) were seen; else 0.
    """

    frames: int
    seconds: float
    fps: float
    events: tuple[GestureEvent, ...]
    extract_seconds: float
    classify_seconds: float
    detected_frames: int = 0
    stream_seconds: float = 0.0
    stop_reason: str = "end"
    layout: str = "pose"
    output: Path | None = None
    people: int = 0

    @property
    def extract_ms_per_frame(self) -> float:
        """Mean milliseconds per frame in MediaPipe."""
        return 1000.0 * self.extract_seconds / self.frames if self.frames else 0.0

    @property
    def classify_ms_per_frame(self) -> float:
        """Mean milliseconds per frame in normalize + classify + decide."""
        return 1000.0 * self.classify_seconds / self.frames if self.frames else 0.0

    @property
    def gestures(self) -> list[GestureEvent]:
        """The finished gestures (events with an `end`)."""
        return [event for event in self.events if event.end is not None]

    def summary(self) -> str:
        """One line for logs and the CLI."""
        found = "a hand" if self.layout == "hands" else "person"
        count = len(self.gestures)
        return (
            f"{self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} fps;"
            f" MediaPipe {self.extract_ms_per_frame:.1f} ms/frame, classify"
            f" {self.classify_ms_per_frame:.2f} ms/frame), {found} in"
            f" {self.detected_frames}"
            + (f" ({self.people} people tracked)" if self.people else "")
            + f", {count} gesture{'' if count == 1 else 's'},"
            f" stopped: {self.stop_reason}"
            + (f"; annotated video {self.output}" if self.output is not None else "")
        )


def _load_model(model: TFLiteGestureModel | str | os.PathLike) -> TFLiteGestureModel:
    if isinstance(model, TFLiteGestureModel):
        return model
    if isinstance(model, (str, os.PathLike)):
        return TFLiteGestureModel(model)
    raise TypeError(
        f"model must be a TFLiteGestureModel or a .tflite path, got {type(model).__name__}"
    )


def _model_layout(model: TFLiteGestureModel) -> str:
    return str(model.metadata.get("layout") or model.spec.layout)


class LivePipeline:
    """One `LandmarkExtractor` (VIDEO mode) feeding one `StreamingRecognizer`, or
    with `ExtractorOptions(max_people=N)` a `PeopleRecognizer` (one per person).

    Use it as a context manager (the MediaPipe landmarkers are native objects)::

        with LivePipeline("gestures.tflite") as pipeline:
            for t, rgb in source:
                frame = pipeline.process(rgb, t)
                print(frame.label, frame.confidence, frame.events)
            pipeline.finish()

    Args:
        model: a `TFLiteGestureModel` or the path of an exported `.tflite`.
        decision: how probabilities become events; default `DecisionOptions()`.
        extractor: landmark options; default: the model's layout (its metadata
            "layout") with the default models. Its layout must be the model's.
        on_event: called with each `GestureEvent` as it happens.
        tracker: how people are linked into tracks when `extractor.max_people` > 1.

    Attributes:
        model: the `TFLiteGestureModel`.
        recognizer: the `StreamingRecognizer` (its `.label`, `.confidence`), or the
            `PeopleRecognizer` (its `.people`) with several people.
        extractor_options: the `ExtractorOptions` in use.

    Raises:
        ModelFormatError: the model file is missing or not a poseact model.
        ValueError: `extractor.layout` differs from the model's layout.
    """

    def __init__(
        self,
        model: TFLiteGestureModel | str | os.PathLike,
        *,
        decision: DecisionOptions | None = None,
        extractor: ExtractorOptions | None = None,
        on_event: EventCallback | None = None,
        tracker: TrackerOptions | None = None,
    ) -> None:
        self.model = _load_model(model)
        layout = _model_layout(self.model)
        if extractor is None:
            extractor = ExtractorOptions(layout=layout, require_detection=False)
        elif extractor.layout != layout:
            raise ValueError(
                f"extractor layout {extractor.layout!r} does not match the model's layout"
                f" {layout!r} ({self.model.path.name}); use ExtractorOptions(layout={layout!r})"
            )
        self.extractor_options = extractor
        self.people = extractor.max_people > 1
        self.recognizer: StreamingRecognizer | PeopleRecognizer
        if self.people:
            self.recognizer = PeopleRecognizer(
                self.model, decision, tracker=tracker, on_event=on_event
            )
        else:
            self.recognizer = StreamingRecognizer(self.model, decision, on_event=on_event)
        self._extractor = LandmarkExtractor(extractor, "video")
        self._index = 0
        self._last_t: float | None = None
        self._gesture: str | None = None

    @property
    def classes(self) -> list[str]:
        """The model's class labels, in probability order."""
        return [str(c) for c in self.model.classes_]

    def open(self) -> LivePipeline:
        """Create the MediaPipe landmarker(s); returns self."""
        self._extractor.open()
        return self

    def close(self) -> None:
        """Close the landmarker(s) (idempotent)."""
        self._extractor.close()

    def __enter__(self) -> LivePipeline:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def process(self, rgb: np.ndarray, timestamp: float) -> LiveFrame:
        """Run one frame through MediaPipe and the model.

        Args:
            rgb: (H, W, 3) uint8 RGB frame.
            timestamp: the frame's time in seconds, strictly increasing from call to
                call (a camera's clock or a video's presentation time).

        Returns:
            The frame's landmarks, the current label and the events it produced.

        Raises:
            RuntimeError: the pipeline is not open.
            LandmarkFormatError: `timestamp` does not increase.
        """
        if self.people:
            live = self._process_people(rgb, timestamp)
        else:
            start = time.perf_counter()
            frame = self._extractor.process(rgb, timestamp)
            middle = time.perf_counter()
            events = self.recognizer.push(
                float(timestamp), frame.landmarks, frame.visibility, frame.image_size
            )
            end = time.perf_counter()
            recognizer = self.recognizer
            for event in events:
                self._gesture = event.label if event.end is None else None
            live = LiveFrame(
                index=self._index,
                timestamp=float(timestamp),
                rgb=rgb,
                landmarks=frame,
                label=recognizer.label,
                confidence=float(recognizer.confidence),
                probabilities=np.array(recognizer.probabilities, dtype=np.float32),
                events=tuple(events),
                extract_seconds=middle - start,
                classify_seconds=end - middle,
                gesture=self._gesture,
            )
        self._index += 1
        self._last_t = float(timestamp)
        return live

    def _process_people(self, rgb: np.ndarray, timestamp: float) -> LiveFrame:
        start = time.perf_counter()
        found = self._extractor.process_people(rgb, timestamp)
        middle = time.perf_counter()
        k = self.extractor_options.num_points
        landmarks, visibility = stack_people(found, k)
        size = (int(rgb.shape[1]), int(rgb.shape[0]))
        events = self.recognizer.push(float(timestamp), landmarks, visibility, size)
        end = time.perf_counter()
        people = self.recognizer.people
        first = people[0] if people else None
        if found:
            frame = found[0]
        else:
            frame = FrameLandmarks(
                landmarks=np.full((k, 3), np.nan, dtype=np.float32),
                visibility=np.zeros(k, dtype=np.float32),
                world=None,
                image_size=size,
                timestamp=float(timestamp),
                layout=self.extractor_options.layout,
            )
        return LiveFrame(
            index=self._index,
            timestamp=float(timestamp),
            rgb=rgb,
            landmarks=frame,
            label=None if first is None else first.label,
            confidence=0.0 if first is None else first.confidence,
            probabilities=(
                np.zeros(len(self.classes), dtype=np.float32)
                if first is None
                else first.probabilities
            ),
            events=tuple(events),
            extract_seconds=middle - start,
            classify_seconds=end - middle,
            people=people,
            gesture=first.gesture if first is not None else None,
        )

    def finish(self, timestamp: float | None = None) -> list[GestureEvent]:
        """End the stream, closing a gesture still going on.

        Args:
            timestamp: end time in seconds; default the last processed frame's time.

        Returns:
            The end event of the gesture that was going on, if any.
        """
        if timestamp is None:
            timestamp = self._last_t
        if timestamp is None:
            return []
        self._gesture = None
        return self.recognizer.finish(float(timestamp))


def iter_events(
    source: int | str | os.PathLike | FrameSource,
    model: TFLiteGestureModel | str | os.PathLike,
    *,
    decision: DecisionOptions | None = None,
    extractor: ExtractorOptions | None = None,
    max_frames: int | None = None,
    tracker: TrackerOptions | None = None,
) -> Iterator[GestureEvent]:
    """Gesture events of a camera or video, as they happen (headless).

    The model is loaded and the options checked when this is called; the source is
    opened when iteration starts and closed when it ends (or the generator is closed).

    Args:
        source: a camera index (0, "1"), a video file or URL, or a frame source
            yielding `(timestamp_seconds, (H, W, 3) uint8 RGB)` (not closed here).
        model: a `TFLiteGestureModel` or the path of an exported `.tflite`.
        decision: how probabilities become events.
        extractor: landmark options; default from the model's layout.
        max_frames: stop after this many frames (None: until the source ends).
        tracker: how people are linked into tracks (`extractor.max_people` > 1).

    Returns:
        An iterator of `GestureEvent`s (with `max_people` > 1 each names its
        `person`): a start event (`end=None`) when a gesture is
        recognized and an end event when it stops; a gesture still going on when the
        stream ends is closed at the last frame.

    Raises:
        VideoReadError: the camera or file cannot be opened (on first iteration).
        ModelFormatError: the model file is not a poseact model.
        ValueError: `extractor.layout` differs from the model's layout.
    """
    _check_max_frames(max_frames)
    pipeline = LivePipeline(model, decision=decision, extractor=extractor, tracker=tracker)

    def events() -> Iterator[GestureEvent]:
        for item in _loop(pipeline, source, max_frames):
            if isinstance(item, GestureEvent):
                yield item

    return events()


def _check_max_frames(max_frames: int | None) -> None:
    if max_frames is not None and (
        not isinstance(max_frames, (int, np.integer))
        or isinstance(max_frames, bool)
        or max_frames < 1
    ):
        raise ValueError(f"max_frames must be None or an int >= 1, got {max_frames!r}")


def _loop(
    pipeline: LivePipeline, source: Any, max_frames: int | None
) -> Iterator[LiveFrame | GestureEvent]:
    """Yields each `LiveFrame`, then its events; finally the end-of-stream events.

    Closing the generator closes the landmarker and a source opened here.
    """
    frames, owned, step = open_frames(source, pipeline.extractor_options.frame_step)
    try:
        with pipeline:
            count = 0
            for t, rgb in iter_frames(frames, step):
                live = pipeline.process(rgb, t)
                yield live
                yield from live.events
                count += 1
                if max_frames is not None and count >= max_frames:
                    break
            yield from pipeline.finish()
    finally:
        if owned:
            frames.close()


def run_live(
    source: int | str | os.PathLike | FrameSource,
    model: TFLiteGestureModel | str | os.PathLike,
    *,
    decision: DecisionOptions | None = None,
    extractor: ExtractorOptions | None = None,
    preview: bool = True,
    on_event: EventCallback | None = None,
    max_frames: int | None = None,
    window_name: str = "poseact live",
    output: str | os.PathLike | None = None,
    tracker: TrackerOptions | None = None,
) -> LiveStats:
    """Recognize gestures live from a camera or a video, optionally with a preview.

    Each frame goes through MediaPipe (VIDEO mode, the source's timestamps) and the
    model's `StreamingRecognizer`. The preview shows the skeleton, the current label
    and confidence, the top classes and the pipeline FPS; "q" or Esc (or closing the
    window) stops. Ctrl+C also stops cleanly and returns the stats so far. A video file
    is processed as fast as possible, not at its own frame rate.

    Args:
        source: a camera index (0, "1"), a video file or URL, or a frame source
            yielding `(timestamp_seconds, (H, W, 3) uint8 RGB)` (not closed here).
        model: a `TFLiteGestureModel` or the path of an exported `.tflite`.
        decision: how probabilities become events; default `DecisionOptions()`.
        extractor: landmark options; default: the model's layout with the default
            MediaPipe models (`frame_step` > 1 uses every n-th frame).
        preview: show the OpenCV preview window.
        on_event: called with each `GestureEvent` as it happens.
        max_frames: stop after this many frames (None: until the source ends).
        window_name: title of the preview window.
        output: also write every frame, with the skeleton, the label, its confidence
            and the top classes drawn on it, to this `.mp4` (atomically: it appears
            when the run ends, also after Ctrl+C or "q"; never half written). With
            several people, each is drawn in their own colour with their own label.
        tracker: how people are linked into tracks (`extractor.max_people` > 1).

    Returns:
        `LiveStats`: frames, wall seconds, FPS, every event, time in MediaPipe vs in
        normalize + classify.

    Raises:
        VideoReadError: the camera or file cannot be opened.
        ModelFormatError: the model file is not a poseact model.
        ModelAssetError: a MediaPipe model cannot be found or loaded.
        ValueError: `extractor.layout` differs from the model's layout, or a bad
            `max_frames`.
    """
    _check_max_frames(max_frames)
    if preview:
        from poseact.apps.drawing import display_problem

        problem = display_problem()
        if problem is not None:
            logger.warning("%s: running without the preview window (as with --no-preview)", problem)
            preview = False
    pipeline = LivePipeline(
        model, decision=decision, extractor=extractor, on_event=on_event, tracker=tracker
    )
    classes = pipeline.classes
    layout = pipeline.extractor_options.layout
    events: list[GestureEvent] = []
    frames = detected = 0
    people: set[int] = set()
    extract_s = classify_s = 0.0
    first_t: float | None = None
    last_t: float | None = None
    stop = "end"
    cv2: Any = None
    fps_ema: float | None = None
    writer = None
    if output is not None:
        from poseact.extract.video import VideoWriter

        writer = VideoWriter(output, getattr(source, "fps", None) or _source_fps(source))
    pipeline.open()  # MediaPipe start-up is not part of the measured loop
    started = time.perf_counter()
    last_wall = started
    loop = _loop(pipeline, source, max_frames)
    try:
        for item in loop:
            if isinstance(item, GestureEvent):
                events.append(item)
                logger.info("%s", _describe(item))
                continue
            frames += 1
            extract_s += item.extract_seconds
            classify_s += item.classify_seconds
            detected += int(item.landmarks.detected)
            people.update(person.person for person in item.people if person.seen)
            first_t = item.timestamp if first_t is None else first_t
            last_t = item.timestamp
            now = time.perf_counter()
            dt = now - last_wall
            last_wall = now
            if dt > 0:
                fps_ema = 1.0 / dt if fps_ema is None else 0.9 * fps_ema + 0.1 / dt
            if max_frames is not None and frames >= max_frames:
                stop = "max_frames"
            if writer is not None:
                writer.write(_annotated(item, classes, layout, pipeline.people))
            if preview:
                if cv2 is None:
                    cv2 = import_cv2()
                if not _show(cv2, window_name, item, classes, layout, fps_ema, pipeline.people):
                    stop = "user"
                    break
    except KeyboardInterrupt:
        stop = "interrupt"
        logger.warning("live recognition interrupted (Ctrl+C)")
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    finally:
        loop.close()  # closes a source opened here
        pipeline.close()
        if cv2 is not None:
            with contextlib.suppress(Exception):
                cv2.destroyWindow(window_name)
                cv2.waitKey(1)
    if stop in ("user", "interrupt"):
        for event in pipeline.finish():  # close a gesture still going on
            events.append(event)
    seconds = time.perf_counter() - started
    written = writer.close() if writer is not None and writer.frames else None
    stats = LiveStats(
        frames=frames,
        seconds=seconds,
        fps=frames / seconds if seconds > 0 else 0.0,
        events=tuple(events),
        extract_seconds=extract_s,
        classify_seconds=classify_s,
        detected_frames=detected,
        stream_seconds=(last_t - first_t) if first_t is not None and last_t is not None else 0.0,
        stop_reason=stop,
        layout=layout,
        output=written,
        people=len(people),
    )
    logger.info("live: %s", stats.summary())
    return stats


def _source_fps(source: Any) -> float:
    """The frame rate of a video file given by name (30 for cameras and others)."""
    if isinstance(source, (str, os.PathLike)) and not is_camera(source):
        cv2 = import_cv2()
        capture = cv2.VideoCapture(os.fspath(source))
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        capture.release()
        if 0 < fps < 1000:
            return fps
    return 30.0


def _describe(event: GestureEvent) -> str:
    if event.end is None:
        return f"gesture {event.label!r} started at {event.start:.2f} s ({event.confidence:.2f})"
    return (
        f"gesture {event.label!r} from {event.start:.2f} s to {event.end:.2f} s"
        f" (peak {event.confidence:.2f})"
    )
