"""What the command-line tests share: `poseact` in a fresh process, real videos read and
written, headless Chromium with Playwright. Import it as `from cli_run import ...`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEACT_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()

__all__ = ["REPO_ROOT", "SHARED", "cli", "ok", "video_frames", "write_mp4", "browser"]


def cli(
    *args, env: dict | None = None, tmp: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """`python -m poseact.cli ARGS` in a fresh process, as a user runs it (stdout and
    stderr captured as text); `tmp` gives it its own landmark cache."""
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    environ.setdefault("POSEACT_MODEL_DIR", str(SHARED / "models"))
    if tmp is not None:
        environ["POSEACT_CACHE_DIR"] = str(tmp / "cache")
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "poseact.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    """stdout of a run that must have succeeded (both streams shown if it did not)."""
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def video_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video, BGR."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        good, frame = capture.read()
        if not good:
            break
        frames.append(frame)
    capture.release()
    return frames


def write_mp4(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """BGR frames as an mp4v video (folders made as needed)."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def browser():
    """(Debian chromium's path, Playwright's sync_playwright); skips without them."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Debian chromium is not installed (run .ci/web-deps.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed")
    return chromium, sync_playwright
