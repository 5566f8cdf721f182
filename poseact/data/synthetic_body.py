"""Procedural bodies and motions of the synthetic dataset: skeletons in 3-D, in metres.

Used by `poseact.data.synthetic`, which puts them in front of a camera and a detector model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from poseact.core.layouts import POSE_LANDMARK_NAMES, get_layout

_INDEX = {name: i for i, name in enumerate(POSE_LANDMARK_NAMES)}
_LEFT, _RIGHT = 1.0, -1.0  # sign of the person's left along the body x axis


def _sided(*parts: str) -> np.ndarray:
    """Indices of LEFT_<part> and RIGHT_<part> for each part."""
    return np.array([_INDEX[f"{side}_{part}"] for part in parts for side in ("LEFT", "RIGHT")])


_LEG_POINTS = _sided("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")
_HAND_POINTS = _sided("PINKY", "INDEX", "THUMB")
_HEAD_POINTS = np.arange(_INDEX["MOUTH_RIGHT"] + 1)  # nose to mouth
_LIMB_CHAINS: tuple[tuple[int, ...], ...] = tuple(
    tuple(_INDEX[f"{side}_{part}"] for part in parts)
    for side in ("LEFT", "RIGHT")
    for parts in (
        ("ELBOW", "WRIST", "PINKY", "INDEX", "THUMB"),
        ("WRIST", "PINKY", "INDEX", "THUMB"),
        ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX"),
        ("ANKLE", "HEEL", "FOOT_INDEX"),
    )
)  # groups of points that a glitch moves together
_SWAP = get_layout("pose").mirror_permutation  # left ↔ right

# Head points in the head frame (x = left, y = up, z = forward), metres for a 1.75 m
# person; the head centre is between the ears.
_HEAD_OFFSETS: dict[str, tuple[float, float, float]] = {
    "NOSE": (0.0, -0.01, 0.105),
    "LEFT_EYE_INNER": (0.016, 0.026, 0.090),
    "LEFT_EYE": (0.034, 0.028, 0.084),
    "LEFT_EYE_OUTER": (0.050, 0.026, 0.074),
    "LEFT_EAR": (0.074, 0.004, -0.004),
    "MOUTH_LEFT": (0.024, -0.045, 0.086),
}


def _head_table() -> np.ndarray:
    """(11, 3) offsets of the head points, the right side mirrored from the left."""
    table = np.zeros((len(_HEAD_POINTS), 3))
    for name, (x, y, z) in _HEAD_OFFSETS.items():
        table[_INDEX[name]] = (x, y, z)
        if name.startswith(("LEFT", "MOUTH_LEFT")):
            table[_INDEX[name.replace("LEFT", "RIGHT")]] = (-x, y, z)
    return table


_HEAD_TABLE = _head_table()


# ---------------------------------------------------------------------- geometry
def _rot_x(a: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations about x; positive tips +y towards +z (a forward lean)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack(
        [np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2
    )


def _rot_y(a: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations about y (up); positive turns +z (forward) towards +x (left)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack(
        [np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2
    )


def _rot_z(a: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations about z (forward); positive tips +y towards -x (the right)."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack(
        [np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2
    )


def _apply(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate (T, 3) or (3,) vectors by (T, 3, 3) rotations → (T, 3)."""
    return np.einsum("tij,tj->ti", r, np.broadcast_to(v, r.shape[:-1]))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _direction(theta: np.ndarray, phi: np.ndarray, side: float) -> np.ndarray:
    """(T, 3) limb direction in a body frame (x = left, y = up, z = forward).

    Args:
        theta: (T,) radians from straight down (0) through horizontal (pi/2) to up (pi).
        phi: (T,) radians of the swing: 0 out to the side, pi/2 straight forward.
        side: +1 for a left limb, -1 for a right one.
    """
    theta, phi = np.broadcast_arrays(theta, phi)
    st = np.sin(theta)
    return np.stack([side * st * np.cos(phi), -np.cos(theta), st * np.sin(phi)], -1)


