"""Shared test vectors: Python writes tests/vectors/*.json, pytest and `node --test` check them.

The browser page ports the normalizer's streaming path, the decisions, the defaults and
the model-file constants to JavaScript (poseact/deploy/web_assets/poseact.js). The
vectors hold Python's answers on real landmarks (the ASL recordings); this file checks
that the committed vectors are what Python gives today (so they cannot go stale), and
runs tests/web/vectors.test.mjs, which checks the JavaScript against the same files
without a browser.

Regenerate after an intended change: `python tests/test_vectors.py --write`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ASL_SIGNS, SHARED_DIR

from poseact.core.layouts import BodyPart, Layout, get_layout, register_layout
from poseact.core.sequence import LandmarkSequence
from poseact.core.tracking import Tracker, TrackerOptions, linear_assignment, tracked_points
from poseact.normalize.fitting import fit_normalizer
from poseact.normalize.spec import ABSENT_FIELDS, NormalizerSpec
from poseact.normalize.streaming import StreamingFeaturizer
from poseact.runtime import model_file
from poseact.runtime.decider import (
    Decider,
    DecisionOptions,
    answer_times,
    placement_table,
    settled,
)
from poseact.runtime.rejection import RejectionRule, calibrate_rejection

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "vectors"
ASL = ASL_SIGNS

#: A custom layout: the two wrists only, centred on their midpoint, scaled by their distance.
WRISTS = Layout(
    "vector_wrists",
    ("LEFT_WRIST", "RIGHT_WRIST"),
    (BodyPart(name="wrists", kind="points", points=("LEFT_WRIST", "RIGHT_WRIST"),
              anchors=("LEFT_WRIST", "RIGHT_WRIST")),),
    edges=(("LEFT_WRIST", "RIGHT_WRIST"),),
)  # fmt: skip


def _json_floats(values) -> list:
    """Nested lists with NaN as None (JSON has no NaN)."""
    array = np.asarray(values, dtype=np.float64)
    return [None if math.isnan(v) else float(v) for v in array.reshape(-1)]


def _asl_frames(clip: int, layout: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, K, 3) landmarks and (T, K) visibility of a real ASL clip, zeros → NaN."""
    with np.load(ASL) as data:
        pose = data["pose"][clip, :frames]
        hands = data["hands"][clip, :frames]
    hand_xyz = hands.reshape(frames, 42, 3).astype(np.float32)
    hand_seen = np.any(hand_xyz != 0, axis=-1)
    hand_xyz[~hand_seen] = np.nan
    hand_vis = hand_seen.astype(np.float32)
    pose_xyz, pose_vis = pose[..., :3].astype(np.float32), pose[..., 3].astype(np.float32)
    if layout == "pose":
        return pose_xyz, pose_vis
    if layout == "hands":
        return hand_xyz, hand_vis
    if layout == "pose+hands":
        return np.concatenate([pose_xyz, hand_xyz], 1), np.concatenate([pose_vis, hand_vis], 1)
    names = get_layout("pose").point_names
    idx = [names.index(n) for n in WRISTS.point_names]
    return pose_xyz[:, idx], pose_vis[:, idx]


def _featurizer_case(
    name, spec: NormalizerSpec, clip, times, image_size, drop=(), frames=None
) -> dict:
    """Python's rows for a real clip: an ASL clip by number, or `frames` (landmarks,
    visibility) as they are."""
    if frames is None:
        landmarks, visibility = _asl_frames(clip, spec.layout, len(times))
    else:
        landmarks, visibility = (np.array(a, dtype=np.float32) for a in frames)
    for frame in drop:  # nobody detected in these frames
        landmarks[frame] = np.nan
        visibility[frame] = 0.0
    featurizer = StreamingFeaturizer(spec)
    frames, rows, seen, restarted = [], [], [], []
    for t, lm, vis in zip(times, landmarks, visibility):
        out = featurizer.push(float(t), lm, vis, image_size)
        seen.append(featurizer.rows_seen.tolist())
        restarted.append(featurizer.restarted)
        frames.append(
            {"t": float(t), "landmarks": _json_floats(lm), "visibility": _json_floats(vis)}
        )
        rows.append([_json_floats(row) for row in out])
    return {
        "name": name,
        "spec": spec.to_dict(),
        "layout_definition": get_layout(spec.layout).to_dict(),
        "image_size": list(image_size) if image_size else None,
        "frames": frames,
        "rows": rows,
        "rows_seen": seen,
        "restarted": restarted,
    }


