"""Fuzzing (issue 6): loaders only ever raise poseact errors; the normalizer never NaNs.

- Landmark and dataset loaders (numpy only) get random bytes (hypothesis) and a few
  hundred mutations of real files, in this process.
- Model loaders (LiteRT, Keras) get mutated real models in a child process, so that a
  native crash (a segfault) fails the test, naming the input, instead of killing pytest.
- The normalizer gets arbitrary landmark arrays, layouts and settings (hypothesis); the
  properties in tests/test_normalize.py (pose translation/scale invariance, mirror twice,
  15/30/60 fps resampling, no NaN with some valid frames) are not repeated here.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from poseact.core.errors import PoseactError
from poseact.core.layouts import LAYOUTS
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset, read_landmark_csv, write_landmark_csv
from poseact.loading import load_dataset, load_sequence
from poseact.normalize.normalizer import Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.normalize.streaming import StreamingFeaturizer

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------------- mutations
def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random byte-level change: flips, a truncation, an overwrite, an insertion."""
    b = bytearray(data)
    kind = rng.choice(["flip", "truncate", "overwrite", "insert", "delete"])
    if not b or kind == "insert":
        at = rng.randrange(len(b) + 1)
        b[at:at] = rng.randbytes(rng.randint(1, 64))
    elif kind == "flip":
        for _ in range(rng.randint(1, 16)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "truncate":
        del b[rng.randrange(len(b)) :]
    elif kind == "overwrite":
        at = rng.randrange(len(b))
        b[at : at + rng.randint(1, 512)] = rng.randbytes(rng.randint(1, 512))
    else:
        at = rng.randrange(len(b))
        del b[at : at + rng.randint(1, 64)]
    return bytes(b)


def random_json(rng: random.Random, depth: int = 0):
    choices = [None, True, -1, 0, 3, 10**12, 0.5, float("nan"), "", "pose", "hands", "ü"]
    if depth < 2:
        choices += [[random_json(rng, depth + 1)], {"window": random_json(rng, depth + 1)}]
    return rng.choice(choices)


def rezip(data: bytes, rng: random.Random, *, json_member: str | None = None) -> bytes:
    """A valid zip (correct CRCs) with one member changed: poseact.json gets a random
    value under a random key, .npy headers get random characters, others `mutate`."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {info.filename: zf.read(info.filename) for info in zf.infolist()}
    name = json_member if json_member and rng.random() < 0.5 else rng.choice(sorted(members))
    content = members[name]
    if name.endswith(".json"):
        meta = json.loads(content)
        target = meta
        while isinstance(target, dict) and rng.random() < 0.4:
            nested = [k for k, v in target.items() if isinstance(v, dict)]
            if not nested:
                break
            target = target[rng.choice(nested)]
        if isinstance(target, dict) and target:
            key = rng.choice(sorted(target))
            if rng.random() < 0.2:
                del target[key]
            else:
                target[key] = random_json(rng)
        content = json.dumps(meta).encode()
    elif name.endswith(".npy") and rng.random() < 0.5:
        end = content.index(b"\n") + 1
        header = bytearray(content[:end])
        for _ in range(rng.randint(1, 3)):
            header[rng.randrange(10, end - 1)] = rng.choice(b"0123456789(),'{}: <>fuiUS")
        content = bytes(header) + content[end:]
    else:
        content = mutate(content, rng)
    members[name] = content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, value in members.items():
            zf.writestr(member, value)
    return out.getvalue()


# ---------------------------------------------------------------------- landmark loaders
@pytest.fixture(scope="module")
def landmark_files(tmp_path_factory, asl_dataset) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fuzz-files")
    seq = asl_dataset.sequences[0].replace(world=np.zeros((30, 33, 3)))
    return {
        "sequence": seq.save(folder / "clip.npz"),
        "dataset": asl_dataset.subset(range(6)).save(folder / "signs.npz"),
        "csv": write_landmark_csv(asl_dataset.sequences[1], folder / "clip.csv"),
    }


LOADERS = {
    ".npz": [LandmarkSequence.load, Dataset.load, load_sequence, load_dataset],
    ".csv": [read_landmark_csv, load_sequence],
}


def check_loaders(path: Path) -> int:
    """Run every loader for `path`'s suffix; returns how many accepted it."""
    accepted = 0
    for load in LOADERS[path.suffix]:
        try:
            result = load(path)
        except PoseactError:
            continue
        assert isinstance(result, (LandmarkSequence, Dataset))
        accepted += 1
    return accepted


@given(data=st.binary(max_size=4096), prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY"]))
@FUZZ
def test_random_bytes_into_landmark_and_dataset_loaders(tmp_path_factory, data, prefix):
    folder = tmp_path_factory.mktemp("random", numbered=True)
    for suffix in LOADERS:
        path = folder / f"random{suffix}"
        path.write_bytes(prefix + data)
        assert check_loaders(path) == 0


@pytest.mark.parametrize("kind", ["sequence", "dataset", "csv"])
def test_mutated_landmark_and_dataset_files(landmark_files, tmp_path, kind):
    source = landmark_files[kind]
    data = source.read_bytes()
    rng = random.Random(f"poseact-{kind}")
    for i in range(250):
        if source.suffix == ".npz" and i % 2:
            bad = rezip(data, rng)
        elif source.suffix == ".csv" and i % 2:
            bad = _mutate_csv(data.decode(), rng).encode("utf-8", "surrogatepass")
        else:
            bad = mutate(data, rng)
        path = tmp_path / f"mutant{source.suffix}"
        path.write_bytes(bad)
        try:
            check_loaders(path)
        except Exception as exc:  # report the input that broke a loader
            keep = tmp_path / f"failing-{i}{source.suffix}"
            keep.write_bytes(bad)
            raise AssertionError(f"{type(exc).__name__} for {keep}: {exc}") from exc


def _mutate_csv(text: str, rng: random.Random) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    for _ in range(rng.randint(1, 4)):
        row = rng.randrange(len(rows))
        action = rng.choice(["cell", "drop-row", "dup-row", "swap", "drop-col", "junk"])
        if action == "cell":
            col = rng.randrange(len(rows[row]))
            rows[row][col] = rng.choice(
                ["", "nan", "inf", "-inf", "1e999", "-", "abc", '"', "0x10", "١", "\x00", " "]
            )
        elif action == "drop-row" and len(rows) > 1:
            del rows[row]
        elif action == "dup-row":
            rows.insert(row, list(rows[row]))
        elif action == "swap":
            other = rng.randrange(len(rows))
            rows[row], rows[other] = rows[other], rows[row]
        elif action == "drop-col":
            col = rng.randrange(len(rows[0]))
            for r in rows:
                if col < len(r):
                    del r[col]
        else:
            rows[row].append(rng.choice(["x", "", "\ud800", "\x00", '"unterminated']))
    return "\n".join(",".join(r) for r in rows) + "\n"


# ---------------------------------------------------------------------- model loaders
_MODEL_FUZZ = """
import io, json, random, sys, traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, sys.argv[1])
from helpers import archive_start
from test_fuzz import mutate, rezip

from poseact.core.errors import PoseactError
from poseact.loading import load_model
from poseact.core.sequence import LandmarkSequence

tflite, poseact_model, out = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
counts = {"tflite": int(sys.argv[5]), "poseact": int(sys.argv[6])}
rng = random.Random("poseact-models")
clip = LandmarkSequence.from_array(np.random.default_rng(0).random((12, 33, 3)), fps=30)
log = open(out / "progress.log", "w")
failures, outcomes = [], {}
for kind, source in (("tflite", tflite), ("poseact", poseact_model)):
    data = source.read_bytes()
    start = archive_start(data)  # 0 for a .poseact, which is a zip from its first byte
    for i in range(counts[kind]):
        how = rng.choice(["bytes", "bytes", "zip", "random", "noise"])
        if how == "bytes":
            bad = mutate(data, rng)
        elif how == "zip":
            bad = data[:start] + rezip(data[start:], rng, json_member="poseact.json")
        elif how == "random":  # TFLite magic, then noise: reaches the flatbuffer checks
            bad = b"\\x1c\\x00\\x00\\x00TFL3" + rng.randbytes(rng.randint(0, 4096))
        else:  # random bytes, sometimes with a zip signature first
            bad = rng.choice([b"", b"PK\\x03\\x04"]) + rng.randbytes(rng.randint(0, 4096))
        path = out / f"current.{kind}"
        path.write_bytes(bad)
        print(kind, i, how, file=log, flush=True)
        try:
            model = load_model(path)
            model.predict_proba([clip])
            if hasattr(model, "stepper"):
                stepper = model.stepper()
                for _ in range(3):
                    stepper.step(np.zeros(model.spec.frame_features, np.float32))
            outcome = "loaded"
        except PoseactError as exc:
            outcome = type(exc).__name__
        except Exception as exc:
            outcome = "RAW " + type(exc).__name__
            keep = out / f"failing-{kind}-{i}"
            keep.write_bytes(bad)
            failures.append(f"{keep}: {type(exc).__name__}: {exc}")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
print(json.dumps({"failures": failures, "outcomes": outcomes}))
"""


def test_mutated_models_never_crash_the_interpreter(asl_tflite, asl_gru, tmp_path):
    """Mutated exported models (LiteRT) and saved classifiers (Keras), in a child process:
    a segfault is reported with the input that caused it."""
    classifier = asl_gru.save(tmp_path / "signs.poseact")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _MODEL_FUZZ,
            str(Path(__file__).parent),
            str(asl_tflite[0]),
            str(classifier),
            str(tmp_path),
            "300",
            "40",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        progress = (tmp_path / "progress.log").read_text().splitlines()
        last = progress[-1] if progress else "before the first input"
        kind = last.split()[0] if progress else "tflite"
        pytest.fail(
            f"the model loaders crashed (exit code {result.returncode}) on input"
            f" {last!r}, kept as {tmp_path / ('current.' + kind)}:\n{result.stderr[-3000:]}"
        )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], report
    assert sum(report["outcomes"].values()) == 340 and report["outcomes"]["ModelFormatError"] > 200


# ---------------------------------------------------------------------- the normalizer
@st.composite
def any_sequence(draw):
    """Arbitrary landmarks: any layout, irregular timestamps, holes, odd values."""
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    k = LAYOUTS[layout].num_points
    t = draw(st.integers(1, 24))
    gaps = draw(hnp.arrays(np.float64, t, elements=st.floats(1e-3, 0.5)))
    coords = st.floats(-10, 10, width=32) | st.sampled_from([0.0, 0.5, 1e-7, -1e4, 1e4])
    landmarks = draw(hnp.arrays(np.float32, (t, k, 3), elements=coords))
    if draw(st.booleans()):  # all points of a frame on one spot: a body of size 0
        landmarks[draw(st.integers(0, t - 1))] = 0.5
    holes = draw(hnp.arrays(np.bool_, (t, k)))
    landmarks[holes] = np.nan
    visibility = draw(hnp.arrays(np.float32, (t, k), elements=st.floats(0, 1, width=32)))
    size = draw(st.none() | st.tuples(st.integers(1, 8000), st.integers(1, 8000)))
    return LandmarkSequence(
        timestamps=np.cumsum(gaps) - gaps[0],
        landmarks=landmarks,
        visibility=visibility,
        layout=layout,
        image_size=size,
    )


@st.composite
def any_spec(draw, layout: str):
    return NormalizerSpec(
        layout=layout,
        fps=draw(st.sampled_from([5.0, 15.0, 30.0, 60.0])),
        window=draw(st.integers(1, 40)),
        sampling=draw(st.sampled_from(["center", "end", "segments"])),
        center=draw(st.sampled_from(["hips", "shoulders"])),
        scale=draw(st.sampled_from(["torso", "shoulders"])),
        rotate=draw(st.booleans()),
        use_z=draw(st.booleans()),
        min_visibility=draw(st.sampled_from([0.0, 0.3, 1.0])),
        max_gap=draw(st.sampled_from([0.0, 0.25, 5.0])),
        velocity=draw(st.booleans()),
    )


@given(data=st.data())
@settings(max_examples=120, deadline=None)
def test_normalizer_outputs_finite_features_for_any_input(data):
    sequence = data.draw(any_sequence())
    spec = data.draw(any_spec(sequence.layout))
    features = Normalizer(spec).transform(sequence)
    assert features.shape == (spec.window, spec.frame_features)
    assert np.all(np.isfinite(features))
    stream = StreamingFeaturizer(spec)
    for t, lm, vis in zip(sequence.timestamps, sequence.landmarks, sequence.visibility):
        rows = stream.push(t, lm, vis, sequence.image_size)
        assert rows.shape[1:] == (spec.frame_features,) and np.all(np.isfinite(rows))


def _hands_clip(seed: int, frames: int = 10) -> np.ndarray:
    """(T, 42, 3) two plausible hands: fingers spread from the wrist, moving a little."""
    rng = np.random.default_rng(seed)
    hand = np.zeros((21, 3), np.float32)
    angles = np.linspace(-0.8, 0.8, 20)
    lengths = rng.uniform(0.05, 0.12, 20)
    hand[1:, 0] = np.sin(angles) * lengths
    hand[1:, 1] = -np.cos(angles) * lengths
    hand[1:, 2] = rng.normal(0, 0.01, 20)
    both = np.concatenate([hand + [0.3, 0.6, 0], hand * [-1, 1, 1] + [0.7, 0.6, 0]])
    drift = np.linspace(0, 0.05, frames)[:, None, None] * rng.normal(0, 1, (1, 42, 3))
    return (both[None] + drift).astype(np.float32)


@given(
    dx=st.floats(-0.3, 0.3),
    dy=st.floats(-0.3, 0.3),
    scale=st.floats(0.3, 3.0),
    seed=st.integers(0, 100),
    layout=st.sampled_from(["hands", "pose+hands"]),
)
@settings(max_examples=40, deadline=None)
def test_hand_features_do_not_depend_on_position_or_size(dx, dy, scale, seed, layout):
    hands = _hands_clip(seed)
    if layout == "pose+hands":
        body = np.random.default_rng(seed).uniform(0.3, 0.7, (1, 33, 3)).astype(np.float32)
        body[0, [11, 12, 23, 24]] = [[0.6, 0.3, 0], [0.4, 0.3, 0], [0.58, 0.7, 0], [0.42, 0.7, 0]]
        hands = np.concatenate([np.repeat(body, len(hands), axis=0), hands], axis=1)
    clip = LandmarkSequence.from_array(hands, fps=30, layout=layout)
    moved = clip.replace(landmarks=clip.landmarks * np.float32(scale) + np.float32([dx, dy, 0]))
    n = Normalizer(NormalizerSpec(layout=layout))
    np.testing.assert_allclose(n.transform(moved), n.transform(clip), rtol=1e-3, atol=1e-3)


@given(angle=st.floats(-1.0, 1.0), cx=st.floats(0, 1), cy=st.floats(0, 1), seed=st.integers(0, 50))
@settings(max_examples=40, deadline=None)
def test_rotate_makes_pose_features_independent_of_camera_roll(angle, cx, cy, seed):
    """With rotate=True, a body rolled in the image plane gives the same features."""
    rng = np.random.default_rng(seed)
    body = rng.uniform(0.35, 0.65, (8, 33, 3)).astype(np.float32)
    body[:, [11, 12, 23, 24]] = [[0.6, 0.3, 0], [0.4, 0.3, 0], [0.58, 0.7, 0], [0.42, 0.7, 0]]
    clip = LandmarkSequence.from_array(body, fps=30)
    c, s = np.cos(angle), np.sin(angle)
    x, y = body[..., 0] - cx, body[..., 1] - cy
    rolled = body.copy()
    rolled[..., 0], rolled[..., 1] = c * x - s * y + cx, s * x + c * y + cy
    n = Normalizer(NormalizerSpec(rotate=True))
    np.testing.assert_allclose(
        n.transform(clip.replace(landmarks=rolled)), n.transform(clip), atol=2e-4
    )
