"""Several bodies in a video: one MediaPipe pose tracker per person, on a crop of them.

MediaPipe's PoseLandmarker in VIDEO mode with `num_poses` > 1 does not follow several
people: measured on two real recordings side by side (640x480), it returned one body
in 95 % of the frames, and with its re-detection forced on every frame two copies of
the same body. In IMAGE mode it finds both, but only while their faces show (its
detector looks for faces): a hand raised in front of the face loses the person for
the whole gesture, which is exactly when they must not be lost.

`PoseFollowers` does what MediaPipe does for one person, once per person: a finder
(IMAGE mode, `num_poses` = N) looks for people while fewer than N are followed, every
`find_every` frames; each person found gets a follower, a VIDEO-mode PoseLandmarker
with `num_poses` = 1 that sees a square crop around that person (re-centred on them
every frame) and so keeps tracking them through a raised hand, as the single-person
extractor does. A follower that loses its person is freed; two followers on the same
person are merged. With everyone followed, a frame costs N landmark runs and no
detection.

Landmarks come back in the whole frame's normalized coordinates, like MediaPipe's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PoseFollowers"]

#: A follower's crop is this many times the person's box (the larger side).
_CROP_SCALE = 1.7
#: A crop is moved when the person's centre is off its centre by this share of its side,
_RECENTRE = 0.15
#: or resized when the person's size calls for a side this much larger or smaller.
_RESIZE = 0.3
#: Points at least this visible make the person's box.
_SEEN = 0.5
#: Two bodies whose mean point distance is below this share of their size are one.
_SAME_PERSON = 0.35


@dataclass(frozen=True)
class _Point:
    x: float
    y: float
    z: float
    visibility: float


class _Result:
    """What a PoseLandmarker returns, for the extractor: landmarks per body."""

    def __init__(self, bodies: list[list[_Point]], world: list[list[Any]]) -> None:
        self.pose_landmarks = bodies
        self.pose_world_landmarks = world


class _Follower:
    __slots__ = ("landmarker", "box", "pixels", "core", "age", "last_ms")

    def __init__(self, landmarker: Any) -> None:
        self.landmarker = landmarker
        self.box: tuple[float, float, float] | None = None  # centre x, y and side, pixels
        self.pixels: np.ndarray | None = None  # (33, 2) last landmarks in pixels
        self.core: np.ndarray | None = None  # (x0, y0, x1, y1) box of the well-seen points
        self.age = 0
        self.last_ms = -1  # the last timestamp its landmarker saw (they must increase)


class PoseFollowers:
    """Up to N people per frame, each followed by its own VIDEO-mode landmarker.

    Args:
        finder: a PoseLandmarker in IMAGE mode with `num_poses` = N.
        followers: N PoseLandmarkers in VIDEO mode with `num_poses` = 1.
        image_type: MediaPipe's `Image` class and its SRGB format, (Image, format).
        find_every: look for new people every this many frames while fewer than N
            are followed (the first frame always).
    """

    def __init__(
        self, finder: Any, followers: list[Any], image_type: tuple[Any, Any], find_every: int = 5
    ) -> None:
        self._finder = finder
        self._free = [_Follower(landmarker) for landmarker in followers]
        self._busy: list[_Follower] = []
        self._image, self._format = image_type
        self.find_every = find_every
        self._frame = 0

    def detect_for_video(self, mp_image: Any, ms: int) -> _Result:
        """The bodies of one frame (a `mediapipe.Image`) at `ms` milliseconds."""
        rgb = mp_image.numpy_view()
        height, width = rgb.shape[:2]
        bodies: list[tuple[_Follower | None, list[_Point], Any]] = []
        moves = []
        for follower in list(self._busy):
            before = follower.pixels
            found = self._follow(follower, rgb, ms)
            if found is None:
                self._release(follower)
            else:
                pixels = follower.pixels
                jump = float(np.mean(np.linalg.norm(pixels - before, axis=1)))
                moves.append((follower, *found, jump, pixels))
        bodies = self._merge(moves)
        capacity = len(self._free)
        if capacity and self._frame % self.find_every == 0:
            bodies += self._find(mp_image, rgb, ms, bodies, (width, height))
        self._frame += 1
        return _Result([points for _, points, _ in bodies], [world for _, _, world in bodies])

    # ------------------------------------------------------------------ steps
    def _follow(self, follower: _Follower, rgb: np.ndarray, ms: int) -> tuple[list, Any] | None:
        cx, cy, side = follower.box
        crop, x0, y0, s = _crop(rgb, cx, cy, side)
        # the other people in the crop are blacked out (where they are not in front of
        # this one), so that MediaPipe does not jump to them when it loses this one
        own = follower.core - (x0, y0, x0, y0)
        for other in self._busy:
            if other is follower or other.core is None:
                continue
            ox0, oy0, ox1, oy1 = (int(round(v)) for v in other.core - (x0, y0, x0, y0))
            ox0, oy0, ox1, oy1 = max(ox0, 0), max(oy0, 0), min(ox1, s), min(oy1, s)
            if ox1 <= ox0 or oy1 <= oy0:
                continue
            if crop.base is not None:
                crop = crop.copy()
            keep = crop[
                max(int(own[1]), 0) : max(int(own[3]), 0), max(int(own[0]), 0) : max(int(own[2]), 0)
            ].copy()
            crop[oy0:oy1, ox0:ox1] = 0
            crop[
                max(int(own[1]), 0) : max(int(own[3]), 0), max(int(own[0]), 0) : max(int(own[2]), 0)
            ] = keep
        image = self._image(image_format=self._format, data=crop)
        result = follower.landmarker.detect_for_video(image, ms)
        follower.last_ms = ms
        if not result.pose_landmarks:
            return None
        height, width = rgb.shape[:2]
        points = [
            _Point(
                (x0 + p.x * s) / width,
                (y0 + p.y * s) / height,
                p.z * s / width,
                1.0 if p.visibility is None else float(p.visibility),
            )
            for p in result.pose_landmarks[0]
        ]
        world = result.pose_world_landmarks[0] if result.pose_world_landmarks else None
        self._aim(follower, points, (width, height))
        follower.age += 1
        return points, world

    def _find(
        self, mp_image: Any, rgb: np.ndarray, ms: int, bodies: list, size: tuple[int, int]
    ) -> list[tuple[_Follower, list[_Point], Any]]:
        """New people: the finder's bodies that no follower has get a follower, which
        looks at them at once (its landmarks, not the finder's, are returned: the
        finder's are poor where people touch)."""
        result = self._finder.detect(mp_image)
        found = []
        known = [_pixels(points, size) for _, points, _ in bodies]
        for landmarks in result.pose_landmarks or []:
            # a follower freed on this very frame has seen `ms` already: not before the next
            ready = [f for f in self._free if f.last_ms < ms]
            if not ready:
                break
            points = [
                _Point(p.x, p.y, p.z, 1.0 if p.visibility is None else float(p.visibility))
                for p in landmarks
            ]
            pixels = _pixels(points, size)
            if any(_same(pixels, other) for other in known):
                continue
            follower = ready[-1]
            self._free.remove(follower)
            follower.age = 0
            follower.box = None
            self._aim(follower, points, size)
            self._busy.append(follower)
            body = self._follow(follower, rgb, ms)
            if body is None or any(_same(follower.pixels, other) for other in known):
                self._release(follower)
                continue
            known.append(follower.pixels)
            found.append((follower, *body))
        return found

    def _merge(self, bodies: list) -> list:
        """Two followers on one person: the one that moved least from its own last
        landmarks keeps them (the other jumped over from a person now hidden)."""
        kept: list = []
        for body in sorted(bodies, key=lambda b: b[3]):
            if any(_same(body[4], other[4]) for other in kept):
                self._release(body[0])
            else:
                kept.append(body)
        order = {id(body[0]): n for n, body in enumerate(bodies)}
        return [body[:3] for body in sorted(kept, key=lambda b: order[id(b[0])])]

    def _aim(self, follower: _Follower, points: list[_Point], size: tuple[int, int]) -> None:
        """Centre the follower's next crop on the person's box of well-seen points."""
        pixels = _pixels(points, size)
        seen = np.array([p.visibility >= _SEEN for p in points])
        inside = (
            (pixels[:, 0] >= 0)
            & (pixels[:, 0] <= size[0])
            & (pixels[:, 1] >= 0)
            & (pixels[:, 1] <= size[1])
        )
        use = pixels[seen & inside] if np.count_nonzero(seen & inside) >= 3 else pixels[inside]
        if len(use) == 0:
            use = pixels
        low, high = use.min(axis=0), use.max(axis=0)
        cx, cy = (low + high) / 2
        side = _CROP_SCALE * float(max(high - low))
        side = float(np.clip(side, 0.2 * min(size), 1.5 * max(size)))
        follower.pixels = pixels
        follower.core = np.concatenate([low, high])
        box = follower.box
        # the crop stays put while the person is well inside it: MediaPipe tracks the
        # person in the crop's coordinates, and a crop that moves every frame moves them
        if box is not None and (
            max(abs(cx - box[0]), abs(cy - box[1])) <= _RECENTRE * box[2]
            and abs(side - box[2]) <= _RESIZE * box[2]
        ):
            return
        follower.box = (float(cx), float(cy), side)

    def _release(self, follower: _Follower) -> None:
        self._busy.remove(follower)
        follower.box = follower.pixels = follower.core = None
        self._free.append(follower)


def _pixels(points: list[_Point], size: tuple[int, int]) -> np.ndarray:
    return np.array([(p.x * size[0], p.y * size[1]) for p in points], dtype=np.float64)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two bodies' points lie on one another (within `_SAME_PERSON` sizes)."""
    size = max(2.0 * float(np.linalg.norm(a[11] - a[12])), 1.0)  # two shoulder widths
    return float(np.mean(np.linalg.norm(a - b, axis=1))) < _SAME_PERSON * size


def _crop(rgb: np.ndarray, cx: float, cy: float, side: float) -> tuple[np.ndarray, int, int, int]:
    """A square `side` crop of `rgb` centred on (cx, cy), black beyond the frame.

    Returns:
        (crop (s, s, 3) uint8 contiguous, x0, y0, s): the crop's top-left pixel.
    """
    s = max(16, int(round(side)))
    x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
    height, width = rgb.shape[:2]
    xs, ys = max(x0, 0), max(y0, 0)
    xe, ye = min(x0 + s, width), min(y0 + s, height)
    if xs == x0 and ys == y0 and xe == x0 + s and ye == y0 + s:
        return np.ascontiguousarray(rgb[ys:ye, xs:xe]), x0, y0, s
    crop = np.zeros((s, s, 3), dtype=np.uint8)
    if xe > xs and ye > ys:
        crop[ys - y0 : ye - y0, xs - x0 : xe - x0] = rgb[ys:ye, xs:xe]
    return crop, x0, y0, s