def _moving_hand_case() -> dict:
    """A real hand (MediaPipe on hand_open.mp4) carried along a real fingertip track
    (`poseact.data.hand_paths`), with the path stream learned and standardized, and the
    hand lost for a frame."""
    from poseact.data.hand_paths import hand_path_dataset

    data = hand_path_dataset(classes="left_right", seed=0)
    spec = fit_normalizer(NormalizerSpec(layout="hands"), data.sequences[:40])[0].spec
    clip = data.sequences[41]
    return _featurizer_case(
        "hands moving along a real fingertip track, path, standardized, a lost frame",
        spec,
        None,
        clip.timestamps,
        clip.image_size,
        drop=(6,),
        frames=(clip.landmarks, clip.visibility),
    )


def _fingertip_case() -> dict:
    """One tracked point without anchors (a real fingertip track, `fingertip_tracks`):
    its path is rooted at the mean of its points; standardized."""
    from poseact.data.point_history import read_point_history

    data = read_point_history(SHARED_DIR / "data" / "fingertip_tracks")
    spec = fit_normalizer(NormalizerSpec(layout="fingertip"), data.sequences[2000:2060])[0].spec
    clip = data.sequences[2100]
    return _featurizer_case(
        "one tracked point without anchors (its path), standardized",
        spec,
        None,
        clip.timestamps,
        None,
        frames=(clip.landmarks, clip.visibility),
    )


def _standardized(spec: NormalizerSpec, clips, frames: int, image_size) -> NormalizerSpec:
    """`spec` with every stream and the per-feature mean/std `fit` learns on real clips."""
    sequences = []
    for clip in clips:
        landmarks, visibility = _asl_frames(clip, spec.layout, frames)
        sequences.append(
            LandmarkSequence(
                timestamps=np.arange(frames) / 30.0,
                landmarks=landmarks,
                visibility=visibility,
                layout=spec.layout,
                image_size=image_size,
            )
        )
    return fit_normalizer(spec, sequences)[0].spec


def _decider_case(
    name,
    classes,
    background,
    options: DecisionOptions,
    seed: int,
    rejection=None,
    onset=None,
    threshold=None,
    placement=None,
    resume=None,
    unseen=None,
) -> dict:
    """Decisions on made-up answers of a stream: blocks of one dominant class; with
    `resume`, the stream starts over at that step after a 2 s gap (`resumed_after`);
    with `unseen` (first, last), those steps' rows showed nobody."""
    rng = np.random.default_rng(seed)
    table = placement_table(placement, classes)
    decider = Decider(classes, background, options, rejection, threshold)
    steps = []
    # blocks of one dominant class (some below threshold), then noise
    plan = [(0, 12), (1, 9), (None, 4), (2, 14), (0, 3), (1, 12)]
    t = 0.0
    since = 0  # answers since the stream (re)started
    seen = 0  # rows in a row that showed someone
    for dominant, length in plan:
        for _ in range(length):
            logits = rng.normal(0, 0.5, len(classes))
            if dominant is not None:
                logits[dominant] += 3.0
            probs = np.exp(logits) / np.exp(logits).sum()
            # the answer is about a 30-frame window filling up at 30 fps: its centre, or
            # with an onset the frames where a gesture begins and ends (answer_times)
            resumed_after = None
            if len(steps) == resume:  # the camera froze for 2 s: the stream starts over
                resumed_after, t, since = steps[-1]["t"], round(t + 2.0, 6), 0
            since += 1
            context = min(since, 30)
            shown = unseen is None or not unseen[0] <= len(steps) <= unseen[1]
            seen = seen + 1 if shown else 0
            times = answer_times(t, context, 30.0, onset, table)
            at, end_at = (
                [round(float(x), 6) for x in v] if table is not None else round(v, 6) for v in times
            )
            ratios = None
            if rejection is not None:  # distance / threshold per class: > 1 is rejected
                ratios = np.round(rng.uniform(0.2, 1.1 if len(steps) % 20 < 12 else 1.8, 3), 4)
            # the stream's first 14 answers cover too few rows to start a gesture
            may_start = settled(context, 30, 30.0, onset, None if unseen is None else seen)
            events = decider.update(
                probs.astype(np.float32),
                t,
                np.array(at) if table is not None else at,
                ratios,
                np.array(end_at) if table is not None else end_at,
                may_start,
                resumed_after,
                shown,
            )
            step = {
                "t": t,
                "context": context,
                "may_start": may_start,
                "at": at,
                "end_at": end_at,
                "probs": [float(p) for p in probs.astype(np.float32)],
                "events": [dataclasses.asdict(e) for e in events],
            }
            if resumed_after is not None:
                step["resumed_after"] = resumed_after
            if unseen is not None:
                step["seen"], step["shown"] = seen, shown
            if rejection is not None:  # the answer shown, "unknown" when rejected
                step["ratios"] = [float(r) for r in ratios]
                step["label"] = decider.label
            steps.append(step)
            t = round(t + 1 / 30, 6)
    final = [dataclasses.asdict(e) for e in decider.finish(t)]
    case = {
        "name": name,
        "classes": list(classes),
        "background": background,
        "options": dataclasses.asdict(options),
        "onset": onset,
        "placement": placement,
        "threshold": threshold,
        "steps": steps,
        "finish_at": t,
        "finish_events": final,
    }
    if rejection is not None:
        case["rejection"] = rejection.to_dict()
    return case


def _rejection_case() -> tuple[RejectionRule, dict]:
    """A rule calibrated on windows of three classes (one the background), and its
    distances, ratios and answers for known and novel windows."""
    rng = np.random.default_rng(5)
    classes, window, features = ["none", "wave", "clap"], 12, 4
    targets = np.repeat([0, 1, 2], 10)
    centres = rng.normal(0, 1, (3, features))
    windows = (
        centres[targets][:, None, :]
        + rng.normal(0, 0.3, (30, window, features))
        + np.sin(np.arange(window) / 3)[None, :, None] * rng.uniform(0, 1, (30, 1, features))
    ).astype(np.float32)
    groups = [f"subject{i % 5}" for i in range(30)]
    rule = calibrate_rejection(
        windows, targets, classes, groups=groups, false_reject=0.1, background="none"
    )
    novel = rng.normal(0, 2, (3, window, features)).astype(np.float32)
    queries = np.concatenate([windows[[1, 12, 25]], windows[[14]] * 1.5, novel])
    probs = rng.dirichlet(np.ones(3), len(queries))
    probs[:4] += np.eye(3)[[0, 1, 2, 1]] * 3  # the known windows' own class leads
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
    case = {
        "classes": classes,
        "background": "none",
        "rule": rule.to_dict(),
        "windows": [_json_floats(w) for w in queries],
        "shape": [window, features],
        "distances": rule.distances(queries, classes).tolist(),
        "ratios": rule.ratios(queries, classes).tolist(),
        "probs": probs.tolist(),
        "answers": rule.apply(probs, queries, classes, "none").tolist(),
    }
    # a rule of models calibrated before the medians (2026-12-07) still reads the same
    legacy = calibrate_rejection(
        windows,
        targets,
        classes,
        groups=groups,
        false_reject=0.1,
        background="none",
        descriptor="mean_std",
    )
    case["mean_std"] = {
        "rule": legacy.to_dict(),
        "distances": legacy.distances(queries, classes).tolist(),
    }
    return rule, case


def _person_frames(clips: tuple[int, ...], x0: float, scale: float):
    """(T, 33, 3) float32 landmarks and (T, 33) visibility of real ASL clips played one
    after the other, shrunk by `scale` and moved to start at x = `x0`."""
    parts = [_asl_frames(clip, "pose", 30) for clip in clips]
    xyz = np.concatenate([p[0] for p in parts]).astype(np.float64)
    vis = np.concatenate([p[1] for p in parts])
    xyz[..., :2] = xyz[..., :2] * scale
    xyz[..., 0] += x0
    return xyz.astype(np.float32), vis.astype(np.float32)


def _tracking_frames(seed: int) -> list[dict]:
    """Three people made from real ASL recordings, in a shuffled order per frame: a
    leaves at frame 30 (its track ends a second later), b misses frames 35-39 (coasts),
    nobody is found at frame 45, c enters at frame 65, and b jumps across the frame at
    frame 75 (beyond the gate: a new track)."""
    rng = np.random.default_rng(seed)
    a = _person_frames((0, 1, 2), 0.0, 0.4)
    b = _person_frames((3, 4, 5), 0.5, 0.4)
    c = _person_frames((6, 7, 8), 0.3, 0.3)
    frames = []
    for f in range(90):
        people = []
        if f < 30:
            people.append((a[0][f], a[1][f]))
        if not 35 <= f < 40 and f != 45:
            xyz = b[0][f].copy()
            if f >= 75:
                xyz[:, 0] -= 0.45
            people.append((xyz, b[1][f]))
        if f >= 65:
            people.append((c[0][f], c[1][f]))
        people = [people[i] for i in rng.permutation(len(people))]
        frames.append(
            {
                "t": f / 30.0,
                "landmarks": [_json_floats(p[0]) for p in people],
                "visibility": [p[1].astype(np.float64).tolist() for p in people],
            }
        )
    return frames


def _tracking_case(
    name: str, options: TrackerOptions, frames: list[dict], points: list[int] | None = None
) -> dict:
    """`Tracker`'s ids and ended tracks on `frames` (image 640x480), linking people by
    `points` (default all)."""
    tracker = Tracker(options, points)
    ids, ended = [], []
    for frame in frames:
        n = len(frame["landmarks"])
        landmarks = np.array(frame["landmarks"], np.float64).reshape(n, 33, 3)
        visibility = np.array(frame["visibility"], np.float64).reshape(n, 33)
        update = tracker.update(frame["t"], landmarks, visibility, (640, 480))
        ids.append(update.ids.tolist())
        ended.append([[int(i), float(when)] for i, when in update.ended])
    return {
        "name": name,
        "options": dataclasses.asdict(options),
        "points": points,
        "ids": ids,
        "ended": ended,
        "finish": [[int(i), float(when)] for i, when in tracker.finish()],
    }


