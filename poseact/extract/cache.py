"""The landmark cache: content-addressed `.npz` entries keyed by the video bytes and options."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from poseact.core.atomic import is_temp_file, sha256_file
from poseact.core.errors import LandmarkFormatError, PoseactError, VideoReadError, WriteError
from poseact.core.sequence import LandmarkSequence
from poseact.extract.assets import user_cache_dir
from poseact.extract.extractor import _required_models, extract_video
from poseact.extract.options import ExtractorOptions
from poseact.extract.sources import is_url

logger = logging.getLogger(__name__)


_CACHE_FORMAT = 1


# ---------------------------------------------------------------------------- cache
_hash_lock = threading.Lock()


_file_hashes: dict[tuple[str, int, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process per (path, size, mtime, inode)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _hash_lock:
        cached = _file_hashes.get(key)
    if cached is None:
        cached = sha256_file(path)
        with _hash_lock:
            _file_hashes[key] = cached
    return cached


class LandmarkCache:
    """A folder of extracted sequences (`.npz`), keyed by content.

    The key of an entry is a sha256 of the video file's content, the options
    (`ExtractorOptions.to_dict()`) and the sha256 of each MediaPipe model used, so a
    renamed video still hits and a changed model or option misses. Entries are written
    atomically (several processes may write the same entry); a corrupt entry is a miss
    and is replaced by the next `put`.

    Args:
        directory: the cache folder; default `user_cache_dir() / "landmarks"`.
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = (
            Path(directory) if directory is not None else user_cache_dir() / "landmarks"
        )

    def __repr__(self) -> str:
        return f"LandmarkCache({str(self.directory)!r})"

    def key(self, video: str | os.PathLike, options: ExtractorOptions) -> str:
        """Hex sha256 identifying the landmarks of `video` extracted with `options`.

        Raises:
            VideoReadError: the video file does not exist.
            ModelAssetError: a model the options need cannot be found.
        """
        file = Path(video)
        if not file.is_file():
            raise VideoReadError(
                f"video file {os.fspath(video)} not found"
                if not file.exists()
                else f"{os.fspath(video)} is not a file"
            )
        models = {role: _file_sha256(path) for role, path in _required_models(options).items()}
        payload = {
            "format": _CACHE_FORMAT,
            "video": _file_sha256(file),
            "options": options.to_dict(),
            "models": models,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def path_for(self, video: str | os.PathLike, options: ExtractorOptions) -> Path:
        """The entry's file path (it may not exist)."""
        return self.directory / f"{self.key(video, options)}.npz"

    def get(self, video: str | os.PathLike, options: ExtractorOptions) -> LandmarkSequence | None:
        """The cached sequence of `video`, or None on a miss (or a corrupt entry).

        The returned sequence's `source` is `str(video)`, as if freshly extracted.
        """
        if is_url(video):
            return None
        path = self.path_for(video, options)
        if not path.is_file():
            return None
        try:
            sequence = LandmarkSequence.load(path)
        except LandmarkFormatError as exc:
            logger.warning("ignoring corrupt landmark cache entry %s: %s", path, exc)
            return None
        if sequence.layout != options.layout:
            logger.warning(
                "ignoring landmark cache entry %s: layout %r, expected %r",
                path,
                sequence.layout,
                options.layout,
            )
            return None
        logger.debug("landmark cache hit for %s (%s)", video, path.name)
        return sequence.replace(source=os.fspath(video))

    def put(
        self, video: str | os.PathLike, options: ExtractorOptions, sequence: LandmarkSequence
    ) -> Path | None:
        """Store `sequence` as the entry of (`video`, `options`); returns its path.

        URLs are not cached (their content is not known without downloading): None.
        The cache only saves time, so an entry that cannot be written (disk full, no
        permission) is logged as a warning and gives None; nothing partial is left.
        """
        if is_url(video):
            return None
        path = self.path_for(video, options)
        try:
            sequence.save(path)
        except WriteError as exc:
            logger.warning("landmark cache entry of %s not saved: %s", os.fspath(video), exc)
            return None
        return path

    def entries(self) -> list[Path]:
        """The entry files, skipping temporary files of unfinished writes."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p for p in self.directory.glob("*.npz") if p.is_file() and not is_temp_file(p)
        )

    def clear(self) -> int:
        """Delete every entry; returns how many were deleted."""
        removed = 0
        for path in self.entries():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed


class _DefaultCache:
    def __repr__(self) -> str:
        return "<default cache>"


#: Sentinel for "use `LandmarkCache()` in the user cache folder".
DEFAULT_CACHE: Any = _DefaultCache()


def _as_cache(cache: LandmarkCache | None | bool | Any) -> LandmarkCache | None:
    if cache is DEFAULT_CACHE or cache is True:
        return LandmarkCache()
    if cache is None or cache is False:
        return None
    if isinstance(cache, LandmarkCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return LandmarkCache(cache)
    raise TypeError(f"cache must be a LandmarkCache, a folder, None or False, got {cache!r}")


def _extract_named(path: str | os.PathLike, options: ExtractorOptions) -> LandmarkSequence:
    """`extract_video`, with any unexpected error turned into one naming the file."""
    try:
        return extract_video(path, options)
    except PoseactError:
        raise
    except Exception as exc:
        raise PoseactError(
            f"extracting landmarks from {os.fspath(path)} failed: {type(exc).__name__}: {exc}"
        ) from exc


def extract_cached(
    path: str | os.PathLike,
    options: ExtractorOptions | None = None,
    cache: LandmarkCache | None | bool | Any = DEFAULT_CACHE,
) -> LandmarkSequence:
    """`extract_video` through a `LandmarkCache`: load the entry or extract and store it.

    Args:
        path: the video file.
        options: what to extract.
        cache: a `LandmarkCache` (or its folder); the default is `LandmarkCache()`;
            None or False extracts without caching.
    """
    options = options if options is not None else ExtractorOptions()
    store = _as_cache(cache)
    if store is not None:
        hit = store.get(path, options)
        if hit is not None:
            return hit
    sequence = _extract_named(path, options)
    if store is not None:
        store.put(path, options, sequence)
    return sequence
