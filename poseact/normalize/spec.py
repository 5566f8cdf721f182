"""`NormalizerSpec`: the normalizer settings stored in every trained and exported model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from poseact.core.choices import CENTERS, SAMPLINGS, SCALES
from poseact.core.layouts import get_layout

_SPEC_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class NormalizerSpec:
    """Settings of the normalizer; stored in every trained and exported model.

    Attributes:
        layout: landmark layout, "pose", "hands" or "pose+hands".
        fps: frame rate of the resampled grid, frames per second.
        window: frames per model input window (window / fps seconds).
        sampling: how a longer clip becomes one window: "center" crop, "end" crop
            (the last frames, as a live stream sees them) or "segments" (TSN: one frame
            from each of `window` equal segments of the whole clip).
        center: body centre for pose points, "hips" or "shoulders".
        scale: body size for pose points, "torso" (mid-shoulder to mid-hip) or
            "shoulders" (shoulder width); each falls back to the other when missing.
        rotate: rotate each frame so the shoulder line is horizontal.
        use_z: keep MediaPipe's depth estimate (3 channels) or drop it (2).
        min_visibility: points seen with lower visibility count as missing.
        max_gap: longest run of missing frames, in seconds, filled by interpolation
            (offline) or by holding the last value (streaming); longer gaps become 0.
        velocity: add frame-to-frame differences beside positions.
    """

    layout: str = "pose"
    fps: float = 30.0
    window: int = 30
    sampling: str = "center"
    center: str = "hips"
    scale: str = "torso"
    rotate: bool = False
    use_z: bool = True
    min_visibility: float = 0.3
    max_gap: float = 0.25
    velocity: bool = True

    def __post_init__(self) -> None:
        get_layout(self.layout)
        if not (self.fps > 0 and np.isfinite(self.fps)):
            raise ValueError(f"NormalizerSpec.fps must be > 0, got {self.fps}")
        if int(self.window) != self.window or self.window < 1:
            raise ValueError(f"NormalizerSpec.window must be a positive int, got {self.window}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"NormalizerSpec.sampling must be one of {SAMPLINGS}")
        if self.center not in CENTERS:
            raise ValueError(f"NormalizerSpec.center must be one of {CENTERS}")
        if self.scale not in SCALES:
            raise ValueError(f"NormalizerSpec.scale must be one of {SCALES}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError("NormalizerSpec.min_visibility must be in [0, 1]")
        if self.max_gap < 0:
            raise ValueError("NormalizerSpec.max_gap must be >= 0 seconds")

    @property
    def num_points(self) -> int:
        return get_layout(self.layout).num_points

    @property
    def channels(self) -> int:
        """Coordinates kept per point: 3 with z, 2 without."""
        return 3 if self.use_z else 2

    @property
    def frame_features(self) -> int:
        """Features per frame F = K · C, doubled with velocity."""
        return self.num_points * self.channels * (2 if self.velocity else 1)

    def to_dict(self) -> dict[str, Any]:
        return {"version": _SPEC_VERSION, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormalizerSpec:
        """Rebuild a spec from `to_dict` output; unknown keys raise ValueError."""
        data = dict(data)
        version = data.pop("version", _SPEC_VERSION)
        if version != _SPEC_VERSION:
            raise ValueError(f"normalizer spec version {version} is not supported")
        return cls(**data)