def _assignment_cases(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    cases = []
    for rows, cols in ((1, 1), (2, 3), (3, 2), (4, 4), (5, 3), (6, 7)):
        cost = np.round(rng.uniform(0, 10, (rows, cols)), 3)
        cost[rng.uniform(size=cost.shape) < 0.2] = 1e6  # forbidden pairs
        cases.append({"cost": cost.tolist(), "pairs": [list(p) for p in linear_assignment(cost)]})
    return cases


def _share_cases() -> list[dict]:
    """The pixels each follower sees blacked out as nearer another person
    (`poseact.extract.people._nearer_others`), as runs [start, end) per row."""
    from poseact.extract.people import _nearer_others

    cases = []
    for own, others, size in (
        ([10.0, 12.0, 22.0, 30.0], [[43.0, 12.0, 54.0, 30.0]], (64, 48)),  # side by side, a tie
        ([20.3, 5.7, 30.1, 20.2], [[2.5, 30.0, 9.5, 44.0], [50.0, 1.0, 70.0, 20.0]], (64, 48)),
        ([20.0, 10.0, 40.0, 30.0], [[30.0, 20.0, 45.0, 40.0]], (64, 48)),  # overlapping
        ([0.0, 0.0, 5.0, 5.0], [[-20.0, 40.0, -5.0, 60.0]], (40, 36)),  # partly outside
    ):
        mask = _nearer_others(np.array(own), [np.array(o) for o in others], size)
        runs = []
        for row in mask:
            edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
            runs.append(edges.reshape(-1, 2).tolist())
        cases.append({"own": own, "others": others, "size": list(size), "runs": runs})
    return cases


def build_vectors() -> dict[str, object]:
    """Every vector file's content, computed by poseact's Python reference."""
    register_layout(WRISTS)
    at_30 = np.arange(14) / 30.0
    at_60 = np.arange(20) / 60.0
    jittered = np.cumsum(np.r_[0.0, np.random.default_rng(3).uniform(0.02, 0.05, 13)])
    featurizer = [
        _featurizer_case("pose 30 fps", NormalizerSpec(layout="pose"), 0, at_30, (640, 480)),
        _featurizer_case(
            "pose 30 fps, nobody for 0.4 s, then back: a new stream",
            NormalizerSpec(layout="pose"),
            0,
            np.arange(26) / 30.0,
            (640, 480),
            drop=tuple(range(4, 16)),
        ),
        _featurizer_case(
            "pose+hands, rotated, 60 fps camera into 30 fps, a dropped frame",
            NormalizerSpec(layout="pose+hands", rotate=True),
            75,
            at_60,
            (1280, 720),
            drop=(5,),
        ),
        _featurizer_case(
            "hands, no z, shoulders centre, irregular timestamps",
            NormalizerSpec(layout="hands", use_z=False, center="shoulders", scale="shoulders"),
            40,
            jittered,
            None,
        ),
        _featurizer_case(
            "custom layout: two wrists, no velocity",
            NormalizerSpec(layout=WRISTS.name, velocity=False, fps=15.0, min_visibility=0.0),
            10,
            at_30,
            (640, 480),
        ),
        _featurizer_case(
            "pose+hands, every stream, standardized, 60 fps camera, a dropped frame",
            _standardized(
                NormalizerSpec(layout="pose+hands", accelerations=True, bones=True, angles=True),
                (0, 30, 60, 75),
                30,
                (1280, 720),
            ),
            75,
            at_60,
            (1280, 720),
            drop=(5,),
        ),
        _featurizer_case(
            "pose, no z, every stream, standardized, irregular timestamps",
            _standardized(
                NormalizerSpec(
                    layout="pose",
                    use_z=False,
                    accelerations=True,
                    bones=True,
                    angles=True,
                    rotate=True,
                ),
                (1, 31, 61),
                30,
                (640, 480),
            ),
            2,
            jittered,
            (640, 480),
        ),
        _featurizer_case(
            "custom layout: two wrists, bones, angles (none: no joint), standardized",
            _standardized(
                NormalizerSpec(layout=WRISTS.name, accelerations=True, bones=True, angles=True),
                (3, 33),
                30,
                (640, 480),
            ),
            10,
            at_30,
            (640, 480),
        ),
        _moving_hand_case(),
        _fingertip_case(),
    ]
    decider = [
        _decider_case(
            "ema with background", ["none", "wave", "clap"], "none", DecisionOptions(), 0
        ),
        _decider_case(
            "majority, low threshold, long cooldown",
            ["a", "b", "c"],
            None,
            DecisionOptions(smoothing="majority", threshold=0.4, min_frames=2, cooldown=1.0),
            1,
        ),
        _decider_case(
            "rejection rule: a best label whose window ratio is above 1 is answered unknown;"
            " the model's stored threshold 0.7, evidence 0.3",
            ["none", "wave", "clap"],
            "none",
            DecisionOptions(reject_starts=True, evidence=0.3),
            2,
            _rejection_case()[0],
            threshold=0.7,
        ),
        _decider_case(
            "a model's rule with the default decisions: starts are not judged (reject_starts"
            " off), the answers are the network's",
            ["none", "wave", "clap"],
            "none",
            DecisionOptions(),
            2,
            _rejection_case()[0],
        ),
        _decider_case(
            "onset 0.3 s: gestures begin 9 rows back and end 21 rows back",
            ["none", "wave", "clap"],
            "none",
            DecisionOptions(),
            3,
            onset=0.3,
        ),
        _decider_case(
            "a placement per class: wave begins 27 rows back and ends 3 rows back, clap"
            " begins 6 rows back and ends 24 rows back, none by the half window",
            ["none", "wave", "clap"],
            "none",
            DecisionOptions(),
            4,
            placement={"wave": [0.9, 0.9], "clap": [0.2, 0.2]},
        ),
        _decider_case(
            "a 2 s gap in the middle of a clap: the clap ends at the last answer before it"
            " and the stream starts over",
            ["none", "wave", "clap"],
            "none",
            DecisionOptions(),
            0,
            resume=30,
        ),
        *(
            _decider_case(
                f"{what}: nothing starts until a window of rows that all showed someone",
                ["none", "wave", "clap"],
                "none",
                DecisionOptions(),
                0,
                unseen=steps,
            )
            for what, steps in (
                ("the wave's first rows show nobody (steps 12-16)", (12, 16)),
                ("nobody shows while 'clap' goes on (steps 32-35): it ends there", (32, 35)),
            )
        ),
    ]
    defaults = {
        "normalizer": {
            k: v
            for k, v in NormalizerSpec().to_dict().items()
            if k not in ("version", "streams_index")  # derived from the layout, not a setting
        },
        "absent_fields": dict(ABSENT_FIELDS),
        "decision": dataclasses.asdict(DecisionOptions()),
    }
    contract = {
        "magic": model_file.TFLITE_MAGIC.decode(),
        "format": model_file.METADATA_FORMAT,
        "version": model_file.METADATA_VERSION,
        "metadataMember": model_file.METADATA_MEMBER,
        "labelsMember": model_file.LABELS_MEMBER,
        "streamMember": model_file.STREAM_MEMBER,
    }
    from poseact.apps.drawing import PERSON_COLORS

    frames = _tracking_frames(7)
    tracking = {
        "defaults": dataclasses.asdict(TrackerOptions()),
        "person_colors": [f"#{r:02x}{g:02x}{b:02x}" for b, g, r in PERSON_COLORS],
        "assignment": _assignment_cases(5),
        "shares": _share_cases(),
        "image_size": [640, 480],
        "frames": frames,
        "cases": [
            _tracking_case("three people, a leave, a miss, a jump", TrackerOptions(), frames),
            _tracking_case(
                "a tighter gate and a shorter memory",
                TrackerOptions(max_distance=0.8, max_missing=0.1),
                frames,
            ),
            _tracking_case(
                "linked by the head and arms only", TrackerOptions(), frames, list(range(23))
            ),
        ],
        "tracked_points": {
            name: tracked_points(get_layout(name)) for name in ("pose", "hands", "pose+hands")
        },
    }
    return {
        "featurizer": featurizer,
        "decider": decider,
        "tracking": tracking,
        "rejection": _rejection_case()[1],
        "defaults": defaults,
        "model_file": contract,
    }


def _text(value) -> str:
    return json.dumps(value, indent=1, sort_keys=True) + "\n"


@pytest.fixture(scope="module")
def vectors() -> dict[str, object]:
    if not ASL.exists():
        pytest.skip(f"{ASL} is missing")
    return build_vectors()


@pytest.mark.parametrize(
    "name", ["featurizer", "decider", "rejection", "defaults", "model_file", "tracking"]
)
def test_committed_vectors_are_what_python_computes(vectors, name):
    path = VECTORS / f"{name}.json"
    assert path.exists(), f"{path} is missing: run python tests/test_vectors.py --write"
    committed = json.loads(path.read_text())
    where = _first_difference(committed, json.loads(_text(vectors[name])))
    assert where is None, (
        f"{path} is stale at {where}: run python tests/test_vectors.py --write after an"
        " intended change"
    )


def _decoded(stored: dict) -> list:
    """A stored rejection-rule array ({dtype, shape, base64}) as a list of numbers."""
    dtype = {"float32": "<f4", "float16": "<f2", "int8": "i1"}[stored["dtype"]]
    return np.frombuffer(base64.b64decode(stored["base64"]), dtype=dtype).tolist()


def _first_difference(a, b, where: str = "") -> str | None:
    """Where two JSON values differ, or None; floats agree within float32 rounding
    (numpy's SIMD paths differ in the last bits from one processor to another)."""
    if isinstance(a, dict) and isinstance(b, dict) and {"base64", "dtype"} <= a.keys():
        if a.get("dtype") == b.get("dtype") == "float16":  # within a float16 step
            same = a["shape"] == b["shape"] and np.allclose(
                _decoded(a), _decoded(b), rtol=2e-3, atol=1e-3
            )
            return None if same else f"{where} (float16 arrays differ)"
        if a.get("dtype") == b.get("dtype") == "int8":  # within one code, scales as numbers
            same = a["shape"] == b["shape"] and np.allclose(_decoded(a), _decoded(b), atol=1)
            if not same:
                return f"{where} (int8 arrays differ)"
            return _first_difference(a.get("scale"), b.get("scale"), f"{where}/scale")
        a, b = ({**d, "base64": _decoded(d)} for d in (a, b))  # arrays compared as numbers
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where or '/'} (keys {sorted(a.keys() ^ b.keys())})"
        found = (_first_difference(a[k], b[k], f"{where}/{k}") for k in sorted(a))
        return next((w for w in found if w is not None), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where or '/'} (length {len(a)} != {len(b)})"
        found = (_first_difference(x, y, f"{where}/{i}") for i, (x, y) in enumerate(zip(a, b)))
        return next((w for w in found if w is not None), None)
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return None if math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) else f"{where} ({a} != {b})"
    return None if a == b else f"{where} ({a!r} != {b!r})"


