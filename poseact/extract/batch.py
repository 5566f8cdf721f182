"""Batch extraction: many videos, from the cache where possible, optionally in processes."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Iterable
from typing import Any

from poseact.core.errors import PoseactError
from poseact.core.sequence import LandmarkSequence
from poseact.extract.cache import DEFAULT_CACHE, LandmarkCache, _as_cache, _extract_named
from poseact.extract.extractor import _required_models
from poseact.extract.options import ExtractorOptions, _is_int

logger = logging.getLogger(__name__)


def extract_many(
    paths: Iterable[str | os.PathLike],
    options: ExtractorOptions | None = None,
    *,
    cache: LandmarkCache | None | bool | Any = DEFAULT_CACHE,
    workers: int = 1,
    progress: bool = True,
    executor: concurrent.futures.Executor | None = None,
) -> list[LandmarkSequence]:
    """Landmarks of many videos, from the cache where possible, in input order.

    Cached entries are loaded without creating any MediaPipe landmarker. The others are
    extracted one after the other (`workers=1`) or in `workers` spawned processes, each
    creating its own landmarker per video, so results are the same either way; new
    results are stored in the cache. Each new process spends seconds importing
    MediaPipe before its first video: to pay that once for several calls, pass a
    long-lived pool from `extraction_pool` as `executor`.

    Args:
        paths: video files.
        options: what to extract; default `ExtractorOptions()`.
        cache: a `LandmarkCache` (or its folder); the default is `LandmarkCache()`;
            None or False disables caching.
        workers: number of processes (1 = in this process).
        progress: show a tqdm progress bar over the videos.
        executor: run the extractions on this pool (e.g. `extraction_pool(2)`) instead
            of starting processes; `workers` is then ignored and the pool left open.

    Returns:
        One sequence per path, in the order of `paths`.

    Raises:
        VideoReadError, NoPoseDetected, ModelAssetError, PoseactError: the first
            failure; the message names the file. Remaining work is cancelled.
    """
    options = options if options is not None else ExtractorOptions()
    if not _is_int(workers) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    store = _as_cache(cache)
    paths = list(paths)
    results: list[LandmarkSequence | None] = [None] * len(paths)
    with _video_bar(len(paths), progress) as bar:
        todo: list[int] = []
        for i, path in enumerate(paths):
            hit = store.get(path, options) if store is not None else None
            if hit is None:
                todo.append(i)
            else:
                results[i] = hit
                bar.update(1)
        if todo:
            logger.info(
                "extracting landmarks from %d of %d videos (%d cached)",
                len(todo),
                len(paths),
                len(paths) - len(todo),
            )
            _required_models(options)  # resolve (download) models once, before workers

        def finished(i: int, sequence: LandmarkSequence) -> None:
            if store is not None:
                store.put(paths[i], options, sequence)
            results[i] = sequence
            bar.update(1)

        if executor is None and (workers == 1 or len(todo) <= 1):
            for i in todo:
                finished(i, _extract_named(paths[i], options))
        elif todo:
            with contextlib.ExitStack() as stack:
                pool = executor
                if pool is None:
                    pool = stack.enter_context(
                        concurrent.futures.ProcessPoolExecutor(
                            max_workers=min(workers, len(todo)),
                            mp_context=multiprocessing.get_context("spawn"),
                        )
                    )
                # Longest videos first, so that no worker is left alone with a long one.
                order = sorted(todo, key=lambda i: _file_size(paths[i]), reverse=True)
                futures = {pool.submit(_extract_named, paths[i], options): i for i in order}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        i = futures[future]
                        try:
                            sequence = future.result()
                        except concurrent.futures.BrokenExecutor as exc:
                            raise PoseactError(
                                f"the worker process extracting {os.fspath(paths[i])} died: {exc}"
                            ) from exc
                        finished(i, sequence)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    if executor is None:
                        pool.shutdown(wait=True, cancel_futures=True)
                    raise
    return results  # type: ignore[return-value]


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass


def _video_bar(total: int, show: bool) -> Any:
    """A tqdm bar over videos, or a stand-in (tqdm takes a while to import)."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="landmarks", unit="video")


def _file_size(path: str | os.PathLike) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # a URL, or a file that is gone (its extraction will say so)
        return 0


def _warm_worker() -> int:
    """Import MediaPipe and OpenCV in a pool worker; returns its process id."""
    import cv2  # noqa: F401

    from poseact.extract.mp import import_mediapipe

    import_mediapipe()  # without TensorFlow: ~1 s instead of 5-10 s

    time.sleep(0.05)  # hold this worker, so that the next warm-up call reaches another
    return os.getpid()


def extraction_pool(
    workers: int = 2, *, timeout: float = 300.0
) -> concurrent.futures.ProcessPoolExecutor:
    """A process pool for `extract_many(..., executor=pool)`, its workers ready.

    Spawns `workers` processes and waits until each has imported MediaPipe (about a
    second each, without TensorFlow), so that batches run on the pool start at
    full speed and repeated batches pay the start-up once. Use it as a context manager
    (or call `shutdown()`)::

        with extraction_pool(2) as pool:
            for folder in folders:
                extract_many(videos_in(folder), options, executor=pool)

    Args:
        workers: number of processes (>= 1).
        timeout: seconds to wait for the workers to start.

    Raises:
        ValueError: `workers` is not an int >= 1.
        PoseactError: the workers did not start within `timeout` seconds.
    """
    if not _is_int(workers) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=int(workers), mp_context=multiprocessing.get_context("spawn")
    )
    ready: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(ready) < workers:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PoseactError(
                    f"extraction_pool: {len(ready)} of {workers} workers started"
                    f" within {timeout:.0f} s"
                )
            batch = [pool.submit(_warm_worker) for _ in range(workers)]
            try:
                ready.update(future.result(timeout=left) for future in batch)
            except (TimeoutError, concurrent.futures.BrokenExecutor) as exc:
                raise PoseactError(
                    f"extraction_pool: {len(ready)} of {workers} workers started"
                    f" ({type(exc).__name__}: {exc or 'timed out'})"
                ) from exc
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool
