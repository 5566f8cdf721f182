"""OpenCV for videos: its import, and the one verified, atomic `.mp4` writer.

OpenCV is imported inside the functions that need it (`import_cv2`), so importing
poseact stays cheap. Every `.mp4` poseact writes (`write_video`, `live --output`,
`predict --output`, `poseact show`, recorded clips) goes through `VideoWriter`: frames
go to a temp file beside the target, which is decoded again before it is published
(OpenCV's `VideoWriter` reports no errors: on a full disk it leaves a file without its
index, or with frames missing), so nothing is ever left half written under the name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.atomic import atomic_path, disk_full_error, publish_new, write_error
from poseact.core.errors import WriteError

__all__ = ["VideoWriter", "check_written_video", "import_cv2", "write_video"]

_FOURCC = "mp4v"


def import_cv2() -> Any:
    """The `cv2` module (OpenCV, from mediapipe's opencv-contrib-python)."""
    import cv2

    return cv2


class _Discard(Exception):
    """Ends an `atomic_path` block without renaming its temp file."""


class VideoWriter:
    """Frames → an `.mp4` (codec mp4v), atomically and verified.

    The file is written to a temp file beside `path`; `close` checks that it decodes
    every frame written and renames it onto `path`. `finish` then `publish_as` publish it
    under another name instead, never replacing a file (for recorders that choose the
    name last). `discard`, or leaving the `with` block by an exception, removes it.

    Args:
        path: the `.mp4` to write.
        fps: frame rate stored in the file, frames per second (30 if not positive).
        rgb: frames are RGB (else BGR, OpenCV's order).
        overwrite: `close` may replace an existing `path` (else `FileExistsError`).

    Raises:
        WriteError: OpenCV cannot write the file, nothing was written, or the file does
            not decode (the disk is full); nothing is left under `path`.
    """

    def __init__(
        self, path: str | os.PathLike, fps: float, *, rgb: bool = False, overwrite: bool = True
    ) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0
        self.rgb = rgb
        self.frames = 0
        self._overwrite = overwrite
        self._size: tuple[int, int] | None = None
        self._writer: Any = None
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None
        self._finished = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 frame; every frame must have the first's size."""
        cv2 = import_cv2()
        height, width = frame.shape[:2]
        if self._tmp is None:
            self._tmp = self._stack.enter_context(
                atomic_path(self.path, suffix=".mp4", overwrite=self._overwrite)
            )
            self._size = (width, height)
            self._writer = cv2.VideoWriter(
                str(self._tmp), cv2.VideoWriter_fourcc(*_FOURCC), self.fps, self._size
            )
            if not self._writer.isOpened():
                self.discard()
                full = disk_full_error(self.path.parent, self.path)
                if full is not None:
                    raise full
                raise WriteError(f"OpenCV cannot write an {_FOURCC} video to {self.path}")
        elif (width, height) != self._size:
            raise ValueError(
                f"{self.path}: frame of {width}×{height} after frames of"
                f" {self._size[0]}×{self._size[1]}"
            )
        frame = np.ascontiguousarray(frame)
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if self.rgb else frame)
        self.frames += 1

    def finish(self) -> None:
        """Close the file and check it decodes every frame written (idempotent).

        Raises:
            WriteError: naming `path`: nothing was written, or the file is incomplete
                (the temp file is removed).
        """
        if self._finished:
            return
        if self._tmp is None:
            raise WriteError(f"no frames to write to {self.path}")
        self._release()
        try:
            check_written_video(self._tmp, self.frames, self.path)
        except BaseException:
            self.discard()
            raise
        self._finished = True

    def close(self) -> Path:
        """Finish the file, check it, and rename it onto `path`; returns `path`."""
        self.finish()
        self._stack.close()  # fsyncs and renames the temp file onto path
        self._tmp = None
        return self.path

    def publish_as(self, path: str | os.PathLike) -> Path:
        """Publish the finished file as `path`, never replacing an existing file.

        Raises:
            FileExistsError: `path` exists (the temp file stays, for another name).
            WriteError: the rename failed otherwise.
        """
        self.finish()
        path = Path(path)
        try:
            with open(self._tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            publish_new(self._tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            raise write_error(path, exc) from exc
        self._tmp = None
        self.discard()  # only ends the temp file's block: it is published
        return path

    def discard(self) -> None:
        """Close and delete the temp file (idempotent)."""
        self._release()
        with contextlib.suppress(_Discard):
            self._stack.__exit__(_Discard, _Discard(), None)
        self._tmp = None

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 30.0) -> Path:
    """Write RGB frames to an `.mp4` (codec mp4v) with OpenCV, atomically.

    Handy for making test clips or saving what a `FrameSource` produced.

    Args:
        path: destination `.mp4`.
        frames: (T, H, W, 3) uint8 RGB, or an iterable of (H, W, 3) frames of one size.
        fps: frame rate written into the file, frames per second.

    Raises:
        WriteError: OpenCV cannot write the file; nothing is left under `path`.
    """
    with VideoWriter(path, fps, rgb=True) as writer:
        for frame in frames:
            writer.write(frame)
    return Path(path)


def check_written_video(written: Path, frames: int, target: Path) -> None:
    """Check that the video OpenCV just wrote to `written` decodes all its `frames`.

    OpenCV's `VideoWriter` reports no write errors: on a full disk it leaves a file
    without its index (unreadable) or with missing frames. Call this before renaming
    the file onto `target`.

    Raises:
        WriteError: naming `target`, when the file does not decode `frames` frames.
    """
    cv2 = import_cv2()
    capture = cv2.VideoCapture(str(written))
    readable = 0
    try:
        while readable < frames and capture.isOpened() and capture.grab():
            readable += 1
    finally:
        capture.release()
    if readable == frames:
        return

    full = disk_full_error(written.parent, target)
    if full is not None:
        raise full
    raise WriteError(
        f"cannot write {target}: OpenCV wrote a video of which only {readable} of its"
        f" {frames} frames decode (is the disk full?); nothing was saved under that name"
    )