def test_vectors_exercise_what_they_claim(vectors):
    cases = {case["name"]: case for case in vectors["featurizer"]}
    resampled = cases["pose+hands, rotated, 60 fps camera into 30 fps, a dropped frame"]
    assert sum(len(rows) for rows in resampled["rows"]) == 10  # 20 frames at 60 fps → 10 rows
    assert any(v is None for v in resampled["frames"][5]["landmarks"])
    seen = [s for case in vectors["featurizer"] for frame in case["rows_seen"] for s in frame]
    assert any(seen) and not all(seen)  # frames that showed nobody, and their rows
    back = cases["pose 30 fps, nobody for 0.4 s, then back: a new stream"]
    # the hold (0.25 s) runs out, rows of zeros, then the person is back: a new stream
    # whose first row has no motion, as a stream's first row (the clip's first frame
    # shows nobody either: the person's first frame starts one too)
    assert [i for i, new in enumerate(back["restarted"]) if new] == [1, 16]
    assert back["rows_seen"][11:16] == [[False]] * 5 and back["rows_seen"][16] == [True]
    points = get_layout("pose").num_points * 3
    velocity = slice(points, 2 * points)
    assert not any(back["rows"][16][0][velocity]) and any(back["rows"][17][0][velocity])
    custom = cases["custom layout: two wrists, no velocity"]
    first = custom["rows"][0][0]
    # centred on the wrists' midpoint, scaled by their distance: ±0.5 apart in x, y
    assert abs(math.hypot(first[0] - first[3], first[1] - first[4]) - 1.0) < 1e-5
    events = [e for step in vectors["decider"][0]["steps"] for e in step["events"]]
    assert {e["label"] for e in events} == {"wave", "clap"}  # the background never fires
    assert any(e["end"] is not None for e in events)
    # events are placed at the time the answer is about (`at`), not when it was given
    steps = vectors["decider"][0]["steps"]
    starts = {e["start"] for step in steps for e in step["events"]}
    assert starts <= {step["at"] for step in steps}
    assert starts - {step["t"] for step in steps}
    rejecting = vectors["decider"][2]
    labels = [step["label"] for step in rejecting["steps"]]
    fired = {e["label"] for step in rejecting["steps"] for e in step["events"]}
    assert "unknown" in labels and {"wave", "clap"} & set(labels)  # both answers occur
    assert "unknown" not in fired and fired  # rejected answers never fire
    # with an onset, a gesture that ends ends earlier among the frames than one that
    # begins begins, so events of the same answers are shorter and never overlap
    # the same answers and ratios with reject_starts off: the network's events, no unknown
    default = vectors["decider"][3]
    assert all(a["probs"] == b["probs"] for a, b in zip(rejecting["steps"], default["steps"]))
    assert "unknown" not in {step["label"] for step in default["steps"]}

    plain = Decider(default["classes"], default["background"], DecisionOptions())
    events = [
        dataclasses.asdict(e)
        for step in default["steps"]
        for e in plain.update(np.array(step["probs"], np.float32), step["t"], step["at"],
                              None, step["end_at"], step["may_start"])
    ]  # fmt: skip
    assert events == [e for step in default["steps"] for e in step["events"]]
    assert events != [e for step in rejecting["steps"] for e in step["events"]]
    # the stream's first answers cover too few rows: what they would start waits
    majority = vectors["decider"][1]
    early = [s for s in majority["steps"] if not s["may_start"]]
    assert [s["context"] for s in early] == list(range(1, 15))
    assert not [e for s in early for e in s["events"]]
    eager = Decider(majority["classes"], None, DecisionOptions(**majority["options"]))
    fired = [
        e.label
        for s in early
        for e in eager.update(np.array(s["probs"], np.float32), s["t"], s["at"], None, s["end_at"])
    ]
    assert fired == ["a"]  # an answer above the threshold there, not started
    onset = vectors["decider"][4]
    ended = [e for step in onset["steps"] for e in step["events"] if e["end"] is not None]
    ends = {s["end_at"] for s in onset["steps"]}
    assert ended and all(e["end"] in ends or e["end"] == e["start"] for e in ended)
    assert any(e["end"] in ends and e["end"] != e["start"] for e in ended)
    full = [s for s in onset["steps"] if s["context"] == 30]
    assert all(abs(s["at"] - s["end_at"] - 12 / 30) < 1e-6 for s in full)
    assert all(a["end"] <= b["start"] for a, b in zip(ended, ended[1:]))
    placed = vectors["decider"][5]  # each event placed by its own class's holds
    started = [(e, s) for s in placed["steps"] for e in s["events"] if e["end"] is None]
    at = {c: i for i, c in enumerate(placed["classes"])}
    assert {e["label"] for e, _ in started} == {"wave", "clap"}
    full = [s for s in placed["steps"] if s["context"] == 30]
    assert all(abs(s["t"] - s["at"][at["wave"]] - 26.5 / 30) < 1e-6 for s in full)
    assert all(abs(s["t"] - s["end_at"][at["clap"]] - 23.5 / 30) < 1e-6 for s in full)
    resumed = vectors["decider"][6]  # the same answers as case 0, a gap before step 30
    steps, before = resumed["steps"], vectors["decider"][0]["steps"]
    assert [s["probs"] for s in steps] == [s["probs"] for s in before]
    gap = steps[30]
    assert gap["resumed_after"] == steps[29]["t"] and gap["t"] - steps[29]["t"] > 2.0
    began = [(e["label"], e["start"]) for s in steps[:30] for e in s["events"] if e["end"] is None]
    assert began[-1][0] == "clap"  # going on at the gap: it ended at the answer before it
    assert [(e["label"], e["start"], e["end"]) for e in gap["events"]][:1] == [
        (*began[-1], gap["resumed_after"])
    ]
    assert [s["context"] for s in steps[30:44]] == list(range(1, 15))
    assert not [e for s in steps[30:44] for e in s["events"] if e["end"] is None]
    assert not [e for s in steps[31:44] for e in s["events"]]  # a new stream: nothing starts
    assert any(e["end"] is None for s in steps[44:] for e in s["events"])  # later, it does
    unseen = vectors["decider"][7]  # case 0's answers; rows 12-16 showed nobody
    steps = unseen["steps"]
    assert [s["probs"] for s in steps] == [s["probs"] for s in before]
    assert [s["seen"] for s in steps[11:19]] == [12, 0, 0, 0, 0, 0, 1, 2]
    began = lambda case: [s["t"] for s in case[12:46] for e in s["events"] if e["end"] is None]  # noqa: E731
    assert began(before) and not began(steps)  # wave and clap start with all rows seen
    assert all(not s["may_start"] for s in steps[12:46]) and steps[46]["may_start"]
    assert any(e["end"] is None for s in steps[46:] for e in s["events"])
    # "clap" going on when nobody shows ends among the unseen rows (as when the network
    # stops answering it, its end placed as any); with someone in view it went on
    left = vectors["decider"][8]["steps"]
    assert [s["probs"] for s in left] == [s["probs"] for s in before]
    ended = [(s["t"], e) for s in left[32:36] for e in s["events"]]
    assert [e["label"] for _, e in ended] == ["clap"] and ended[0][1]["end"] is not None
    assert ended[0][1]["start"] == next(e["start"] for e in before[28]["events"])
    assert not [e for s in before[32:41] for e in s["events"]]  # it ended at step 41
    tracking = vectors["tracking"]["cases"][0]
    ids = tracking["ids"]
    assert sorted(ids[29]) == [0, 1] and ids[30] == [0]  # a leaves; b keeps its id
    assert ids[35] == [] and ids[40] == [0]  # b coasts through its miss
    assert [[when for _, when in e] for e in tracking["ended"] if e] == [[29 / 30]]
    assert sorted(ids[65]) == [0, 2] and sorted(ids[75]) == [2, 3]  # c enters; b jumps
    assert {a for pair in vectors["tracking"]["assignment"] for a in map(len, pair["cost"])} > {1}
    side, _, overlapping, _ = vectors["tracking"]["shares"]
    assert side["runs"][20] == [[33, 64]]  # 32.5 is as near both boxes: not blacked out
    assert overlapping["runs"][25] == [[40, 64]]  # inside both boxes (30-39): the own one wins
    rule = vectors["rejection"]
    answers = rule["answers"]
    assert "unknown" in answers and {"wave", "clap"} & set(answers)
    assert all(0 < t for t in rule["rule"]["thresholds"].values())
    assert rule["rule"]["descriptor"] == "median_mad" and rule["shape"][0] % 2 == 0
    assert rule["mean_std"]["rule"]["descriptor"] == "mean_std"
    assert not np.allclose(rule["distances"], rule["mean_std"]["distances"])


def test_javascript_matches_the_vectors():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--test", str(HERE / "web" / "vectors.test.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_vectors.py --write")
    VECTORS.mkdir(exist_ok=True)
    for name, value in build_vectors().items():
        (VECTORS / f"{name}.json").write_text(_text(value))
        print(f"wrote {VECTORS / name}.json")
