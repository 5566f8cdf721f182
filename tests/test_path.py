"""The path stream: where the hand and the body go (docs/normalizer.md, "Shape and path").

Real hands (MediaPipe on the test video, `datasets/hand_paths`) carried along real
fingertip tracks; real Keras training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from poseact.core.sequence import LandmarkSequence
from poseact.data.augment import mirror_positions
from poseact.data.hand_paths import hand_path_dataset, lost_frames, measured_hand
from poseact.normalize.fitting import fit_normalizer
from poseact.normalize.normalizer import Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.normalize.streaming import StreamingFeaturizer
from poseact.runtime.steppers import RowWindow


@pytest.fixture(scope="module")
def left_right():
    return hand_path_dataset(classes="left_right", seed=0)


def _path_columns(spec: NormalizerSpec) -> slice:
    start = sum(size for name, size in spec.stream_sizes.items() if name != "path")
    return slice(start, start + spec.stream_sizes["path"])


def _hands_clip(shift_px: np.ndarray) -> LandmarkSequence:
    """The measured hand's first frames, its wrist moved by `shift_px` (T, 2) pixels of a
    960×540 image from (480, 400), each frame's own shape kept."""
    offsets, visibility = measured_hand()
    T = len(shift_px)
    wrist = np.array([480.0, 400.0]) + shift_px
    pixels = offsets[:T].copy()
    pixels[..., :2] += wrist[:, None, :]
    landmarks = np.full((T, 42, 3), np.nan, np.float32)
    landmarks[:, 21:] = pixels / np.array([960.0, 540.0, 960.0])
    seen = np.zeros((T, 42), np.float32)
    seen[:, 21:] = visibility[:T]
    return LandmarkSequence(
        timestamps=np.arange(T) / 30.0,
        landmarks=landmarks,
        visibility=seen,
        layout="hands",
        image_size=(960, 540),
    )


def test_the_path_stream_is_the_wrist_velocity_in_palm_lengths_computed_by_hand():
    rng = np.random.default_rng(1)
    shift = np.cumsum(rng.normal(0, 8, (12, 2)), axis=0)
    clip = _hands_clip(shift)
    spec = NormalizerSpec(layout="hands", fps=30.0, window=12, standardize=False)
    features = Normalizer(spec).transform(clip)
    path = features[:, _path_columns(spec)]
    # (x, y) velocity of the left hand's root (missing: 0) and the right's, then each
    # root relative to its trailing mean
    assert path.shape == (12, 8)
    # by hand: aspect-corrected wrist displacement over the palm (wrist → middle MCP)
    xy = clip.landmarks[:, 21:, :2].astype(np.float64) * np.array([960 / 540, 1.0])
    wrist, middle = xy[:, 0], xy[:, 9]
    palm = np.linalg.norm(middle - wrist, axis=1)
    expected = np.zeros((12, 2))
    expected[1:] = (wrist[1:] - wrist[:-1]) / palm[1:, None]
    assert np.allclose(path[:, 2:4], expected, atol=1e-5)
    # the trailing mean: a time constant of half the 12-frame window
    a, mean, offset = 1 - np.exp(-2 / 12), wrist[0], np.zeros((12, 2))
    for t in range(12):
        mean = mean + a * (wrist[t] - mean)
        offset[t] = (wrist[t] - mean) / palm[t]
    assert np.allclose(path[:, 6:8], offset, atol=1e-4)
    assert np.all(path[:, [0, 1, 4, 5]] == 0.0)
    # a real motion: the hand moves several palm-hundredths per frame
    assert np.abs(expected[1:]).mean() > 0.02 and np.abs(offset[1:]).mean() > 0.05
    # the hand's shape streams are those of the same hand standing still
    still = Normalizer(spec).transform(_hands_clip(np.zeros((12, 2))))
    shape = slice(0, _path_columns(spec).start)
    assert np.allclose(features[:, shape], still[:, shape], atol=1e-5)


