"""Test media made on the fly: small videos with a real person in them.

`make_astronaut_video` writes a short mp4 of scikit-image's astronaut photo (a real
person, head and shoulders), moving and zooming slowly, which MediaPipe's pose landmarker
finds in every frame. Import it from other tests: `from tests.media import ...` or
`from media import ...` (tests/ is on sys.path under pytest's default rootdir import).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from poseact.extract.video import write_video
from poseact.testing import moving_image_frames

__all__ = ["astronaut_frames", "make_astronaut_video", "write_video"]


def astronaut_frames(
    frames: int = 20,
    size: tuple[int, int] = (640, 480),
    *,
    blank: Iterable[int] = (),
) -> np.ndarray:
    """(frames, H, W, 3) uint8 RGB frames of the astronaut moving across a grey canvas.

    Args:
        frames: number of frames T.
        size: (width, height) of each frame in pixels.
        blank: indices of frames to make all black (nobody in them).
    """
    from skimage import data

    return moving_image_frames(data.astronaut(), frames, size, zoom=(0.80, 0.95), blank=blank)


def make_astronaut_video(
    path: str | os.PathLike,
    *,
    frames: int = 20,
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
    blank: Iterable[int] = (),
) -> Path:
    """Write an mp4 of the astronaut moving and zooming across `frames` frames.

    Args:
        path: the .mp4 file to write.
        frames: number of frames.
        fps: frame rate written into the container.
        size: (width, height) in pixels.
        blank: indices of frames made all black (no person).

    Returns:
        `path` as a Path.
    """
    return write_video(path, astronaut_frames(frames, size, blank=blank), fps)
