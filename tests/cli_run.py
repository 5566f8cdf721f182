"""What the issue-29 command-line tests add to tests/helpers.py: `poseact` with its
own cache and extra variables, a run that must succeed, writing an mp4, and headless
Chromium with Playwright. Import it as `from cli_run import ...`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT, SHARED_DIR
from helpers import run_cli, video_frames

SHARED = SHARED_DIR

__all__ = ["REPO_ROOT", "SHARED", "cli", "ok", "video_frames", "write_mp4", "browser"]


def cli(
    *args, env: dict | None = None, tmp: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """`helpers.run_cli` with this process's environment plus `env`; `tmp` gives the
    child its own landmark cache."""
    environ = dict(os.environ)
    environ.setdefault("POSEACT_MODEL_DIR", str(SHARED / "models"))
    if tmp is not None:
        environ["POSEACT_CACHE_DIR"] = str(tmp / "cache")
    environ.update(env or {})
    return run_cli(*args, env=environ, timeout=timeout)


def ok(proc: subprocess.CompletedProcess) -> str:
    """stdout of a run that must have succeeded (both streams shown if it did not)."""
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


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