def test_path_is_unchanged_by_where_the_hand_is_and_how_far():
    """Moving the whole clip across the image or scaling it (closer to the camera)
    leaves the path stream as it is: roots' differences over the part's size."""
    shift = np.stack([np.linspace(0, 120, 10), np.linspace(0, -40, 10)], axis=1)
    clip = _hands_clip(shift)
    spec = NormalizerSpec(layout="hands", fps=30.0, window=10, standardize=False)
    path = Normalizer(spec).transform(clip)[:, _path_columns(spec)]
    moved = clip.landmarks.copy()
    moved[..., 0] = (moved[..., 0] - 0.5) * 0.7 + 0.3
    moved[..., 1] = (moved[..., 1] - 0.5) * 0.7 + 0.45
    moved[..., 2] *= 0.7
    again = Normalizer(spec).transform(clip.replace(landmarks=moved))[:, _path_columns(spec)]
    assert np.allclose(path, again, atol=1e-4)
    assert path[1:, 2].mean() > 0.05  # it moves right


def test_pose_and_hands_keep_the_hands_place_relative_to_the_body():
    """pose+hands: each hand's root velocity and its wrist relative to the body centre in
    torso lengths, by hand on a real ASL clip."""
    from conftest import load_asl_signs

    clip = load_asl_signs("pose+hands").sequences[5]
    seen = clip.visibility.copy()
    seen[:, :33] = 1.0  # every body point counts (the hips are below the frame)
    clip = clip.replace(visibility=seen)
    spec = NormalizerSpec(layout="pose+hands", fps=30.0, window=30, standardize=False)
    n = Normalizer(spec)
    grid = n.resampled(clip)  # its first frame is the clip's first frame
    path = n.raw_features(grid)[:, _path_columns(spec)]
    assert path.shape == (len(grid), 3 * 4 + 2 * 2)
    aspect = clip.image_size[0] / clip.image_size[1]
    xy = clip.landmarks[0, :, :2].astype(np.float64) * np.array([aspect, 1.0])
    hips = (xy[23] + xy[24]) / 2
    torso = np.linalg.norm((xy[11] + xy[12]) / 2 - hips)
    assert np.allclose(grid[0, 75:78, :2], [hips, hips + [torso, 0], hips], atol=1e-5)
    checked = 0
    for h, wrist in enumerate((33, 54)):
        if np.isfinite(xy[wrist]).all():
            expected = (xy[wrist] - hips) / torso
            assert np.allclose(path[0, 12 + 2 * h : 14 + 2 * h], expected, atol=1e-4)
            checked += 1
    assert checked


def test_the_streaming_featurizer_equals_the_offline_window_with_the_path(left_right):
    """Frame by frame, the live rows are the offline features of the clip, and the live
    window of the first rows is the offline window of the clip so far: the path stream,
    standardized, on a real hand moving along a real track."""
    normalizer, _ = fit_normalizer(
        NormalizerSpec(layout="hands", fps=30.0, window=16, sampling="end"),
        left_right.sequences[:30],
    )
    spec = normalizer.spec
    assert spec.path and "path" in spec.stream_sizes
    # a clip the tracker followed throughout (offline fills a gap from both sides, live
    # holds the last value: they differ there by design, path or not)
    clip = next(c for c in left_right.sequences[40:] if np.isfinite(c.landmarks[:, 21:]).all())
    stream, rows, live = StreamingFeaturizer(spec), RowWindow(16), []
    for k, (t, lm, v) in enumerate(zip(clip.timestamps, clip.landmarks, clip.visibility)):
        for row in stream.push(float(t), lm, v, clip.image_size):
            rows.push(row)
            live.append(row)
        if k in (0, 3, 9):
            offline = normalizer.transform(clip.between(0.0, float(t) + 0.5 / 30))
            assert np.max(np.abs(rows.window() - offline)) < 1e-5
    offline = normalizer.transform(clip)
    assert np.max(np.abs(np.stack(live) - offline)) < 1e-5
    assert np.abs(offline[:, _path_columns(spec)]).max() > 0.5  # the path is there


