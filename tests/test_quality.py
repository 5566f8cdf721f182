"""Recognition quality pieces (issue 11): data-driven timing, feature streams checked by
hand, standardization identical in training, the numpy runtime and TFLite, the
stats-pooling network and the random-forest yardstick, on the real ASL recordings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from poseact.core.layouts import get_layout
from poseact.core.sequence import LandmarkSequence
from poseact.data.augment import AugmentOptions, augment_positions
from poseact.data.dataset import Dataset
from poseact.deploy.export import export_tflite
from poseact.normalize.features import angles, bone_edges, bones, joint_angles
from poseact.normalize.fitting import MIN_STD, feature_statistics, fit_normalizer
from poseact.normalize.normalizer import Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.normalize.streaming import StreamingFeaturizer
from poseact.normalize.timing import MAX_WINDOW, choose_timing
from poseact.runtime.model import TFLiteGestureModel
from poseact.train.classifier import GestureClassifier, NotFittedError
from poseact.train.options import ModelOptions, TrainingOptions
from poseact.train.yardstick import ClipStatisticsClassifier, clip_statistics

POSE = get_layout("pose")


def _retimed(data: Dataset, seconds: float) -> Dataset:
    """The same real clips, slowed down to last `seconds` each, seen by a 30 fps camera
    (landmarks interpolated linearly between the recorded frames)."""
    sequences = []
    for s in data.sequences:
        frames = int(round(seconds * 30)) + 1
        at = np.linspace(0, len(s) - 1, frames)
        left = np.floor(at).astype(int)
        right = np.minimum(left + 1, len(s) - 1)
        w = (at - left)[:, None, None].astype(np.float32)
        landmarks = s.landmarks[left] * (1 - w) + s.landmarks[right] * w
        sequences.append(
            s.replace(
                timestamps=np.arange(frames) / 30.0,
                landmarks=landmarks.astype(np.float32),
                visibility=s.visibility[np.rint(at).astype(int)],
            )
        )
    return Dataset(tuple(sequences), data.labels, data.groups, name=data.name)


# ---------------------------------------------------------------------- timing
def test_timing_follows_the_clip_durations():
    rates = np.full(20, 30.0)
    short, why = choose_timing(NormalizerSpec(), np.full(20, 2.0), rates)
    long, _ = choose_timing(NormalizerSpec(), np.full(20, 10.0), rates)
    assert (short.fps, short.window, short.sampling) == (30.0, 61, "center")
    assert "window=61" in why and "20 training clips" in why
    # 10 s clips: the longest window, sampling segments of the whole clip
    assert (long.fps, long.window, long.sampling) == (30.0, MAX_WINDOW, "segments")
    mixed, _ = choose_timing(NormalizerSpec(), np.r_[np.full(15, 2.0), np.full(5, 9.0)], rates)
    assert mixed.window == 61 and mixed.sampling == "segments"  # a quarter are far longer
    slow_camera, _ = choose_timing(NormalizerSpec(), np.full(20, 1.0), np.full(20, 15.0))
    assert slow_camera.fps == 15.0 and slow_camera.window == 16


def test_explicit_timing_is_kept():
    durations, rates = np.full(20, 10.0), np.full(20, 30.0)
    spec = NormalizerSpec(fps=25.0, window=20, sampling="end")
    assert choose_timing(spec, durations, rates) == (spec, "")
    part, _ = choose_timing(NormalizerSpec(window=20), durations, rates)
    assert part.window == 20 and part.fps == 30.0 and part.sampling == "segments"
    assert NormalizerSpec().resolved() == NormalizerSpec(fps=30.0, window=30, sampling="center")


def test_fit_chooses_the_window_from_real_clips(asl_split, caplog):
    train, test = asl_split
    windows = {}
    for seconds in (2.0, 10.0):
        data = _retimed(train.subset(range(0, len(train), 2)), seconds)
        with caplog.at_level("INFO", logger="poseact.normalize.fitting"):
            clf = GestureClassifier(
                model=ModelOptions(units=8), training=TrainingOptions(epochs=1)
            ).fit(data)
        spec = clf.normalizer_spec_
        windows[seconds] = (spec.window, spec.sampling)
        assert f"median clip {seconds:.2f} s" in caplog.text
        assert clf.predict_proba(_retimed(test, seconds)).shape == (len(test), 3)
    assert windows[2.0] == (61, "center")
    assert windows[10.0] == (MAX_WINDOW, "segments")
    explicit = GestureClassifier(
        normalizer=NormalizerSpec(fps=20.0, window=12, sampling="end"),
        model=ModelOptions(units=8),
        training=TrainingOptions(epochs=1),
    ).fit(_retimed(train, 10.0))
    spec = explicit.normalizer_spec_
    assert (spec.fps, spec.window, spec.sampling) == (20.0, 12, "end")


# ---------------------------------------------------------------------- streams by hand
def _known_pose() -> np.ndarray:
    """(33, 3) a pose with a right angle at the left elbow and a straight left knee."""
    p = np.zeros((33, 3), dtype=np.float32)
    at = {
        "LEFT_SHOULDER": (0.0, 0.0, 0.0),
        "LEFT_ELBOW": (0.0, 1.0, 0.0),  # upper arm straight down
        "LEFT_WRIST": (1.0, 1.0, 0.0),  # forearm to the side: 90°
        "LEFT_INDEX": (2.0, 1.0, 0.0),  # wrist straight: 0°
        "LEFT_HIP": (0.0, 2.0, 0.0),
        "LEFT_KNEE": (0.0, 3.0, 0.0),
        "LEFT_ANKLE": (0.0, 4.0, 0.0),  # straight leg: 0°
    }
    for name, xyz in at.items():
        p[POSE.index(name)] = xyz
    return p


def test_joint_angles_match_a_hand_computation():
    quads = joint_angles("pose")
    names = [tuple(POSE.point_names[i] for i in q) for q in quads]
    values = dict(zip(names, angles(_known_pose()[None], quads)[0] * 180.0))
    assert values[("LEFT_SHOULDER", "LEFT_ELBOW", "LEFT_ELBOW", "LEFT_WRIST")] == pytest.approx(90)
    assert values[("LEFT_ELBOW", "LEFT_WRIST", "LEFT_WRIST", "LEFT_INDEX")] == pytest.approx(0)
    assert values[("LEFT_HIP", "LEFT_KNEE", "LEFT_KNEE", "LEFT_ANKLE")] == pytest.approx(0)
    # shoulder: upper arm (down) against the torso side (shoulder → hip, also down)
    assert values[("LEFT_SHOULDER", "LEFT_ELBOW", "LEFT_SHOULDER", "LEFT_HIP")] == pytest.approx(0)
    assert len(quads) == 10  # elbows, shoulders, hips, knees, wrists
    hand = joint_angles("hands")
    assert len(hand) == 2 * (15 + 4)  # per hand: 3 joints × 5 fingers, 4 spreads
    # a point missing makes its angles NaN, and 2-D angles use the x-y plane only
    p = _known_pose()
    p[POSE.index("LEFT_WRIST")] = np.nan
    assert np.isnan(angles(p[None], quads)[0, 0])
    flat = angles(_known_pose()[None, :, :2], quads)[0]
    assert flat[0] * 180 == pytest.approx(90)


def test_bones_are_child_minus_parent():
    edges = bone_edges("pose")
    p = _known_pose()
    b = bones(p[None], edges)[0].reshape(-1, 3)
    k = [tuple(e) for e in edges.tolist()].index(
        (POSE.index("LEFT_SHOULDER"), POSE.index("LEFT_ELBOW"))
    )
    assert np.allclose(b[k], [0.0, 1.0, 0.0])
    assert len(edges) == len(POSE.edges)


def test_accelerations_are_second_differences():
    spec = NormalizerSpec(
        layout="pose",
        fps=10.0,
        window=5,
        accelerations=True,
        angles=False,
        path=False,
        standardize=False,
    )
    t = np.arange(5, dtype=np.float32)
    positions = np.zeros((5, 33, 3), dtype=np.float32)
    positions[..., 0] = (t**2)[:, None]  # x = t²: velocity 2t - 1, acceleration 2
    features = Normalizer(spec).features(positions)
    kc = 33 * 3
    velocity, acceleration = features[:, kc : 2 * kc], features[:, 2 * kc :]
    assert np.allclose(velocity[:, 0], [0, 1, 3, 5, 7])
    assert np.allclose(acceleration[:, 0], [0, 1, 2, 2, 2])
    assert features.shape[-1] == spec.frame_features == 3 * kc


# ---------------------------------------------------------------------- standardization
def test_standardization_is_learned_and_stored(asl_split):
    train, _ = asl_split
    spec = NormalizerSpec(layout="pose", bones=True, angles=True)
    normalizer, positions = fit_normalizer(spec, train.sequences)
    fitted = normalizer.spec
    assert fitted.standardized and len(fitted.feature_mean) == fitted.frame_features
    assert min(fitted.feature_std) >= MIN_STD
    x = np.concatenate([normalizer.features(normalizer.window(p)) for p in positions])
    raw = np.concatenate([normalizer.raw_features(normalizer.window(p)) for p in positions])
    # features always seen, and varying more than the floor: mean 0, std 1
    seen = np.isfinite(raw).all(0) & (np.array(fitted.feature_std) > MIN_STD)
    assert seen.sum() > 100
    assert np.abs(x.mean(0)[seen]).max() < 0.05
    assert np.allclose(x.std(0)[seen], 1.0, atol=0.05)
    back = NormalizerSpec.from_dict(fitted.to_dict())
    assert back == fitted
    bad = fitted.to_dict()
    bad["streams_index"]["bone_edges"][0] = [0, 0]
    with pytest.raises(ValueError, match="do not match layout"):
        NormalizerSpec.from_dict(bad)
    mean, std = feature_statistics(np.array([[1.0, np.nan], [3.0, np.nan]]))
    assert list(mean) == [2.0, 0.0] and list(std) == [1.0, 1.0]
    with pytest.raises(ValueError, match="need 212 values"):
        NormalizerSpec(feature_mean=(0.0,), feature_std=(1.0,))


def test_streaming_rows_equal_the_window_features(asl_split):
    train, test = asl_split
    spec = NormalizerSpec(layout="pose", accelerations=True, bones=True, angles=True, max_gap=0)
    normalizer, _ = fit_normalizer(spec, train.sequences)
    spec = dataclasses.replace(normalizer.spec, sampling="end")  # (gaps: offline fills them)
    normalizer = Normalizer(spec)
    for sequence in test.sequences[:3]:
        window = normalizer.transform(sequence)
        featurizer = StreamingFeaturizer(spec)
        rows = np.concatenate(
            [
                featurizer.push(t, lm, vis, sequence.image_size)
                for t, lm, vis in zip(sequence.timestamps, sequence.landmarks, sequence.visibility)
            ]
        )
        assert rows.shape == window.shape
        # the window's first frame has no past; every later frame matches
        assert np.max(np.abs(rows[2:] - window[2:])) < 1e-4


def test_standardized_streams_are_identical_in_keras_and_the_runtime(asl_split, tmp_path):
    train, test = asl_split
    clf = GestureClassifier(
        normalizer=NormalizerSpec(layout="pose", bones=True, angles=True, accelerations=True),
        model=ModelOptions(units=16),
        training=TrainingOptions(epochs=3, seed=0),
    ).fit(train)
    report = export_tflite(clf, tmp_path / "s.tflite", parity_data=test)
    assert report.parity_ok, report.summary()
    with TFLiteGestureModel(report.path) as model:
        assert model.spec == clf.normalizer_spec_
        assert np.allclose(model.features(test), clf.features(test), atol=0)
        assert np.max(np.abs(model.predict_proba(test) - clf.predict_proba(test))) < 1e-4
    back = GestureClassifier.load(clf.save(tmp_path / "s.poseact"))
    assert back.normalizer_spec_ == clf.normalizer_spec_


# ---------------------------------------------------------------------- models
def test_stats_pool_is_the_default_and_exports_builtin_ops(asl_split, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    train, test = asl_split
    clf = GestureClassifier(training=TrainingOptions(epochs=40, seed=0)).fit(train)
    assert ModelOptions().architecture == "stats_pool"
    assert clf.score(test) >= 0.9
    report = export_tflite(clf, tmp_path / "p.tflite", parity_data=test)
    assert report.parity_ok and not report.streaming, report.summary()
    ops = {op["op_name"] for op in Interpreter(model_path=str(report.path))._get_ops_details()}
    assert not any("Flex" in op or op == "CUSTOM" for op in ops), ops


def test_stats_pool_sees_the_order_of_nearby_frames(asl_split):
    """Its frame-level convolution makes a window and its time-reversal differ."""
    import keras

    from poseact.train.networks import build_keras_model
    from poseact.train.zoo import STATS_POOL_CONTEXT

    keras.utils.set_random_seed(0)
    net = build_keras_model(ModelOptions(), 30, 12, 3, velocity=False, positions=12)
    assert net.get_layer("frame_context").kernel.shape[0] == STATS_POOL_CONTEXT
    window = np.random.default_rng(0).normal(size=(1, 30, 12)).astype(np.float32)
    forward = net.predict(window, verbose=0)
    backward = net.predict(window[:, ::-1], verbose=0)
    assert np.abs(forward - backward).max() > 1e-4


def test_label_smoothing_matches_a_hand_computation():
    from keras import ops

    from poseact.train.engine import classification_loss

    loss = classification_loss(3, 0.3)
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
    got = ops.convert_to_numpy(loss(np.array([0, 2]), probabilities))
    hand = [
        -(0.8 * np.log(0.7) + 0.1 * np.log(0.2) + 0.1 * np.log(0.1)),
        -(0.1 * np.log(0.1) + 0.1 * np.log(0.1) + 0.8 * np.log(0.8)),
    ]
    assert np.allclose(got, hand, atol=1e-5)
    assert classification_loss(3, 0.0) == "sparse_categorical_crossentropy"
    with pytest.raises(ValueError, match="label_smoothing"):
        TrainingOptions(label_smoothing=1.0)


def test_late_dropout_is_off_then_on_and_models_keep_the_plain_loss(asl_split):
    import keras

    from poseact.train.engine import _set_dropout

    net = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.9, name="drop")])
    x = np.ones((1, 200), np.float32).reshape(50, 4)
    old = _set_dropout(net, None)
    assert old == {"drop": 0.9}
    assert np.array_equal(net(x, training=True), x)  # off: the identity
    _set_dropout(net, old)
    assert (np.asarray(net(x, training=True)) == 0).mean() > 0.5  # on again
    train, test = asl_split
    training = TrainingOptions(epochs=6, dropout_from_epoch=3, label_smoothing=0.1, seed=0)
    clf = GestureClassifier(training=training).fit(train)
    rates = [layer.rate for layer in clf.model_.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates and all(rate == ModelOptions().dropout for rate in rates)
    assert clf.model_.loss == "sparse_categorical_crossentropy"  # saved models need nothing
    assert len(clf.history_["loss"]) >= 4  # no early stop before dropout came on
    with pytest.raises(ValueError, match="dropout_from_epoch"):
        TrainingOptions(dropout_from_epoch=-1)


def test_yardstick_beats_chance_on_real_clips(asl_split, asl_dataset):
    train, test = asl_split
    forest = ClipStatisticsClassifier().fit(train)
    assert forest.score(test) >= 0.9
    assert forest.predict_proba(test).shape == (len(test), 3)
    assert list(forest.classes_) == sorted(set(train.labels))
    boosted = ClipStatisticsClassifier(estimator="gradient_boosting").fit(train)
    assert boosted.score(test) >= 0.8
    grid = Normalizer(NormalizerSpec(layout="pose", path=False)).resampled(asl_dataset.sequences[0])
    stats = clip_statistics(grid)
    flat = grid.reshape(len(grid), -1)
    assert stats.shape == (8 * 99,)
    assert np.allclose(stats[:99], np.nan_to_num(flat).mean(0))
    assert np.allclose(stats[-99:], np.nan_to_num(np.diff(flat, axis=0)).max(0))
    with pytest.raises(NotFittedError):
        ClipStatisticsClassifier().predict(test)
    with pytest.raises(ValueError, match="unknown yardstick estimator"):
        ClipStatisticsClassifier(estimator="svm").fit(train)


def test_recipe_augmentations_keep_shapes_and_seeds(asl_split):
    train, _ = asl_split
    grid = Normalizer(NormalizerSpec(layout="pose")).resampled(train.sequences[0])
    options = AugmentOptions(shear=0.2, shift=0.1, time_mask=0.3, rotation_degrees=30.0)
    a = augment_positions(grid, "pose", options, np.random.default_rng(1))
    b = augment_positions(grid, "pose", options, np.random.default_rng(1))
    assert np.array_equal(a, b, equal_nan=True) and a.shape[1:] == grid.shape[1:]
    masked = AugmentOptions.none()
    masked = dataclasses.replace(masked, time_mask=0.5)
    out = augment_positions(grid, "pose", masked, np.random.default_rng(3))
    hidden = np.all(np.isnan(out), axis=(1, 2))
    assert 0 < hidden.sum() <= len(grid) // 2
    with pytest.raises(ValueError, match="time_mask"):
        AugmentOptions(time_mask=1.0)


def test_an_already_centred_point_layout_trains(tmp_path):
    """One tracked point without anchors (as the fingertip tracks): no body to normalize."""
    from poseact.core.layouts import BodyPart, Layout, register_layout

    register_layout(
        Layout(
            "test_one_point",
            ("TIP",),
            (BodyPart(name="tip", kind="points", points=("TIP",)),),
        )
    )
    rng = np.random.default_rng(0)
    arrays, labels = [], []
    for i in range(40):
        turn = 1 if i % 2 else -1  # clockwise vs counter-clockwise circles
        a = np.linspace(0, 2 * np.pi, 16) * turn + rng.uniform(0, 0.3)
        xy = np.stack([np.cos(a) - np.cos(a[0]), np.sin(a) - np.sin(a[0])], -1) * 0.1
        arrays.append(np.concatenate([xy, np.zeros((16, 1))], -1)[:, None, :].astype(np.float32))
        labels.append("cw" if turn > 0 else "ccw")
    data = Dataset.from_arrays(arrays, labels, fps=30.0, layout="test_one_point")
    train, test = data.split(0.25, seed=0)
    clf = GestureClassifier(training=TrainingOptions(epochs=30, seed=0)).fit(train)
    assert clf.normalizer_spec_.window == 16
    assert clf.score(test) >= 0.9  # no mirror by default: a mirror swaps cw and ccw
    assert isinstance(test.sequences[0], LandmarkSequence)


def test_auto_architecture_reports_what_it_tried(asl_split, caplog):
    train, test = asl_split
    with caplog.at_level("INFO", logger="poseact.train.auto"):
        clf = GestureClassifier(
            model=ModelOptions(architecture="auto", units=8, auto_seconds=1e-3),
            training=TrainingOptions(epochs=2, seed=0),
        ).fit(train.subset(range(0, len(train), 2)))
    report = clf.auto_report_
    assert [r["architecture"] for r in report] == ["stats_pool"]  # the budget ran out
    assert len(report[0]["folds"]) == 3 and 0 <= report[0]["accuracy"] <= 1
    assert "auto: chose stats_pool" in caplog.text and "not tried" in caplog.text
    assert clf.model_options_.architecture == "stats_pool"
    assert clf.predict(test).shape == (len(test),)
    with pytest.raises(ValueError, match="auto_seconds"):
        ModelOptions(architecture="auto", auto_seconds=0)
