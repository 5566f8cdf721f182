"""Reading untrusted archives, images and pickles without inflating or running them.

Every `.npz` poseact reads (landmark clips, datasets, the arrays inside a `.poseact`
model) goes through `load_npz`, which checks each member's declared size against a
limit and a compression ratio, and each array's `.npy` header against the member's
size, before anything is inflated. Images are measured from their headers
(`image_dimensions`) before they are decoded. Pickles are read by `SafeUnpickler`,
which builds only plain containers and numpy arrays and never calls anything else.
The limits are stated in docs/reliability.md.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from poseact.core.errors import PoseactError

__all__ = [
    "MAX_NPZ_MEMBER_BYTES",
    "MAX_NPZ_TOTAL_BYTES",
    "MAX_COMPRESSION_RATIO",
    "RATIO_FREE_BYTES",
    "MAX_IMAGE_PIXELS",
    "ArchiveLimitError",
    "NotARegularFile",
    "special_file_problem",
    "check_regular_input",
    "load_npz",
    "load_npy_bytes",
    "load_npy_file",
    "check_npz",
    "image_dimensions",
    "check_image",
    "SafeUnpickler",
    "safe_pickle_load",
]

#: Most one `.npz` member may inflate to (a one-hour pose+hands clip is 100 MB; a
#: dataset's landmark array of 30 hours of pose at 30 fps is 1.3 GB).
MAX_NPZ_MEMBER_BYTES = 2 << 30
#: Most all members of one `.npz` may inflate to together.
MAX_NPZ_TOTAL_BYTES = 4 << 30
#: Members bigger than `RATIO_FREE_BYTES` may inflate at most this many times their
#: compressed size (landmark arrays compress 1-3 times; zip bombs reach 1000:1).
MAX_COMPRESSION_RATIO = 200
#: Below this, any ratio is allowed: an all-NaN hour-long clip (an empty room)
#: compresses some 1000 times and is a valid input.
RATIO_FREE_BYTES = 64 << 20
#: Most pixels an image may declare (width × height): 100 megapixels, 300 MB as RGB.
MAX_IMAGE_PIXELS = 100_000_000


class ArchiveLimitError(PoseactError, ValueError):
    """An input poseact refuses to read: an archive member or image larger than poseact
    reads (a decompression bomb), a crafted header, or not a regular file."""


class NotARegularFile(ArchiveLimitError):
    """An input that is a FIFO, a device or a socket (reading it could block forever
    or never end)."""


def special_file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` is not a regular file to read ("is a FIFO (named pipe) ..."), or
    None for a regular file, a folder, or a path that does not exist."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return (
                f"is {kind}, not a regular file: poseact reads files (a pipe or device could"
                " block forever or never end); save the data to a file first"
            )
    return None


def check_regular_input(path: str | os.PathLike) -> None:
    """Raise `NotARegularFile` ("PATH is a FIFO ...") for a FIFO, device or socket."""
    problem = special_file_problem(path)
    if problem:
        raise NotARegularFile(f"{os.fspath(path)} {problem}")


def check_npz(
    zf: zipfile.ZipFile,
    where: str,
    *,
    member_limit: int = MAX_NPZ_MEMBER_BYTES,
    total_limit: int = MAX_NPZ_TOTAL_BYTES,
) -> None:
    """Refuse an archive whose members would inflate past the limits (by their
    declared sizes, which `zipfile` enforces while inflating).

    Raises:
        ArchiveLimitError: a member above `member_limit`, above the ratio limit, or
            members together above `total_limit`.
    """
    total = 0
    names = [info.filename for info in zf.infolist()]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ArchiveLimitError(
            f"{where}: member {twice[0]} is in the archive twice (which one a reader sees"
            " differs between programs); the file is damaged or crafted, so it was not read"
        )
    for info in zf.infolist():
        size, packed = info.file_size, info.compress_size
        if size > member_limit or (
            size > RATIO_FREE_BYTES and size > MAX_COMPRESSION_RATIO * max(packed, 1)
        ):
            raise ArchiveLimitError(
                f"{where}: member {info.filename} would inflate to {size} bytes from"
                f" {packed} (limits: {member_limit} bytes a member, and at most"
                f" {MAX_COMPRESSION_RATIO}:1 above {RATIO_FREE_BYTES} bytes); the file is"
                " damaged or a decompression bomb, so it was not read"
            )
        total += size
    if total > total_limit:
        raise ArchiveLimitError(
            f"{where}: its members would inflate to {total} bytes together, more than the"
            f" {total_limit} bytes poseact reads from one file; it was not read"
        )


def _npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of the `.npy` header at `handle`'s position."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    raise ValueError(f"unsupported .npy version {version}")


def _read_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    """One `.npy` member, its header checked against the member's size first."""
    with zf.open(info) as handle:
        shape, fortran, dtype = _npy_header(handle)
        if dtype.hasobject:
            raise ValueError(f"member {info.filename} holds Python objects (not allowed)")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count < 0 or count * dtype.itemsize > info.file_size:
            raise ArchiveLimitError(
                f"{where}: member {info.filename} declares an array of shape {shape}"
                f" ({count * dtype.itemsize} bytes) in {info.file_size} bytes; the file is"
                " damaged or crafted, so it was not read"
            )
        data = handle.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"member {info.filename} is truncated")
    array = np.frombuffer(data, dtype=dtype).copy()
    if fortran:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def load_npz(
    source: str | os.PathLike | BinaryIO,
    where: str | None = None,
    *,
    member_limit: int = MAX_NPZ_MEMBER_BYTES,
    total_limit: int = MAX_NPZ_TOTAL_BYTES,
) -> dict[str, np.ndarray]:
    """Every array of an `.npz` file, size-checked before anything is inflated.

    Like `np.load(..., allow_pickle=False)` read completely, but an archive whose
    members would inflate past the limits, or whose `.npy` headers declare more data
    than the member holds, is refused without allocating it.

    Args:
        source: the file, or a binary file object (e.g. a nested archive's bytes).
        where: the name used in messages (default: the path).

    Returns:
        name (without ".npy") → array.

    Raises:
        ArchiveLimitError: a decompression bomb or crafted header.
        FileNotFoundError, PermissionError: as `open`.
        ValueError, zipfile.BadZipFile, OSError: a damaged file (callers wrap these).
    """
    where = where or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "archive")
    if isinstance(source, (str, os.PathLike)):
        check_regular_input(source)
        if Path(source).is_dir():
            raise IsADirectoryError(f"{source} is a folder")
    with zipfile.ZipFile(source) as zf:
        check_npz(zf, where, member_limit=member_limit, total_limit=total_limit)
        out = {}
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            out[name] = _read_array(zf, info, where)
        return out


