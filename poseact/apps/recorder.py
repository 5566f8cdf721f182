"""Record a gesture dataset from a webcam or a video: countdown, clip, save, repeat.

`record_dataset` runs one MediaPipe landmarker (VIDEO mode) over the whole stream and
cuts it into fixed-length clips, label after label, each preceded by a countdown::

    root/<label>/<label>_001.npz      landmarks (`LandmarkSequence.save`, atomic)
    video_root/<label>/<label>_001.mp4  the raw frames of the same clip (optional)

With `subject="alice"` the clips are `<label>_alice_001.npz` and each file stores the
subject (`LandmarkSequence.subject`), so `Dataset.from_folder` splits by person.

With `extractor.max_people` N > 1 the people of each frame are linked into tracks
(`poseact.core.tracking.Tracker`, over the whole session, so a person keeps their id
from clip to clip) and each clip is one file per person, `<label>_001_p0.npz`,
`<label>_001_p1.npz`, ... (`LandmarkSequence.person` is the track id), as `extract
--max-people` writes them: several people filmed at once become several clips.

`root` is then ready for `Dataset.from_folder(root)`. The videos go to a separate tree
(by default `<root>-videos`, beside `root`) so that `from_folder(root)` does not count
each clip twice; that tree is itself a dataset folder of videos, so the recording can
be re-extracted later with other options (e.g. hands).

Clip numbers continue from the highest number already in either tree, so a second
session adds clips. Whatever stops a recording (Ctrl+C, the "q" key, closing the
preview, an unplugged camera, the end of a video file) leaves the finished clips intact
and removes the clip in progress: no partial file under a final name, no temp file.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from poseact.apps.frames import iter_frames, open_frames
from poseact.apps.recorder_options import _TOLERANCE, ClipCallback
from poseact.apps.recorder_options import RecordedClip as RecordedClip
from poseact.apps.recorder_options import RecorderOptions as RecorderOptions
from poseact.apps.recorder_options import next_clip_number as next_clip_number
from poseact.apps.recorder_session import _Session, _Stop
from poseact.core.errors import PoseactError
from poseact.core.tracking import Tracker
from poseact.extract.extractor import LandmarkExtractor, stack_people
from poseact.extract.sources import FrameSource, is_camera
from poseact.extract.video import import_cv2

__all__ = [
    "RecorderOptions",
    "RecordedClip",
    "record_dataset",
    "next_clip_number",
    "source_seconds",
]

logger = logging.getLogger(__name__)

_QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc
_START_KEYS = (ord(" "), 13, 10)  # space or Enter
_ERROR = "an error occurred"  # why a recording stopped, when it raised


def source_seconds(source: Any) -> float | None:
    """Length in seconds of a video file source (frame count × step / frame rate), or
    None for cameras, URLs and sources that do not know it."""
    count, fps = getattr(source, "frame_count", None), getattr(source, "fps", None)
    if not count or not fps or count <= 0 or fps <= 0:
        return None
    step = max(1, int(getattr(source, "frame_step", 1) or 1))
    return float(count * step / fps)


def record_dataset(
    source: int | str | os.PathLike | FrameSource,
    root: str | os.PathLike,
    options: RecorderOptions,
    *,
    video_root: str | os.PathLike | None = None,
    on_clip: ClipCallback | None = None,
) -> list[Path]:
    """Record labelled clips from a camera or video into a dataset folder.

    For each label and repetition (see `RecorderOptions.plan`): a countdown of
    `countdown_seconds`, then `clip_seconds` of frames saved as
    `root/<label>/<label>_NNN.npz` (timestamps from 0 at the clip's first frame), then
    `pause_seconds` of rest. Phases are timed by the source's timestamps, so a video
    file is cut the same way at any processing speed. One `LandmarkExtractor` in VIDEO
    mode sees every frame, so tracking carries across clips.

    Stopping early is safe: Ctrl+C (KeyboardInterrupt, also from `on_clip`), "q"/Esc
    or closing the preview window, a camera that stops delivering frames, or the end
    of a video file all end the recording; the clip in progress is discarded (unless
    the stream ended just as it was complete) and the saved clips are returned.

    Args:
        source: a camera index (0, "1"), a video file or URL, or a frame source
            yielding `(timestamp_seconds, (H, W, 3) uint8 RGB)` (not closed here).
        root: dataset folder; label folders are created as needed.
        options: what to record.
        video_root: where the `.mp4` clips go with `options.save_video`, as
            `video_root/<label>/<label>_NNN.mp4`; default `<root>-videos` beside
            `root`. Ignored without `save_video`.
        on_clip: called with a `RecordedClip` after each clip is saved.

    Returns:
        The saved `.npz` files, in recording order.

    Raises:
        VideoReadError: the camera or video file cannot be opened.
        ModelAssetError: a MediaPipe model cannot be found or loaded.
        PoseactError: a clip video cannot be written.
        ValueError: `root` exists and is not a folder.
        TypeError: `options` is not a `RecorderOptions`, or `source` is no source.
        Exception: whatever `on_clip` or the source raise (other than
            KeyboardInterrupt); clips saved before stay, the clip in progress is removed.
    """
    if not isinstance(options, RecorderOptions):
        raise TypeError(f"options must be RecorderOptions, got {type(options).__name__}")
    options = options.for_source(is_camera(source))
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"dataset folder {root} exists and is not a folder")
    # checked before anything opens: Qt aborts the process when it finds no display
    preview = options.preview and _preview_possible(options.wait_for_key)
    videos: Path | None = None
    if options.save_video:
        videos = Path(video_root) if video_root is not None else root.parent / f"{root.name}-videos"
    extractor_options = options.extractor
    frame_source, owned, step = open_frames(source, extractor_options.frame_step)
    session = _Session(root, videos, options, on_clip, getattr(frame_source, "fps", None))
    name = getattr(frame_source, "name", "<frames>")
    seconds = source_seconds(frame_source)
    foretold = seconds is not None and options.clips_that_fit(seconds) < options.total_clips
    if foretold:
        logger.warning(
            "%s: %.1f s of video has room for %d of the %d clips asked (%.1f s each)",
            name,
            seconds,
            options.clips_that_fit(seconds),
            options.total_clips,
            options.clip_seconds,
        )
    window = options.window_name if preview else None
    cv2 = import_cv2() if (preview or options.save_video) else None
    logger.info(
        "recording %d clips (%s × %d, %.2f s each) from %s into %s",
        options.total_clips,
        ", ".join(options.labels),
        options.repetitions,
        options.clip_seconds,
        name,
        root,
    )
    stopped = _ERROR  # why the recording stopped early; "" when complete
    tracker = (
        Tracker.for_layout(extractor_options.layout) if extractor_options.max_people > 1 else None
    )
    try:
        with LandmarkExtractor(extractor_options, "video") as extractor:
            for t, rgb in iter_frames(frame_source, step):
                session.advance(t)
                if session.done:
                    stopped = ""
                    break
                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if cv2 is not None else None
                if tracker is None:
                    frame = extractor.process(rgb, t)
                    session.add_frame(t, frame, bgr if videos is not None else None)
                    shown = [(None, frame)]
                else:
                    people = extractor.process_people(rgb, t)
                    size = (int(rgb.shape[1]), int(rgb.shape[0]))
                    landmarks, visibility = stack_people(people, extractor_options.num_points)
                    ids = tracker.update(t, landmarks, visibility, size).ids
                    session.add_people(t, ids, people, size, bgr if videos is not None else None)
                    shown = list(zip(ids.tolist(), people))
                if window is not None:
                    _show(cv2, window, bgr, shown, session, t, extractor_options.layout)
            else:
                session.end_of_stream()
                stopped = "" if session.done else "the stream ended"
    except _Stop:
        stopped = "stopped from the preview window"
    except KeyboardInterrupt:
        stopped = "interrupted (Ctrl+C)"
    finally:
        # after an error, the error says what happened: no second message
        session.discard(stopped or "recording stopped", quiet=stopped == _ERROR)
        if window is not None:
            with contextlib.suppress(Exception):
                cv2.destroyWindow(window)
                cv2.waitKey(1)
        if owned:
            frame_source.close()
    if (
        stopped == "the stream ended"
        and foretold
        and len(session.saved) >= options.clips_that_fit(seconds)
    ):
        # said before recording: the video has room for this many
        logger.info(
            "recorded %d clips into %s (all the video had room for)", len(session.saved), root
        )
    elif stopped:
        logger.warning(
            "recording ended early (%s): %d of %d clips saved",
            stopped,
            len(session.saved),
            options.total_clips,
        )
    else:
        logger.info("recorded %d clips into %s", len(session.saved), root)
    return list(session.saved)


def _preview_possible(wait_for_key: bool) -> bool:
    """True when a preview window can open; else a warning (or an error when the
    recording waits for keys typed into that window)."""
    from poseact.apps.drawing import display_problem

    problem = display_problem()
    if problem is None:
        return True
    if wait_for_key:
        raise PoseactError(
            f"cannot open the preview window: {problem}; waiting for a key"
            " (wait_for_key, --wait-for-key) needs it: record where a display is available"
        )
    logger.warning("%s: recording without the preview window (as with --no-preview)", problem)
    return False


def _show(
    cv2: Any,
    window: str,
    bgr: np.ndarray,
    people: list[tuple[int | None, Any]],
    session: _Session,
    t: float,
    layout: str,
) -> None:
    """Draw the preview and handle its keys; raises `_Stop` on q/Esc or a closed window.

    `people` holds (track id or None for the one person, `FrameLandmarks`); with ids,
    each person is drawn in their own colour."""
    from poseact.apps.drawing import draw_banner, draw_landmarks, draw_status, person_color

    view = bgr.copy()
    for person, frame in people:
        color = None if person is None else person_color(person)
        draw_landmarks(view, frame.landmarks, frame.visibility, layout, color=color)
    draw_status(view, session.status_lines(t))
    if session.phase == "countdown":
        draw_banner(view, str(max(1, math.ceil(session.seconds_left(t) - _TOLERANCE))))
    elif session.phase == "record":
        cv2.circle(view, (view.shape[1] - 24, 24), 10, (0, 0, 255), -1, cv2.LINE_AA)
    elif session.phase == "wait":
        draw_banner(view, "press SPACE", scale=max(0.8, view.shape[0] / 400.0))
    cv2.imshow(window, view)
    key = cv2.waitKey(1) & 0xFF
    if key in _QUIT_KEYS:
        raise _Stop
    if key in _START_KEYS:
        session.start_key()
    with contextlib.suppress(cv2.error):
        if cv2.getWindowProperty(window, cv2.WND_PROP_VISIBLE) < 1:
            raise _Stop
