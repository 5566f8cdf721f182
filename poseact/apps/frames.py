"""Opening what the recorder and the live recognizer read: a camera, a file, or any frame source."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from poseact.extract.reader import read_ahead
from poseact.extract.sources import FrameSource, is_camera, open_source

logger = logging.getLogger(__name__)


def open_frames(source: Any, frame_step: int = 1) -> tuple[Any, bool, int]:
    """Open a recording or live source.

    Args:
        source: a camera index (int or digit string), a video file or URL, or an
            already open frame source (any iterable of `(timestamp, rgb)`).
        frame_step: use every n-th frame.

    Returns:
        (frame source, whether it was opened here and must be closed, the step the
        caller still has to apply: 1 when a video file source skips frames itself).

    Raises:
        VideoReadError: the camera or file cannot be opened.
        TypeError: `source` is none of these.
    """
    if isinstance(source, (int, np.integer, str, os.PathLike)):
        if is_camera(source) or frame_step == 1:
            return open_source(source), True, frame_step
        return open_source(source, frame_step=frame_step), True, 1
    if not isinstance(source, FrameSource) and not hasattr(source, "__iter__"):
        raise TypeError(
            "source must be a camera index, a video file or URL, or a frame source yielding"
            f" (timestamp, rgb); got {type(source).__name__}"
        )
    return source, False, frame_step


def iter_frames(source: Any, step: int = 1) -> Iterator[tuple[float, np.ndarray]]:
    """`(timestamp, rgb)` of every `step`-th frame, dropping any whose time does not increase.

    Video files and cameras are decoded in a reader thread a few frames ahead
    (`poseact.extract.reader`), overlapping decoding with MediaPipe.
    """
    last = -math.inf
    for i, (t, rgb) in enumerate(read_ahead(source)):
        if i % step:
            continue
        t = float(t)
        if not t > last:
            logger.debug("dropping a frame at %.4f s: not after the previous %.4f s", t, last)
            continue
        last = t
        yield t, rgb
