"""Helpers for tests and benchmarks (not used by the library): generated media, a fake camera, Chromium flags.

One copy serves `tests/` and `benchmarks/`: `moving_image_frames` makes videos of a
real photo moving across a canvas, `video_to_y4m` turns a video into Chromium's fake
camera format, `chromium_args` starts a headless Chromium that needs no network."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


# ---------------------------------------------------------------------- testing helpers
def video_to_y4m(
    video: str | os.PathLike,
    y4m: str | os.PathLike,
    *,
    width: int | None = 640,
    max_frames: int | None = None,
) -> Path:
    """Convert a video to YUV4MPEG2 (.y4m), the format of Chromium's fake camera.

    Chromium plays the file in a loop as its camera with
    `--use-fake-device-for-media-stream --use-file-for-fake-video-capture=FILE.y4m`,
    which is how the tests run the page on a real video without a camera.

    Args:
        video: any video OpenCV can read.
        y4m: the file to write (raw 4:2:0 frames: about width·height·1.5 bytes each).
        width: scale frames to this width (keeping the aspect ratio, even sizes);
            None keeps the video's size.
        max_frames: stop after this many frames; None converts all.

    Returns:
        The written file.

    Raises:
        VideoReadError: the video cannot be read or has no frames.
    """
    import cv2

    from poseact.core.atomic import atomic_path
    from poseact.core.errors import VideoReadError

    capture = cv2.VideoCapture(os.fspath(video))
    if not capture.isOpened():
        raise VideoReadError(f"cannot open {video}: not a video OpenCV can decode")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    target = Path(y4m)
    size: tuple[int, int] | None = None
    count = 0
    try:
        with atomic_path(target, suffix=".y4m") as tmp, open(tmp, "wb") as out:
            while max_frames is None or count < max_frames:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                if size is None:
                    h, w = frame.shape[:2]
                    scale = (width / w) if width else 1.0
                    size = (int(round(w * scale / 2)) * 2, int(round(h * scale / 2)) * 2)
                    rate = f"{int(round(fps * 1000))}:1000"
                    out.write(
                        f"YUV4MPEG2 W{size[0]} H{size[1]} F{rate} Ip A1:1 C420jpeg\n".encode()
                    )
                if (frame.shape[1], frame.shape[0]) != size:
                    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                out.write(b"FRAME\n")
                out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
                count += 1
            if count == 0:  # inside the block: nothing is left under the name
                raise VideoReadError(f"{video} has no decodable video frames")
    finally:
        capture.release()
    return target


def chromium_args(
    fake_video: str | os.PathLike | None = None,
    *,
    user_data_dir: str | os.PathLike | None = None,
    camera: bool = False,
) -> list[str]:
    """Command-line flags for a headless Chromium that runs the page unattended.

    Headless, no sandbox (running as root in a container), no GPU, no background
    network traffic; with `fake_video`, a fake camera playing that `.y4m` file (see
    `video_to_y4m`) and camera permission granted without asking.

    Args:
        fake_video: a `.y4m` file for the fake camera, or None.
        user_data_dir: a fresh profile folder, or None to let the driver choose.
        camera: a fake camera even without `fake_video` (Chromium's own test pattern).

    Returns:
        The flags, to pass as launch arguments (Playwright's `args=`) or on the
        command line after the `chromium` executable.
    """
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
    ]
    if user_data_dir is not None:
        args.append(f"--user-data-dir={os.fspath(user_data_dir)}")
    if fake_video is not None or camera:
        args += ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    if fake_video is not None:
        args.append(f"--use-file-for-fake-video-capture={os.fspath(fake_video)}")
    return args


def moving_image_frames(
    image: np.ndarray,
    frames: int,
    size: tuple[int, int] = (640, 480),
    *,
    zoom: tuple[float, float] = (0.80, 0.95),
    background: int = 90,
    blank: Iterable[int] = (),
) -> np.ndarray:
    """(frames, H, W, 3) uint8: a real photo sliding left to right and zooming in.

    The photo is scaled to `zoom` times the frame's shorter side (keeping its aspect
    ratio) on a grey canvas.

    Args:
        image: (h, w, 3) uint8 RGB photo.
        frames: number of frames T.
        size: (width, height) of each frame in pixels.
        zoom: the photo's size at the first and last frame, in shorter sides.
        background: grey level of the canvas.
        blank: indices of frames made all black (nobody in them).
    """
    import cv2

    width, height = size
    blank = set(blank)
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    ih, iw = image.shape[:2]
    for i in range(frames):
        if i in blank:
            out[i] = 0
            continue
        phase = i / max(frames - 1, 1)
        side = min(width, height) * (zoom[0] + (zoom[1] - zoom[0]) * phase)
        scale = side / max(ih, iw)
        w, h = max(1, round(iw * scale)), max(1, round(ih * scale))
        scaled = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        canvas = np.full((height, width, 3), background, dtype=np.uint8)
        x0 = round((width - w) * (0.2 + 0.6 * phase))
        y0 = (height - h) // 2
        xs, ys = max(x0, 0), max(y0, 0)
        xe, ye = min(x0 + w, width), min(y0 + h, height)
        canvas[ys:ye, xs:xe] = scaled[ys - y0 : ye - y0, xs - x0 : xe - x0]
        out[i] = canvas
    return out


# ---------------------------------------------------------------------- several people
def read_video_rgb(
    path: str | os.PathLike, cell: tuple[int, int], *, max_frames: int | None = None
) -> np.ndarray:
    """(T, h, w, 3) uint8 RGB frames of a video, its centre cropped to the cell's
    aspect ratio and scaled to `cell` = (w, h): a real person filling a cell."""
    import cv2

    capture = cv2.VideoCapture(os.fspath(path))
    frames = []
    try:
        while max_frames is None or len(frames) < max_frames:
            ok, bgr = capture.read()
            if not ok:
                break
            height, width = bgr.shape[:2]
            crop_w = min(width, round(height * cell[0] / cell[1]))
            crop_h = min(height, round(crop_w * cell[1] / cell[0]))
            x0, y0 = (width - crop_w) // 2, (height - crop_h) // 2
            part = bgr[y0 : y0 + crop_h, x0 : x0 + crop_w]
            small = cv2.resize(part, cell, interpolation=cv2.INTER_AREA)
            frames.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise ValueError(f"{path}: no frames could be read")
    return np.stack(frames)


def side_by_side_frames(
    left: np.ndarray, right: np.ndarray, size: tuple[int, int] = (640, 480)
) -> tuple[np.ndarray, np.ndarray]:
    """Two recordings side by side in one frame, each in its half.

    Args:
        left, right: (T, h, w, 3) uint8 cells (`read_video_rgb`), h <= height and
            w <= width / 2; the shorter one is held on its last frame.
        size: (width, height) of the frames.

    Returns:
        frames (T, height, width, 3) uint8 RGB and boxes (T, 2, 4): each person's cell
        (x0, y0, x1, y1) in pixels, person 0 on the left.
    """
    width, height = size
    frames = max(len(left), len(right))
    out = np.zeros((frames, height, width, 3), dtype=np.uint8)
    boxes = np.zeros((frames, 2, 4))
    for person, (cells, centre) in enumerate(((left, width // 4), (right, 3 * width // 4))):
        h, w = cells.shape[1:3]
        x0, y0 = centre - w // 2, (height - h) // 2
        for i in range(frames):
            out[i, y0 : y0 + h, x0 : x0 + w] = cells[min(i, len(cells) - 1)]
            boxes[i, person] = (x0, y0, x0 + w, y0 + h)
    return out, boxes


def crossing_frames(
    still: np.ndarray,
    walker: np.ndarray,
    size: tuple[int, int] = (640, 480),
    *,
    cross: tuple[int, int] = (50, 110),
) -> tuple[np.ndarray, np.ndarray]:
    """One person walking behind another: the walker slides from the right edge to
    the left one between frames `cross[0]` and `cross[1]`, hidden by the still one's
    cell while they overlap.

    Args:
        still: (T, h, w, 3) uint8 cells of the person standing in the middle, drawn
            on top.
        walker: (T, h, w, 3) uint8 cells of the person passing behind.
        size: (width, height) of the frames.
        cross: the frames where the walk begins and ends.

    Returns:
        frames (T, height, width, 3) uint8 and boxes (T, 2, 4): person 0 the still
        one, person 1 the walker; the walker's box is the part of their cell that
        shows, NaN where less than half of it shows.
    """
    width, height = size
    frames = max(len(still), len(walker))
    out = np.zeros((frames, height, width, 3), dtype=np.uint8)
    boxes = np.full((frames, 2, 4), np.nan)
    h, w = still.shape[1:3]
    sx, y0 = (width - w) // 2, (height - h) // 2
    wh, ww = walker.shape[1:3]
    wy = (height - wh) // 2
    start_x, end_x = width - ww, 0
    for i in range(frames):
        phase = min(max((i - cross[0]) / max(cross[1] - cross[0], 1), 0.0), 1.0)
        wx = round(start_x + (end_x - start_x) * phase)
        out[i, wy : wy + wh, wx : wx + ww] = walker[min(i, len(walker) - 1)]
        out[i, y0 : y0 + h, sx : sx + w] = still[min(i, len(still) - 1)]
        boxes[i, 0] = (sx, y0, sx + w, y0 + h)
        shown = ww - max(0, min(wx + ww, sx + w) - max(wx, sx))
        if shown >= ww / 2:
            x0, x1 = wx, wx + ww
            if x0 < sx + w <= x1:  # the still one covers the walker's left part
                x0 = sx + w
            elif x0 <= sx < x1:  # or their right part
                x1 = sx
            boxes[i, 1] = (x0, wy, x1, wy + wh)
    return out, boxes


def id_switches(
    boxes: np.ndarray, timestamps: np.ndarray, tracks: Iterable[Any]
) -> tuple[list[int], list[list[int]]]:
    """How often each true person's track id changes (MOT's identity switches).

    Each tracked person in each frame is given to the true person whose box holds the
    centre of their head and trunk, when that centre is at least 5 % of the frame's
    width away from every other person's box (else the frame is left out for them:
    MediaPipe places the hidden half of a person coming out from behind another
    anywhere); a true person's ids, frame by frame, switch when they change.

    Args:
        boxes: (T, P, 4) true boxes (x0, y0, x1, y1) in pixels, NaN where hidden
            (`side_by_side_frames`, `crossing_frames`).
        timestamps: (T,) the frames' times, seconds.
        tracks: `LandmarkSequence`s with `person` ids and `image_size` (`extract_people`).

    Returns:
        (switches per true person, the ids given to each true person in frame order).
    """
    frames, people = boxes.shape[:2]
    given: list[dict[int, int]] = [{} for _ in range(people)]
    trunk = [*range(13), 23, 24]
    for track in tracks:
        width, height = track.image_size
        index = np.searchsorted(timestamps, track.timestamps - 1e-6)
        for row, frame in enumerate(index):
            points = track.landmarks[row, trunk, :2]
            seen = track.visibility[row, trunk] >= 0.5
            if not seen.any():
                continue
            x, y = points[seen].mean(axis=0) * (width, height)
            margin = 0.05 * width
            near = [
                p
                for p in range(people)
                if np.isfinite(boxes[frame, p, 0])
                and boxes[frame, p, 0] - margin <= x <= boxes[frame, p, 2] + margin
                and boxes[frame, p, 1] - margin <= y <= boxes[frame, p, 3] + margin
            ]
            if len(near) == 1 and boxes[frame, near[0], 0] <= x <= boxes[frame, near[0], 2]:
                given[near[0]][int(frame)] = int(track.person)
    ids = [[d[f] for f in sorted(d)] for d in given]
    switches = [sum(1 for a, b in zip(seq, seq[1:]) if a != b) for seq in ids]
    return switches, ids
