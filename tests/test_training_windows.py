"""Training windows cut where a gesture meets the background (`AugmentOptions.transitions`),
on real ASL recordings: the label follows how much of the gesture a window holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from poseact.data.augment import AugmentOptions
from poseact.normalize.fitting import fit_normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.train.engine import _transition, holds_the_gesture, partly_seen, training_windows
from poseact.train.options import TrainingOptions


@pytest.fixture(scope="module")
def clips(asl_split):
    """(normalizer, positions, targets): ASL signs (targets 1-3) and background clips
    (target 0): the signer's real frames before each sign begins."""
    train, _ = asl_split
    rests = [s.between(s.timestamps[0], s.timestamps[8]) for s in train.sequences[::6]]
    sequences = list(train.sequences) + rests
    normalizer, positions = fit_normalizer(NormalizerSpec(layout="pose", window=30), sequences)
    classes = sorted(set(train.labels))
    targets = np.array([1 + classes.index(label) for label in train.labels] + [0] * len(rests))
    return normalizer, positions, targets


def _epochs(clips, augment: AugmentOptions, background, epochs: int = 1):
    normalizer, positions, targets = clips
    training = TrainingOptions(augment=augment, batch_size=16, class_weights=False)
    windows = training_windows(
        normalizer, positions, targets, training, np.random.default_rng(0), background=background
    )
    return [batch for _ in range(epochs) for batch in windows.epoch()]


def test_a_window_holding_less_than_half_the_gesture_is_background(clips):
    _, positions, targets = clips
    batches = _epochs(clips, AugmentOptions(transitions=1.0), background=0, epochs=6)
    y = np.concatenate([b[1] for b in batches])
    # per epoch the clips come in a new order: count against the original labels
    gestures = int(np.sum(targets != 0)) * 6
    relabelled = gestures - int(np.sum(y != 0))
    # every sign is W = 30 frames: k uniform in 1..29 holds less than half for k <= 14
    assert 0.38 < relabelled / gestures < 0.58
    assert int(np.sum(y == 0)) == int(np.sum(targets == 0)) * 6 + relabelled
    assert set(np.unique(y)) == set(np.unique(targets))  # signs keep their own labels


def test_a_window_partly_showing_nobody_weighs_nothing(clips):
    """Real signs, a third of them with the signer out of view for 0.4 s in the
    middle (all points NaN, as MediaPipe leaves a frame it found nobody in): every
    window that holds some of those rows and some of the signer weighs 0, every other
    window its class weight; a clip of nobody throughout weighs as before."""
    normalizer, positions, targets = clips
    spec = normalizer.spec
    gappy = [p.copy() for p in positions]
    for p in gappy[::3]:
        p[10:22] = np.nan
    gappy.append(np.full_like(positions[0], np.nan))  # an empty room, for the background
    targets = np.append(targets, 0)
    training = TrainingOptions(batch_size=16, class_weights=False)
    windows = training_windows(
        normalizer, gappy, targets, training, np.random.default_rng(0), background=0
    )
    zero = total = 0
    for x, _, w in windows.epoch():
        rows = (x != 0).any(axis=2)  # a row of nobody is all zeros, features and all
        partly = rows.any(axis=1) & ~rows.all(axis=1)
        assert (w[partly] == 0).all() and (w[~partly] == 1).all()
        zero, total = zero + int(partly.sum()), total + len(w)
    assert 0 < zero < total / 3
    nobody = np.isnan(gappy[0][:30]).all(axis=(1, 2))
    assert nobody.any() and not nobody.all()
    assert partly_seen(
        np.stack([gappy[0][:30], positions[0][:30], gappy[-1][:30]]), spec
    ).tolist() == [
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    "k, n, expected",
    [
        (14, 30, False),
        (15, 30, True),
        (4, 10, False),
        (5, 10, True),
        (14, 90, False),
        (15, 90, True),
    ],
)
def test_the_label_follows_half_the_gesture_or_half_a_window(k, n, expected):
    assert holds_the_gesture(k, n, window=30) is expected
    # an onset of half a window or more changes nothing
    assert holds_the_gesture(k, n, window=30, onset=15) is expected


@pytest.mark.parametrize(
    "k, n, onset, expected",
    [
        (31, 90, None, False),  # the former rule: half of a 64-frame window
        (32, 90, None, True),
        (14, 90, 15, False),  # 0.5 s at 30 fps of a long gesture is enough
        (15, 90, 15, True),
        (9, 20, 15, False),  # a short gesture: still half of it
        (10, 20, 15, True),
        (7, 90, 7.5, False),  # frames can be fractional (onset · fps)
        (8, 90, 7.5, True),
    ],
)
def test_a_long_window_answers_after_onset_frames(k, n, onset, expected):
    assert holds_the_gesture(k, n, window=64, onset=onset) is expected


