"""Finding, downloading and verifying MediaPipe model bundles (`.task` files).

A model is named ("pose_full", "hand_full", ...) or given as a path. `resolve_model`
looks for it, in this order:

1. an existing file at the given path;
2. every folder in `$POSEACT_MODEL_DIR` (several folders separated by `os.pathsep`);
3. the user cache, `user_cache_dir() / "models"`;
4. a download of Google's official, versioned bundle into that cache (unless
   `POSEACT_OFFLINE=1` or `download=False`).

Downloads are written to a temporary file, checked (length, zip members, sha256 when
pinned) and only then renamed into place, with a `<file>.sha256` sidecar beside them, so
the cache never holds a partial model. Nothing here imports MediaPipe.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from poseact.core.atomic import atomic_path, atomic_write_text, sha256_file
from poseact.core.errors import ModelAssetError

__all__ = [
    "OFFICIAL_BASE_URL",
    "ModelSpec",
    "MODELS",
    "user_cache_dir",
    "model_cache_dir",
    "model_search_dirs",
    "model_url",
    "resolve_model",
    "download_model",
    "ModelStatus",
    "find_model",
    "verify_model",
]

logger = logging.getLogger(__name__)

#: Where Google publishes the MediaPipe Tasks bundles; `$POSEACT_MODEL_BASE_URL`
#: replaces it (e.g. a mirror, or a local server in tests).
OFFICIAL_BASE_URL = "https://storage.googleapis.com/mediapipe-models"

_POSE_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
_HAND_MEMBERS = ("hand_detector.tflite", "hand_landmarks_detector.tflite")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ModelSpec:
    """A known MediaPipe bundle.

    Attributes:
        name: the short name, e.g. "pose_full".
        filenames: file names accepted for it in the search folders; the first is the
            preferred one. A download is saved under the URL's file name.
        url_path: path below the base URL of the official versioned bundle, or None if
            Google publishes no separate bundle for it.
        members: `.tflite` files the bundle (a zip) must contain.
        sha256: hex digest the downloaded file must have, or None if not pinned.
    """

    name: str
    filenames: tuple[str, ...]
    url_path: str | None
    members: tuple[str, ...]
    sha256: str | None = None

    @property
    def download_filename(self) -> str | None:
        return self.url_path.rsplit("/", 1)[-1] if self.url_path else None


#: Every model name `resolve_model` knows.
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "pose_full",
            ("pose_landmarker_full.task",),
            "pose_landmarker/pose_landmarker_full/float16/1/pose_landmarker_full.task",
            _POSE_MEMBERS,
        ),
        ModelSpec(
            "pose_lite",
            ("pose_landmarker_lite.task",),
            "pose_landmarker/pose_landmarker_lite/float16/1/pose_landmarker_lite.task",
            _POSE_MEMBERS,
        ),
        ModelSpec(
            "pose_heavy",
            ("pose_landmarker_heavy.task",),
            "pose_landmarker/pose_landmarker_heavy/float16/1/pose_landmarker_heavy.task",
            _POSE_MEMBERS,
        ),
        ModelSpec(
            "hand_full",
            ("hand_landmarker_full.task", "hand_landmarker.task"),
            "hand_landmarker/hand_landmarker/float16/1/hand_landmarker.task",
            _HAND_MEMBERS,
        ),
        ModelSpec("hand_lite", ("hand_landmarker_lite.task",), None, _HAND_MEMBERS),
    )
}

_TRUE = {"1", "true", "yes", "on"}


def user_cache_dir() -> Path:
    """poseact's per-user cache folder (models and landmark caches live below it).

    `$POSEACT_CACHE_DIR` if set, else `$XDG_CACHE_HOME/poseact`, else
    `~/.cache/poseact`. The folder is not created here.
    """
    explicit = os.environ.get("POSEACT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "poseact"
    return Path.home() / ".cache" / "poseact"


def model_cache_dir() -> Path:
    """Folder that downloaded model bundles go to: `user_cache_dir() / "models"`."""
    return user_cache_dir() / "models"


def model_search_dirs() -> list[Path]:
    """Folders searched for a named model: `$POSEACT_MODEL_DIR` entries, then the cache."""
    dirs = [
        Path(entry).expanduser()
        for entry in os.environ.get("POSEACT_MODEL_DIR", "").split(os.pathsep)
        if entry.strip()
    ]
    dirs.append(model_cache_dir())
    return dirs


def model_url(name: str, *, official: bool = False) -> str | None:
    """Download URL of a named model (None if it has none).

    Args:
        name: a key of `MODELS`.
        official: ignore `$POSEACT_MODEL_BASE_URL` and give Google's URL.
    """
    spec = _spec(name)
    if spec.url_path is None:
        return None
    base = OFFICIAL_BASE_URL if official else _base_url()
    return f"{base.rstrip('/')}/{spec.url_path}"


def _base_url() -> str:
    return os.environ.get("POSEACT_MODEL_BASE_URL") or OFFICIAL_BASE_URL


def _spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelAssetError(
            f"unknown MediaPipe model {name!r}: expected one of {sorted(MODELS)}"
            " or the path to a .task file"
        ) from None


def _downloads_allowed(download: bool | None) -> bool:
    if download is not None:
        return bool(download)
    return os.environ.get("POSEACT_OFFLINE", "").strip().lower() not in _TRUE


def resolve_model(name_or_path: str | os.PathLike, *, download: bool | None = None) -> Path:
    """Find a MediaPipe `.task` bundle by name or path, downloading it if needed.

    Args:
        name_or_path: a name from `MODELS` ("pose_full", "pose_lite", "pose_heavy",
            "hand_full", "hand_lite") or the path of a `.task` file.
        download: True or False to allow or forbid downloading; None (default) allows
            it unless the environment variable `POSEACT_OFFLINE` is set to 1.

    Returns:
        The absolute path of an existing model file.

    Raises:
        ModelAssetError: the path does not exist, the name is unknown, or the model is
            in none of the search folders and cannot be downloaded; the message lists
            where it looked, the official URL and how to fix it.
    """
    text = os.fspath(name_or_path)
    candidate = Path(text).expanduser()
    if candidate.is_file():
        return candidate.resolve()
    if text not in MODELS:
        if candidate.exists():
            raise ModelAssetError(f"MediaPipe model path {text} is not a file")
        if (
            isinstance(name_or_path, os.PathLike)
            or any(sep and sep in text for sep in (os.sep, os.altsep))
            or text.endswith(".task")
        ):
            raise ModelAssetError(
                f"MediaPipe model file {text} not found; pass an existing .task file"
                f" or one of the model names {sorted(MODELS)}"
            )
        _spec(text)  # raises for an unknown name

    spec = MODELS[text]
    dirs = model_search_dirs()
    for folder in dirs:
        for filename in spec.filenames:
            path = folder / filename
            if path.is_file():
                logger.debug("model %s resolved to %s", spec.name, path)
                return path.resolve()

    url = model_url(spec.name)
    official = model_url(spec.name, official=True)
    allowed = _downloads_allowed(download)
    if url is not None and allowed:
        dest = model_cache_dir() / spec.download_filename
        logger.info("downloading MediaPipe model %s from %s to %s", spec.name, url, dest)
        try:
            return download_model(
                url, dest, sha256=spec.sha256, expected_members=spec.members
            ).resolve()
        except ModelAssetError as exc:
            raise ModelAssetError(
                f"{exc}\n{_not_found_help(spec, dirs, official, reason='the download failed')}"
            ) from exc
    if url is None:
        reason = (
            f"Google publishes no separate bundle for {spec.name!r}, so it cannot be downloaded"
        )
    elif download is False:
        reason = "downloading is disabled (download=False)"
    else:
        reason = "downloading is disabled (POSEACT_OFFLINE is set)"
    raise ModelAssetError(_not_found_help(spec, dirs, official, reason=reason))


def _not_found_help(spec: ModelSpec, dirs: list[Path], official: str | None, *, reason: str) -> str:
    names = " or ".join(spec.filenames)
    env_dirs = dirs[:-1]
    looked = [
        f"  - $POSEACT_MODEL_DIR: {', '.join(map(str, env_dirs))}"
        if env_dirs
        else "  - $POSEACT_MODEL_DIR: not set",
        f"  - user cache: {dirs[-1]}",
    ]
    lines = [
        f"MediaPipe model {spec.name!r} ({names}) not found, and {reason}.",
        "Looked in:",
        *looked,
    ]
    if official:
        lines.append(f"Official download: {official}")
    else:
        lines.append(
            f"Google publishes no official download for {spec.name!r}: obtain a"
            f" {spec.filenames[0]} bundle yourself, or use 'hand_full' instead."
        )
    lines.append(
        f"To fix: put {spec.filenames[-1] if official is None else spec.download_filename}"
        " in a folder listed in POSEACT_MODEL_DIR (or in the user cache above), or pass"
        " the path of the .task file instead of the name."
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class ModelStatus:
    """Where a named MediaPipe bundle is, as `poseact models` lists it.

    Attributes:
        name: the model's name, a key of `MODELS`.
        path: the file `resolve_model` would use, or None if none is present.
        origin: "POSEACT_MODEL_DIR", "cache" or "" (not found).
        url: where a missing bundle is downloaded from on first use (None: no official
            download).
        problem: what `verify_model` found wrong with the file ("" when intact or not
            checked).
    """

    name: str
    path: Path | None
    origin: str
    url: str | None
    problem: str = ""


def find_model(name: str) -> ModelStatus:
    """Where the named bundle is found, without downloading anything.

    Raises:
        ModelAssetError: an unknown name.
    """
    spec = _spec(name)
    dirs = model_search_dirs()
    for i, folder in enumerate(dirs):
        for filename in spec.filenames:
            path = folder / filename
            if path.is_file():
                origin = "cache" if i == len(dirs) - 1 else "POSEACT_MODEL_DIR"
                return ModelStatus(name, path.resolve(), origin, model_url(name))
    return ModelStatus(name, None, "", model_url(name))


def verify_model(name: str) -> ModelStatus:
    """Check the bundle `find_model` finds: an intact zip with the expected members, and
    the sha256 of its `.sha256` sidecar (written by downloads) or of `MODELS`, if any.

    Returns:
        The status; `problem` says what is wrong ("not found" when it is missing).
    """
    status = find_model(name)
    if status.path is None:
        return dataclasses.replace(status, problem="not found")
    spec = MODELS[name]
    try:
        _check_bundle(status.path, str(status.path), spec.members)
    except ModelAssetError as exc:
        return dataclasses.replace(status, problem=str(exc))
    expected = spec.sha256
    sidecar = status.path.with_name(status.path.name + ".sha256")
    if expected is None and sidecar.is_file():
        expected = (
            sidecar.read_text(encoding="utf-8").split()[0] if sidecar.stat().st_size else None
        )
    if expected:
        actual = sha256_file(status.path)
        if actual.lower() != expected.lower():
            return dataclasses.replace(
                status, problem=f"sha256 {actual} differs from the expected {expected}"
            )
    return status


def download_model(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,
    expected_members: tuple[str, ...] | list[str] = (),
    timeout: float = 60.0,
) -> Path:
    """Download a `.task` bundle to `dest` atomically and verify it.

    The file is streamed to a temporary file beside `dest`, checked, then renamed onto
    `dest`; a `<dest>.sha256` sidecar ("<hex>  <name>") is written beside it.

    Args:
        url: http(s) URL of the bundle.
        dest: final path of the file; its folder is created.
        sha256: hex digest the file must have, or None to skip the check.
        expected_members: names of files the bundle (a zip) must contain.
        timeout: socket timeout in seconds.

    Returns:
        `dest` as a Path.

    Raises:
        ModelAssetError: POSEACT_OFFLINE is set (nothing is downloaded then, even
            when asked for explicitly), the download failed, was shorter than its
            Content-Length, is not a zip with the expected members, or has the wrong
            sha256; the message names the URL and nothing is left at `dest`.
    """
    if not _downloads_allowed(None):  # the one place poseact touches the network
        raise ModelAssetError(
            f"not downloading {url}: POSEACT_OFFLINE is set, which forbids every download;"
            " unset it to download, or put the .task file in a folder of POSEACT_MODEL_DIR"
        )
    import http.client  # here, not at module level: ~0.1 s of every process's start
    import urllib.error
    import urllib.request

    dest = Path(dest)
    digest = hashlib.sha256()
    try:
        with atomic_path(dest, suffix=".task") as tmp:
            received = 0
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length_header = response.headers.get("Content-Length")
                    expected_length = int(length_header) if length_header else None
                    with open(tmp, "wb") as handle:
                        while chunk := response.read(_CHUNK):
                            handle.write(chunk)
                            digest.update(chunk)
                            received += len(chunk)
            except urllib.error.HTTPError as exc:
                raise ModelAssetError(
                    f"downloading {url} failed: HTTP {exc.code} {exc.reason}"
                ) from None
            except http.client.IncompleteRead:
                raise ModelAssetError(
                    f"downloading {url} failed: connection closed after {received} bytes"
                    f" of {expected_length} (truncated download)"
                ) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
                raise ModelAssetError(
                    f"downloading {url} failed: {type(exc).__name__}: {exc}"
                ) from None
            if expected_length is not None and received != expected_length:
                raise ModelAssetError(
                    f"downloading {url} failed: got {received} bytes but the server"
                    f" announced {expected_length} (truncated download)"
                )
            if received == 0:
                raise ModelAssetError(f"downloading {url} failed: the server sent no data")
            _check_bundle(tmp, url, expected_members)
            actual = digest.hexdigest()
            if sha256 is not None and actual.lower() != sha256.strip().lower():
                raise ModelAssetError(
                    f"checksum mismatch for {url}: expected sha256 {sha256.strip().lower()},"
                    f" got {actual}; the file was not saved"
                )
    except ModelAssetError:
        raise
    except OSError as exc:  # creating the folder or the temporary file
        raise ModelAssetError(f"cannot save {url} to {dest}: {exc}") from None
    atomic_write_text(dest.with_name(dest.name + ".sha256"), f"{actual}  {dest.name}\n")
    logger.info("downloaded %s (%d bytes, sha256 %s) to %s", url, received, actual, dest)
    return dest


def _check_bundle(path: Path, url: str, members: tuple[str, ...] | list[str]) -> None:
    """Raise ModelAssetError unless `path` is an intact zip holding `members`."""
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
            missing = [m for m in members if m not in names]
            if missing:
                raise ModelAssetError(
                    f"{url} is not the expected MediaPipe bundle: it lacks {missing}"
                    f" (it holds {sorted(names)})"
                )
            bad = bundle.testzip()
            if bad is not None:
                raise ModelAssetError(f"{url} is corrupt: member {bad} fails its CRC check")
    except zipfile.BadZipFile as exc:
        raise ModelAssetError(
            f"{url} is not a valid MediaPipe .task bundle (not a complete zip file: {exc})"
        ) from None
