"""SYNTHETIC pose-activity clips from a procedural 33-point skeleton (no real people).

Nothing here comes from a camera or from MediaPipe. A 3D stick figure in MediaPipe's
33-point pose layout is animated through a small set of activities, seen by a randomly
placed pinhole camera, projected to MediaPipe's normalized image coordinates and then
spoiled the way real landmark tracks are spoiled: pixel jitter, occasional glitches,
low visibility for occluded or out-of-frame points and missing (NaN) frames.

It exists so that poseact ships a default dataset that trains, evaluates and exports
end to end without downloading anything. The clips are plausible, not real: use them to
test the pipeline and to try settings, never to claim accuracy on real people.

Conventions (as MediaPipe's):

* LEFT_* points are the person's left side, so for a person facing the camera they lie
  on the right of the image (larger x).
* x, y are normalized by the image width and height (y down); z is depth relative to
  the hip centre on the scale of x (negative = towards the camera).
* Points outside the frame keep coordinates outside [0, 1] with low visibility.

Every clip is a pure function of `(seed, subject, activity, rep)`: its random numbers come
from `np.random.SeedSequence([seed, subject, ACTIVITIES.index(activity), rep])`, so
the same seed gives the same arrays bit for bit and asking for fewer or more classes
never changes the other clips.

Command line::

    poseact generate -o datasets/synthetic_activities.npz
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset
from poseact.data.synthetic_body import (
    _HAND_POINTS,
    _HEAD_POINTS,
    _INDEX,
    _LEG_POINTS,
    _LIMB_CHAINS,
    _POSES,
    _SWAP,
    _Body,
    _cycle,
    _rot_x,
    _rot_y,
    _sample_body,
    _skeleton,
)

__all__ = [
    "ACTIVITIES",
    "BACKGROUND",
    "FRAME_RATES",
    "IMAGE_SIZES",
    "DEFAULT_SUBJECTS",
    "DEFAULT_CLIPS_PER_CLASS",
    "generate_activities",
    "render_clip",
]

logger = logging.getLogger(__name__)

#: Activities the generator animates, in the fixed order that seeds each clip.
ACTIVITIES: tuple[str, ...] = (
    "idle",
    "wave",
    "clap",
    "arms_up",
    "squat",
    "jumping_jack",
    "punch",
)
#: The "no activity" class: standing, breathing, shifting weight.
BACKGROUND = "idle"
#: Frame rates a clip is "recorded" at (frames per second) and how often each is drawn.
FRAME_RATES: tuple[int, ...] = (15, 24, 25, 30, 60)
_FRAME_RATE_WEIGHTS = np.array([0.12, 0.16, 0.16, 0.40, 0.16])
#: Image sizes (width, height) in pixels a clip is "recorded" at: two landscape
#: cameras and a portrait phone.
IMAGE_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (720, 1280))
#: Defaults of `generate_activities` (the shipped dataset).
DEFAULT_SUBJECTS = 12
DEFAULT_CLIPS_PER_CLASS = 4

_SUBJECT_TAG = 1_000_003  # keeps subject seeds apart from clip seeds
_DURATION_RANGE = (2.0, 3.5)  # seconds
_SPEED_RANGE = (0.7, 1.4)  # activity tempo multiplier


# ---------------------------------------------------------------------- camera
@dataclass(frozen=True)
class _Camera:
    """A pinhole camera looking at the subject; angles in radians, lengths in metres."""

    width: int
    height: int
    focal: float  # pixels
    yaw: float  # subject turned this much to their left, seen from the camera
    pitch: float  # positive: camera above, looking down
    distance: float  # camera to the subject's body centre
    centre: tuple[float, float]  # where the body centre lands, normalized image coords


def _sample_camera(rng: np.random.Generator, body: _Body) -> _Camera:
    width, height = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
    fov = np.deg2rad(rng.uniform(55.0, 75.0))  # along the longer image side
    focal = 0.5 * max(width, height) / np.tan(fov / 2)
    fill = rng.uniform(0.4, 0.9)  # standing height / image height
    distance = focal * body.height / (fill * height)
    margin_x = min(0.3, max(0.02, 0.5 - 0.35 * fill * height / width))
    cx = 0.5 + rng.uniform(-margin_x, margin_x)
    cy = 0.5 + rng.uniform(-0.12, 0.12) * (1.0 - fill) / 0.6 + rng.normal(0.0, 0.02)
    return _Camera(
        width=width,
        height=height,
        focal=focal,
        yaw=np.deg2rad(rng.uniform(-35.0, 35.0)),
        pitch=np.deg2rad(rng.uniform(-10.0, 10.0)),
        distance=distance,
        centre=(cx, cy),
    )


def _to_camera(points: np.ndarray, body: _Body, cam: _Camera) -> np.ndarray:
    """Body frame (x left, y up, z forward) → camera frame (x right, y down, z ahead).

    At yaw 0 the person faces the camera, so their left appears on the image right.
    """
    r = _rot_x(np.array(cam.pitch)) @ np.diag([1.0, -1.0, -1.0]) @ _rot_y(np.array(cam.yaw))
    rotated = points @ r.T
    centre = r @ np.array([0.0, 0.5 * body.height, 0.0])
    shift = np.array(
        [
            (cam.centre[0] - 0.5) * cam.width * cam.distance / cam.focal,
            (cam.centre[1] - 0.5) * cam.height * cam.distance / cam.focal,
            cam.distance,
        ]
    )
    return rotated - centre + shift


def _project(cam_points: np.ndarray, cam: _Camera) -> np.ndarray:
    """(T, 33, 3) camera-frame metres → MediaPipe normalized x, y, z."""
    depth = cam_points[..., 2]
    x = (cam.focal * cam_points[..., 0] / depth + 0.5 * cam.width) / cam.width
    y = (cam.focal * cam_points[..., 1] / depth + 0.5 * cam.height) / cam.height
    hips = 0.5 * (depth[:, _INDEX["LEFT_HIP"]] + depth[:, _INDEX["RIGHT_HIP"]])
    z = (depth - hips[:, None]) * cam.focal / (hips[:, None] * cam.width)
    return np.stack([x, y, z], -1)


# ---------------------------------------------------------------------- detector model
def _visibility(
    rng: np.random.Generator, cam_points: np.ndarray, image: np.ndarray, body: _Body
) -> np.ndarray:
    """(T, 33) MediaPipe-like visibility in [0, 1].

    High for points in view; lower for points turned away from the camera or hidden
    behind the torso; low outside the frame, lowest for the legs there.
    """
    T = image.shape[0]
    logit = rng.uniform(3.5, 5.0) + rng.normal(0.0, 0.6, (T, 33))
    logit[:, _HAND_POINTS] -= 0.8
    logit[:, _LEG_POINTS] -= 0.4
    depth = cam_points[..., 2]
    ls, rs, lh, rh = (
        _INDEX[n] for n in ("LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_HIP", "RIGHT_HIP")
    )
    torso_depth = depth[:, [ls, rs, lh, rh]].mean(axis=1, keepdims=True)
    head_depth = depth[:, [_INDEX["LEFT_EAR"], _INDEX["RIGHT_EAR"]]].mean(axis=1, keepdims=True)
    reference = np.where(np.isin(np.arange(33), _HEAD_POINTS), head_depth, torso_depth)
    scale = 0.06 * body.height / 1.75
    behind = np.clip((depth - reference) / scale - 0.5, 0.0, 3.0)
    logit -= 1.4 * behind
    # hidden behind the torso: behind its plane and inside its image outline
    quad = image[:, [ls, rs, lh, rh], :2]
    lo, hi = quad.min(axis=1), quad.max(axis=1)
    inside = np.all((image[..., :2] > lo[:, None]) & (image[..., :2] < hi[:, None]), axis=-1)
    torso_ids = np.isin(np.arange(33), [ls, rs, lh, rh])
    hidden = inside & (depth > torso_depth + 0.08) & ~torso_ids
    logit -= 4.0 * hidden
    # out of the frame
    outside = np.maximum(
        np.maximum(-image[..., 0], image[..., 0] - 1.0),
        np.maximum(-image[..., 1], image[..., 1] - 1.0),
    )
    out = outside > 0.0
    logit -= out * (3.5 + 25.0 * np.clip(outside, 0.0, 0.5))
    logit[:, _LEG_POINTS] -= 2.0 * out[:, _LEG_POINTS]
    logit -= 1.0 * (outside > -0.02)
    return (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)


def _spoil(
    rng: np.random.Generator,
    image: np.ndarray,
    vis: np.ndarray,
    cam: _Camera,
    person: float,
    fps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Add tracker noise to clean projections.

    Jitter grows with the person's size in the image (MediaPipe works on a crop around
    the person), is slightly correlated in time and larger for hands, feet, depth and
    barely visible points. Glitches move a limb for 1-3 frames (or, rarely, swap left
    and right). Missing frames become NaN rows with visibility 0, sometimes a run of a
    few (0.06-0.2 s).

    Args:
        image: (T, 33, 3) clean normalized coordinates.
        vis: (T, 33) visibility.
        cam: the camera (image size in pixels).
        person: standing height of the person in the image, pixels.
        fps: frame rate of the clip, frames per second.

    Returns:
        (landmarks, visibility) spoiled copies.
    """
    T = image.shape[0]
    px = np.array([1.0 / cam.width, 1.0 / cam.height, 1.0 / cam.width])
    sigma = (rng.uniform(0.3, 0.8) + person * rng.uniform(0.002, 0.004)) * np.ones(33)
    sigma[_HAND_POINTS] *= 1.6
    sigma[_LEG_POINTS] *= 1.2
    white = rng.normal(0.0, 1.0, (T + 2, 33, 3))
    noise = (white[2:] + 0.7 * white[1:-1] + 0.4 * white[:-2]) / np.sqrt(1.0 + 0.49 + 0.16)
    noise *= sigma[None, :, None] * np.array([1.0, 1.0, 2.5])  # depth is far noisier
    noise *= np.where(vis < 0.5, 2.5, 1.0)[..., None]
    bias = rng.normal(0.0, 1.5, (1, 33, 3)) * sigma[None, :, None]
    out = image + (noise + bias) * px
    out[..., 2] *= rng.uniform(0.8, 1.25)  # the depth scale is only roughly x's
    vis = vis.copy()
    for _ in range(rng.poisson(0.008 * T)):  # glitches
        start = int(rng.integers(T))
        stop = min(T, start + int(rng.integers(1, 4)))
        if rng.random() < 0.1:  # left/right confusion of the whole body
            out[start:stop] = out[start:stop][:, _SWAP]
            vis[start:stop] = vis[start:stop][:, _SWAP] * rng.uniform(0.6, 0.95)
            continue
        chain = list(_LIMB_CHAINS[int(rng.integers(len(_LIMB_CHAINS)))])
        jump = rng.normal(0.0, person * rng.uniform(0.02, 0.06), 3) * px
        out[start:stop, chain] += jump
        vis[start:stop, chain] *= rng.uniform(0.4, 0.9)
    missing = rng.random(T) < rng.choice([0.0, 0.01, 0.03])
    if rng.random() < 0.3:  # a short dropout run (motion blur, occlusion)
        start = int(rng.integers(T))
        missing[start : start + max(2, round(rng.uniform(0.06, 0.2) * fps))] = True
    if missing.all():
        missing[int(rng.integers(T))] = False
    out[missing] = np.nan
    vis[missing] = 0.0
    return out.astype(np.float32), np.clip(vis, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------- clips
def _timestamps(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A drawn frame rate and (T,) float64 seconds from 0 with a little timing jitter."""
    fps = FRAME_RATES[int(rng.choice(len(FRAME_RATES), p=_FRAME_RATE_WEIGHTS))]
    lo, hi = _DURATION_RANGE
    steps = int(np.clip(round(rng.uniform(lo, hi) * fps), np.ceil(lo * fps), np.floor(hi * fps)))
    t = np.arange(steps + 1) / fps
    t[1:-1] += np.clip(rng.normal(0.0, 0.03, steps - 1), -0.1, 0.1) / fps
    return t, fps


def _subject_body(seed: int, subject: int) -> _Body:
    return _sample_body(
        np.random.default_rng(np.random.SeedSequence([seed, subject, _SUBJECT_TAG]))
    )


def _check_seed(seed: int, subject: int = 0, rep: int = 0) -> None:
    for name, value in (("seed", seed), ("subject", subject), ("rep", rep)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def render_clip(
    activity: str, *, seed: int = 0, subject: int = 0, rep: int = 0
) -> LandmarkSequence:
    """Render one SYNTHETIC clip: subject `subject` doing `activity` for the `rep`-th time.

    The same arguments always give the same arrays; `generate_activities(seed=s)` holds
    exactly `render_clip(a, seed=s, subject=i, rep=r)` for its subjects, classes and reps.

    Args:
        activity: one of `ACTIVITIES`.
        seed: dataset seed (non-negative int).
        subject: subject index (non-negative int): fixes the body proportions.
        rep: repetition index (non-negative int): camera, timing and noise of the clip.

    Returns:
        A pose-layout `LandmarkSequence` of 2.0-3.5 s at 15-60 fps: landmarks (T, 33, 3)
        float32 normalized image coordinates (NaN rows for missing frames), visibility
        (T, 33), timestamps (T,) seconds, `image_size` set, `source` naming the clip.

    Raises:
        ValueError: unknown activity or a negative seed, subject or rep.
    """
    if activity not in ACTIVITIES:
        raise ValueError(
            f"unknown synthetic activity {activity!r}; expected one of {list(ACTIVITIES)}"
        )
    _check_seed(seed, subject, rep)
    body = _subject_body(seed, subject)
    rng = np.random.default_rng(
        np.random.SeedSequence([seed, subject, ACTIVITIES.index(activity), rep])
    )
    t, fps = _timestamps(rng)
    speed = rng.uniform(*_SPEED_RANGE)
    drift = rng.uniform(0.0, 0.06) * np.sin(
        _cycle(t, rng.uniform(0.15, 0.4), rng.uniform(0, 2 * np.pi))
    )
    tau = speed * (t + drift) + rng.uniform(0.0, 10.0)
    cam = _sample_camera(rng, body)
    pose = _POSES[activity](body, rng, t, tau)
    cam_points = _to_camera(_skeleton(body, pose), body, cam)
    image = _project(cam_points, cam)
    vis = _visibility(rng, cam_points, image, body)
    landmarks, vis = _spoil(rng, image, vis, cam, cam.focal * body.height / cam.distance, fps)
    return LandmarkSequence(
        timestamps=t,
        landmarks=landmarks,
        visibility=vis,
        layout="pose",
        image_size=(cam.width, cam.height),
        source=f"synthetic:{activity}/s{subject:02d}_r{rep}_seed{seed}",
    )


#: Most clips `generate_activities` makes in one call (some 100 MB of landmarks).
MAX_SYNTHETIC_CLIPS = 100_000


def generate_activities(
    *,
    num_subjects: int | None = DEFAULT_SUBJECTS,
    clips_per_class: int | None = DEFAULT_CLIPS_PER_CLASS,
    classes: Sequence[str] | None = None,
    seed: int = 0,
) -> Dataset:
    """Generate the SYNTHETIC activity dataset (procedural skeletons, not real people).

    Args:
        num_subjects: synthetic people, each with their own body proportions; groups
            are named "s00", "s01", ... None means `DEFAULT_SUBJECTS`.
        clips_per_class: clips of each class per subject; None means
            `DEFAULT_CLIPS_PER_CLASS`.
        classes: activities to include, in this order (default: all of `ACTIVITIES`).
        seed: non-negative seed; the same seed gives identical arrays.

    Returns:
        A `Dataset` of num_subjects · len(classes) · clips_per_class pose clips, ordered
        by subject, class, rep; labels are activity names, background "idle" (when
        included), name "synthetic-activities".

    Raises:
        ValueError: an unknown class, no classes, or a count or seed below its minimum.
    """
    num_subjects = DEFAULT_SUBJECTS if num_subjects is None else num_subjects
    clips_per_class = DEFAULT_CLIPS_PER_CLASS if clips_per_class is None else clips_per_class
    if isinstance(classes, str):
        classes = (classes,)
    names = tuple(ACTIVITIES if classes is None else classes)
    unknown = [c for c in names if c not in ACTIVITIES]
    if unknown:
        raise ValueError(
            f"unknown synthetic activities {unknown}; expected some of {list(ACTIVITIES)}"
        )
    if not names or len(set(names)) != len(names):
        raise ValueError(f"classes must name at least one activity, each once; got {list(names)}")
    if num_subjects < 1 or clips_per_class < 1:
        raise ValueError(
            f"num_subjects and clips_per_class must be >= 1, got {num_subjects} and {clips_per_class}"
        )
    clips = num_subjects * len(names) * clips_per_class
    if clips > MAX_SYNTHETIC_CLIPS:
        raise ValueError(
            f"{num_subjects} subjects x {len(names)} classes x {clips_per_class} clips is"
            f" {clips} clips, more than the {MAX_SYNTHETIC_CLIPS} generated at once (each"
            " takes memory and time); ask for fewer subjects or clips"
        )
    _check_seed(seed)
    start = time.perf_counter()
    sequences, labels, groups = [], [], []
    for subject in range(num_subjects):
        for activity in names:
            for rep in range(clips_per_class):
                sequences.append(render_clip(activity, seed=seed, subject=subject, rep=rep))
                labels.append(activity)
                groups.append(f"s{subject:02d}")
    dataset = Dataset(
        tuple(sequences),
        tuple(labels),
        tuple(groups),
        background=BACKGROUND if BACKGROUND in names else None,
        name="synthetic-activities",
    )
    logger.debug("generated %s in %.2f s", dataset.summary(), time.perf_counter() - start)
    return dataset
