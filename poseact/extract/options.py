"""What to extract: `ExtractorOptions` (layout, MediaPipe models, confidences, frame step)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from poseact.core.choices import EXTRACTION_LAYOUTS
from poseact.core.layouts import get_layout

_NUM_POSE_POINTS = 33


_NUM_HAND_POINTS = 21

#: The most people `ExtractorOptions.max_people` allows (MediaPipe slows down per person).
MAX_PEOPLE = 10


# ---------------------------------------------------------------------------- options
@dataclass(frozen=True, kw_only=True)
class ExtractorOptions:
    """What to extract and how.

    Attributes:
        layout: "pose" (33 body points), "hands" (42: left hand 0-20, right 21-41, by
            MediaPipe's handedness label) or "pose+hands" (75).
        pose_model: a MediaPipe pose model by name ("pose_full", "pose_lite",
            "pose_heavy"; see `poseact models`) or the path of a pose landmarker
            `.task` file.
        hand_model: model name ("hand_full", "hand_lite") or path of a hand `.task`.
        min_detection_confidence: MediaPipe's minimum detector score, in [0, 1].
        min_presence_confidence: minimum landmark presence score, in [0, 1].
        min_tracking_confidence: minimum score to keep tracking between video frames
            instead of running the detector again, in [0, 1].
        num_hands: most hands to detect per person, 1 or 2.
        max_people: most people to detect per frame (MediaPipe's `num_poses`; the hand
            landmarker looks for `num_hands` x `max_people` hands). 1 (the default)
            follows one person; more finds each person in every frame and follows
            each as a track of their own, with a stable id.
        world_landmarks: also return MediaPipe's world landmarks (metres).
        max_image_side: frames whose longer side exceeds this many pixels are scaled
            down (keeping the aspect ratio) before detection; None keeps full size.
        frame_step: process every n-th frame of a video (1 = all frames).
        require_detection: raise `NoPoseDetected` when nothing is found in any frame.
    """

    layout: str = "pose"
    pose_model: str = "pose_full"
    hand_model: str = "hand_full"
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    num_hands: int = 2
    max_people: int = 1
    world_landmarks: bool = False
    max_image_side: int | None = 1280
    frame_step: int = 1
    require_detection: bool = True

    def __post_init__(self) -> None:
        if self.layout not in EXTRACTION_LAYOUTS:
            raise ValueError(
                f"ExtractorOptions.layout must be one of {EXTRACTION_LAYOUTS}, got {self.layout!r}"
            )
        for name in ("pose_model", "hand_model"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
            elif not isinstance(value, str) or not value:
                raise ValueError(
                    f"ExtractorOptions.{name} must be a model name or path, got {value!r}"
                )
        for name in (
            "min_detection_confidence",
            "min_presence_confidence",
            "min_tracking_confidence",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"ExtractorOptions.{name} must be a number, got {value!r}")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"ExtractorOptions.{name} must be in [0, 1], got {value!r}")
            object.__setattr__(self, name, float(value))
        if not _is_int(self.num_hands) or self.num_hands not in (1, 2):
            raise ValueError(f"ExtractorOptions.num_hands must be 1 or 2, got {self.num_hands!r}")
        if not _is_int(self.max_people) or not 1 <= self.max_people <= MAX_PEOPLE:
            raise ValueError(
                f"ExtractorOptions.max_people must be an int from 1 to {MAX_PEOPLE},"
                f" got {self.max_people!r}"
            )
        if self.max_image_side is not None and (
            not _is_int(self.max_image_side) or self.max_image_side < 16
        ):
            raise ValueError(
                "ExtractorOptions.max_image_side must be None or an int >= 16,"
                f" got {self.max_image_side!r}"
            )
        if not _is_int(self.frame_step) or self.frame_step < 1:
            raise ValueError(
                f"ExtractorOptions.frame_step must be an int >= 1, got {self.frame_step!r}"
            )
        for name in ("world_landmarks", "require_detection"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"ExtractorOptions.{name} must be True or False, got {getattr(self, name)!r}"
                )

    @property
    def uses_pose(self) -> bool:
        """True if the layout needs the pose landmarker."""
        return "pose" in self.layout

    @property
    def uses_hands(self) -> bool:
        """True if the layout needs the hand landmarker."""
        return "hands" in self.layout

    @property
    def num_points(self) -> int:
        """K, the number of points of the layout."""
        return get_layout(self.layout).num_points

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON-serializable dict (used in cache keys).

        `max_people` is left out when it is 1, so that cache keys made before it
        existed stay valid (they were all one person).
        """
        data = dataclasses.asdict(self)
        if self.max_people == 1:
            del data["max_people"]
        return data


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
