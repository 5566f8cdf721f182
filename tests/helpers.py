"""Helpers the test files share, written once: the CLI in a child process, decoded
video frames, the zip archive of an exported model, error messages that name their
input, and a real small tmpfs. (Paths to ../shared and the fixtures live in conftest.)"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT

__all__ = ["archive_start", "assert_names", "run_cli", "tmpfs", "video_frames"]


def run_cli(
    *args: str | os.PathLike,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float = 600.0,
    **kwargs,
) -> subprocess.CompletedProcess:
    """`python -m poseact.cli ARGS` in a child process, as a user runs it; stdout and
    stderr captured as text.

    Args:
        args: the command line after `poseact`.
        env: the child's whole environment (default: this one, where conftest set
            POSEACT_MODEL_DIR to ../shared/models); this repository goes first on
            PYTHONPATH.
        cwd: the child's working folder.
        timeout: seconds before the child is killed (the test fails).
    """
    environ = dict(os.environ if env is None else env)
    environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), environ.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "poseact.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=timeout,
        **kwargs,
    )


def video_frames(path: str | os.PathLike) -> list[np.ndarray]:
    """The (H, W, 3) BGR frames OpenCV decodes from `path` (none if it does not open)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while capture.isOpened():
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def archive_start(data: bytes) -> int:
    """Offset of the zip archive at the end of `data` (after an exported model's
    network; 0 for a .poseact, which is all zip)."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    return eocd - cd_size - cd_offset


def assert_names(excinfo: pytest.ExceptionInfo, *names: str | Path) -> None:
    """The error message names each input."""
    for name in names:
        assert str(name) in str(excinfo.value), str(excinfo.value)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """Mount a real tmpfs of `size` (e.g. "64k") on `folder` (needs root, else skip)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
        )
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)
