"""Landmark layouts: named points, how each part is normalized, left/right pairs, edges.

A `Layout` is the header of every `LandmarkSequence`: it names the K points (so every
stage finds "LEFT_SHOULDER" by name, never by index), groups them into `BodyPart`s that
the normalizer centres and scales together, pairs left and right points for mirroring,
and lists the skeleton's edges for drawing. MediaPipe's "pose", "hands" and
"pose+hands" are built in; `register_layout` adds any other skeleton (COCO-17, Kinect,
OpenPose, Leap Motion, one tracked point, ...), and an exported model carries its
layout's definition (`Layout.to_dict`), so the runtime and the browser page need no
registration.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from poseact.core.archives import special_file_problem
from poseact.core.errors import LandmarkFormatError

__all__ = [
    "POSE_LANDMARK_NAMES",
    "HAND_LANDMARK_NAMES",
    "PART_KINDS",
    "BodyPart",
    "Layout",
    "LAYOUTS",
    "get_layout",
    "register_layout",
    "layout_from_dict",
    "layout_from_json",
    "read_layout_file",
    "adopt_layout",
    "is_builtin_layout",
    "check_same_layout",
    "MAX_LAYOUT_BYTES",
    "MAX_LAYOUT_POINTS",
]

#: MediaPipe PoseLandmarker's 33 points, in its order.
POSE_LANDMARK_NAMES: tuple[str, ...] = (
    "NOSE", "LEFT_EYE_INNER", "LEFT_EYE", "LEFT_EYE_OUTER", "RIGHT_EYE_INNER",
    "RIGHT_EYE", "RIGHT_EYE_OUTER", "LEFT_EAR", "RIGHT_EAR", "MOUTH_LEFT",
    "MOUTH_RIGHT", "LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW",
    "LEFT_WRIST", "RIGHT_WRIST", "LEFT_PINKY", "RIGHT_PINKY", "LEFT_INDEX",
    "RIGHT_INDEX", "LEFT_THUMB", "RIGHT_THUMB", "LEFT_HIP", "RIGHT_HIP",
    "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE", "LEFT_HEEL",
    "RIGHT_HEEL", "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX",
)  # fmt: skip

#: MediaPipe HandLandmarker's 21 points, in its order.
HAND_LANDMARK_NAMES: tuple[str, ...] = (
    "WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP",
    "INDEX_FINGER_MCP", "INDEX_FINGER_PIP", "INDEX_FINGER_DIP", "INDEX_FINGER_TIP",
    "MIDDLE_FINGER_MCP", "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP",
    "RING_FINGER_MCP", "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP",
    "PINKY_MCP", "PINKY_PIP", "PINKY_DIP", "PINKY_TIP",
)  # fmt: skip

#: MediaPipe's pose skeleton (POSE_CONNECTIONS), by point name.
_POSE_EDGES: tuple[tuple[str, str], ...] = tuple(
    (POSE_LANDMARK_NAMES[a], POSE_LANDMARK_NAMES[b])
    for a, b in (
        (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
        (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
        (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
        (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
        (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
    )
)  # fmt: skip

#: MediaPipe's hand skeleton (HAND_CONNECTIONS), by point name.
_HAND_EDGES: tuple[tuple[str, str], ...] = tuple(
    (HAND_LANDMARK_NAMES[a], HAND_LANDMARK_NAMES[b])
    for a, b in (
        (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8),
        (5, 9), (9, 10), (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16),
        (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
    )
)  # fmt: skip

#: How a `BodyPart` is normalized, and what its `anchors` name:
#: - "body": anchors (left shoulder, right shoulder, left hip, right hip); centred on
#:   the hips or shoulders, scaled by the torso or shoulder width, optionally rotated
#:   level (`NormalizerSpec.center`, `.scale`, `.rotate`).
#: - "hand": anchors (wrist, middle-finger base, index base, pinky base); centred on
#:   the wrist, scaled by the palm length (wrist to middle base; else the mean of wrist
#:   to index and pinky bases).
#: - "points": no anchors: already centred and scaled (kept as they are); one anchor:
#:   centred on it; two anchors: centred on their midpoint, scaled by their distance.
PART_KINDS = ("body", "hand", "points")
_ANCHORS = {"body": (4,), "hand": (4,), "points": (0, 1, 2)}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\- ]{0,63}$")
#: Largest layout definition read from a file or a landmark file (JSON text, bytes):
#: a 10,000-point skeleton with edges is about 600 KB.
MAX_LAYOUT_BYTES = 1 << 20
#: Most points, parts, edges or mirror pairs a layout definition may hold.
MAX_LAYOUT_POINTS = 10_000


def _mirror_name(name: str) -> str:
    for a, b in (("LEFT", "RIGHT"), ("RIGHT", "LEFT")):
        if a in name:
            return name.replace(a, b)
    return name


@dataclass(frozen=True, kw_only=True)
class BodyPart:
    """Points normalized together: one origin and one size per frame.

    Attributes:
        name: e.g. "body", "left_hand".
        kind: one of `PART_KINDS`.
        points: names of the part's points (each in the layout).
        anchors: names of the points that place and size the part (see `PART_KINDS`).
    """

    name: str
    kind: str
    points: tuple[str, ...]
    anchors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "anchors", tuple(self.anchors))
        if self.kind not in PART_KINDS:
            raise ValueError(
                f"part {self.name!r}: kind must be one of {PART_KINDS}, got {self.kind!r}"
            )
        if len(self.anchors) not in _ANCHORS[self.kind]:
            raise ValueError(
                f"part {self.name!r} of kind {self.kind!r} takes {_ANCHORS[self.kind]} anchors,"
                f" got {len(self.anchors)}"
            )
        if not self.points:
            raise ValueError(f"part {self.name!r} has no points")
        missing = sorted(set(self.anchors) - set(self.points))
        if missing:
            raise ValueError(f"part {self.name!r}: anchors {missing} are not among its points")


@dataclass(frozen=True)
class Layout:
    """A named, fixed order of landmark points, and how to normalize and draw them.

    Attributes:
        name: e.g. "pose", "hands", "pose+hands", "coco17".
        point_names: one name per point, e.g. "LEFT_SHOULDER" or "RIGHT_HAND.WRIST".
        parts: the `BodyPart`s; points in no part are kept as they are (already
            centred). Default: none.
        mirror_pairs: (left, right) point names swapped by a mirror; default: pairs
            found by swapping LEFT and RIGHT in the names.
        edges: (a, b) point names joined when drawing the skeleton.
    """

    name: str
    point_names: tuple[str, ...]
    parts: tuple[BodyPart, ...] = ()
    mirror_pairs: tuple[tuple[str, str], ...] | None = None
    edges: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "point_names", tuple(str(n) for n in self.point_names))
        object.__setattr__(self, "parts", tuple(self.parts))
        object.__setattr__(self, "edges", tuple(tuple(e) for e in self.edges))
        if self.mirror_pairs is not None:
            object.__setattr__(self, "mirror_pairs", tuple(tuple(p) for p in self.mirror_pairs))
        if not _NAME.match(self.name):
            raise ValueError(f"layout name {self.name!r} is not a plain name")
        names = self.point_names
        if not names:
            raise ValueError(f"layout {self.name!r} has no points")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"layout {self.name!r} names points twice: {duplicates}")
        known = set(names)
        seen: set[str] = set()
        for part in self.parts:
            unknown = sorted(set(part.points) - known)
            if unknown:
                raise ValueError(
                    f"layout {self.name!r}, part {part.name!r}: unknown points {unknown}"
                )
            overlap = sorted(seen & set(part.points))
            if overlap:
                raise ValueError(f"layout {self.name!r}: points {overlap} are in two parts")
            seen |= set(part.points)
        pairs = list(self.mirror_pairs or ()) + list(self.edges)
        unknown = sorted({n for pair in pairs for n in pair} - known)
        if unknown:
            raise ValueError(
                f"layout {self.name!r}: mirror pairs or edges name unknown points {unknown}"
            )

    @property
    def num_points(self) -> int:
        return len(self.point_names)

    def index(self, name: str) -> int:
        """Index of a point by name, e.g. `layout.index("LEFT_HIP")`."""
        try:
            return self.point_names.index(name)
        except ValueError:
            raise KeyError(f"layout {self.name!r} has no point {name!r}") from None

    def indices(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """(n,) int64 indices of several points by name."""
        return np.array([self.index(n) for n in names], dtype=np.int64)

    def has(self, name: str) -> bool:
        return name in self.point_names

    @property
    def mirror_permutation(self) -> np.ndarray:
        """(K,) int: index of each point's left/right counterpart (itself if central)."""
        if self.mirror_pairs is None:
            return np.array(
                [self.index(_mirror_name(n)) if self.has(_mirror_name(n)) else i
                 for i, n in enumerate(self.point_names)],
                dtype=np.int64,
            )  # fmt: skip
        perm = np.arange(self.num_points, dtype=np.int64)
        for a, b in self.mirror_pairs:
            perm[self.index(a)], perm[self.index(b)] = self.index(b), self.index(a)
        return perm

    @property
    def edge_indices(self) -> tuple[tuple[int, int], ...]:
        """The skeleton's edges as (i, j) point indices (computed once per layout)."""
        return _edge_indices(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able definition; `layout_from_dict` reads it (so does the web page).

        Besides the names, each part carries `indices` and `anchor_indices`, resolved
        here once, so readers need no name lookup.
        """
        return {
            "name": self.name,
            "point_names": list(self.point_names),
            "parts": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "points": list(p.points),
                    "anchors": list(p.anchors),
                    "indices": [int(i) for i in self.indices(p.points)],
                    "anchor_indices": [int(i) for i in self.indices(p.anchors)],
                }
                for p in self.parts
            ],
            "mirror_pairs": None
            if self.mirror_pairs is None
            else [list(p) for p in self.mirror_pairs],
            "mirror_permutation": [int(i) for i in self.mirror_permutation],
            "edges": [list(e) for e in self.edges],
        }


@functools.cache
def _edge_indices(layout: Layout) -> tuple[tuple[int, int], ...]:
    return tuple((layout.index(a), layout.index(b)) for a, b in layout.edges)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    """A list of strings from JSON, checked (a string is not a list of its letters)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of strings")
    if len(value) > MAX_LAYOUT_POINTS:
        raise ValueError(f"{what} holds {len(value)} items, more than {MAX_LAYOUT_POINTS}")
    if any(len(v) > 200 for v in value):
        raise ValueError(f"{what} holds a name longer than 200 characters")
    return tuple(value)


def _pairs(value: Any, what: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LAYOUT_POINTS:
        raise TypeError(f"{what} must be a list of [a, b] point-name pairs")
    pairs = tuple(_strings(pair, what) for pair in value)
    if any(len(pair) != 2 for pair in pairs):
        raise TypeError(f"{what} must be a list of [a, b] point-name pairs")
    return pairs  # type: ignore[return-value]


def layout_from_dict(data: dict[str, Any]) -> Layout:
    """Rebuild a `Layout` from `Layout.to_dict` output (or the same keys written by hand).

    `name` and `point_names` are required; `parts` (each with `name`, `kind`, `points`
    and optional `anchors`), `mirror_pairs` and `edges` are optional. The derived keys
    `to_dict` adds (`indices`, `anchor_indices`, `mirror_permutation`) are ignored.

    Raises:
        LandmarkFormatError: the definition is malformed.
    """
    try:
        if not isinstance(data, dict):
            raise TypeError(f"a layout definition is a JSON object, not {type(data).__name__}")
        if not isinstance(data.get("name"), str):
            raise TypeError("'name' must be a string")
        parts = data.get("parts") or []
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise TypeError("'parts' must be a list of objects")
        if len(parts) > MAX_LAYOUT_POINTS:
            raise ValueError(f"'parts' holds more than {MAX_LAYOUT_POINTS} parts")
        for p in parts:
            if not isinstance(p.get("name"), str) or not isinstance(p.get("kind"), str):
                raise TypeError("each part needs a string 'name' and 'kind'")
        mirror = data.get("mirror_pairs")
        return Layout(
            data["name"],
            _strings(data["point_names"], "'point_names'"),
            tuple(
                BodyPart(
                    name=p["name"],
                    kind=p["kind"],
                    points=_strings(p.get("points"), f"part {p['name']!r} 'points'"),
                    anchors=_strings(p.get("anchors", []), f"part {p['name']!r} 'anchors'"),
                )
                for p in parts
            ),  # fmt: skip
            None if mirror is None else _pairs(mirror, "'mirror_pairs'"),
            _pairs(data.get("edges") or [], "'edges'"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        problem = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise LandmarkFormatError(f"invalid layout definition ({problem})") from None


def layout_from_json(text: str | bytes, where: str) -> Layout:
    """Parse a layout definition from JSON text (untrusted: size-checked, data only).

    Args:
        text: the JSON of one layout definition (`layout_from_dict`'s keys).
        where: the file it came from, named in errors.

    Raises:
        LandmarkFormatError: too long, not JSON, or not a valid definition; one line
            naming `where`.
    """
    if len(text) > MAX_LAYOUT_BYTES:
        raise LandmarkFormatError(
            f"{where}: layout definition of {len(text):,} bytes, more than the"
            f" {MAX_LAYOUT_BYTES:,} allowed"
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise LandmarkFormatError(f"{where}: layout definition is not valid JSON ({exc})") from None
    try:
        return layout_from_dict(data)
    except LandmarkFormatError as exc:
        raise LandmarkFormatError(f"{where}: {exc}") from None


def read_layout_file(path: str | os.PathLike) -> Layout:
    """Read a layout definition from a JSON file (docs/layouts.md) and register it.

    Returns:
        The registered `Layout`.

    Raises:
        LandmarkFormatError: the file is missing, too large, not JSON, not a valid
            definition, or its name is taken by another definition.
    """
    path = os.fspath(path)
    problem = special_file_problem(path)
    if problem:
        raise LandmarkFormatError(f"layout file {path} {problem}")
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_LAYOUT_BYTES + 1)
    except FileNotFoundError:
        raise LandmarkFormatError(f"{path}: no such layout file") from None
    except OSError as exc:
        raise LandmarkFormatError(f"{path}: cannot read layout file ({exc.strerror})") from None
    return adopt_layout(layout_from_json(text, path), path)


def adopt_layout(layout: Layout | dict[str, Any], where: str) -> Layout:
    """Register a layout read from a file (a definition or a `Layout`), naming the file
    when its name is already taken by another definition.

    Raises:
        LandmarkFormatError: malformed, or its name is known with another definition.
    """
    if isinstance(layout, dict):
        try:
            layout = layout_from_dict(layout)
        except LandmarkFormatError as exc:
            raise LandmarkFormatError(f"{where}: {exc}") from None
    try:
        return register_layout(layout)
    except ValueError as exc:
        raise LandmarkFormatError(f"{where}: {exc}") from None


def _hand_names(side: str) -> tuple[str, ...]:
    return tuple(f"{side}_HAND.{n}" for n in HAND_LANDMARK_NAMES)


def _body_part() -> BodyPart:
    return BodyPart(
        name="body",
        kind="body",
        points=POSE_LANDMARK_NAMES,
        anchors=("LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_HIP", "RIGHT_HIP"),
    )


def _hand_part(side: str) -> BodyPart:
    p = f"{side}_HAND."
    return BodyPart(
        name=f"{side.lower()}_hand",
        kind="hand",
        points=_hand_names(side),
        anchors=(p + "WRIST", p + "MIDDLE_FINGER_MCP", p + "INDEX_FINGER_MCP", p + "PINKY_MCP"),
    )


def _hand_edges(side: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{side}_HAND.{a}", f"{side}_HAND.{b}") for a, b in _HAND_EDGES)


def _builtin_layouts() -> dict[str, Layout]:
    hands = _hand_names("LEFT") + _hand_names("RIGHT")
    hand_parts = (_hand_part("LEFT"), _hand_part("RIGHT"))
    hand_edges = _hand_edges("LEFT") + _hand_edges("RIGHT")
    return {
        "pose": Layout("pose", POSE_LANDMARK_NAMES, (_body_part(),), edges=_POSE_EDGES),
        "hands": Layout("hands", hands, hand_parts, edges=hand_edges),
        "pose+hands": Layout(
            "pose+hands",
            POSE_LANDMARK_NAMES + hands,
            (_body_part(), *hand_parts),
            edges=_POSE_EDGES + hand_edges,
        ),
    }


#: Every layout poseact knows: the built-in ones, then those added by `register_layout`.
#: "hands" holds the left hand (MediaPipe's handedness label) in points 0-20 and the
#: right hand in points 21-41.
LAYOUTS: dict[str, Layout] = _builtin_layouts()
_BUILTIN = frozenset(LAYOUTS)
_LOCK = threading.Lock()


def register_layout(layout: Layout) -> Layout:
    """Make `layout` known by its name to every stage (sequences, normalizer, models).

    Registering the same definition again is a no-op; another definition under a name
    already taken raises ValueError (built-in names cannot be replaced).

    Returns:
        The registered layout.
    """
    if not isinstance(layout, Layout):
        raise TypeError(f"register_layout takes a Layout, got {type(layout).__name__}")
    with _LOCK:
        known = LAYOUTS.get(layout.name)
        if known is not None and known.to_dict() != layout.to_dict():
            what = "a built-in layout" if layout.name in _BUILTIN else "already registered"
            raise ValueError(f"layout name {layout.name!r} is {what} with another definition")
        LAYOUTS[layout.name] = layout
    return layout


def is_builtin_layout(name: str) -> bool:
    """True for "pose", "hands" and "pose+hands" (files need not carry their definition)."""
    return name in _BUILTIN


def check_same_layout(source: str, found: str, expected: str, owner: str = "model") -> None:
    """Raise LandmarkFormatError when a clip's layout is not the one expected, saying
    why when a custom layout meets MediaPipe's output (a video or photo extracted).

    Args:
        source: the clip's file (or "" for an unnamed one).
        found: the clip's layout.
        expected: the layout the `owner` ("model", "normalizer") was made for.
    """
    if found == expected:
        return
    hint = (
        "; MediaPipe extracts videos and photos as pose, hands or pose+hands: give a"
        f" {expected!r} clip as landmarks (.npz, .csv) from its tracker"
        if found in _BUILTIN and expected not in _BUILTIN
        else ""
    )
    raise LandmarkFormatError(
        f"{source or 'the clip'} has layout {found!r}, but the {owner} expects {expected!r}{hint}"
    )


def get_layout(name: str) -> Layout:
    """The `Layout` called `name`; raises LandmarkFormatError for an unknown name."""
    try:
        return LAYOUTS[name]
    except (KeyError, TypeError):
        raise LandmarkFormatError(
            f"unknown landmark layout {name!r}; expected one of {sorted(LAYOUTS)}"
            " (register others with poseact.register_layout)"
        ) from None