def test_a_mirror_swaps_the_hands_paths_and_turns_them(left_right):
    spec = NormalizerSpec(layout="hands", fps=30.0, window=16, standardize=False)
    n = Normalizer(spec)
    grid = n.window(n.resampled(left_right.sequences[3]))
    both = grid.copy()
    both[:, :21], both[:, 42:45] = grid[:, 21:42], grid[:, 45:48]  # a left hand too
    path = n.raw_features(both)[:, _path_columns(spec)]
    mirrored = n.raw_features(mirror_positions(both, "hands"))[:, _path_columns(spec)]
    swapped = path[:, [2, 3, 0, 1, 6, 7, 4, 5]] * [-1, 1, -1, 1, -1, 1, -1, 1]
    assert np.allclose(mirrored, swapped, atol=1e-5)


def test_a_spec_written_before_the_path_reads_without_it():
    spec = NormalizerSpec(layout="hands")
    old = spec.to_dict()
    del old["path"], old["streams_index"]
    back = NormalizerSpec.from_dict(old)
    assert back == dataclasses.replace(spec, path=False)
    assert "path" not in back.stream_sizes and back.grid_points == 42
    assert spec.to_dict()["streams_index"]["path_parts"] == [0, 1]


def test_the_hand_path_set_is_real_and_reproducible(left_right):
    again = hand_path_dataset(classes="left_right", seed=0)
    assert len(left_right) == len(again) > 100
    assert all(np.array_equal(a.landmarks, b.landmarks, equal_nan=True)
               for a, b in zip(left_right.sequences[:20], again.sequences[:20]))  # fmt: skip
    assert sorted(set(left_right.labels)) == ["left", "right"]
    assert len(set(left_right.groups)) > 20  # the tracks' recordings
    # the logger's lost-finger jumps are lost frames, not motion
    track = np.zeros((16, 2))
    track[:, 0] = np.linspace(0, 0.1, 16)
    track[7] = (-0.4, -0.6)
    assert lost_frames(track).tolist() == [i == 7 for i in range(16)]


def test_both_sides_of_a_swipe_lose_the_frames_its_track_lost(left_right):
    """A "Move" track becomes a right and a mirrored left swipe: the frames where the
    logger lost the finger carry no hand on either side (a mirrored track's lowest
    corner is not the logger's mark, so the frames are found on the track as written)."""
    sides = {}
    for sequence in left_right.sequences:
        row, side = sequence.source.removeprefix("hand_paths[").split("]")
        sides.setdefault(row, {})[side] = ~np.isfinite(sequence.landmarks[:, 21:]).all(axis=(1, 2))
    pairs = [pair for pair in sides.values() if len(pair) == 2]
    assert len(pairs) == len(left_right) // 2
    assert all(np.array_equal(pair["left"], pair["right"]) for pair in pairs)
    assert sum(pair["left"].any() for pair in pairs) >= 3  # some tracks lost the finger