def load_npy_bytes(data: bytes, where: str) -> np.ndarray:
    """One `.npy` file's array from its bytes, its header checked against its size."""
    info = zipfile.ZipInfo("array.npy")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(info, data)
    with zipfile.ZipFile(buffer) as zf:
        return _read_array(zf, zf.getinfo("array.npy"), where)


def load_npy_file(path: str | os.PathLike) -> np.ndarray:
    """One `.npy` file's array, its header checked against the file's size first (a
    100-byte file cannot declare a billion frames), never a pickle, never a FIFO."""
    check_regular_input(path)
    with open(path, "rb") as handle:
        shape, _, dtype = _npy_header(handle)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if dtype.hasobject or count * dtype.itemsize > os.fstat(handle.fileno()).st_size:
            raise ArchiveLimitError(
                f"{os.fspath(path)}: its header declares an array of shape {shape}"
                f" {dtype} that the file cannot hold (or Python objects); not read"
            )
    return np.load(path, allow_pickle=False)


# ---------------------------------------------------------------------- images
def image_dimensions(head: bytes) -> tuple[int, int] | None:
    """(width, height) declared by a PNG, JPEG, GIF, BMP or WebP header, else None.

    Args:
        head: the file's first bytes (64 KiB finds a JPEG's frame header after
            ordinary EXIF data; larger EXIF blocks give None).
    """
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24 and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return struct.unpack("<HH", head[6:10])
    if head[:2] == b"BM" and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8X":
            w = int.from_bytes(head[24:27], "little") + 1
            h = int.from_bytes(head[27:30], "little") + 1
            return w, h
        if chunk == b"VP8 " and len(head) >= 30:
            w, h = struct.unpack("<HH", head[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L" and len(head) >= 25:
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if head[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                i += 1
                continue
            marker = head[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", head[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", head[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


def check_image(data: bytes, where: str, *, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Refuse an image whose header declares more than `max_pixels` pixels, before it
    is decoded (an 875 KB PNG can declare 30000 × 30000 pixels, 2.7 GB as RGB).

    Raises:
        ArchiveLimitError: the image is too large.
    """
    size = image_dimensions(bytes(data[: 1 << 16]))
    if size is not None and size[0] * size[1] > max_pixels:
        raise ArchiveLimitError(
            f"{where}: the image declares {size[0]} x {size[1]} pixels, more than the"
            f" {max_pixels} poseact decodes; scale it down first"
        )


# ---------------------------------------------------------------------- pickles
#: The only globals a pickle may name: numpy's array, dtype and scalar rebuilders
#: (numpy 1 and 2 spellings) and the builtin containers. Nothing here runs code
#: beyond building those objects.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "slice"),
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that builds only builtin containers, numbers, strings and numpy
    arrays (what pyskl / mmaction2 skeleton pickles hold), refusing every other
    global, so a crafted file cannot run code (`os.system`, `eval`, ...)."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle hook
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode"):  # protocol 2 spells bytes this way
            return _latin1_encode
        raise pickle.UnpicklingError(
            f"the pickle asks for {module}.{name}, which a skeleton file does not need;"
            " it was refused so that the file cannot run code"
        )


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"unexpected bytes encoding {encoding!r} in the pickle")
    return text.encode("latin1")


def safe_pickle_load(handle: BinaryIO | bytes) -> Any:
    """Unpickle with `SafeUnpickler` (numpy arrays and plain containers only)."""
    if isinstance(handle, (bytes, bytearray)):
        handle = io.BytesIO(handle)
    return SafeUnpickler(handle).load()
