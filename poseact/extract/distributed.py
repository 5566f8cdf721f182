"""Landmark extraction on a Ray cluster, for corpora too large for one machine.

`extract_many` spreads videos over the processes of one machine. For tens of thousands
of clips, `extract_with_ray` maps the same work over a Ray cluster (or a local Ray
instance): each Ray actor is a long-lived worker process that imports MediaPipe once
and extracts one video after another through `poseact.landmarks.extract_cached`, the
function `extract_many` uses, so results are the same as sequential extraction and
land in the same `LandmarkCache` (keyed by the content of the video, the options and
the models). See docs/scaling.md.

Ray is optional: `pip install "poseact[distributed]"` (or `pip install ray`).

    from poseact.extract.distributed import extract_with_ray

    sequences = extract_with_ray(paths, ExtractorOptions(layout="pose"),
                                 cache_dir="/mnt/shared/landmarks", address="auto")
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from poseact.core.sequence import LandmarkSequence
from poseact.extract.cache import DEFAULT_CACHE, LandmarkCache, _as_cache, extract_cached
from poseact.extract.extractor import _required_models
from poseact.extract.options import ExtractorOptions

__all__ = ["extract_with_ray", "cache_with_ray"]

logger = logging.getLogger(__name__)

#: Environment variables handed to the actors, so that they find the same models.
_FORWARDED_ENV = ("POSEACT_MODEL_DIR", "POSEACT_OFFLINE", "POSEACT_MODEL_BASE_URL")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError(
            "poseact.distributed needs Ray: pip install 'poseact[distributed]' (or pip install ray)"
        ) from None
    return ray


class _Extractor:
    """A Ray actor's state: the options, the cache, MediaPipe imported once.

    A landmarker is created per video, as `extract_many` does: MediaPipe's VIDEO mode
    tracks the body from frame to frame and cannot be reset, so reusing one landmarker
    across videos would change the first frames of every video but the first.
    """

    def __init__(
        self, options: ExtractorOptions, cache: LandmarkCache | None, env: dict[str, str]
    ) -> None:
        os.environ.update(env)
        self.options = options
        self.cache = cache
        self.error: Exception | None = None
        try:
            _required_models(options)  # fail early if this node lacks the models
            from poseact.extract.mp import import_mediapipe

            import_mediapipe()  # once per actor, without TensorFlow
        except Exception as exc:  # reported by ready(), with its own type
            self.error = exc

    def ready(self) -> Exception | None:
        """None when the actor can extract, else the error that stops it."""
        return self.error

    def extract(self, path: str, keep: bool) -> tuple[str, Any]:
        """("ok", sequence or cache path) or ("error", the exception)."""
        try:
            sequence = extract_cached(path, self.options, self.cache)
        except Exception as exc:  # returned, not raised: the driver re-raises it as is
            return "error", exc
        if keep:
            return "ok", sequence
        return "ok", str(self.cache.path_for(path, self.options)) if self.cache else None


def _run(
    paths: Iterable[str | os.PathLike],
    options: ExtractorOptions | None,
    cache_dir: Any,
    *,
    keep: bool,
    num_cpus: int | None,
    address: str | None,
    actors: int | None,
) -> Iterator[tuple[int, Any]]:
    ray = _ray()
    from ray.util import ActorPool

    options = options if options is not None else ExtractorOptions()
    store = _as_cache(cache_dir)
    paths = [os.fspath(p) for p in paths]
    if not paths:
        return
    _required_models(options)  # a missing model fails here, not in every actor
    if not ray.is_initialized():
        if address is None:
            ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    if actors is None:
        actors = int(ray.cluster_resources().get("CPU", 1))
    actors = max(1, min(int(actors), len(paths)))
    env = {name: os.environ[name] for name in _FORWARDED_ENV if name in os.environ}
    remote = ray.remote(num_cpus=1)(_Extractor)
    pool = [remote.remote(options, store, env) for _ in range(actors)]
    logger.info("extracting %d videos with %d Ray actors", len(paths), actors)
    try:
        for error in ray.get([actor.ready.remote() for actor in pool]):
            if error is not None:
                raise error
        # Ray's ActorPool hands each actor its next video when it finishes one.
        pending = ActorPool(pool).map(
            lambda actor, i: actor.extract.remote(paths[i], keep), range(len(paths))
        )
        for i, (status, value) in enumerate(pending):
            if status == "error":
                raise value
            yield i, value
    finally:
        for actor in pool:
            ray.kill(actor)


def extract_with_ray(
    paths: Iterable[str | os.PathLike],
    options: ExtractorOptions | None = None,
    cache_dir: str | os.PathLike | LandmarkCache | None | bool = None,
    *,
    num_cpus: int | None = None,
    address: str | None = None,
    actors: int | None = None,
) -> list[LandmarkSequence]:
    """Landmarks of many videos, extracted by Ray actors, in input order.

    The same results as `extract_many(paths, options)`, and the same cache entries:
    each actor runs `extract_cached`, so cached videos are loaded, not extracted, and
    new results are stored as they finish (an interrupted run keeps what it did).

    Args:
        paths: video files, readable at the same path from every Ray node (a shared
            or mounted file system).
        options: what to extract; default `ExtractorOptions()`.
        cache_dir: the `LandmarkCache` folder (or a `LandmarkCache`), which every node
            must be able to write (shared storage on a cluster); None uses the default
            `LandmarkCache()` of this machine, False disables caching.
        num_cpus: CPUs of the local Ray instance started when Ray is not running and
            `address` is None (default: all of this machine's).
        address: a Ray cluster to connect to ("auto", "ray://host:10001"), when Ray
            is not initialized yet; None starts a local instance.
        actors: number of actors (default: the cluster's CPUs, at most one per video).
            Each actor uses one CPU and creates one landmarker per video.

    Returns:
        One `LandmarkSequence` per path, in the order of `paths`.

    Raises:
        ImportError: Ray is not installed.
        VideoReadError, NoPoseDetected, ModelAssetError, PoseactError: the first
            failure (in input order), as `extract_many` raises it; the message names the
            file. Videos finished before it stay in the cache.
    """
    store = DEFAULT_CACHE if cache_dir is None else cache_dir
    results: list[LandmarkSequence | None] = []
    for _, sequence in _run(
        paths, options, store, keep=True, num_cpus=num_cpus, address=address, actors=actors
    ):
        results.append(sequence)
    return results  # type: ignore[return-value]


def cache_with_ray(
    paths: Iterable[str | os.PathLike],
    options: ExtractorOptions | None = None,
    cache_dir: str | os.PathLike | LandmarkCache | None = None,
    *,
    num_cpus: int | None = None,
    address: str | None = None,
    actors: int | None = None,
) -> list[Path]:
    """Fill the landmark cache for many videos with Ray; returns the entries' paths.

    Like `extract_with_ray`, but the landmarks stay in the cache instead of travelling
    back to this process: the way to extract a corpus of tens of thousands of clips.
    Read them later with `LandmarkCache.get`, `extract_many` or `Dataset.from_folder`.

    Args:
        paths: video files, at the same path on every node.
        options: what to extract; default `ExtractorOptions()`.
        cache_dir: the cache folder, on storage every node can write; None uses the
            default `LandmarkCache()`.
        num_cpus, address, actors: as for `extract_with_ray`.

    Returns:
        The cache entry (`.npz`) of each path, in the order of `paths`.
    """
    store = _as_cache(DEFAULT_CACHE if cache_dir is None else cache_dir)
    if store is None:
        raise ValueError("cache_with_ray needs a cache folder")
    return [
        Path(entry)
        for _, entry in _run(
            paths, options, store, keep=False, num_cpus=num_cpus, address=address, actors=actors
        )
    ]
