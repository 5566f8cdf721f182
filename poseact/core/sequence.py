"""The one data model: `LandmarkSequence` (its points are named by a `Layout`).

A `LandmarkSequence` is what the extract stage produces and what every later stage
consumes. It depends on numpy only, so the runtime can use it on a phone or a Pi.

Coordinates are MediaPipe's normalized image coordinates: x in [0, 1] of the image
width, y in [0, 1] of the image height (down), z roughly on the scale of x (towards the
camera is negative). A landmark or a whole frame that was not detected is NaN, and its
visibility is 0: frames are never dropped, so time stays true.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poseact.core.archives import ArchiveLimitError, load_npz
from poseact.core.atomic import atomic_path
from poseact.core.errors import LandmarkFormatError
from poseact.core.layouts import (
    adopt_layout,
    get_layout,
    is_builtin_layout,
    layout_from_json,
)

__all__ = ["LandmarkSequence"]

_FORMAT_VERSION = 1
#: Largest landmark coordinate accepted (pixels of the largest images are ~10^4; one
#: of 10^30 overflows the normalizer's float32 squares into inf and NaN).
MAX_COORDINATE = 1e6


@dataclass(frozen=True, eq=False)
class LandmarkSequence:
    """Landmarks of one clip, frame by frame.

    Attributes:
        timestamps: (T,) float64 seconds from the start of the clip, strictly increasing.
        landmarks: (T, K, 3) float32 x, y, z in normalized image coordinates; NaN where
            a point or a whole frame was not detected.
        visibility: (T, K) float32 in [0, 1]: MediaPipe's visibility for pose points,
            the handedness score for hand points, 0 where not detected.
        layout: name of the point layout, a key of `LAYOUTS` (K = its number of points).
        image_size: (width, height) of the source frames in pixels, used to undo the
            aspect-ratio distortion of normalized coordinates; None if unknown (square).
        world: optional (T, K, 3) float32 world landmarks in metres (hip-centred).
        source: where the sequence came from (a file name), for error messages.
        subject: who (or which recording) the clip shows, e.g. "alice"; saved with
            the clip and used as its group by `Dataset.from_folder`. None if unknown.
        person: the track id of the person the clip follows, when a video showed
            several (`extract_people`, `poseact.core.tracking`); None for one person.

    The arrays are made read-only: derive new sequences, never edit one in place.
    """

    timestamps: np.ndarray
    landmarks: np.ndarray
    visibility: np.ndarray
    layout: str = "pose"
    image_size: tuple[int, int] | None = None
    world: np.ndarray | None = None
    source: str = ""
    subject: str | None = None
    person: int | None = None

    def __post_init__(self) -> None:
        where = f" in {self.source}" if self.source else ""
        if self.person is not None:
            if (
                isinstance(self.person, bool)
                or not isinstance(self.person, (int, np.integer))
                or self.person < 0
            ):
                raise LandmarkFormatError(
                    f"person{where} must be a track id >= 0 or None, got {self.person!r}"
                )
            object.__setattr__(self, "person", int(self.person))
        if self.subject is not None and (not isinstance(self.subject, str) or not self.subject):
            raise LandmarkFormatError(
                f"subject{where} must be a non-empty string or None, got {self.subject!r}"
            )
        try:
            layout = get_layout(self.layout)
        except LandmarkFormatError as exc:
            raise LandmarkFormatError(
                f"{self.source}: {exc}" if self.source else str(exc)
            ) from None
        for name, given in (
            ("timestamps", self.timestamps),
            ("landmarks", self.landmarks),
            ("visibility", self.visibility),
            ("world landmarks", self.world),
        ):
            kind = getattr(np.asarray(given) if given is not None else None, "dtype", None)
            if kind is not None and kind.kind == "c":
                raise LandmarkFormatError(
                    f"{name}{where} are complex numbers ({kind}); landmarks are real coordinates"
                )
        try:
            t = np.array(self.timestamps, dtype=np.float64).reshape(-1)
            lm = np.array(self.landmarks, dtype=np.float32)
            vis = np.array(self.visibility, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise LandmarkFormatError(f"landmark arrays{where} are not numeric ({exc})") from None
        if lm.ndim != 3 or lm.shape[1:] != (layout.num_points, 3):
            raise LandmarkFormatError(
                f"landmarks{where} have shape {lm.shape}, expected (T, {layout.num_points}, 3)"
                f" for layout {layout.name!r}"
            )
        if lm.shape[0] == 0:
            raise LandmarkFormatError(f"landmark sequence{where} has no frames")
        if t.shape != (lm.shape[0],):
            raise LandmarkFormatError(
                f"timestamps{where} have shape {t.shape}, but landmarks have {lm.shape[0]} frames"
            )
        if vis.shape != lm.shape[:2]:
            raise LandmarkFormatError(
                f"visibility{where} has shape {vis.shape}, expected {lm.shape[:2]}"
            )
        if not np.all(np.isfinite(t)):
            raise LandmarkFormatError(f"timestamps{where} contain NaN or inf")
        if t.size > 1 and np.any(np.diff(t) <= 0):
            bad = int(np.argmax(np.diff(t) <= 0))
            raise LandmarkFormatError(
                f"timestamps{where} are not strictly increasing: t[{bad}]={t[bad]:.6f}s,"
                f" t[{bad + 1}]={t[bad + 1]:.6f}s (sort them and drop duplicates)"
            )
        if np.any(np.isinf(lm)):
            raise LandmarkFormatError(f"landmarks{where} contain inf values")
        with np.errstate(invalid="ignore"):
            huge = np.abs(lm) > MAX_COORDINATE
        if huge.any():
            frame, point, axis = (int(i) for i in np.argwhere(huge)[0])
            raise LandmarkFormatError(
                f"landmarks{where} hold {float(lm[frame, point, axis]):.6g} (frame {frame},"
                f" point {layout.point_names[point]!r}, {'xyz'[axis]}), beyond"
                f" ±{MAX_COORDINATE:g}: not a landmark coordinate (image coordinates are"
                " about 0-1, or pixels; world coordinates metres)"
            )
        vis = np.where(np.isnan(vis) | np.isnan(lm[..., 0]), 0.0, vis).astype(np.float32)
        if np.any(vis < 0) or np.any(vis > 1.0 + 1e-6):
            raise LandmarkFormatError(f"visibility{where} outside [0, 1]")
        world = None
        if self.world is not None:
            try:
                world = np.array(self.world, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise LandmarkFormatError(
                    f"world landmarks{where} are not numeric ({exc})"
                ) from None
            if world.shape != lm.shape:
                raise LandmarkFormatError(
                    f"world landmarks{where} have shape {world.shape}, expected {lm.shape}"
                )
            world.setflags(write=False)
        size = None
        if self.image_size is not None:
            w, h = (int(v) for v in self.image_size)
            if w <= 0 or h <= 0:
                raise LandmarkFormatError(f"image_size{where} must be positive, got {(w, h)}")
            size = (w, h)
        for array in (t, lm, vis):
            array.setflags(write=False)
        object.__setattr__(self, "timestamps", t)
        object.__setattr__(self, "landmarks", lm)
        object.__setattr__(self, "visibility", vis)
        object.__setattr__(self, "world", world)
        object.__setattr__(self, "image_size", size)

    # ------------------------------------------------------------------ properties
    def __len__(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def num_frames(self) -> int:
        return len(self)

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return float(self.timestamps[-1] - self.timestamps[0])

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: frames where at least one point was detected."""
        return np.any(np.isfinite(self.landmarks[..., 0]), axis=1)

    @property
    def fps(self) -> float:
        """Median frame rate in frames per second (0 for a single frame)."""
        if len(self) < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.timestamps)))

    def replace(self, **changes) -> LandmarkSequence:
        """A new sequence with some fields changed (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    def between(self, start: float, end: float | None = None) -> LandmarkSequence:
        """The frames with `start` <= timestamp < `end` (seconds, on this clip's own
        timestamps; None: to the last frame), as a clip whose timestamps start at 0.

        Raises:
            ValueError: no frame falls in the interval.
        """
        keep = self.timestamps >= start
        if end is not None:
            keep &= self.timestamps < end
        if not keep.any():
            raise ValueError(
                f"{self.source or 'a sequence'}: no frame between {start:g} s and"
                f" {'the end' if end is None else f'{end:g} s'}"
            )
        times = self.timestamps[keep]
        return self.replace(
            timestamps=times - times[0],
            landmarks=self.landmarks[keep],
            visibility=self.visibility[keep],
            world=None if self.world is None else self.world[keep],
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        *,
        fps: float | None = None,
        timestamps: np.ndarray | None = None,
        layout: str = "pose",
        image_size: tuple[int, int] | None = None,
        source: str = "",
    ) -> LandmarkSequence:
        """Build a sequence from an array of (T, K, 3) or (T, K, 4) with visibility last.

        Give either `fps` (frames evenly spaced) or `timestamps` (T,) seconds. Hands
        may also be given as (T, 2, 21, C). Without visibility, points are visible
        (1) where finite.
        """
        a = np.asarray(array, dtype=np.float32)
        if a.ndim == 4:
            a = a.reshape(a.shape[0], a.shape[1] * a.shape[2], a.shape[3])
        if a.ndim != 3 or a.shape[-1] not in (3, 4):
            raise LandmarkFormatError(
                f"landmark array{' ' + source if source else ''} has shape {a.shape},"
                " expected (T, K, 3) or (T, K, 4)"
            )
        if timestamps is None:
            if fps is None or fps <= 0:
                raise LandmarkFormatError("give fps > 0 or timestamps for a landmark array")
            timestamps = np.arange(a.shape[0], dtype=np.float64) / float(fps)
        xyz = a[..., :3]
        if a.shape[-1] == 4:
            vis = np.where(np.isfinite(xyz[..., 0]), a[..., 3], 0.0)
        else:
            vis = np.isfinite(xyz[..., 0]).astype(np.float32)
        return cls(
            timestamps=timestamps,
            landmarks=xyz,
            visibility=np.clip(np.nan_to_num(vis), 0.0, 1.0),
            layout=layout,
            image_size=image_size,
            source=source,
        )

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the sequence to a `.npz` file atomically; returns the path."""
        path = Path(path)
        arrays = {
            "format_version": np.array(_FORMAT_VERSION),
            "timestamps": self.timestamps,
            "landmarks": self.landmarks,
            "visibility": self.visibility,
            "layout": np.array(self.layout),
        }
        if not is_builtin_layout(self.layout):  # a fresh process reads it unregistered
            arrays["layout_definition"] = layout_definition_array(self.layout)
        if self.image_size is not None:
            arrays["image_size"] = np.array(self.image_size, dtype=np.int64)
        if self.world is not None:
            arrays["world"] = self.world
        if self.subject is not None:
            arrays["subject"] = np.array(self.subject)
        if self.person is not None:
            arrays["person"] = np.array(self.person, dtype=np.int64)
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> LandmarkSequence:
        """Read a sequence written by `save`.

        Raises:
            LandmarkFormatError: the file is missing, not an `.npz`, or its arrays do
                not form a valid sequence; the message names the file.
        """
        path = Path(path)
        try:
            data = load_npz(path)
            files = set(data)
            missing = {"timestamps", "landmarks", "visibility", "layout"} - files
            if missing:
                raise LandmarkFormatError(
                    f"{path} is not a poseact landmark file (missing {sorted(missing)})"
                )
            if "layout_definition" in files:
                read_layout_definition(data["layout_definition"], str(data["layout"]), path)
            fields = {
                "timestamps": data["timestamps"],
                "landmarks": data["landmarks"],
                "visibility": data["visibility"],
                "layout": str(data["layout"]),
                "image_size": tuple(int(v) for v in data["image_size"])
                if "image_size" in files
                else None,
                "world": data["world"] if "world" in files else None,
                "subject": str(data["subject"]) if "subject" in files else None,
                "person": int(data["person"]) if "person" in files else None,
            }
        except LandmarkFormatError:
            raise
        except ArchiveLimitError as exc:
            raise LandmarkFormatError(str(exc)) from None
        except FileNotFoundError:
            raise LandmarkFormatError(f"{path}: no such landmark file") from None
        except Exception as exc:  # zipfile, pickle and numpy errors for corrupt files
            raise LandmarkFormatError(
                f"{path} is not a readable landmark .npz file ({type(exc).__name__}: {exc})"
            ) from None
        try:
            return cls(**fields, source=str(path))
        except (TypeError, ValueError) as exc:
            if isinstance(exc, LandmarkFormatError):
                raise
            raise LandmarkFormatError(f"{path}: invalid landmark arrays ({exc})") from None


def layout_definition_array(layout: str) -> np.ndarray:
    """The layout's definition (`Layout.to_dict`) as a 0-d string array for an `.npz`."""
    return np.array(json.dumps(get_layout(layout).to_dict(), sort_keys=True))


def read_layout_definition(array: np.ndarray, layout: str, path: str | os.PathLike) -> None:
    """Register the layout definition a landmark file carries (untrusted: checked).

    Raises:
        LandmarkFormatError: the definition is malformed, is not of layout `layout`, or
            its name is known with another definition; the message names the file.
    """
    if not isinstance(array, np.ndarray) or array.dtype.kind != "U" or array.ndim != 0:
        raise LandmarkFormatError(f"{path}: the layout definition is not a JSON string")
    definition = layout_from_json(str(array), str(path))
    if definition.name != layout:
        raise LandmarkFormatError(
            f"{path}: the layout definition is of {definition.name!r}, the clip's layout"
            f" is {layout!r}"
        )
    adopt_layout(definition, str(path))