def test_without_a_background_class_or_with_transitions_off_nothing_changes(clips):
    plain = AugmentOptions(transitions=0.0)
    reference = _epochs(clips, plain, background=0)
    for augment, background in ((AugmentOptions(transitions=1.0), None), (plain, None)):
        batches = _epochs(clips, augment, background)
        assert len(batches) == len(reference)
        for (x, y, w), (x0, y0, w0) in zip(batches, reference):
            np.testing.assert_array_equal(x, x0)  # the same numbers: no extra random draws
            np.testing.assert_array_equal(y, y0)
            np.testing.assert_array_equal(w, w0)


def test_transition_is_background_frames_then_the_gesture_or_the_reverse(clips):
    _, positions, targets = clips
    sign, rest = positions[int(np.flatnonzero(targets == 1)[0])], positions[-1]
    W, k = 30, 12
    seen = set()
    for seed in range(8):
        out = _transition(sign, rest, k, W, np.random.default_rng(seed))
        assert out.shape == (W, *sign.shape[1:])
        if np.allclose(out[-k:], sign[:k], equal_nan=True):  # rest, then the sign begins
            seen.add("onto")
            fade = W // 6
            held = np.concatenate([rest, np.repeat(rest[-1:], W, axis=0)])
            starts = [
                o
                for o in range(len(held) - (W - k - fade) + 1)
                if np.allclose(out[: W - k - fade], held[o : o + W - k - fade], equal_nan=True)
            ]
            assert starts, "the frames before the fade are the background clip's"
            # the fade moves toward the sign's first frame
            gap = np.nanmean(np.abs(out[W - k - fade : W - k] - sign[0]), axis=(1, 2))
            assert np.all(np.diff(gap) <= 1e-6)
        else:  # the sign ends, then rest
            assert np.allclose(out[: k - W // 6], sign[-k:][: k - W // 6], equal_nan=True)
            seen.add("off")
    assert seen == {"onto", "off"}


def test_transitions_must_be_a_probability():
    with pytest.raises(ValueError, match="transitions"):
        AugmentOptions(transitions=1.5)
    assert dataclasses.replace(AugmentOptions(), transitions=0.0).transitions == 0.0


def test_the_default_depends_on_how_the_network_is_answered_live():
    from poseact.train.engine import with_transitions

    default = TrainingOptions()
    assert default.augment.transitions is None
    assert with_transitions(default, "stats_pool").augment.transitions == 0.5
    assert with_transitions(default, "mlp").augment.transitions == 0.5
    for stream_model in ("gru", "lstm", "tcn"):
        assert with_transitions(default, stream_model).augment.transitions == 0.0
    chosen = TrainingOptions(augment=AugmentOptions(transitions=0.25))
    assert with_transitions(chosen, "gru") is chosen  # an explicit rate is kept


def test_saved_options_keep_transitions_and_older_files_had_none():
    options = TrainingOptions(augment=AugmentOptions(transitions=0.5))
    assert TrainingOptions.from_dict(options.to_dict()) == options
    older = options.to_dict()
    del older["augment"]["transitions"]  # a file written before the option existed
    assert TrainingOptions.from_dict(older).augment.transitions == 0.0


class _FixedBatches:
    """The same real batches every epoch (so trainings of different lengths agree)."""

    def __init__(self, batches):
        self.batches = batches

    def epoch(self):
        yield from self.batches


def _fit(batches, epochs: int, averaging: float) -> list[np.ndarray]:
    import keras

    from poseact.train.engine import train_network

    keras.utils.set_random_seed(0)
    x = batches[0][0]
    net = keras.Sequential(
        [keras.Input(x.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(4, "softmax")]
    )
    net.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])  # fmt: skip
    training = TrainingOptions(epochs=epochs, weight_averaging=averaging)
    train_network(net, _FixedBatches(batches), None, None, training)
    return net.get_weights()


def test_the_network_ends_with_the_moving_average_of_its_epochs(clips):
    """weight_averaging d: after each epoch average = d · average + (1 - d) · weights,
    and the network keeps the average (no validation: the last one)."""
    batches = _epochs(clips, AugmentOptions.none(), background=None)[:3]
    own = [_fit(batches, epochs, 0.0) for epochs in (1, 2, 3)]  # each epoch's own weights
    expected = own[0]
    for weights in own[1:]:
        expected = [0.8 * a + 0.2 * w for a, w in zip(expected, weights)]
    averaged = _fit(batches, 3, 0.8)
    for got, want, last in zip(averaged, expected, own[-1]):
        assert np.allclose(got, want, atol=1e-6)
        assert not np.allclose(got, last, atol=1e-4)  # not the last epoch's weights


# ---------------------------------------------------------------------- hard negatives
@pytest.fixture(scope="module")
def hard_case(clips):
    """(normalizer, positions, targets, net): the ASL clips plus one long background
    clip (the signer at rest, then a real sign: one of its windows is a sign), and a
    real network trained 8 epochs on the clips (hard negatives off)."""
    import keras

    from poseact.train.engine import train_network

    normalizer, positions, targets = clips
    rest = positions[int(np.flatnonzero(targets == 0)[0])]
    sign = positions[int(np.flatnonzero(targets == 1)[0])]
    positions = [*positions, np.concatenate([rest, rest, rest, sign])]
    targets = np.append(targets, 0)
    keras.utils.set_random_seed(0)
    W = normalizer.spec.window
    features = normalizer.features(normalizer.window(sign)[None]).shape[-1]
    net = keras.Sequential(
        [keras.Input((W, features)), keras.layers.Flatten(), keras.layers.Dense(4, "softmax")]
    )
    net.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])  # fmt: skip
    training = TrainingOptions(epochs=8, batch_size=16, hard_negatives=0.0)
    windows = training_windows(
        normalizer, positions, targets, training, np.random.default_rng(0), background=0
    )
    train_network(net, windows, None, None, training)
    return normalizer, positions, targets, net


