"""The poseact model-file contract, shared by export, the runtime and loading (stdlib only).

A poseact model file is a TFLite flatbuffer with a zip archive appended: `poseact.json`
(the metadata: labels, normalizer spec, checksums, ...) and `labels.txt`. LiteRT
ignores the appended bytes. The flatbuffer's subgraph 0 is the window model (signature
`window`); streaming architectures add the single-step model as signature `stream`
(metadata `stream.signature`, version 2). Version 1 files carried the single-step model
as a second flatbuffer, the archive member `stream.tflite` (metadata `stream.file`);
they are still read. The browser page (`web_assets/poseact.js`) reads the
same members; `tests/vectors/model_file.json` holds these constants for its tests.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poseact.core.archives import special_file_problem
from poseact.core.errors import LandmarkFormatError, ModelFormatError
from poseact.core.labels import label_problem, normalize_label, printable
from poseact.core.layouts import layout_from_dict, register_layout
from poseact.runtime.rejection import RejectionRule

__all__ = [
    "TFLITE_MAGIC",
    "METADATA_FORMAT",
    "METADATA_VERSION",
    "METADATA_MEMBER",
    "LABELS_MEMBER",
    "STREAM_MEMBER",
    "MAX_MEMBER_BYTES",
    "MAX_COMPRESSION_RATIO",
    "ModelMetadata",
    "check_labels",
    "read_member",
    "ModelFile",
    "read_model_file",
    "read_model_metadata",
    "model_archive",
    "is_tflite",
]

#: File identifier of a TFLite flatbuffer, at bytes 4-8.
TFLITE_MAGIC = b"TFL3"
#: `format` field of the metadata.
METADATA_FORMAT = "poseact-tflite"
#: Newest metadata version written; older ones are read. 2: the single-step model is
#: the flatbuffer's `stream` signature; 1: the archive member `stream.tflite`.
METADATA_VERSION = 2
METADATA_MEMBER = "poseact.json"
LABELS_MEMBER = "labels.txt"
STREAM_MEMBER = "stream.tflite"
#: Largest archive member read (uncompressed bytes): a model of a few MB never needs
#: more, and a crafted file cannot make the reader inflate gigabytes.
MAX_MEMBER_BYTES = 64 * 1024 * 1024


def is_tflite(head: bytes) -> bool:
    """True when `head` (the first 8 bytes of a file) carries the TFLite identifier."""
    return len(head) >= 8 and head[4:8] == TFLITE_MAGIC


def _fail(where: str, problem: str) -> ModelFormatError:
    return ModelFormatError(f"{where}: invalid poseact metadata: {problem}")


@dataclass(frozen=True, kw_only=True)
class ModelMetadata:
    """The validated `poseact.json` of an exported model.

    Attributes:
        classes: labels in output order (unique, non-empty strings).
        background: the "no gesture" label (one of `classes`) or None.
        normalizer: the `NormalizerSpec` as a dict (`NormalizerSpec.from_dict` reads it).
        layout: the layout name; equals `normalizer["layout"]`.
        architecture: the network's architecture name.
        stream: the single-step model's description or None: `signature` (its
            signature in the model, version 2) or `file` and `sha256` (its archive
            member, version 1), `state_size`, `state_parts`, `lanes`.
        rejection: the open-set rejection rule as stored (`RejectionRule.to_dict`:
            references, per-class distance `thresholds`, the `unknown` answer; see
            `poseact.runtime.rejection`) or None.
        onset: seconds of a gesture the window holds when the network begins to
            answer it (`AugmentOptions.onset`; events are placed by it), or None:
            half the window (also for files written before it was stored).
        placement: label → [seconds of the gesture the window holds when the network
            begins to answer it, when it lets go], measured after training
            (`poseact.train.placement`); events of those labels are placed by them
            (`answer_times`), others by `onset`. None: not measured (older files).
        threshold: the decision threshold chosen for this model (`poseact export
            --threshold`, e.g. from `poseact evaluate-stream --sweep`), used where
            `DecisionOptions.threshold` is None; None: `DEFAULT_THRESHOLD`.
        raw: the whole metadata dict as stored (extra fields included).
    """

    classes: tuple[str, ...]
    background: str | None
    normalizer: dict[str, Any]
    layout: str
    architecture: str | None = None
    stream: dict[str, Any] | None = None
    rejection: dict[str, Any] | None = None
    onset: float | None = None
    placement: dict[str, tuple[float, float]] | None = None
    threshold: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "model") -> ModelMetadata:
        """Validate `data` (parsed `poseact.json`); raises ModelFormatError naming `where`."""
        if not isinstance(data, dict):
            raise _fail(where, f"expected a JSON object, got {type(data).__name__}")
        if data.get("format") != METADATA_FORMAT:
            raise ModelFormatError(f"{where}: metadata is not poseact's ({METADATA_FORMAT})")
        version = data.get("version", 1)
        if not isinstance(version, int) or not 1 <= version <= METADATA_VERSION:
            raise _fail(where, f"version {version!r} is not supported (newest {METADATA_VERSION})")
        classes, background = check_labels(data.get("classes"), data.get("background"), where)
        normalizer = data.get("normalizer")
        if not isinstance(normalizer, dict):
            raise _fail(where, "'normalizer' must be an object")
        layout = normalizer.get("layout")
        if not isinstance(layout, str):
            raise _fail(where, "the normalizer names no layout")
        top = data.get("layout", layout)
        if top != layout:
            raise _fail(where, f"layout {top!r} differs from the normalizer's {layout!r}")
        stream = data.get("stream")
        if stream is not None and not (
            isinstance(stream, dict)
            and (isinstance(stream.get("file"), str) or isinstance(stream.get("signature"), str))
        ):
            raise _fail(where, "'stream' must be null or an object with a 'signature' or 'file'")
        definition = data.get("layout_definition")
        if definition is not None:
            if not isinstance(definition, dict) or definition.get("name") != layout:
                raise _fail(where, f"the layout definition is not one of layout {layout!r}")
            try:
                register_layout(layout_from_dict(definition))
            except (LandmarkFormatError, ValueError) as exc:
                raise _fail(where, str(exc)) from None
        rejection = data.get("rejection")
        if rejection is not None:  # checked whole here: one line naming the file
            RejectionRule.from_dict(rejection, classes=classes, background=background, where=where)
        onset = data.get("onset")
        if onset is not None and not (
            isinstance(onset, (int, float)) and not isinstance(onset, bool) and onset > 0
        ):
            raise _fail(where, f"'onset' must be null or a positive number of seconds: {onset!r}")
        placement = check_placement(data.get("placement"), classes, background, where)
        threshold = data.get("threshold")
        if threshold is not None and not (
            isinstance(threshold, (int, float))
            and not isinstance(threshold, bool)
            and 0 < threshold <= 1
        ):
            raise _fail(where, f"'threshold' must be null or a number in (0, 1]: {threshold!r}")
        architecture = data.get("architecture")
        return cls(
            classes=classes,
            background=background,
            normalizer=dict(normalizer),
            layout=layout,
            architecture=architecture if isinstance(architecture, str) else None,
            stream=dict(stream) if stream is not None else None,
            rejection=dict(rejection) if rejection is not None else None,
            onset=None if onset is None else float(onset),
            placement=placement,
            threshold=None if threshold is None else float(threshold),
            raw=dict(data),
        )


def placement_json(placement: dict[str, tuple[float, float]] | None) -> dict | None:
    """A placement as model files store it (label → [start hold, end hold] seconds)."""
    if placement is None:
        return None
    return {label: [float(h) for h in holds] for label, holds in placement.items()}


def check_placement(
    placement: Any, classes: Sequence[str], background: str | None, where: str
) -> dict[str, tuple[float, float]] | None:
    """Validate a model's stored `placement` (shared by .tflite and .poseact): null, or
    an object from gesture labels (not the background) to two positive seconds.

    Raises:
        ModelFormatError: naming `where` and the problem.
    """
    if placement is None:
        return None
    if not isinstance(placement, dict):
        raise _fail(where, f"'placement' must be null or an object, got {type(placement).__name__}")
    out: dict[str, tuple[float, float]] = {}
    for label, holds in placement.items():
        if label not in classes or label == background:
            raise _fail(where, f"'placement' names {label!r}, which is not a gesture class")
        if not (
            isinstance(holds, list)
            and len(holds) == 2
            and all(
                isinstance(h, (int, float)) and not isinstance(h, bool) and 0 < h < 3600
                for h in holds
            )
        ):
            raise _fail(
                where, f"'placement' of {label!r} must be two positive seconds, got {holds!r:.60}"
            )
        out[label] = (float(holds[0]), float(holds[1]))
    return out


def check_labels(classes: Any, background: Any, where: str) -> tuple[tuple[str, ...], str | None]:
    """Validate a model's `classes` and `background` (shared by .tflite and .poseact).

    Returns:
        (classes as a tuple, background).

    Raises:
        ModelFormatError: `classes` is not a non-empty list of unique non-empty strings
            (a string "abc" would read as three classes), or `background` is not one.
    """
    if not isinstance(classes, list) or not classes:
        raise _fail(where, f"'classes' must be a non-empty list, got {classes!r:.80}")
    if not all(isinstance(c, str) and c for c in classes):
        raise _fail(where, f"'classes' must hold non-empty strings, got {classes!r:.80}")
    for c in classes:
        problem = label_problem(c)
        if problem:
            raise _fail(where, f"class name {printable(c)!r} is refused ({problem})")
    if [normalize_label(c) for c in classes] != classes:
        raise _fail(where, "class names are not in Unicode NFC form; export the model again")
    duplicates = sorted({c for c in classes if classes.count(c) > 1})
    if duplicates:
        raise _fail(where, f"duplicate classes {duplicates}")
    if background is not None and background not in classes:
        raise _fail(where, f"background {background!r} is not one of the classes {classes}")
    return tuple(classes), background


#: Most a member may inflate relative to its compressed size (zip bombs reach 1000:1;
#: networks and arrays compress a few times, JSON some 10 times).
MAX_COMPRESSION_RATIO = 200


@dataclass(frozen=True)
class ModelFile:
    """The parts of a model file: the model's bytes, metadata, and for version 1 files
    with a single-step model its separate bytes (None otherwise)."""

    content: bytes
    metadata: ModelMetadata
    stream: bytes | None


def read_member(zf: zipfile.ZipFile, name: str, where: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
    """One archive member, refusing one that inflates past `limit` bytes (or past
    `MAX_COMPRESSION_RATIO` times its compressed size) before inflating it.

    Raises:
        ModelFormatError: the member is too large; KeyError: there is no such member.
    """
    info = zf.getinfo(name)
    if info.file_size > limit or info.file_size > MAX_COMPRESSION_RATIO * info.compress_size + (
        1 << 20
    ):
        raise ModelFormatError(
            f"{where}: member {name} inflates to {info.file_size} bytes from"
            f" {info.compress_size}, more than a poseact model holds (limit {limit} bytes,"
            f" ratio {MAX_COMPRESSION_RATIO}); the file is damaged or crafted"
        )
    with zf.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ModelFormatError(f"{where}: member {name} inflates past {limit} bytes")
    return data


_read_member = read_member


def read_model_file(path: str | os.PathLike) -> ModelFile:
    """Read and check a model file: identifier, archive, metadata and checksums.

    Raises:
        ModelFormatError: missing, unreadable, not TFLite, not poseact, or corrupt.
    """
    path = Path(path)
    where = str(path)
    problem = special_file_problem(path)
    if problem:
        raise ModelFormatError(f"model file {path} {problem}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFormatError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise ModelFormatError(f"model file {path} is a folder, not a file") from None
    except PermissionError:
        raise ModelFormatError(f"cannot read model file {path}: permission denied") from None
    except OSError as exc:
        raise ModelFormatError(f"cannot read model file {path} ({exc})") from None
    if not is_tflite(data[:8]):
        raise ModelFormatError(f"{path} is not a TFLite model (no TFL3 identifier)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            raw = json.loads(_read_member(zf, METADATA_MEMBER, where))
            names = set(zf.namelist())
            stream_name = (raw.get("stream") or {}).get("file") if isinstance(raw, dict) else None
            stream = None
            if isinstance(stream_name, str) and stream_name in names:
                stream = _read_member(zf, stream_name, where)
    except ModelFormatError:
        raise
    except Exception as exc:  # zipfile, zlib, json: any damage to the appended archive
        if METADATA_MEMBER.encode() in data[-(1 << 20) :] or b"PK\x03\x04" in data[-(1 << 20) :]:
            raise ModelFormatError(
                f"{path} is a truncated or damaged poseact model: its metadata archive"
                f" begins but does not end ({type(exc).__name__}); copy, download or"
                " export it again"
            ) from None
        raise ModelFormatError(
            f"{path} is a TFLite model but not a poseact model: it carries no poseact"
            f" metadata ({type(exc).__name__}); export it with poseact.export_tflite (a"
            " poseact model cut short looks like this too: copy or download it again)"
        ) from None
    metadata = ModelMetadata.from_dict(raw, where=where)
    # The network itself lies outside the (CRC-checked) archive: check it against the
    # sha256 written at export before LiteRT parses it (a damaged flatbuffer can crash
    # the interpreter). Files exported before poseact recorded it are not checked.
    digest, size = raw.get("model_sha256"), raw.get("model_size")
    if digest is not None and (
        not isinstance(size, int)
        or not 8 <= size <= len(data)
        or hashlib.sha256(data[:size]).hexdigest() != digest
    ):
        raise ModelFormatError(
            f"{path}: checksum mismatch: the network does not match the sha256 recorded"
            " when it was exported, so the file is corrupt; copy, download or export it again"
        )
    digest = (metadata.stream or {}).get("sha256") if stream is not None else None
    if digest is not None and hashlib.sha256(stream).hexdigest() != digest:
        raise ModelFormatError(
            f"{path}: checksum mismatch: the stream model does not match the sha256 recorded"
            " when it was exported, so the file is corrupt; copy, download or export it again"
        )
    return ModelFile(data, metadata, stream)


def read_model_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The `poseact.json` metadata embedded in an exported model (labels, spec, ...).

    Raises:
        ModelFormatError: not a TFLite file, not a poseact model, or invalid metadata.
    """
    return dict(read_model_file(path).metadata.raw)


def model_archive(metadata: dict[str, Any], stream_model: bytes | None) -> bytes:
    """The zip appended to the window model: metadata, labels and the stream model.

    Args:
        metadata: the full metadata dict (validated here with `ModelMetadata.from_dict`).
        stream_model: the single-step model's bytes, or None.
    """
    ModelMetadata.from_dict(metadata, where="exported metadata")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(METADATA_MEMBER, json.dumps(metadata, indent=1, sort_keys=True))
        zf.writestr(LABELS_MEMBER, "\n".join(metadata["classes"]) + "\n")
        if stream_model is not None:
            zf.writestr(STREAM_MEMBER, stream_model)
    return buffer.getvalue()