def test_the_loggers_lost_finger_marks_are_found_in_the_real_tracks(shared_dir):
    """The tracks' logger wrote the image's origin where it lost the finger. In the real
    recordings the frames `lost_frames` finds sit at one point, the origin, reached by a
    jump of hundreds of pixels; no frame of a held "Stop" is lost though "Stop" holds
    still for up to 13 frames to the pixel; the all-zero rows of the file are lost
    throughout and leave the hand-path set; and a stream joined from the recordings
    keeps those frames untracked, going on from where the finger was last seen."""
    from poseact.data.point_history import read_point_history, recording_tracks
    from poseact.train.streams import chain_tracks

    rows = read_point_history(shared_dir / "data" / "fingertip_tracks")
    pixels = np.array([960.0, 540.0])
    found = {}
    for label, track in recording_tracks(rows):
        lost = lost_frames(track)
        found[label] = found.get(label, 0) + int(lost.sum())
        if lost.any():
            at = track[lost] * pixels
            assert np.ptp(at, axis=0).max() < 0.5  # one point
            assert np.allclose(at[0], (track * pixels).min(axis=0), atol=0.5)  # the origin
            steps = np.linalg.norm(np.diff(track * pixels, axis=0), axis=1)
            into = steps[(lost[1:] != lost[:-1])]  # the steps into and out of the mark
            assert into.max() > 150
    assert found["Stop"] == found["Clockwise"] == 0
    assert found["Move"] > 100 and found["Counter Clockwise"] > 0
    blank = [seq for seq in rows.sequences if not np.any(seq.landmarks[:, 0, :2])]
    assert len(blank) == 28 and all(lost_frames(seq.landmarks[:, 0, :2]).all() for seq in blank)
    assert all(np.isfinite(seq.landmarks).any() for seq in hand_path_dataset().sequences)
    # joined into a stream: the lost frames stay untracked, the rest goes on
    runs = [track for _, track in recording_tracks(rows) if lost_frames(track).any()]
    pieces = []
    for track in runs[:3]:
        track = track.copy()
        track[lost_frames(track)] = np.nan
        pieces.append((None, track))
    stream, _ = chain_tracks(pieces)
    untracked = np.isnan(stream.landmarks[:, 0, 0])
    assert untracked.sum() == sum(int(np.isnan(t[:, 0]).sum()) for _, t in pieces)
    assert (stream.visibility[untracked] == 0).all() and (stream.visibility[~untracked] == 1).all()
    xy = stream.landmarks[~untracked, 0, :2] * pixels
    assert np.linalg.norm(np.diff(xy, axis=0), axis=1).max() < 150  # no jump to the mark


def test_a_hand_carried_along_a_long_stream_follows_it(shared_dir):
    """`carried_hand` on a stream of real fingertip tracks longer than the measured hand's
    202 frames: the wrist takes the track's every step, each frame's hand is one of the
    measured frames (played forth and back), and the lost frames show no hand."""
    from poseact.data.hand_paths import carried_hand
    from poseact.data.point_history import read_point_history, recording_tracks
    from poseact.train.streams import chain_tracks

    runs = recording_tracks(read_point_history(shared_dir / "data" / "fingertip_tracks"))
    stream, _ = chain_tracks([(None, track) for _, track in runs[:20]])
    assert len(stream.timestamps) > 2 * 202
    lost = np.zeros(len(stream.timestamps), bool)
    lost[100:104] = True
    hand = carried_hand(stream, seed=3, lost=lost)
    assert hand.layout == "hands" and hand.landmarks.shape == (len(lost), 42, 3)
    assert np.isnan(hand.landmarks[:, :21]).all()  # the left hand: none
    assert np.isnan(hand.landmarks[lost, 21:]).all() and (hand.visibility[lost] == 0).all()
    seen = ~lost
    pixels = np.array([960.0, 540.0])
    wrist = hand.landmarks[:, 21, :2] * pixels
    track = stream.landmarks[:, 0, :2] * pixels
    np.testing.assert_allclose(
        (wrist - wrist[0])[seen], (track - track[0])[seen], atol=0.05
    )  # pixels (float32)
    # each frame's hand, seen from its wrist, is a measured frame turned and scaled
    shape, _ = measured_hand()
    own = np.linalg.norm(shape[:, 9, :2], axis=1)  # the middle finger's base: the palm
    carried = np.linalg.norm(
        (hand.landmarks[:, 30, :2] - hand.landmarks[:, 21, :2]) * pixels, axis=1
    )
    ratio = carried[seen] / np.median(carried[seen])
    # a size drift of ±4 %: within the measured frames' own range of palm lengths
    assert ratio.min() > 0.85 * own.min() / np.median(own)
    assert ratio.max() < 1.15 * own.max() / np.median(own)
    assert carried_hand(stream, seed=3, lost=lost).landmarks.tobytes() == hand.landmarks.tobytes()


@pytest.fixture(scope="module")
def trained(left_right):
    """The default pipeline and the same without the path, on held-out recordings."""
    from poseact.train.workflow import train_and_evaluate

    on = train_and_evaluate(left_right, test_fraction=0.3, seed=0)
    off = train_and_evaluate(
        left_right, normalizer=NormalizerSpec(layout="hands", path=False), test_fraction=0.3, seed=0
    )
    return on, off


