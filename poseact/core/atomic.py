"""Atomic writes, the output rule, and content hashing.

Every file poseact writes goes to a temporary file in the destination directory and is
renamed into place only when complete, so an interrupted write never leaves a partial
file under the final name. Temporary files start with `TEMP_PREFIX`; readers skip them.

**The output rule** (`check_output`, applied by `atomic_path` and `atomic_dir`, so by
every writer): an output is never one of the running command's inputs (registered with
`protect_inputs`; the same file by inode, so links count), never a non-regular file (a
character or block device, a FIFO, a socket: refused, never replaced), and a symbolic
link is followed on purpose (the file it points to is replaced, the link stays). A
folder poseact writes as a set (a web site, a report, a dataset) records what it wrote
in `MANIFEST_NAME`; files there that poseact did not write, or that were changed since,
are never replaced without `force`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from poseact.core.errors import OutputRefused, PoseactError, WriteError

TEMP_PREFIX = ".poseact-tmp-"

#: The file in an output folder listing what poseact wrote there (relative path →
#: sha256); it is how poseact knows which files in a folder are its own.
MANIFEST_NAME = ".poseact-manifest.json"
_MANIFEST_FORMAT = "poseact-manifest/1"

#: (st_dev, st_ino) of the running command's inputs; outputs onto them are refused.
_PROTECTED: dict[tuple[int, int], str] = {}
_PROTECTED_LOCK = threading.Lock()

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
    target = check_output(path)
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
def atomic_dir(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; publish its content as a unit on success.

    Build a whole set of files (a web site, a report, a dataset) in the temporary
    folder. When the block succeeds, a manifest of the new files is written and the
    folder takes the place of `path` in one atomic exchange (Linux `renameat2`
    RENAME_EXCHANGE; where that is unavailable, or `path` is a mount point, entry by
    entry). The previous poseact content of `path` (files its manifest lists,
    unchanged) is dropped; every other file there (the user's own) is kept, hard-linked
    into the new folder. A new file whose name a user's file holds is refused with
    `OutputRefused` before anything is published, unless `force`. A full disk or a
    crash while building leaves the earlier content untouched and no partial files.

    Raises:
        OutputRefused: `path` is an input, a file, or holds user files the new content
            would replace (without `force`).
        WriteError: an OSError while building or moving (disk full, no permission);
            the message names `path`.
    """
    target = check_output(path, folder=True)
    # a mount point cannot be exchanged: the new content is built inside it (the same
    # file system) and published entry by entry
    mounted = target.is_dir() and os.path.ismount(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(
            tempfile.mkdtemp(
                prefix=TEMP_PREFIX + target.name + ".", dir=target if mounted else target.parent
            )
        )
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        try:
            yield tmp
            written = _manifest_of(tmp)
            _write_manifest(tmp, written)
            os.chmod(tmp, 0o777 & ~_umask())
            if not target.exists():
                os.rename(tmp, target)
                return
            foreign = [f for f in user_files(target) if not _same_content(target, f, written)]
            clashes = sorted(f for f in foreign if _clashes(f, written))
            if clashes and not force:
                shown = ", ".join(clashes[:3]) + (
                    f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
                )
                raise OutputRefused(
                    f"{target} holds files poseact did not write (or that were changed since):"
                    f" {shown}; refusing to replace them: choose another folder, move them,"
                    " or pass --force to replace them"
                )
            keep = [f for f in foreign if not _clashes(f, written)]
            if mounted or not _link_into(target, tmp, keep):
                _merge_into(tmp, target, written, force=force)
                return
            _exchange(tmp, target)  # tmp now holds the previous content
        except OSError as exc:
            if isinstance(exc, PoseactError):
                raise
            raise write_error(target, exc) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _same_content(folder: Path, rel: str, written: dict[str, str]) -> bool:
    """True when the user's file `rel` holds exactly what poseact writes there (e.g.
    the model file the site is built from, already in the folder): nothing is lost."""
    if rel not in written:
        return False
    try:
        return (folder / rel).is_file() and sha256_file(folder / rel) == written[rel]
    except OSError:
        return False


def _clashes(rel: str, written: dict[str, str]) -> bool:
    """True when the user's file `rel` would be replaced by (or sits under) a new file."""
    if rel in written:
        return True
    parts = rel.split("/")
    return any("/".join(parts[:i]) in written for i in range(1, len(parts)))


def _manifest_of(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under `folder` (fsynced on the way)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(folder).as_posix()
            if rel == MANIFEST_NAME:
                continue
            with open(full, "rb+") as handle:
                os.fsync(handle.fileno())
            out[rel] = sha256_file(full)
    return out


def _write_manifest(folder: Path, written: dict[str, str]) -> None:
    text = json.dumps({"format": _MANIFEST_FORMAT, "files": written}, indent=1, sort_keys=True)
    (folder / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")


def read_manifest(folder: str | os.PathLike) -> dict[str, str]:
    """The files poseact wrote into `folder` (relative path → sha256), {} if none."""
    try:
        raw = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("format") != _MANIFEST_FORMAT:
        return {}
    files = raw.get("files")
    if not isinstance(files, dict):
        return {}
    # only plain relative names inside the folder: a crafted manifest naming
    # "../../x" or "/etc/x" must never make poseact delete or serve a file outside it
    return {
        k: v
        for k, v in files.items()
        if isinstance(k, str) and isinstance(v, str) and _plain_relative(k)
    }


def _plain_relative(name: str) -> bool:
    parts = name.split("/")
    return (
        bool(name)
        and not name.startswith("/")
        and "\\" not in name
        and "\0" not in name
        and all(part not in ("", ".", "..") for part in parts)
    )


def user_files(folder: str | os.PathLike) -> list[str]:
    """Relative paths of the entries under `folder` that poseact did not write (or that
    changed since it did): anything its manifest does not list with the same sha256.
    Temporary files of interrupted writes and the manifest itself are left out."""
    folder = Path(folder)
    ours = read_manifest(folder)
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        # a link to a folder is an entry of its own (kept as a link), not walked into
        linked = [d for d in dirnames if (base / d).is_symlink()]
        filenames = [*filenames, *linked]
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(TEMP_PREFIX) and d not in linked
        )
        if not filenames and not dirnames and base != folder:
            out.append(base.relative_to(folder).as_posix() + "/")  # an empty folder
        for name in sorted(filenames):
            rel = (base / name).relative_to(folder).as_posix()
            if rel == MANIFEST_NAME or name.startswith(TEMP_PREFIX):
                continue
            full = base / name
            if rel in ours and full.is_file() and not full.is_symlink():
                with contextlib.suppress(OSError):
                    if sha256_file(full) == ours[rel]:
                        continue
            out.append(rel)
    return out


def _link_into(source: Path, dest: Path, rels: list[str]) -> bool:
    """Hard-link the entries `rels` of `source` into `dest` (links stay links, empty
    folders are made); False if hard links are not possible here."""
    for rel in rels:
        if rel.endswith("/"):
            (dest / rel).mkdir(parents=True, exist_ok=True)
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / rel, dest / rel, follow_symlinks=False)
        except OSError as exc:
            if exc.errno in (
                errno.EPERM,
                errno.EOPNOTSUPP,
                errno.ENOTSUP,
                errno.EXDEV,
                errno.EMLINK,
            ):
                return False
            raise
    return True


def _merge_into(tmp: Path, target: Path, written: dict[str, str], *, force: bool) -> None:
    """Fallback publication, entry by entry: the manifest's new files replace their
    namesakes; files of the previous manifest that the new content lacks are removed."""
    previous = read_manifest(target)
    for rel in sorted(written):
        final = target / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_dir() and not final.is_symlink():
            if not force:
                raise OutputRefused(f"{final} is a folder where poseact writes a file")
            shutil.rmtree(final)
        os.replace(tmp / rel, final)
    os.replace(tmp / MANIFEST_NAME, target / MANIFEST_NAME)
    for rel in sorted(set(previous) - set(written)):
        final = target / rel
        with contextlib.suppress(OSError):
            if sha256_file(final) == previous[rel]:
                final.unlink()


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (renameat2 RENAME_EXCHANGE), else by two renames."""
    func = getattr(_libc(), "renameat2", None)
    if func is not None:
        at_fdcwd, rename_exchange = -100, 2
        if func(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(b))
    old = b.with_name(f"{TEMP_PREFIX}{b.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.rename(b, old)
    os.rename(a, b)
    os.rename(old, a)


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def protect_inputs(*paths: str | os.PathLike | None) -> None:
    """Register the running command's inputs: any later write onto one of them (the
    same file, by device and inode, so links count) is refused by `check_output`.
    Paths that do not exist are ignored."""
    with _PROTECTED_LOCK:
        for path in paths:
            if path is None:
                continue
            with contextlib.suppress(OSError, ValueError):
                info = os.stat(path)
                _PROTECTED[(info.st_dev, info.st_ino)] = str(path)


def clear_protected_inputs() -> None:
    """Forget every input registered with `protect_inputs`."""
    with _PROTECTED_LOCK:
        _PROTECTED.clear()


_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def check_output(
    path: str | os.PathLike,
    *,
    inputs: tuple[str | os.PathLike | None, ...] | list = (),
    folder: bool | None = False,
) -> Path:
    """Apply the output rule to `path`; return the path to write (links followed).

    Args:
        path: the file (or, with `folder`, the folder) about to be written.
        inputs: the command's inputs besides those registered with `protect_inputs`.
        folder: `path` is a folder output (a file there is refused); None: either.

    Raises:
        OutputRefused: `path` is one of the inputs, a device, FIFO or socket, a folder
            where a file goes or a file where a folder goes. Nothing is written.
    """
    given = Path(path)
    for item in inputs:
        if item is not None and same_file(item, given):
            raise OutputRefused(
                f"the output {given} is the input {item}: refusing to overwrite it; choose"
                " another output"
            )
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        return target
    except OSError:
        return target
    with _PROTECTED_LOCK:
        source = _PROTECTED.get((info.st_dev, info.st_ino))
    if source is not None:
        raise OutputRefused(
            f"the output {given} is the input {source}: refusing to overwrite it; choose"
            " another output"
        )
    for test, kind in _KINDS:
        if test(info.st_mode):
            raise OutputRefused(
                f"cannot write {given}: it is {kind}, not a regular file; poseact writes"
                " only regular files and never replaces a device or pipe: choose a file name"
            )
    if folder and not stat.S_ISDIR(info.st_mode):
        raise OutputRefused(f"cannot write into {given}: it is a file, not a folder")
    if folder is False and stat.S_ISDIR(info.st_mode):
        raise OutputRefused(f"cannot write {given}: it is a folder, not a file")
    return target


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