def _two_bone(
    root: np.ndarray, target: np.ndarray, a: float, b: float, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two-segment inverse kinematics (arm or leg), vectorized over frames.

    Args:
        root: (T, 3) shoulder or hip.
        target: (T, 3) wanted wrist or ankle; pulled in when out of reach.
        a: upper segment length; b: lower segment length (metres).
        pole: (T, 3) or (3,) direction the middle joint (elbow, knee) bends towards.

    Returns:
        (middle, end): (T, 3) elbow/knee and wrist/ankle positions.
    """
    d_vec = target - root
    d = np.clip(np.linalg.norm(d_vec, axis=-1), abs(a - b) + 1e-3, (a + b) * 0.999)
    u = _unit(d_vec)
    x = (a * a - b * b + d * d) / (2 * d)
    h = np.sqrt(np.maximum(a * a - x * x, 0.0))
    p = np.broadcast_to(pole, u.shape)
    p = _unit(p - np.sum(p * u, -1, keepdims=True) * u)
    middle = root + x[:, None] * u + h[:, None] * p
    return middle, root + d[:, None] * u


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, scale: float, n: int = 3) -> np.ndarray:
    """(T,) smooth random wobble: a sum of `n` slow sinusoids with total amplitude ~scale."""
    freqs = rng.uniform(0.1, 0.6, n)
    phases = rng.uniform(0, 2 * np.pi, n)
    amps = rng.uniform(0.5, 1.0, n)
    amps *= scale / amps.sum()
    return np.sum(amps * np.sin(2 * np.pi * freqs * t[:, None] + phases), axis=1)


# ---------------------------------------------------------------------- bodies
@dataclass(frozen=True)
class _Body:
    """Segment lengths of one synthetic subject, in metres."""

    height: float
    hip_half: float  # hip joint to pelvis centre
    shoulder_half: float  # shoulder joint to shoulder centre
    torso: float  # hip centre to shoulder centre
    neck: float  # shoulder centre to head centre
    head: float  # scale of the head offsets
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shin: float
    ankle: float  # ankle height above the ground
    foot: float  # ankle to toes
    dominant: float  # +1 left-handed, -1 right-handed

    @property
    def leg(self) -> float:
        return self.thigh + self.shin

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm


def _sample_body(rng: np.random.Generator) -> _Body:
    """A random adult: height 1.50-1.95 m, each proportion within about ±15 %."""
    height = rng.uniform(1.50, 1.95)
    s = height / 1.75
    width, arm, leg, trunk = 1.0 + rng.normal(0.0, 0.06, 4)

    def seg(base: float, group: float) -> float:
        return s * base * float(np.clip(group * (1.0 + rng.normal(0.0, 0.03)), 0.85, 1.15))

    return _Body(
        height=height,
        hip_half=seg(0.095, width),
        shoulder_half=seg(0.185, width),
        torso=seg(0.50, trunk),
        neck=seg(0.21, trunk),
        head=seg(1.0, 1.0),
        upper_arm=seg(0.30, arm),
        forearm=seg(0.26, arm),
        hand=seg(0.085, arm),
        thigh=seg(0.44, leg),
        shin=seg(0.43, leg),
        ankle=seg(0.08, 1.0),
        foot=seg(0.15, leg),
        dominant=_LEFT if rng.random() < 0.15 else _RIGHT,
    )


# ---------------------------------------------------------------------- poses
@dataclass
class _Arm:
    """How one arm is posed: by directions (forward kinematics) or by a wrist target.

    Attributes:
        upper, fore: (T, 3) unit directions in the torso frame, or None.
        target: (T, 3) wrist position in the body frame, or None.
        pole: (3,) or (T, 3) elbow bend direction in the body frame (with `target`).
        thumb: (3,) or (T, 3) direction the thumb side of the hand faces, torso frame.
        fist: a closed hand (shorter).
    """

    upper: np.ndarray | None = None
    fore: np.ndarray | None = None
    target: np.ndarray | None = None
    pole: np.ndarray | None = None
    thumb: np.ndarray | None = None
    fist: bool = False


@dataclass
class _Pose:
    """Per-frame controls of the skeleton, all in the body frame (metres, radians).

    The body frame has its origin on the ground between the feet, x to the person's
    left, y up, z forward.
    """

    pelvis: np.ndarray  # (T, 3) hip centre
    pelvis_yaw: np.ndarray  # (T,)
    twist: np.ndarray  # (T,) torso yaw about the spine
    lean: np.ndarray  # (T,) torso forward lean
    roll: np.ndarray  # (T,) torso sideways tilt
    head_yaw: np.ndarray  # (T,)
    head_pitch: np.ndarray  # (T,) positive looks down
    arms: dict[float, _Arm]  # side → arm
    ankles: dict[float, np.ndarray]  # side → (T, 3) ankle target
    ankle_lift: np.ndarray  # (T,) heels off the ground (metres), e.g. mid-jump
    toe_out: float  # radians each foot turns outwards


def _stance(
    body: _Body, rng: np.random.Generator, t: np.ndarray, width: float | None = None
) -> tuple[np.ndarray, dict[float, np.ndarray], float]:
    """Standing feet and pelvis with a small sway.

    Args:
        width: extra half stance width beyond the hips (metres); random if None.

    Returns:
        (pelvis (T, 3), ankles {side: (T, 3)}, half stance width).
    """
    half = body.hip_half + (rng.uniform(0.0, 0.10) if width is None else width)
    stagger = rng.normal(0.0, 0.04)
    ankles = {
        side: np.tile([side * half, body.ankle, side * stagger], (len(t), 1))
        for side in (_LEFT, _RIGHT)
    }
    drop = np.sqrt(body.leg**2 - (half - body.hip_half) ** 2) - rng.uniform(0.005, 0.02)
    pelvis = np.zeros((len(t), 3))
    pelvis[:, 0] = _smooth_noise(rng, t, rng.uniform(0.005, 0.02))
    pelvis[:, 1] = body.ankle + drop
    pelvis[:, 2] = _smooth_noise(rng, t, 0.01)
    return pelvis, ankles, half


def _base_pose(body: _Body, rng: np.random.Generator, t: np.ndarray, **stance) -> _Pose:
    """A standing pose with breathing, sway and head motion; arms left to the caller."""
    pelvis, ankles, _ = _stance(body, rng, t, **stance)
    breathe = rng.uniform(0.2, 0.35)
    return _Pose(
        pelvis=pelvis,
        pelvis_yaw=_smooth_noise(rng, t, 0.04),
        twist=_smooth_noise(rng, t, 0.05),
        lean=rng.normal(0.03, 0.03) + 0.01 * np.sin(2 * np.pi * breathe * t),
        roll=_smooth_noise(rng, t, 0.03),
        head_yaw=rng.normal(0.0, 0.15) + _smooth_noise(rng, t, 0.12),
        head_pitch=rng.normal(0.05, 0.08) + _smooth_noise(rng, t, 0.06),
        arms={},
        ankles=ankles,
        ankle_lift=np.zeros(len(t)),
        toe_out=rng.uniform(0.1, 0.35),
    )


def _hanging_arm(rng: np.random.Generator, t: np.ndarray, side: float, swing: float = 0.04) -> _Arm:
    """An arm hanging by the side, elbow slightly bent, swaying a little."""
    n = len(t)
    theta_u = rng.uniform(0.06, 0.2) + _smooth_noise(rng, t, swing)
    phi_u = np.full(n, rng.uniform(0.6, 1.6))
    theta_f = theta_u + rng.uniform(0.1, 0.5) + _smooth_noise(rng, t, swing)
    phi_f = np.full(n, rng.uniform(1.2, 1.8))
    return _Arm(
        upper=_direction(theta_u, phi_u, side),
        fore=_direction(theta_f, phi_f, side),
        thumb=np.array([0.0, 0.0, 1.0]),
    )


def _cycle(tau: np.ndarray, freq: float, phase: float = 0.0) -> np.ndarray:
    """(T,) angle 2·pi·freq·tau + phase (radians)."""
    return 2.0 * np.pi * freq * tau + phase


def _open(angle: np.ndarray, power: float = 1.0) -> np.ndarray:
    """(T,) in [0, 1]: 0 at angle 0, 1 at angle pi; power < 1 lingers near 1."""
    return (0.5 - 0.5 * np.cos(angle)) ** power


_IDLE_STYLES = ("hang", "hang", "hang", "clasp", "hips", "pockets", "crossed", "fidget")


def _pose_idle(body: _Body, rng: np.random.Generator, t: np.ndarray, tau: np.ndarray) -> _Pose:
    """Standing still: breathing, weight shifts and one of a few resting arm poses.

    Some clips clasp the hands or cross the arms (static hands in front, unlike
    `clap`), and "fidget" clips lift one hand to the face once (unlike `wave`, no
    oscillation).
    """
    pose = _base_pose(body, rng, t)
    # weight shifts: the pelvis drifts sideways and the torso tilts back against it
    shift = _smooth_noise(rng, t, rng.uniform(0.02, 0.05), n=2)
    pose.pelvis[:, 0] += shift
    pose.roll = pose.roll - 0.6 * shift
    style = _IDLE_STYLES[int(rng.integers(len(_IDLE_STYLES)))]
    chest = pose.pelvis + [0.0, body.torso, 0.0]
    fidget_side = body.dominant if rng.random() < 0.7 else -body.dominant
    for side in (_LEFT, _RIGHT):
        if style == "clasp":  # hands together in front of the belly
            offset = [side * 0.03, rng.uniform(0.05, 0.15), rng.uniform(0.12, 0.2)]
            pose.arms[side] = _Arm(
                target=pose.pelvis + offset,
                pole=np.array([side * 0.6, -1.0, -0.3]),
                thumb=np.array([0.0, 1.0, 0.0]),
            )
        elif style == "hips":  # hands on the hips, elbows out
            pose.arms[side] = _Arm(
                target=pose.pelvis + [side * (body.hip_half + 0.06), 0.1, 0.0],
                pole=np.array([side * 1.0, 0.0, -0.4]),
                thumb=np.array([0.0, 0.0, -1.0]),
            )
        elif style == "pockets":  # hands in the front pockets
            pose.arms[side] = _Arm(
                target=pose.pelvis + [side * (body.hip_half + 0.02), -0.05, 0.08],
                pole=np.array([side * 0.7, 0.0, -1.0]),
                thumb=np.array([0.0, 0.0, 1.0]),
            )
        elif style == "crossed":  # each hand on the other upper arm
            pose.arms[side] = _Arm(
                target=chest + [-side * 0.13, -0.18 + 0.03 * side, 0.14 + 0.02 * side],
                pole=np.array([side * 0.5, -1.0, 0.2]),
                thumb=np.array([0.0, 1.0, 0.0]),
            )
        elif style == "fidget" and side == fidget_side:  # a hand goes to the face once
            rest = chest + [side * (body.shoulder_half + 0.04), -0.95 * body.arm, 0.06]
            face = chest + [side * 0.04, body.neck - rng.uniform(0.0, 0.08), 0.12]
            centre, width = rng.uniform(0.3, 0.7) * t[-1], rng.uniform(0.4, 0.8)
            lift = np.exp(-(((t - centre) / width) ** 4))[:, None]
            pose.arms[side] = _Arm(
                target=rest * (1.0 - lift) + face * lift,
                pole=np.array([side * 0.8, -1.0, -0.3]),
                thumb=np.array([0.0, 0.3, 1.0]),
            )
        else:
            pose.arms[side] = _hanging_arm(rng, t, side)
    return pose


def _pose_wave(body: _Body, rng: np.random.Generator, t: np.ndarray, tau: np.ndarray) -> _Pose:
    pose = _base_pose(body, rng, t)
    side = body.dominant if rng.random() < 0.7 else -body.dominant
    freq = rng.uniform(1.6, 2.4)
    amp = rng.uniform(0.25, 0.5) * (
        1.0 + 0.15 * np.sin(_cycle(t, rng.uniform(0.2, 0.5), rng.uniform(0, 6.3)))
    )
    swing = np.sin(_cycle(tau, freq, rng.uniform(0, 2 * np.pi)))
    n = len(t)
    theta_u = rng.uniform(1.15, 1.9) + 0.05 * swing
    phi_u = np.full(n, rng.uniform(0.15, 0.8))
    tilt = rng.uniform(-0.1, 0.3)  # forearm lean out from vertical
    alpha = tilt + amp * swing  # forearm angle from vertical, + away from the head
    fore = np.stack([side * np.sin(alpha), np.cos(alpha), np.full(n, rng.uniform(0.0, 0.3))], -1)
    pose.arms[side] = _Arm(
        upper=_direction(theta_u, phi_u, side),
        fore=_unit(fore),
        thumb=np.array([-side, 0.0, 0.3]),
    )
    pose.arms[-side] = _hanging_arm(rng, t, -side)
    pose.head_yaw = pose.head_yaw + side * rng.uniform(0.0, 0.2)
    pose.roll = pose.roll - side * rng.uniform(0.0, 0.06)
    return pose


def _pose_clap(body: _Body, rng: np.random.Generator, t: np.ndarray, tau: np.ndarray) -> _Pose:
    pose = _base_pose(body, rng, t)
    freq = rng.uniform(1.6, 2.6)
    gap = rng.uniform(0.25, 0.5) * (
        1.0 + 0.12 * np.sin(_cycle(t, rng.uniform(0.2, 0.5), rng.uniform(0, 6.3)))
    )
    opening = _open(_cycle(tau, freq, rng.uniform(0, 2 * np.pi)), power=0.8)
    half = 0.03 + 0.5 * gap * opening  # a hand's centre is ~3 cm from the contact plane
    chest = pose.pelvis + [0.0, body.torso * rng.uniform(0.6, 0.85), 0.0]
    forward = rng.uniform(0.22, 0.40) + 0.03 * opening
    lift = 0.04 * np.sin(_cycle(tau, freq, 0.5))
    for side in (_LEFT, _RIGHT):
        target = chest + np.stack([side * half, lift, np.full(len(t), forward)], -1)
        pose.arms[side] = _Arm(
            target=target,
            pole=np.array([side * 0.7, -1.0, -0.2]),
            thumb=np.array([0.0, 1.0, 0.2]),
        )
    return pose


def _pose_arms_up(body: _Body, rng: np.random.Generator, t: np.ndarray, tau: np.ndarray) -> _Pose:
    pose = _base_pose(body, rng, t)
    freq = rng.uniform(0.45, 0.65)
    raised = _open(_cycle(tau, freq, rng.uniform(0, 2 * np.pi)), power=rng.uniform(0.5, 0.8))
    top = rng.uniform(2.6, 3.05)
    plane = rng.uniform(0.05, 1.35)  # 0 = raised out to the sides, pi/2 = to the front
    n = len(t)
    for side in (_LEFT, _RIGHT):
        lag = rng.normal(0.0, 0.04)
        theta_u = 0.12 + (top - 0.12 + lag) * raised
        bend = rng.uniform(0.05, 0.35) * (1.0 - 0.5 * raised)
        pose.arms[side] = _Arm(
            upper=_direction(theta_u, np.full(n, plane), side),
            fore=_direction(theta_u + bend, np.full(n, plane + 0.1), side),
            thumb=np.array([0.0, 0.0, 1.0]) if plane < 0.7 else np.array([-side, 0.5, 0.0]),
        )
    pose.head_pitch = pose.head_pitch - 0.15 * raised
    pose.lean = pose.lean - 0.05 * raised
    return pose


def _pose_squat(body: _Body, rng: np.random.Generator, t: np.ndarray, tau: np.ndarray) -> _Pose:
    pose = _base_pose(body, rng, t, width=rng.uniform(0.05, 0.16))
    freq = rng.uniform(0.5, 0.75)
    down = _open(_cycle(tau, freq, rng.uniform(0, 2 * np.pi)), power=rng.uniform(0.7, 1.0))
    depth = rng.uniform(0.22, 0.42) * body.leg
    pose.pelvis[:, 1] -= depth * down
    pose.pelvis[:, 2] -= rng.uniform(0.25, 0.5) * depth * down
    pose.lean = pose.lean + rng.uniform(0.25, 0.6) * down
    pose.head_pitch = pose.head_pitch - 0.5 * (pose.lean - pose.lean.mean())
    arms_raise = rng.uniform(0.0, 0.4)  # how much the arms rise with the squat
    n = len(t)
    for side in (_LEFT, _RIGHT):
        theta_u = rng.uniform(1.2, 1.6) - 0.2 * arms_raise + arms_raise * down - pose.lean
        # arms are set in the torso frame: undo the lean so they point forward in space
        pose.arms[side] = _Arm(
            upper=_direction(theta_u, np.full(n, rng.uniform(1.3, 1.6)), side),
            fore=_direction(
                theta_u + rng.uniform(0.0, 0.3), np.full(n, rng.uniform(1.4, 1.7)), side
            ),
            thumb=np.array([0.0, 1.0, 0.0]),
        )
    pose.toe_out = rng.uniform(0.25, 0.5)
    return pose


def _pose_jumping_jack(
    body: _Body, rng: np.random.Generator, t: np.ndarray, tau: np.ndarray
) -> _Pose:
    pose = _base_pose(body, rng, t, width=0.0)
    freq = rng.uniform(1.35, 1.7)
    angle = _cycle(tau, freq, rng.uniform(0, 2 * np.pi))
    spread = _open(angle)
    bounce = rng.uniform(0.03, 0.09) * np.abs(np.sin(angle)) ** 1.5
    feet = rng.uniform(0.16, 0.32) * spread
    top = rng.uniform(2.5, 3.0)
    n = len(t)
    for side in (_LEFT, _RIGHT):
        pose.ankles[side] = pose.ankles[side] + np.stack([side * feet, bounce, np.zeros(n)], -1)
        theta_u = 0.15 + (top - 0.15) * spread ** rng.uniform(0.8, 1.1)
        pose.arms[side] = _Arm(
            upper=_direction(theta_u, np.full(n, rng.uniform(0.0, 0.35)), side),
            fore=_direction(
                theta_u + rng.uniform(0.0, 0.25), np.full(n, rng.uniform(0.0, 0.4)), side
            ),
            thumb=np.array([0.0, 0.0, 1.0]),
        )
    # the pelvis rides on the (nearly straight) legs, plus the jump
    spread_leg = np.sqrt(np.maximum(body.leg**2 - (feet + 0.01) ** 2, 0.0))
    knee = rng.uniform(0.01, 0.05) * (1.0 - np.abs(np.sin(angle)))  # landing flex
    pose.pelvis[:, 1] = body.ankle + spread_leg - knee + bounce
    pose.ankle_lift = bounce
    pose.head_pitch = pose.head_pitch + 0.05 * np.sin(2 * angle)
    return pose


def _pose_punch(body: _Body, rng: np.random.Generator, t: np.ndarray, tau: np.ndarray) -> _Pose:
    pose = _base_pose(body, rng, t, width=rng.uniform(0.04, 0.12))
    lead = _LEFT if rng.random() < 0.5 else _RIGHT
    stagger = rng.uniform(0.1, 0.25)
    for side in (_LEFT, _RIGHT):  # boxer's stance: one foot forward, knees soft
        pose.ankles[side] = pose.ankles[side] + [0.0, 0.0, stagger if side == lead else -0.05]
    pose.pelvis[:, 1] -= rng.uniform(0.03, 0.08)
    pose.pelvis_yaw = pose.pelvis_yaw - lead * rng.uniform(0.1, 0.3)
    freq = rng.uniform(1.4, 2.2)  # punches per second, alternating arms
    angle = _cycle(tau, freq / 2.0, rng.uniform(0, 2 * np.pi))
    sharp = rng.uniform(2.0, 4.0)
    guard_height = rng.uniform(0.12, 0.22)
    reach = rng.uniform(0.85, 0.97)
    ext: dict[float, np.ndarray] = {}
    for side, shift in ((_LEFT, 0.0), (_RIGHT, np.pi)):
        ext[side] = np.maximum(np.sin(angle + shift), 0.0) ** sharp
    twist = rng.uniform(0.15, 0.35) * (ext[_RIGHT] - ext[_LEFT])  # punching shoulder forward
    pose.twist = pose.twist + twist
    shoulder_centre = pose.pelvis + [0.0, body.torso, 0.0]
    for side in (_LEFT, _RIGHT):
        shoulder = shoulder_centre + _apply(
            _rot_y(twist), np.array([side * body.shoulder_half, 0, 0])
        )
        guard = shoulder_centre + [side * 0.08, guard_height, 0.18]
        aim = shoulder_centre + [side * rng.uniform(0.0, 0.08), rng.uniform(0.0, 0.12), 0.0]
        aim = aim + [0.0, 0.0, reach * body.arm]
        e = ext[side][:, None]
        target = guard * (1.0 - e) + (aim + (shoulder - shoulder_centre) * 0.5) * e
        pose.arms[side] = _Arm(
            target=target,
            pole=np.array([side * 0.6, -1.0, -0.1]),
            thumb=np.array([-side, 0.6, 0.0]),
            fist=True,
        )
    pose.head_pitch = pose.head_pitch + 0.1
    return pose


_POSES: dict[str, Callable[[_Body, np.random.Generator, np.ndarray, np.ndarray], _Pose]] = {
    "idle": _pose_idle,
    "wave": _pose_wave,
    "clap": _pose_clap,
    "arms_up": _pose_arms_up,
    "squat": _pose_squat,
    "jumping_jack": _pose_jumping_jack,
    "punch": _pose_punch,
}


# ---------------------------------------------------------------------- skeleton
def _hand_points(
    wrist: np.ndarray, along: np.ndarray, thumb_ref: np.ndarray, side: float, length: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pinky, index and thumb (T, 3) from the wrist and the hand's direction."""
    across = thumb_ref - np.sum(thumb_ref * along, -1, keepdims=True) * along
    fallback = np.cross(along, [0.0, 0.0, 1.0]) * side
    degenerate = np.linalg.norm(across, axis=-1, keepdims=True) < 1e-3
    across = _unit(np.where(degenerate, fallback, across))
    normal = np.cross(along, across) * side  # palm normal
    pinky = wrist + length * (0.85 * along - 0.32 * across)
    index = wrist + length * (1.0 * along + 0.22 * across)
    thumb = wrist + length * (0.45 * along + 0.55 * across + 0.15 * normal)
    return pinky, index, thumb


def _skeleton(body: _Body, pose: _Pose) -> np.ndarray:
    """(T, 33, 3) landmark positions in the body frame, metres, from pose controls."""
    T = pose.pelvis.shape[0]
    out = np.zeros((T, 33, 3))
    r_pelvis = _rot_y(pose.pelvis_yaw)
    r_torso = _rot_y(pose.pelvis_yaw + pose.twist) @ _rot_x(pose.lean) @ _rot_z(pose.roll)
    shoulder_centre = pose.pelvis + _apply(r_torso, np.array([0.0, body.torso, 0.0]))
    r_head = r_torso @ _rot_y(pose.head_yaw) @ _rot_x(pose.head_pitch)
    head_centre = shoulder_centre + _apply(r_torso, np.array([0.0, body.neck, -0.01]))
    out[:, :11] = head_centre[:, None] + np.einsum("tij,kj->tki", r_head, _HEAD_TABLE * body.head)
    for side, name in ((_LEFT, "LEFT"), (_RIGHT, "RIGHT")):
        shoulder = shoulder_centre + _apply(
            r_torso, np.array([side * body.shoulder_half, 0.0, 0.0])
        )
        hip = pose.pelvis + _apply(r_pelvis, np.array([side * body.hip_half, 0.0, 0.0]))
        arm = pose.arms[side]
        if arm.target is not None:
            elbow, wrist = _two_bone(shoulder, arm.target, body.upper_arm, body.forearm, arm.pole)
        else:
            elbow = shoulder + body.upper_arm * _apply(r_torso, arm.upper)
            wrist = elbow + body.forearm * _apply(r_torso, arm.fore)
        along = _unit(wrist - elbow)
        thumb_ref = _apply(r_torso, arm.thumb)
        length = body.hand * (0.7 if arm.fist else 1.0)
        pinky, index, thumb = _hand_points(wrist, along, thumb_ref, side, length)
        toe_dir = _apply(_rot_y(pose.pelvis_yaw + side * pose.toe_out), np.array([0.0, 0.0, 1.0]))
        knee_pole = toe_dir + [side * 0.15, 0.0, 0.0]
        knee, ankle = _two_bone(hip, pose.ankles[side], body.thigh, body.shin, knee_pole)
        lift = pose.ankle_lift[:, None]  # mid-jump the toes point down a little
        heel = ankle + body.foot * (-0.35 * toe_dir) + [0.0, -0.7, 0.0] * (body.ankle - 0.3 * lift)
        toes = ankle + body.foot * toe_dir + [0.0, -1.0, 0.0] * (body.ankle * 0.85 + 0.5 * lift)
        for part, value in (
            ("SHOULDER", shoulder), ("ELBOW", elbow), ("WRIST", wrist), ("PINKY", pinky),
            ("INDEX", index), ("THUMB", thumb), ("HIP", hip), ("KNEE", knee),
            ("ANKLE", ankle), ("HEEL", heel), ("FOOT_INDEX", toes),
        ):  # fmt: skip
            out[:, _INDEX[f"{name}_{part}"]] = value
    return out
