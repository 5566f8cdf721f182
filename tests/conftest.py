"""Shared fixtures: real MediaPipe models and media from ../shared (beside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("POSEACT_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()
MODEL_DIR = SHARED_DIR / "models"
TESTDATA_DIR = SHARED_DIR / "testdata"
ASL_SIGNS = SHARED_DIR / "data" / "asl_signs" / "asl_signs.npz"

# Tests resolve MediaPipe bundles from ../shared/models, never from the network.
os.environ.setdefault("POSEACT_MODEL_DIR", str(MODEL_DIR))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"shared data folder not found at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def model_dir(shared_dir: Path) -> Path:
    return MODEL_DIR


@pytest.fixture(scope="session")
def testdata_dir(shared_dir: Path) -> Path:
    return TESTDATA_DIR


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A fresh poseact cache directory for one test."""
    cache = tmp_path / "poseact-cache"
    monkeypatch.setenv("POSEACT_CACHE_DIR", str(cache))
    return cache