def test_a_hand_moving_left_or_right_is_told_apart_only_with_the_path(trained):
    on, off = trained
    assert on.by_subject  # whole recordings held out
    assert on.report.accuracy >= 0.9, on.report.summary()
    assert off.report.accuracy <= 0.7, off.report.summary()


def test_train_says_when_the_forest_clearly_beats_the_network(trained):
    on, off = trained
    # the defaults beat the forest (whose statistics hold no path): nothing to say
    assert on.report.yardstick is not None and not on.report.notes
    # without the path the network is at chance, the forest too: a lead within what
    # luck gives on these clips is no clear margin
    assert abs(off.report.yardstick - 0.5) < 0.2 and not off.report.notes
    from poseact.train.yardstick import yardstick_note

    note = yardstick_note(
        0.5, 0.9, 60, spec=off.classifier.normalizer_spec_, per_class=80, median_duration=0.5
    )
    assert note.startswith("note: a random forest on clip statistics scores 0.900")
    # two networks at chance on 48 clips differ by luck: no note
    spec = off.classifier.normalizer_spec_
    assert yardstick_note(0.458, 0.521, 48, spec=spec, per_class=80, median_duration=0.5) is None
    assert "path stream being off" in note
    report = dataclasses.replace(on.report, notes=(note,))
    assert report.summary().splitlines()[-1] == note


# ---------------------------------------------------------------------- what a stream carries
def _real_grids(asl_split):
    """Two real ASL clips' grids (pose, with path points) and their normalizer."""
    train, _ = asl_split
    normalizer = Normalizer(NormalizerSpec(layout="pose", fps=30.0, window=36, sampling="center"))
    return normalizer, [normalizer.resampled(s) for s in train.sequences[:2]]


def test_a_joined_window_carries_the_trailing_mean_across_the_seam(asl_split):
    """Training joins background motion and a gesture (a transition window); `retrail`
    runs the trailing mean on from the first clip into the second, as one recording of
    both would: the same as the trailing mean of the joined frames computed afresh."""
    from poseact.normalize.path import retrail, trail_roots

    normalizer, (first, second) = _real_grids(asl_split)
    spec = normalizer.spec
    second = second.copy()
    K = spec.num_points
    second[:, K:] += np.float32(0.3)  # the gesture stands elsewhere: a lag at the seam
    joined = np.concatenate([first, second])
    carried = retrail(joined, spec)
    fresh = joined.copy()
    trail_roots(fresh, spec)
    np.testing.assert_allclose(carried, fresh, atol=1e-6)
    # the second clip's own trailing mean began at its first frame: no lag at the seam
    seam = len(first)
    lag = carried[seam, K + 2] - carried[seam, K]
    assert (
        np.abs(lag[:2]).max() > 0.1 and np.abs(joined[seam, K + 2] - joined[seam, K]).max() < 1e-6
    )


def test_a_window_can_start_with_the_lag_motion_before_it_left(asl_split):
    """`carry_trail` starts the trailing mean `lag` part sizes away and lets it decay as
    the recurrence would; `trail_lag` reads the lag back."""
    from poseact.normalize.path import carry_trail, trail_lag, trail_rate, trail_step

    normalizer, (grid, _) = _real_grids(asl_split)
    spec = normalizer.spec
    K = spec.num_points
    lag = np.array([[0.5, -0.25, 0.0]], np.float32)
    shifted = carry_trail(grid, lag, spec)
    np.testing.assert_allclose(
        trail_lag(shifted[0], spec) - trail_lag(grid[0], spec), lag, atol=1e-5
    )
    # by hand: the recurrence from the shifted start
    root, size = grid[:, K], np.linalg.norm(grid[0, K + 1, :2] - grid[0, K, :2])
    mean = grid[0, K + 2] + lag[0] * size
    for t in range(1, len(grid)):
        mean = trail_step(mean, root[t], trail_rate(spec.window))
        np.testing.assert_allclose(shifted[t, K + 2], mean, atol=1e-5)
    assert np.array_equal(shifted[:, : K + 2], grid[:, : K + 2], equal_nan=True)  # the rest stays
