"""Layouts: points by name, body parts, registration, and a custom skeleton end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from poseact.core.errors import LandmarkFormatError, ModelFormatError
from poseact.core.layouts import (
    LAYOUTS,
    BodyPart,
    Layout,
    get_layout,
    layout_from_dict,
    register_layout,
)
from poseact.data.dataset import Dataset
from poseact.normalize.normalizer import normalize_frames
from poseact.normalize.spec import NormalizerSpec

#: The fingertip_tracks layout: one tracked point, already centred by its tracker.
FINGERTIP = Layout(
    "test_fingertip",
    ("INDEX_FINGER_TIP",),
    (BodyPart(name="tip", kind="points", points=("INDEX_FINGER_TIP",)),),
)


def test_builtin_layouts_name_their_anchor_points():
    pose = get_layout("pose")
    (body,) = pose.parts
    assert body.kind == "body"
    assert [pose.index(n) for n in body.anchors] == [11, 12, 23, 24]
    both = get_layout("pose+hands")
    left = next(p for p in both.parts if p.name == "left_hand")
    assert both.index(left.anchors[0]) == 33  # LEFT_HAND.WRIST follows the 33 pose points
    # mirror swaps left and right by name; edges are pairs of names
    perm = pose.mirror_permutation
    assert perm[pose.index("LEFT_WRIST")] == pose.index("RIGHT_WRIST")
    assert ("LEFT_SHOULDER", "RIGHT_SHOULDER") in pose.edges
    assert len(both.edge_indices) == len(pose.edges) + 2 * 21


def test_a_definition_round_trips_and_bad_ones_say_what_is_wrong():
    for layout in LAYOUTS.values():
        assert layout_from_dict(json.loads(json.dumps(layout.to_dict()))) == layout
    with pytest.raises(ValueError, match="unknown points"):
        Layout("bad", ("A",), (BodyPart(name="p", kind="points", points=("A", "B")),))
    with pytest.raises(ValueError, match="takes"):
        BodyPart(name="p", kind="hand", points=("A",), anchors=("A",))
    with pytest.raises(ValueError, match="twice"):
        Layout("bad", ("A", "A"))
    with pytest.raises(ValueError, match="built-in"):
        register_layout(Layout("pose", ("NOSE",)))
    with pytest.raises(LandmarkFormatError, match="register"):
        get_layout("no such layout")


def test_points_parts_centre_and_scale_on_their_anchors():
    layout = register_layout(
        Layout(
            "test_two_hands",
            ("LEFT_HAND", "RIGHT_HAND", "HEAD"),
            (
                BodyPart(
                    name="hands",
                    kind="points",
                    points=("LEFT_HAND", "RIGHT_HAND"),
                    anchors=("LEFT_HAND", "RIGHT_HAND"),
                ),
            ),
        )
    )
    spec = NormalizerSpec(layout=layout.name, min_visibility=0.0)
    points = np.array([[[0.2, 0.5, 0.0], [0.6, 0.5, 0.0], [0.4, 0.1, 0.0]]], np.float32)
    out = normalize_frames(points, np.ones((1, 3), np.float32), spec)
    # by hand: midpoint (0.4, 0.5), distance 0.4 → hands at ∓0.5; HEAD is in no part: kept
    np.testing.assert_allclose(out[0, 0], [-0.5, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[0, 1], [0.5, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[0, 2], points[0, 2], atol=1e-6)


def _fingertip_dataset(shared_dir, per_class: int) -> Dataset:
    """Real fingertip trajectories (../shared/data/fingertip_tracks), 16 steps each."""
    folder = shared_dir / "data" / "fingertip_tracks"
    rows = np.loadtxt(folder / "point_history.csv", delimiter=",", dtype=np.float32)
    names = [line.strip() for line in (folder / "labels.csv").read_text().splitlines()]
    arrays, labels = [], []
    for k, name in enumerate(names):
        for row in rows[rows[:, 0] == k][:per_class]:
            xy = row[1:].reshape(16, 1, 2)
            arrays.append(np.concatenate([xy, np.zeros((16, 1, 1), np.float32)], axis=-1))
            labels.append(name)
    return Dataset.from_arrays(arrays, labels, fps=30.0, layout=FINGERTIP.name)


@pytest.mark.slow
def test_a_custom_layout_trains_exports_and_runs_where_nobody_registered_it(shared_dir, tmp_path):
    from poseact.data.augment import AugmentOptions
    from poseact.deploy.export import export_tflite
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    register_layout(FINGERTIP)
    data = _fingertip_dataset(shared_dir, per_class=60)
    train, test = data.split(0.25, seed=42, by="stratified")
    spec = NormalizerSpec(layout=FINGERTIP.name, window=16, use_z=False, min_visibility=0.0)
    clf = GestureClassifier(
        normalizer=spec,
        model=ModelOptions(units=32),
        # no mirror: it turns a clockwise circle into a counter-clockwise one
        training=TrainingOptions(epochs=25, seed=0, augment=AugmentOptions(mirror=0.0)),
    ).fit(train)
    assert clf.score(test) > 0.7  # 4 classes: chance is 0.25
    path = tmp_path / "fingertip.tflite"
    report = export_tflite(clf, path, parity_data=test)
    assert report.parity_ok
    saved = clf.save(tmp_path / "fingertip.poseact")
    with TFLiteGestureModel(path) as model:
        expected = model.predict_proba(test)
    np.save(tmp_path / "x.npy", np.stack([s.landmarks for s in test.sequences]))
    np.save(tmp_path / "expected.npy", expected)
    # A fresh process has never heard of the layout: the model files carry it.
    code = f"""
import numpy as np, poseact
from poseact.core.layouts import LAYOUTS
assert {FINGERTIP.name!r} not in LAYOUTS
x = np.load({str(tmp_path / "x.npy")!r}); expected = np.load({str(tmp_path / "expected.npy")!r})
model = poseact.TFLiteGestureModel({str(path)!r})
seqs = [poseact.LandmarkSequence.from_array(a, fps=30.0, layout=model.spec.layout) for a in x]
assert np.abs(model.predict_proba(seqs) - expected).max() < 1e-5
clf = poseact.GestureClassifier.load({str(saved)!r})
assert list(clf.classes_) == list(model.classes_)
print("ok", poseact.get_layout(model.spec.layout).point_names)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "INDEX_FINGER_TIP" in result.stdout


def test_a_model_file_cannot_redefine_a_builtin_layout(tmp_path):
    from poseact.runtime.model_file import ModelMetadata

    definition = get_layout("pose").to_dict()
    definition["point_names"] = definition["point_names"][::-1]
    definition["parts"] = []
    metadata = {
        "format": "poseact-tflite",
        "classes": ["a", "b"],
        "normalizer": {"layout": "pose"},
        "layout_definition": definition,
    }
    with pytest.raises(ModelFormatError, match="another definition"):
        ModelMetadata.from_dict(metadata, where="m.tflite")
