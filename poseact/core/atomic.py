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
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from poseact.core.errors import PoseactError, WriteError

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
def atomic_path(
    path: str | os.PathLike, *, suffix: str = "", overwrite: bool = True
) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    The temporary name keeps `suffix` (e.g. ".npz") so libraries that add extensions do
    not rename it. On any exception the temporary file is removed and `path` is untouched.
    The file gets the permissions of the file it replaces, or those `open` would give.

    Args:
        path: the final file.
        suffix: ending of the temporary name.
        overwrite: False publishes the file only if `path` does not exist yet, atomically
            (a hard link, so two processes can never both claim one name); else the
            temporary file is removed and `FileExistsError` raised.

    Raises:
        WriteError: an OSError while creating, writing or renaming (disk full, file-size
            limit, no permission); the message names `path`.
        FileExistsError: `overwrite` is False and `path` exists.
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
            if overwrite:
                os.replace(tmp, target)
            else:
                publish_new(tmp, target)
        except OSError as exc:
            if isinstance(exc, PoseactError) or (
                not overwrite and isinstance(exc, FileExistsError)
            ):
                raise
            raise write_error(target, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def publish_new(tmp: Path, target: Path) -> None:
    """Rename the complete file `tmp` onto `target` only if `target` does not exist.

    A hard link claims the name atomically (the link fails with `FileExistsError` when
    another process got there first); where hard links are not supported, an
    `O_EXCL` creation of `target` claims it and a rename fills it.

    Raises:
        FileExistsError: `target` exists (`tmp` is left in place).
        OSError: the link or rename failed otherwise.
    """
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
            raise
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.replace(tmp, target)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; move its content into `path` on success.

    Build a whole set of files (a web site) in the temporary folder: when the block
    succeeds, each top-level entry replaces its namesake in `path` (`path` itself is
    renamed into place when it did not exist), so a full disk or a crash while
    building leaves the earlier content untouched and no partial files. Other files
    already in `path` stay.

    Raises:
        WriteError: an OSError while building or moving (disk full, no permission);
            the message names `path`.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + target.name + ".", dir=target.parent))
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o777 & ~_umask())
            if not target.exists():
                os.rename(tmp, target)
                return
            if not target.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "a file is in the way", str(target))
            for entry in sorted(tmp.iterdir()):
                final = target / entry.name
                if entry.is_dir() and final.is_dir() and not final.is_symlink():
                    old = final.with_name(f"{TEMP_PREFIX}{entry.name}.old")
                    shutil.rmtree(old, ignore_errors=True)
                    os.rename(final, old)
                    os.rename(entry, final)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(entry, final)
        except OSError as exc:
            if isinstance(exc, PoseactError):
                raise
            raise write_error(target, exc) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when `a` and `b` are one existing file or folder (links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)  # no portable way to read the umask without setting it
    os.umask(umask)
    return umask


def disk_full_error(folder: Path, target: Path) -> WriteError | None:
    """The disk-full `WriteError` naming `target` when `folder`'s disk has under 1 MiB
    free, else None (for writers, such as OpenCV's, that fail without saying why)."""
    try:
        full = shutil.disk_usage(folder).free < (1 << 20)
    except OSError:
        return None
    return write_error(target, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) if full else None


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
    return 0o666 & ~_umask()


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