def _hard_windows(hard_case, strength: float = 1.0):
    normalizer, positions, targets, net = hard_case
    training = TrainingOptions(hard_negatives=strength)
    windows = training_windows(
        normalizer, positions, targets, training, np.random.default_rng(0), background=0
    )
    even = windows.weights.copy()
    windows.emphasize_hard_background(net, strength)
    return windows, even


def test_hard_negatives_weight_background_clips_by_how_gesture_like_they_look(hard_case):
    normalizer, positions, targets, net = hard_case
    windows, even = _hard_windows(hard_case)
    background = np.flatnonzero(targets == 0)
    gestures = np.flatnonzero(targets != 0)
    assert np.array_equal(windows.weights[gestures], even[gestures])
    # the class's total weight is shared out anew, not grown
    assert windows.weights[background].sum() == pytest.approx(even[background].sum(), rel=1e-5)
    assert not np.allclose(windows.weights[background], even[background])
    # a clip's hardness: 1 - the background probability of its hardest window (every
    # W/2 frames); a short clip is one window
    W = normalizer.spec.window

    def hardness(p: np.ndarray, start: int) -> float:
        x = normalizer.features(normalizer.window(p, start=start)[None])
        return 1.0 - float(net.predict_on_batch(x)[0, 0])

    expected = [hardness(positions[i], 0) for i in background[:-1]]
    long = positions[background[-1]]
    starts = [*range(0, long.shape[0] - W + 1, W // 2), long.shape[0] - W]
    expected.append(max(hardness(long, s) for s in starts))
    expected = np.array(expected)
    shares = windows.weights[background] / even[background]
    assert np.allclose(shares, expected / expected.mean(), rtol=1e-4, atol=1e-6)
    # the long clip is judged by the window that holds the sign, not by its rest
    assert expected[-1] > 2 * hardness(long, 0)


def test_hard_negatives_strength_mixes_with_the_even_share(hard_case):
    _, _, targets, _ = hard_case
    background = targets == 0
    full, even = _hard_windows(hard_case, 1.0)
    half, _ = _hard_windows(hard_case, 0.5)
    off, _ = _hard_windows(hard_case, 0.0)
    assert np.allclose(half.weights, 0.5 * even + 0.5 * full.weights, rtol=1e-5)
    assert np.array_equal(off.weights, even)
    # without a background class there is nothing to weight
    normalizer, positions, _, net = hard_case
    windows = training_windows(
        normalizer, positions, targets, TrainingOptions(), np.random.default_rng(0)
    )
    before = windows.weights.copy()
    windows.emphasize_hard_background(net, 1.0)
    assert np.array_equal(windows.weights, before) and background.any()


@pytest.mark.parametrize("epochs, weighted", [(5, False), (6, True)])
def test_training_weights_hard_negatives_after_the_warmup(hard_case, epochs, weighted):
    """From epoch HARD_NEGATIVE_WARMUP on (the sixth), each epoch reweights first."""
    import keras

    from poseact.train.engine import HARD_NEGATIVE_WARMUP, train_network

    assert HARD_NEGATIVE_WARMUP == 5
    normalizer, positions, targets, net = hard_case
    training = TrainingOptions(epochs=epochs, batch_size=16, hard_negatives=1.0)
    assert TrainingOptions().hard_negatives == 0.0  # off by default
    windows = training_windows(
        normalizer, positions, targets, training, np.random.default_rng(0), background=0
    )
    even = windows.weights.copy()
    fresh = keras.models.clone_model(net)
    fresh.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train_network(fresh, windows, None, None, training)
    assert (not np.array_equal(windows.weights, even)) is weighted


def test_hard_negatives_is_a_share_and_older_files_had_none():
    with pytest.raises(ValueError, match="hard_negatives"):
        TrainingOptions(hard_negatives=1.5)
    options = TrainingOptions(hard_negatives=0.5)
    assert TrainingOptions.from_dict(options.to_dict()) == options
    older = options.to_dict()
    del older["hard_negatives"]  # a file written before the option existed
    assert TrainingOptions.from_dict(older).hard_negatives == 0.0


def test_hands_join_where_they_are_a_body_as_recorded(clips):
    """Real hands (a measured hand carried along real fingertip tracks, each clip at its
    own place in the image): the background goes on from where the gesture's hand is, so
    its root steps about as far at the seam as within the clips; joined as recorded it
    jumps there. The ASL body joins as recorded (`JOINED_WHERE_THEY_ARE`)."""
    from poseact.data.hand_paths import hand_path_dataset

    data = hand_path_dataset(stride=400)
    pick = [data.labels.index("Clockwise"), data.labels.index("Move")]
    spec = NormalizerSpec(layout="hands", window=16)
    _, (gesture, rest) = fit_normalizer(spec, [data.sequences[i] for i in pick])
    K = spec.num_points
    right = K + 3  # the right hand's root (3 path points per hand: the left's first)

    def steps(frames):
        return np.linalg.norm(np.diff(frames[:, right, :2], axis=0), axis=1)

    own = max(float(np.nanmax(steps(c))) for c in (gesture, rest))
    gap = np.linalg.norm(gesture[0, right, :2] - rest[-1, right, :2])
    assert gap > 4 * own  # the two clips lie apart in the image
    W, k = 16, 8
    for seed in range(8):
        joined = _transition(gesture, rest, k, W, np.random.default_rng(seed), spec)
        recorded = _transition(gesture, rest, k, W, np.random.default_rng(seed))
        np.testing.assert_array_equal(joined[:, :K], recorded[:, :K])  # the hands' shapes
        # the fade adds at most a third of a step (W // 6 = 2 frames blended)
        assert np.nanmax(steps(joined)) <= 4 / 3 * own + 1e-6
        assert np.nanmax(steps(recorded)) > 2 * own
    normalizer, positions, targets = clips  # pose: a body
    sign, body_rest = positions[int(np.flatnonzero(targets == 1)[0])], positions[-1]
    for seed in range(4):
        np.testing.assert_array_equal(
            _transition(sign, body_rest, 12, 30, np.random.default_rng(seed), normalizer.spec),
            _transition(sign, body_rest, 12, 30, np.random.default_rng(seed)),
        )


def test_moved_to_shifts_what_is_in_image_units(shared_dir):
    """`moved_to` on real fingertip tracks (a part without anchors, kept in image units):
    the point and its path points go to the target, all by one step; moving only hands
    leaves them."""
    from poseact.data.point_history import read_point_history
    from poseact.normalize.path import moved_to

    data = read_point_history(shared_dir / "data" / "fingertip_tracks")
    spec = NormalizerSpec(layout=data.layout, window=16)
    _, positions = fit_normalizer(spec, list(data.sequences[:2]))
    first, second = positions
    K = spec.num_points
    moved = moved_to(second, 0, first[-1], spec)
    # the point, its root and the root moved by the size; the trailing mean keeps its lag
    np.testing.assert_allclose(moved[0, : K + 2, :2], first[-1, : K + 2, :2], atol=1e-6)
    step = first[-1, 0, :2] - second[0, 0, :2]
    assert np.linalg.norm(step) > 0.01  # the two tracks lie apart
    np.testing.assert_allclose(
        moved[:, :, :2] - second[:, :, :2],
        np.broadcast_to(step, (len(second), K + 3, 2)),
        atol=1e-6,
    )
    np.testing.assert_array_equal(moved_to(second, 0, first[-1], spec, kinds=("hand",)), second)
