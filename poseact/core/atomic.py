"""Atomic writes and content hashing.

Every file poseact writes goes to a temporary file in the destination directory and is
renamed into place only when complete, so an interrupted write never leaves a partial
file under the final name. Temporary files start with `TEMP_PREFIX`; readers skip them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from poseact.core.errors import WriteError

TEMP_PREFIX = ".poseact-tmp-"

_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or choose another folder",
    getattr(errno, "EDQUOT", -1): "the disk quota is used up: free some space",
    errno.EFBIG: "the file exceeds the file-size limit",
    errno.EACCES: "permission denied: choose a folder you can write to",
    errno.EPERM: "permission denied: choose a folder you can write to",
    errno.EROFS: "the file system is read-only: choose another folder",
}


def is_temp_file(path: str | os.PathLike) -> bool:
    """True for a temporary file left by an interrupted atomic write."""
    return Path(path).name.startswith(TEMP_PREFIX)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    The temporary name keeps `suffix` (e.g. ".npz") so libraries that add extensions do
    not rename it. On any exception the temporary file is removed and `path` is untouched.
    The file gets the permissions of the file it replaces, or those `open` would give.

    Raises:
        WriteError: an OSError while creating, writing or renaming (disk full, file-size
            limit, no permission); the message names `path`.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=TEMP_PREFIX + target.name + ".", suffix=suffix, dir=target.parent
        )
        os.close(fd)
    except OSError as exc:
        raise write_error(target, exc) from exc
    tmp = Path(tmp_name)
    try:
        with contextlib.suppress(OSError):
            os.chmod(tmp, _file_mode(target))
        try:
            yield tmp
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            if isinstance(exc, WriteError):
                raise
            raise write_error(target, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_error(target: Path, exc: OSError) -> WriteError:
    """A WriteError naming `target`, with a hint for the usual causes."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = _HINTS.get(exc.errno)
    error = WriteError(
        f"cannot write {target}: {reason}" + (f" ({hint})" if hint else "") + "; nothing was"
        " saved under that name"
    )
    error.errno = exc.errno  # (setting `filename` too would change the message)
    return error


def _file_mode(target: Path) -> int:
    """Permission bits for `target`: those of the file it replaces, else 0o666 & ~umask."""
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o7777
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)  # no portable way to read the umask without setting it
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the final path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically; returns the final path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
