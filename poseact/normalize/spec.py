"""`NormalizerSpec`: the normalizer settings stored in every trained and exported model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from poseact.core.choices import CENTERS, SAMPLINGS, SCALES
from poseact.core.layouts import get_layout

_SPEC_VERSION = 1
#: Highest resampling rate (frames per second) and longest window (frames) accepted:
#: beyond them, windows and their features grow without bound (a 100000-frame window
#: is 80 MB a clip).
MAX_FPS = 1000.0
MAX_WINDOW = 1024
#: What a timing left as None (fps, window, sampling) becomes without training clips.
FALLBACK_TIMING = {"fps": 30.0, "window": 30, "sampling": "center"}
#: Fields whose default changed, as files written before lack them: what they meant then
#: (joint angles, on by default since 2026-12-06, did not exist before 2026-12-01; the
#: path stream, on by default since 2026-12-06, did not exist before).
ABSENT_FIELDS = {"angles": False, "path": False}


@dataclass(frozen=True, kw_only=True)
class NormalizerSpec:
    """Settings of the normalizer; stored in every trained and exported model.

    Attributes:
        layout: landmark layout, "pose", "hands", "pose+hands" or a registered one.
        fps: frame rate of the resampled grid, frames per second; None: chosen by
            `fit` from the training clips (see `poseact.normalize.timing`), else 30.
        window: frames per model input window (window / fps seconds); None: chosen
            by `fit` to cover the typical training clip, else 30.
        sampling: how a longer clip becomes one window: "center" crop, "end" crop
            (the last frames, as a live stream sees them) or "segments" (TSN: one frame
            from each of `window` equal segments of the whole clip); None: chosen by
            `fit` ("segments" when clips are much longer than the window), else
            "center".
        center: body centre for pose points, "hips" or "shoulders".
        scale: body size for pose points, "torso" (mid-shoulder to mid-hip) or
            "shoulders" (shoulder width); each falls back to the other when missing.
        rotate: rotate each frame so the shoulder line is horizontal.
        use_z: keep MediaPipe's depth estimate (3 channels) or drop it (2).
        min_visibility: points seen with lower visibility count as missing.
        max_gap: longest run of missing frames, in seconds, filled by interpolation
            (offline) or by holding the last value (streaming); longer gaps become 0.
        velocity: add frame-to-frame differences beside positions.
        accelerations: add second differences in time (velocity differences).
        bones: add bone vectors, child minus parent, one per skeleton edge.
        angles: add joint angles (radians / π) of elbows, shoulders, hips, knees,
            wrists and fingers (see `poseact.normalize.features`): a posture's shape,
            whatever the body's size, place and turn (on by default since
            2026-12-06; a layout with no joint gets none).
        path: add the path stream (`poseact.normalize.path`): where each part goes,
            beside its shape: its root's velocity and its place relative to where it
            has been lately (a trailing mean over about half a window), in the part's
            own size units (a hand's wrist in palm lengths, the body centre in torso
            lengths), and with a body and hands the hands' place relative to the body
            (on by default since 2026-12-06; files written before lack it and read as
            off).
        standardize: let `fit` learn a per-feature mean and std from the training
            clips (stored below) when none is given.
        feature_mean: (F,) per-feature mean learned by `fit`, or () for none.
        feature_std: (F,) per-feature standard deviation learned by `fit`, or ();
            with both, features are standardized: (x - mean) / std.
    """

    layout: str = "pose"
    fps: float | None = None
    window: int | None = None
    sampling: str | None = None
    center: str = "hips"
    scale: str = "torso"
    rotate: bool = False
    use_z: bool = True
    min_visibility: float = 0.3
    max_gap: float = 0.25
    velocity: bool = True
    accelerations: bool = False
    bones: bool = False
    angles: bool = True
    path: bool = True
    standardize: bool = True
    feature_mean: tuple[float, ...] = ()
    feature_std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        get_layout(self.layout)
        if self.fps is not None and not (np.isfinite(self.fps) and 0 < self.fps <= MAX_FPS):
            raise ValueError(
                f"NormalizerSpec.fps must be a finite number of frames per second in (0,"
                f" {MAX_FPS:g}], got {self.fps}"
            )
        if self.window is not None and (
            not np.isfinite(self.window)
            or int(self.window) != self.window
            or not 1 <= self.window <= MAX_WINDOW
        ):
            raise ValueError(
                f"NormalizerSpec.window must be a whole number of frames from 1 to"
                f" {MAX_WINDOW}, got {self.window}"
            )
        if self.sampling is not None and self.sampling not in SAMPLINGS:
            raise ValueError(f"NormalizerSpec.sampling must be one of {SAMPLINGS}")
        if self.center not in CENTERS:
            raise ValueError(f"NormalizerSpec.center must be one of {CENTERS}")
        if self.scale not in SCALES:
            raise ValueError(f"NormalizerSpec.scale must be one of {SCALES}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError("NormalizerSpec.min_visibility must be in [0, 1]")
        if self.max_gap < 0:
            raise ValueError("NormalizerSpec.max_gap must be >= 0 seconds")
        mean = tuple(float(v) for v in self.feature_mean)
        std = tuple(float(v) for v in self.feature_std)
        object.__setattr__(self, "feature_mean", mean)
        object.__setattr__(self, "feature_std", std)
        if mean or std:
            F = self.frame_features
            if len(mean) != F or len(std) != F:
                raise ValueError(
                    f"NormalizerSpec.feature_mean/feature_std need {F} values each (the"
                    f" features per frame), got {len(mean)} and {len(std)}"
                )
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and min(std) > 0):
                raise ValueError("NormalizerSpec.feature_std must be finite and > 0")

    @property
    def is_resolved(self) -> bool:
        """True when fps, window and sampling are all set."""
        return None not in (self.fps, self.window, self.sampling)

    def resolved(self) -> NormalizerSpec:
        """This spec with fps, window and sampling left as None set to `FALLBACK_TIMING`.

        `GestureClassifier.fit` chooses them from the training clips instead.
        """
        if self.is_resolved:
            return self
        fixed = {k: v for k, v in FALLBACK_TIMING.items() if getattr(self, k) is None}
        return replace(self, **fixed)

    @property
    def standardized(self) -> bool:
        """True when the spec holds a per-feature mean and std."""
        return bool(self.feature_mean)

    @property
    def streams(self) -> tuple[str, ...]:
        """The selected feature streams, in the order of a frame's features."""
        return tuple(self.stream_sizes)

    @property
    def stream_sizes(self) -> dict[str, int]:
        """Features per frame of each selected stream, in order."""
        from poseact.normalize.features import stream_sizes

        return stream_sizes(
            self.layout,
            self.channels,
            velocity=self.velocity,
            accelerations=self.accelerations,
            bones=self.bones,
            angles=self.angles,
            path=self.path,
        )

    @property
    def num_points(self) -> int:
        return get_layout(self.layout).num_points

    @property
    def channels(self) -> int:
        """Coordinates kept per point: 3 with z, 2 without."""
        return 3 if self.use_z else 2

    @property
    def grid_points(self) -> int:
        """Points per grid frame: the K layout points, then 2 path points per rooted
        part with `path` (`poseact.normalize.path`)."""
        from poseact.normalize.path import path_point_count

        return self.num_points + (path_point_count(self.layout) if self.path else 0)

    @property
    def frame_features(self) -> int:
        """Features per frame F: K · C positions, K · C per velocity or acceleration
        stream, E · C bone values, one per joint angle and the path stream's."""
        return sum(self.stream_sizes.values())

    @property
    def streams_index(self) -> dict[str, list[list[int]]]:
        """Point indices of the bone, angle and path streams, as written by `to_dict` for
        ports that do not look points up by name: "bone_edges" (E, 2) (parent, child),
        "joint_angles" (A, 4) (the angle between p[b] - p[a] and p[d] - p[c]), and with
        the path "path_parts" (R,) (the layout's parts with a root, by index) and
        "path_relative" (H, 2) (hand, body) root numbers."""
        from poseact.normalize.features import bone_edges, joint_angles
        from poseact.normalize.path import path_parts, path_relative

        index: dict[str, list] = {}
        if self.bones:
            index["bone_edges"] = bone_edges(self.layout).tolist()
        if self.angles:
            index["joint_angles"] = joint_angles(self.layout).tolist()
        if self.path:
            index["path_parts"] = list(path_parts(self.layout))
            index["path_relative"] = [list(p) for p in path_relative(self.layout)]
        return index

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; with bones, angles or path, also their `streams_index`."""
        data = asdict(self)
        data["feature_mean"] = list(self.feature_mean)
        data["feature_std"] = list(self.feature_std)
        if self.bones or self.angles or self.path:
            data["streams_index"] = self.streams_index
        return {"version": _SPEC_VERSION, **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormalizerSpec:
        """Rebuild a spec from `to_dict` output; unknown keys raise ValueError, and a
        field an older file lacks takes its former meaning (`ABSENT_FIELDS`)."""
        data = dict(data)
        version = data.pop("version", _SPEC_VERSION)
        if version != _SPEC_VERSION:
            raise ValueError(f"normalizer spec version {version} is not supported")
        index = data.pop("streams_index", None)
        spec = cls(**{**ABSENT_FIELDS, **data})
        if index is not None and index != spec.streams_index:
            raise ValueError(
                f"the spec's bone/angle point indices do not match layout {spec.layout!r}"
            )
        return spec
