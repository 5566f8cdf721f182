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
with `num_poses` = 1 that sees only its person's share of the frame (every part
nearer another person followed is blacked out, and the others' head and trunk), and
so keeps tracking its person through a raised hand, as the single-person extractor
does, and places the points it cannot see as it would with the person alone (with
the neighbour's share showing, the wrist nearest them moved by 30-40 px in the
median, and a model of the person filmed alone found neither person's gesture). A
follower that loses its person is freed; two followers on the same person are merged. With everyone followed, a frame costs N
landmark runs and no detection. While fewer people are there than N, the finder
looks less often the longer it finds nobody new: after 10 fruitless looks every
2 x `find_every` frames, after 20 every 4 x (with `find_every` 5 at 25 fps: a newcomer
is found within 0.8 s); someone lost, or someone found, brings it back to every
`find_every` frames.

Landmarks come back in the whole frame's normalized coordinates, like MediaPipe's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PoseFollowers"]

#: Another person's box of well-seen points is blacked out grown by this share of its size.
_MASK_MARGIN = 0.25
#: The head (0-10), the shoulders (11, 12) and the hips (23, 24): the box masked for others.
_TRUNK = (*range(13), 23, 24)
#: Frames a lost person's box stays masked for the others (about a second at 30 fps).
_GHOST_FRAMES = 30
#: Points at least this visible make the person's box.
_SEEN = 0.5
#: Two bodies whose mean point distance is below this share of their size are one.
_SAME_PERSON = 0.35
#: The finder looks half as often after every this many looks that found nobody new...
_FRUITLESS_LOOKS = 10
#: ... down to every `find_every` x this many frames.
_SLOWEST_FIND = 4


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
    __slots__ = ("landmarker", "pixels", "core", "velocity", "age", "last_ms")

    def __init__(self, landmarker: Any) -> None:
        self.landmarker = landmarker
        self.pixels: np.ndarray | None = None  # (33, 2) last landmarks in pixels
        self.core: np.ndarray | None = None  # (x0, y0, x1, y1) box of the well-seen points
        self.velocity = np.zeros(2)  # pixels per frame of the box's centre
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
        self._ghosts: list[list[Any]] = []  # [box, velocity, frames left] of people lost
        self._image, self._format = image_type
        self.find_every = find_every
        self._frame = 0
        self._fruitless = 0  # the finder's looks in a row that found nobody new

    def detect_for_video(self, mp_image: Any, ms: int) -> _Result:
        """The bodies of one frame (a `mediapipe.Image`) at `ms` milliseconds."""
        rgb = mp_image.numpy_view()
        height, width = rgb.shape[:2]
        # a person just lost (behind another) stays masked where they should be, so
        # that the others' trackers do not slide onto them as they come out
        for ghost in self._ghosts:
            ghost[0] = ghost[0] + np.tile(ghost[1], 2)
            ghost[2] -= 1
        self._ghosts = [ghost for ghost in self._ghosts if ghost[2] > 0]
        bodies: list[tuple[_Follower | None, list[_Point], Any]] = []
        moves = []
        followed = len(self._busy)
        for follower in list(self._busy):
            before, box, velocity = follower.pixels, follower.core, follower.velocity
            found = self._follow(follower, rgb, ms)
            if found is None:
                self._ghosts.append([follower.core, follower.velocity, _GHOST_FRAMES])
                self._release(follower)
            else:
                pixels = follower.pixels
                jump = float(np.mean(np.linalg.norm(pixels - before, axis=1)))
                moves.append((follower, *found, jump, pixels, (box, velocity)))
        bodies = self._merge(moves)
        if len(bodies) < followed:
            self._fruitless = 0  # someone was lost: look for them at once again
        slower = min(2 ** (self._fruitless // _FRUITLESS_LOOKS), _SLOWEST_FIND)
        if self._free and self._frame % (self.find_every * slower) == 0:
            found = self._find(mp_image, rgb, ms, bodies, (width, height))
            self._fruitless = 0 if found else self._fruitless + 1
            bodies += found
        self._frame += 1
        return _Result([points for _, points, _ in bodies], [world for _, _, world in bodies])

    # ------------------------------------------------------------------ steps
    def _follow(self, follower: _Follower, rgb: np.ndarray, ms: int) -> tuple[list, Any] | None:
        image = self._masked(follower, rgb)
        result = follower.landmarker.detect_for_video(
            self._image(image_format=self._format, data=image), ms
        )
        follower.last_ms = ms
        if not result.pose_landmarks:
            return None
        points = [
            _Point(p.x, p.y, p.z, 1.0 if p.visibility is None else float(p.visibility))
            for p in result.pose_landmarks[0]
        ]
        world = result.pose_world_landmarks[0] if result.pose_world_landmarks else None
        height, width = rgb.shape[:2]
        self._aim(follower, points, (width, height))
        follower.age += 1
        return points, world

    def _masked(self, follower: _Follower, rgb: np.ndarray) -> np.ndarray:
        """The frame with the other people followed blacked out (where they do not
        overlap this one), so that MediaPipe cannot jump to them when it loses this
        one; the frame itself when nobody else is followed.

        Blacked out: every part of the frame nearer another person followed than this
        one (their share of the frame, `_nearer_others`: their limbs, and the scene
        around them, which MediaPipe reads to place this person's hidden points), the
        others' head and trunk grown by `_MASK_MARGIN`, and the places of people just
        lost; this person's own head and trunk always show.
        """
        boxes = [
            _grow(other.core, _MASK_MARGIN)
            for other in self._busy
            if other is not follower and other.core is not None
        ] + [_grow(ghost[0], _MASK_MARGIN) for ghost in self._ghosts]
        if not boxes:
            return rgb
        import cv2

        height, width = rgb.shape[:2]
        others = [o.core for o in self._busy if o is not follower and o.core is not None]
        if follower.core is not None and others:
            keep = ~_nearer_others(follower.core, others, (width, height))
            image = cv2.bitwise_and(rgb, rgb, mask=keep.view(np.uint8))
        else:
            image = rgb.copy()
        for x0, y0, x1, y1 in boxes:
            image[_span(y0, y1, height), _span(x0, x1, width)] = 0
        if follower.core is not None:
            x0, y0, x1, y1 = follower.core
            rows, cols = _span(y0, y1, height), _span(x0, x1, width)
            image[rows, cols] = rgb[rows, cols]
        return image

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
            self._aim(follower, points, size)
            self._busy.append(follower)
            body = self._follow(follower, rgb, ms)
            if body is None or any(_same(follower.pixels, other) for other in known):
                self._release(follower)
                continue
            known.append(follower.pixels)
            found.append((follower, *body))
            self._ghosts = [g for g in self._ghosts if not _overlap(g[0], follower.core)]
        return found

    def _merge(self, bodies: list) -> list:
        """Two followers on one person: the one that moved least from its own last
        landmarks keeps them (the other jumped over from a person now hidden)."""
        kept: list = []
        for body in sorted(bodies, key=lambda b: b[3]):
            if any(_same(body[4], other[4]) for other in kept):
                # it jumped onto someone else: the one it followed is hidden near where
                # it was
                box, velocity = body[5]
                self._ghosts.append([box + np.tile(velocity, 2), velocity, _GHOST_FRAMES])
                self._release(body[0])
            else:
                kept.append(body)
        order = {id(body[0]): n for n, body in enumerate(bodies)}
        return [body[:3] for body in sorted(kept, key=lambda b: order[id(b[0])])]

    def _aim(self, follower: _Follower, points: list[_Point], size: tuple[int, int]) -> None:
        """Keep the person's landmarks and the box of their well-seen points."""
        pixels = _pixels(points, size)
        seen = np.array([p.visibility >= _SEEN for p in points])
        inside = (
            (pixels[:, 0] >= 0)
            & (pixels[:, 0] <= size[0])
            & (pixels[:, 1] >= 0)
            & (pixels[:, 1] <= size[1])
        )
        # the head and the trunk: arms and legs reach out over others, and MediaPipe
        # places hidden limbs anywhere
        trunk = np.zeros(len(points), dtype=bool)
        trunk[list(_TRUNK)] = True
        use = seen & inside & trunk
        core = pixels[use] if np.count_nonzero(use) >= 3 else pixels[inside & trunk]
        if len(core) == 0:
            core = pixels[trunk]
        box = np.concatenate([core.min(axis=0), core.max(axis=0)])
        if follower.core is not None and follower.age > 0:
            step = (box[:2] + box[2:] - follower.core[:2] - follower.core[2:]) / 2
            follower.velocity = 0.5 * follower.velocity + 0.5 * step
        else:
            follower.velocity = np.zeros(2)
        follower.pixels = pixels
        follower.core = box

    def _release(self, follower: _Follower) -> None:
        self._busy.remove(follower)
        follower.pixels = follower.core = None
        self._free.append(follower)


def _pixels(points: list[_Point], size: tuple[int, int]) -> np.ndarray:
    return np.array([(p.x * size[0], p.y * size[1]) for p in points], dtype=np.float64)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two bodies' points lie on one another (within `_SAME_PERSON` sizes)."""
    size = max(2.0 * float(np.linalg.norm(a[11] - a[12])), 1.0)  # two shoulder widths
    return float(np.mean(np.linalg.norm(a - b, axis=1))) < _SAME_PERSON * size


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two (x0, y0, x1, y1) boxes overlap."""
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def _grow(box: np.ndarray, margin: float) -> np.ndarray:
    """(x0, y0, x1, y1) grown by `margin` of its size on every side."""
    x0, y0, x1, y1 = box
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    return np.array([x0 - dx, y0 - dy, x1 + dx, y1 + dy])


def _nearer_others(own: np.ndarray, others: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """The pixels nearer another person's box than this person's, (height, width) bool.

    Squared distances from each pixel's centre to the (x0, y0, x1, y1) boxes (0
    inside): the frame shared out by nearest person. A distance is a row part plus a
    column part, so "nearer the other" is `gap_x[x] < gap_y[y]` for each other box.
    """
    width, height = size
    xs = np.arange(width, dtype=np.float64) + 0.5
    ys = np.arange(height, dtype=np.float64) + 0.5

    def squared(low: float, high: float, at: np.ndarray) -> np.ndarray:
        gap = np.maximum(np.maximum(low - at, at - high), 0.0)
        return gap * gap

    nearer = np.zeros((height, width), dtype=bool)
    for box in others:
        gap_x = squared(box[0], box[2], xs) - squared(own[0], own[2], xs)
        gap_y = squared(own[1], own[3], ys) - squared(box[1], box[3], ys)
        nearer |= gap_x[None, :] < gap_y[:, None]
    return nearer


def _span(low: float, high: float, limit: int) -> slice:
    return slice(min(max(int(round(low)), 0), limit), min(max(int(round(high)), 0), limit))
