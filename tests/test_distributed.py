"""Extraction on a local Ray instance: same results and same cache as `extract_many`."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import landmarkers_created
from media import make_astronaut_video

from poseact.core.errors import NoPoseDetected
from poseact.extract.batch import extract_many
from poseact.extract.cache import LandmarkCache
from poseact.extract.options import ExtractorOptions

try:
    import ray
except ImportError:  # pragma: no cover - exercised only without the extra
    ray = None

needs_ray = pytest.mark.skipif(
    ray is None, reason="Ray is not installed (pip install 'poseact[distributed]')"
)


def test_without_ray_the_error_says_what_to_install(monkeypatch, tmp_path):
    from poseact.extract.distributed import extract_with_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    with pytest.raises(ImportError, match=r"pip install 'poseact\[distributed\]'"):
        extract_with_ray([tmp_path / "clip.mp4"])


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with 2 CPUs, shut down after the module."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray-clips")
    return [
        make_astronaut_video(folder / f"clip{i}.mp4", frames=6 + 2 * i, size=(256, 192))
        for i in range(3)
    ]


def same(a, b) -> bool:
    return (
        a.source == b.source
        and np.array_equal(a.timestamps, b.timestamps)
        and np.array_equal(a.landmarks, b.landmarks, equal_nan=True)
        and np.array_equal(a.visibility, b.visibility)
        and a.image_size == b.image_size
    )


@needs_ray
def test_ray_matches_sequential_and_shares_the_cache(local_ray, clips, tmp_path, caplog):
    caplog.set_level("DEBUG", logger="poseact.extract.extractor")
    from poseact.extract.distributed import cache_with_ray, extract_with_ray

    options = ExtractorOptions(layout="pose")
    sequential = extract_many(clips, options, cache=False, progress=False)
    cache = LandmarkCache(tmp_path / "cache")

    distributed = extract_with_ray(clips, options, cache_dir=cache.directory)
    assert len(distributed) == len(clips)
    assert all(same(a, b) for a, b in zip(sequential, distributed))
    assert len(cache.entries()) == len(clips)  # written by the actors

    created = landmarkers_created(caplog)
    cached = extract_many(clips, options, cache=cache, progress=False)
    assert landmarkers_created(caplog) == created  # all hits, no MediaPipe
    assert all(same(a, b) for a, b in zip(sequential, cached))

    entries = cache_with_ray(clips[::-1], options, cache_dir=cache)
    assert entries == [cache.path_for(p, options) for p in clips[::-1]]
    assert len(cache.entries()) == len(clips)


@needs_ray
def test_ray_raises_the_first_error_naming_the_file(local_ray, clips, tmp_path):
    from poseact.extract.distributed import extract_with_ray

    black = make_astronaut_video(tmp_path / "black.mp4", frames=4, size=(256, 192), blank=range(4))
    with pytest.raises(NoPoseDetected, match="black.mp4"):
        extract_with_ray([clips[0], black], ExtractorOptions(), cache_dir=False)
