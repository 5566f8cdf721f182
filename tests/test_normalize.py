"""Normalizer: invariances, resampling by timestamps, missing data, streaming twin."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poseact.core.layouts import get_layout
from poseact.core.sequence import LandmarkSequence
from poseact.data.augment import (
    AugmentOptions,
    augment_positions,
    augment_windows,
    mirror_positions,
)
from poseact.normalize.normalizer import Normalizer, normalize_frames
from poseact.normalize.spec import NormalizerSpec
from poseact.normalize.streaming import StreamingFeaturizer

SETTINGS = settings(max_examples=40, deadline=None)


def _body(seed: int = 0) -> np.ndarray:
    """(33, 3) a plausible upright body in normalized image coordinates."""
    rng = np.random.default_rng(seed)
    body = np.zeros((33, 3), np.float32)
    body[:, 0] = 0.5 + rng.normal(0, 0.03, 33)
    body[:, 1] = np.linspace(0.2, 0.9, 33)
    body[:, 2] = rng.normal(0, 0.02, 33)
    body[11], body[12] = (0.56, 0.35, 0.0), (0.44, 0.35, 0.0)  # shoulders
    body[23], body[24] = (0.54, 0.62, 0.0), (0.46, 0.62, 0.0)  # hips
    return body


def _moving_clip(fps: float, duration: float = 2.0, *, seed: int = 0, size=(640, 480)):
    """A body whose arms swing slowly (0.8 Hz), sampled at `fps`."""
    n = int(round(duration * fps)) + 1
    t = np.arange(n) / fps
    body = _body(seed)
    lm = np.repeat(body[None], n, axis=0)
    swing = 0.06 * np.sin(2 * np.pi * 0.8 * t)
    for k in (13, 15, 17, 19, 21):  # left arm
        lm[:, k, 1] -= swing
    for k in (14, 16, 18, 20, 22):
        lm[:, k, 0] += swing
    return LandmarkSequence(
        timestamps=t, landmarks=lm, visibility=np.ones((n, 33)), image_size=size
    )


@given(
    dx=st.floats(-0.3, 0.3),
    dy=st.floats(-0.3, 0.3),
    scale=st.floats(0.3, 3.0),
    seed=st.integers(0, 100),
)
@SETTINGS
def test_features_do_not_depend_on_position_or_size_in_the_image(dx, dy, scale, seed):
    clip = _moving_clip(30, 1.0, seed=seed)
    moved = clip.landmarks * np.float32(scale) + np.array([dx, dy, 0], np.float32)
    other = clip.replace(landmarks=moved)
    n = Normalizer()
    assert np.allclose(n.transform(clip), n.transform(other), atol=2e-4)


def test_aspect_ratio_of_the_camera_is_undone():
    """The same body filmed by a 4:3 and a 16:9 camera gives the same features."""
    clip = _moving_clip(30, 1.0)
    pixels = clip.landmarks * np.array([640, 480, 640], np.float32)  # 4:3 frame
    offset = np.array([(1280 - 640) / 2, (720 - 480) / 2, 0], np.float32)
    wide = (pixels + offset) / np.array([1280, 720, 1280], np.float32)  # 16:9 frame
    n = Normalizer()
    a = n.transform(clip)
    b = n.transform(clip.replace(landmarks=wide, image_size=(1280, 720)))
    assert np.allclose(a, b, atol=1e-4)


@given(rotate=st.booleans(), use_z=st.booleans(), velocity=st.booleans())
@settings(max_examples=8, deadline=None)
def test_resampling_makes_15_30_60_fps_clips_agree(rotate, use_z, velocity):
    spec = NormalizerSpec(rotate=rotate, use_z=use_z, velocity=velocity)
    n = Normalizer(spec)
    reference = n.transform(_moving_clip(30))
    assert reference.shape == (30, spec.frame_features)
    for fps, tolerance in ((60, 1e-5), (15, 0.02)):
        other = n.transform(_moving_clip(fps))
        assert np.max(np.abs(other - reference)) < tolerance, fps


def test_resampling_follows_timestamps_not_frame_counts():
    """Irregular timestamps (dropped frames) land on the same 30 fps grid."""
    clip = _moving_clip(60)
    keep = np.ones(len(clip), bool)
    keep[np.random.default_rng(0).choice(len(clip), 40, replace=False)] = False
    keep[[0, -1]] = True
    dropped = LandmarkSequence(
        timestamps=clip.timestamps[keep],
        landmarks=clip.landmarks[keep],
        visibility=clip.visibility[keep],
        image_size=clip.image_size,
    )
    n = Normalizer()
    assert np.max(np.abs(n.transform(dropped) - n.transform(clip))) < 0.02


@given(
    mask=st.lists(st.booleans(), min_size=12, max_size=12),
    points=st.lists(st.integers(0, 32), max_size=10),
)
@SETTINGS
def test_no_nan_out_when_at_least_one_frame_is_valid(mask, points):
    clip = _moving_clip(30, 11 / 30)  # 12 frames
    lm = clip.landmarks.copy()
    missing = ~np.array(mask)
    if missing.all():
        missing[0] = False
    lm[missing] = np.nan
    lm[:, points] = np.nan
    vis = np.where(np.isnan(lm[..., 0]), 0.0, 1.0)
    out = Normalizer().transform(clip.replace(landmarks=lm, visibility=vis))
    assert np.all(np.isfinite(out))


def test_short_gaps_are_interpolated_long_gaps_become_zero():
    spec = NormalizerSpec(max_gap=0.2, velocity=False, window=60)
    clip = _moving_clip(30)
    lm = clip.landmarks.copy()
    lm[10:13] = np.nan  # 0.1 s gap: filled
    lm[30:45] = np.nan  # 0.5 s gap: left empty
    gappy = clip.replace(landmarks=lm)
    n = Normalizer(spec)
    full, holes = n.positions(clip), n.positions(gappy)
    # window 60 of the 61-frame grid, centre crop starts at frame 0
    assert np.allclose(holes[10:13], full[10:13], atol=0.03)  # linear vs sine
    assert np.all(np.isnan(holes[31:44]))
    assert np.all(n.transform(gappy)[31:44] == 0)


def test_low_visibility_points_count_as_missing():
    clip = _moving_clip(30, 1.0)
    vis = clip.visibility.copy()
    vis[:, 15] = 0.1  # left wrist barely seen
    frames = normalize_frames(clip.landmarks, vis, NormalizerSpec(), clip.image_size)
    assert np.all(np.isnan(frames[:, 15])) and np.all(np.isfinite(frames[:, 16]))


def test_body_centre_falls_back_to_shoulders_when_hips_are_hidden():
    clip = _moving_clip(30, 1.0)
    vis = clip.visibility.copy()
    vis[:, [23, 24]] = 0.0
    spec = NormalizerSpec()
    with_hips = normalize_frames(clip.landmarks, clip.visibility, spec, clip.image_size)
    without = normalize_frames(clip.landmarks, vis, spec, clip.image_size)
    upper = [0, 11, 12, 13, 14, 15, 16]
    # torso length estimated from shoulder width, so close but not exact
    assert np.all(np.isfinite(without[:, upper]))
    assert np.max(np.abs(without[:, upper] - with_hips[:, upper])) < 1.0


def test_rotation_levels_the_shoulders():
    clip = _moving_clip(30, 1.0).replace(image_size=None)  # square: rotation stays rigid
    centre = clip.landmarks[:, [23, 24]].mean(axis=1, keepdims=True)
    angle = np.deg2rad(25)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    tilted = clip.landmarks.copy()
    tilted[..., :2] = (clip.landmarks[..., :2] - centre[..., :2]) @ rot.T + centre[..., :2]
    n = Normalizer(NormalizerSpec(rotate=True))
    frames = n.positions(clip.replace(landmarks=tilted))
    assert np.allclose(frames[:, 11, 1], frames[:, 12, 1], atol=1e-5)
    assert np.allclose(n.positions(clip), frames, atol=1e-3)


@given(seed=st.integers(0, 1000))
@SETTINGS
def test_mirror_twice_is_identity(seed):
    p = np.random.default_rng(seed).normal(size=(7, 33, 3)).astype(np.float32)
    assert np.array_equal(mirror_positions(mirror_positions(p, "pose"), "pose"), p)
    h = np.random.default_rng(seed).normal(size=(7, 75, 3)).astype(np.float32)
    assert np.array_equal(mirror_positions(mirror_positions(h, "pose+hands"), "pose+hands"), h)


def test_mirror_swaps_left_and_right():
    p = Normalizer().positions(_moving_clip(30, 1.0))
    m = mirror_positions(p, "pose")
    assert np.allclose(m[:, 15, 0], -p[:, 16, 0])  # left wrist ← right wrist, x negated
    assert np.allclose(m[:, 15, 1], p[:, 16, 1])


def test_augmentation_is_seeded_and_keeps_shapes():
    p = Normalizer().resampled(_moving_clip(30))
    a = augment_positions(p, "pose", AugmentOptions(), np.random.default_rng(3))
    b = augment_positions(p, "pose", AugmentOptions(), np.random.default_rng(3))
    assert np.array_equal(a, b, equal_nan=True)
    assert a.shape[1:] == p.shape[1:]
    same = augment_positions(p, "pose", AugmentOptions.none(), np.random.default_rng(3))
    assert np.array_equal(same, p)


def test_a_batch_of_windows_gets_one_draw_per_window(asl_split):
    """augment_windows (how training augments): each window of a batch its own rotation,
    scale and noise; a mirror draw swaps left and right; the input is not touched."""
    train, _ = asl_split
    n = Normalizer(NormalizerSpec(layout="pose", window=30))
    window = n.positions(train.sequences[0])  # a real recording, (30, 33, 3)
    batch = np.stack([window] * 64)
    before = batch.copy()
    options = AugmentOptions(rotation_degrees=20.0, scale=0.2, jitter=0.0, point_dropout=0.0)
    out = augment_windows(batch, "pose", options, np.random.default_rng(0))
    assert out.shape == batch.shape and out.dtype == np.float32
    assert np.array_equal(batch, before, equal_nan=True)
    nose = get_layout("pose").index("NOSE")
    spread = np.std(out[:, :, nose, 0], axis=0)  # the same frame, 64 draws
    assert spread.min() > 0.01, "every window drew the same transform"
    again = augment_windows(batch, "pose", options, np.random.default_rng(0))
    assert np.array_equal(out, again, equal_nan=True)
    mirrored = augment_windows(
        batch,
        "pose",
        dataclasses.replace(AugmentOptions.none(), mirror=1.0),
        np.random.default_rng(1),
    )
    assert np.array_equal(mirrored, mirror_positions(batch, "pose"), equal_nan=True)
    masked = augment_windows(
        batch,
        "pose",
        dataclasses.replace(AugmentOptions.none(), time_mask=0.5),
        np.random.default_rng(2),
    )
    hidden = np.isnan(masked).all(axis=(2, 3)) & ~np.isnan(batch).all(axis=(2, 3))
    assert 0 < hidden.sum(axis=1).max() <= 15 and len(set(hidden.sum(axis=1))) > 1


def test_segment_sampling_spans_the_whole_clip():
    n = Normalizer(NormalizerSpec(sampling="segments", window=10))
    clip = _moving_clip(30, 3.0)
    grid = n.resampled(clip)
    window = n.window(grid)
    assert window.shape[0] == 10
    assert np.allclose(window[0], grid[4]) and np.allclose(window[-1], grid[86])


def test_short_clips_are_padded_at_the_front():
    n = Normalizer(NormalizerSpec(window=30))
    clip = _moving_clip(30, 0.5)  # 16 frames
    p = n.positions(clip)
    assert p.shape[0] == 30
    assert np.allclose(p[:14], p[14])
    assert np.allclose(p[14:], n.resampled(clip))


def test_streaming_featurizer_matches_the_offline_normalizer():
    spec = NormalizerSpec(window=61)
    clip = _moving_clip(60)
    stream = StreamingFeaturizer(spec)
    rows = np.concatenate(
        [
            stream.push(t, lm, v, clip.image_size)
            for t, lm, v in zip(clip.timestamps, clip.landmarks, clip.visibility)
        ]
    )
    offline = Normalizer(spec).transform(clip)
    assert rows.shape == offline.shape == (61, spec.frame_features)
    assert np.max(np.abs(rows - offline)) < 1e-5


def test_a_live_window_of_the_first_rows_is_the_offline_window_of_the_clip_so_far():
    """Until W rows have come, the live window (`RowWindow`) is padded as the offline
    window of the frames so far: every stream, standardized, on a real recording."""
    from conftest import load_asl_signs

    from poseact.normalize.fitting import fit_normalizer
    from poseact.runtime.steppers import RowWindow

    data = load_asl_signs("pose")
    spec = NormalizerSpec(
        fps=30.0, window=30, sampling="end", accelerations=True, bones=True, angles=True
    )
    normalizer, _ = fit_normalizer(spec, data.sequences[:40])
    clip = data.sequences[50]
    stream, rows = StreamingFeaturizer(normalizer.spec), RowWindow(30)
    for k, (t, lm, v) in enumerate(zip(clip.timestamps, clip.landmarks, clip.visibility)):
        for row in stream.push(float(t), lm, v, clip.image_size):
            rows.push(row)
        if k in (0, 5, 12):
            offline = normalizer.transform(clip.between(0.0, float(t) + 0.5 / 30))
            assert np.max(np.abs(rows.window() - offline)) < 1e-5


def test_streaming_holds_short_gaps_and_rejects_time_going_back():
    spec = NormalizerSpec(max_gap=0.1)
    stream = StreamingFeaturizer(spec)
    clip = _moving_clip(30, 1.0)
    first = stream.push(0.0, clip.landmarks[0], clip.visibility[0])
    held = stream.push(1 / 30, np.full((33, 3), np.nan), np.zeros(33))
    # held from the previous frame: its positions (and so its angles) ...
    assert np.array_equal(held[0, :99], first[0, :99])
    assert np.array_equal(held[0, 198:], first[0, 198:])
    assert np.all(held[0, 99:198] == 0)  # ... and no motion while held
    gone = stream.push(0.5, np.full((33, 3), np.nan), np.zeros(33))
    assert np.all(gone[-1] == 0)
    with pytest.raises(Exception, match="must increase"):
        stream.push(0.2, clip.landmarks[0], clip.visibility[0])


def test_spec_round_trips_through_json_and_validates():
    spec = NormalizerSpec(layout="pose+hands", fps=25.0, window=20, rotate=True)
    back = NormalizerSpec.from_dict(json.loads(spec.to_json()))
    # positions and velocities of 75 points, 10 body angles and 19 per hand, and the
    # path: 3 root velocities (body, 2 hands), the 3 roots relative to their trailing
    # means and 2 hands relative to the body, x and y
    assert back == spec and back.frame_features == 75 * 3 * 2 + 10 + 2 * 19 + 3 * 4 + 2 * 2
    # a spec written before joint angles were on by default (or existed) has none
    old = spec.to_dict()
    del old["angles"], old["streams_index"]
    assert NormalizerSpec.from_dict(old) == dataclasses.replace(spec, angles=False)
    with pytest.raises(ValueError):
        NormalizerSpec(window=0)
    with pytest.raises(ValueError):
        NormalizerSpec(sampling="random")
    with pytest.raises(TypeError):
        NormalizerSpec.from_dict({"version": 1, "colour": "red"})


def test_the_callers_sequence_is_never_modified():
    clip = _moving_clip(30, 1.0)
    before = clip.landmarks.copy()
    Normalizer(NormalizerSpec(rotate=True)).transform(clip)
    assert np.array_equal(clip.landmarks, before)


def test_hands_are_centred_on_the_wrist_and_scaled_by_the_palm():
    rng = np.random.default_rng(0)
    hand = rng.random((1, 21, 3)).astype(np.float32) * 0.1 + 0.4
    both = np.concatenate([hand, hand * 0.5 + 0.1], axis=1)  # right hand smaller, moved
    frames = normalize_frames(both, np.ones((1, 42)), NormalizerSpec(layout="hands"))
    assert np.allclose(frames[0, 0], 0) and np.allclose(frames[0, 21], 0)
    assert np.allclose(frames[0, :21], frames[0, 21:], atol=1e-5)
    assert np.isclose(np.hypot(*frames[0, 9, :2]), 1.0)
