"""The background class from the command line: record, train --background, export, live,
and evaluate-stream on an annotated real-motion recording (real MediaPipe, real Keras,
real LiteRT, CLI through subprocesses)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

pytestmark = pytest.mark.slow


def poseact(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return run_cli("-q", *args, timeout=timeout)


LAYOUT = "pose+hands"  # a sign's meaning is mostly in its hand shape


@pytest.fixture(scope="module")
def asl_split():
    """(train, test) of the ASL signs with their hands (stratified, one signer)."""
    from conftest import load_asl_signs

    return load_asl_signs(LAYOUT).split(0.3, seed=0)


@pytest.fixture(scope="module")
def hand_open(testdata_dir):
    """Pose and hand landmarks of a real video of a person showing an open hand (no sign)."""
    from poseact.extract.extractor import extract_video
    from poseact.extract.options import ExtractorOptions

    return extract_video(testdata_dir / "hand_open.mp4", ExtractorOptions(layout=LAYOUT))


@pytest.fixture(scope="module")
def folder(asl_split, hand_open, tmp_path_factory) -> Path:
    """root/<label>/: ASL signs, and none/ = real non-sign motion plus a video of nobody."""
    from poseact.extract.video import write_video

    root = tmp_path_factory.mktemp("signs")
    train, _ = asl_split
    train.to_folder(root)
    half = hand_open.duration / 2  # the second half stays unseen for the stream test
    for k, start in enumerate(np.arange(0.0, half - 1.2, 0.3)):
        hand_open.between(start, start + 1.2).save(root / "none" / f"motion{k}.npz")
    grey = np.full((20, 240, 320, 3), 90, np.uint8)  # an empty room: nobody to detect
    write_video(root / "none" / "empty_room.mp4", grey, fps=20.0)
    return root


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("model")
    model = out / "signs.poseact"
    result = poseact(
        "train",
        folder,
        "-o",
        model,
        "--layout",
        LAYOUT,
        "--epochs",
        "25",
        "--units",
        "32",
        "--test-fraction",
        "0",
        "--no-cache",
        "--reject-rate",
        "0.05",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    exported = poseact("export", model, "-o", out / "signs.tflite")
    assert exported.returncode == 0, exported.stderr[-3000:]
    return out / "signs.tflite", result.stdout


def test_train_picks_none_as_background_and_keeps_the_empty_room(trained):
    from poseact.runtime.model_file import read_model_metadata

    model, stdout = trained
    assert "background class: 'none'" in stdout
    assert "rejection: answers 'unknown' for movements unlike the" in stdout
    meta = read_model_metadata(model)
    assert meta["background"] == "none"
    assert set(meta["rejection"]["thresholds"]) == {"hello", "iloveyou", "thanks"}
    assert meta["classes"] == ["hello", "iloveyou", "none", "thanks"]
    # trained with transition windows: it answers a sign once it holds half a second of it
    assert meta["onset"] == 0.5


def test_train_hard_negatives_out_of_range_is_one_line(folder, tmp_path):
    bad = poseact("train", folder, "-o", tmp_path / "bad.poseact", "--hard-negatives", "1.5")
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "hard_negatives must be in [0, 1], got 1.5" in bad.stderr
    assert not (tmp_path / "bad.poseact").exists()


def test_train_background_flag_must_name_a_label(folder, tmp_path):
    result = poseact("train", folder, "-o", tmp_path / "m.poseact", "--background", "idle")
    assert result.returncode != 0
    assert "background 'idle' is not a label of the dataset" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_record_says_none_is_the_background(tmp_path, testdata_dir):
    result = poseact(
        "record",
        "none",
        "-o",
        tmp_path / "rec",
        "--source",
        testdata_dir / "hand_open.mp4",
        "--no-preview",
        "--repetitions",
        "1",
        "--clip-seconds",
        "1",
        "--countdown",
        "0",
        "--pause",
        "0",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "'none' is recorded as the background class" in result.stdout


def test_live_never_fires_the_background(trained, testdata_dir):
    model, _ = trained
    result = poseact(
        "live", "--model", model, "--source", testdata_dir / "hand_open.mp4", "--no-preview"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    events = [line for line in result.stdout.splitlines() if "s → " in line]
    labels = {re.split(r"\s+", line.split("→", 1)[1].strip())[1] for line in events}
    assert "none" not in labels
    assert labels <= {"hello", "iloveyou", "thanks"}


@pytest.fixture(scope="module")
def recording(asl_split, hand_open, tmp_path_factory):
    """(stream, truth, .npz path, annotation CSV): six test signs with real non-sign
    motion between them."""
    from poseact.train.stream_eval import read_annotations, write_annotations
    from poseact.train.streams import Segment, chain_segments

    tmp_path = tmp_path_factory.mktemp("recording")
    _, test = asl_split
    rng = np.random.default_rng(0)
    segments = []
    for i in range(6):
        start = rng.uniform(hand_open.duration / 2, hand_open.duration - 2.0)
        segments.append(Segment(sequence=hand_open, start=start, end=start + 2.0))
        segments.append(
            Segment(
                sequence=test.sequences[i], label=test.labels[i], hold_before=0.3, hold_after=0.3
            )
        )
    stream, truth = chain_segments(segments, source="signs-between-motion")
    assert len(truth) == 6 and all(abs(a.duration - 29 / 30) < 1e-6 for a in truth)
    path = stream.save(tmp_path / "stream.npz")
    annotations = write_annotations(tmp_path / "truth.csv", truth)
    back = read_annotations(annotations)
    assert [a.label for a in back] == [a.label for a in truth]
    assert [a.start for a in back] == pytest.approx([a.start for a in truth], abs=1e-3)
    return stream, truth, path, annotations


def test_evaluate_stream_on_a_real_motion_recording(trained, recording, tmp_path):
    model, _ = trained
    stream, truth, recording, annotations = recording
    result = poseact(
        "evaluate-stream", model, recording, annotations, "--report-dir", tmp_path / "report"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "match = same label, IoU >= 0.5" in result.stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["true_events"] == 6
    assert report["detections"] == len(report["detections_list"])
    assert all(d["label"] != "none" for d in report["detections_list"])
    assert 0 <= report["matched"] <= 6
    assert report["background_s"] == pytest.approx(stream.duration - sum(a.duration for a in truth))
    png = (tmp_path / "report" / "timeline.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "SHREC: detection rate" in result.stdout
    assert set(report["shrec"]) >= {"detection_rate", "false_positives_per_gesture", "jaccard"}
    # the API gives the same figures
    from poseact.train.stream_eval import evaluate_stream

    api = evaluate_stream(model, stream, annotations)
    assert api.report.num_matched == report["matched"]
    assert api.report.false_alarms == report["false_alarms"]
    # events sit where their evidence is: a detection starts where the window that first
    # gave its answer began to hold the sign (half a second, or half the window, back)
    from poseact.runtime.decider import answer_times
    from poseact.runtime.model import TFLiteGestureModel

    loaded = TFLiteGestureModel(model)
    spec = loaded.spec
    lag = -answer_times(0.0, spec.window, spec.fps, loaded.onset)[0]
    assert lag == pytest.approx((min(spec.window / 2, 0.5 * spec.fps) - 0.5) / spec.fps)
    assert api.detections
    for d in api.detections:
        assert d.reported_at - d.start >= lag - 1e-6


def test_sweep_prints_the_curve_and_the_chosen_threshold_travels_in_the_model(
    trained, recording, tmp_path
):
    """`evaluate-stream --sweep` decides at many thresholds from one run of the network
    (each row as `evaluate_stream` at that threshold), draws the curve; `export
    --threshold` stores one, which live recognition then uses unless told otherwise."""
    from poseact.runtime.decider import DecisionOptions
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.runtime.recognizer import StreamingRecognizer
    from poseact.train.stream_eval import evaluate_stream

    model, _ = trained
    stream, truth, path, annotations = recording
    result = poseact(
        "evaluate-stream", model, path, annotations, "--sweep", "--report-dir", tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "threshold  event F1  false alarms/min" in result.stdout
    assert "<- in use" in result.stdout
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert sweep["current"] == 0.6 and 0.6 in sweep["thresholds"]
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for t in (0.6, 0.8):  # the same annotations as the command's (read from the CSV)
        row = sweep["reports"][sweep["thresholds"].index(t)]
        api = evaluate_stream(model, stream, annotations, options=DecisionOptions(threshold=t))
        api = api.report
        assert (row["matched"], row["detections"]) == (api.num_matched, api.num_detected)

    stored = tmp_path / "stored.tflite"
    exported = poseact(
        "export", Path(model).with_suffix(".poseact"), "-o", stored, "--threshold", "0.8"
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert "decision threshold 0.8 stored" in exported.stdout
    assert TFLiteGestureModel(stored).threshold == 0.8
    assert StreamingRecognizer(stored).threshold == 0.8
    assert StreamingRecognizer(stored, DecisionOptions(threshold=0.5)).threshold == 0.5
    row = sweep["reports"][sweep["thresholds"].index(0.8)]
    assert evaluate_stream(stored, stream, truth).report.num_detected == row["detections"]
    bad = poseact("export", Path(model).with_suffix(".poseact"), "-o", stored, "--threshold", "2")
    assert bad.returncode == 2 and "is not in (0, 1]" in bad.stderr


def test_bad_annotations_are_one_line_before_any_video_is_read(trained, testdata_dir, tmp_path):
    """A malformed annotation row is reported at once, naming the file and the row: no
    landmark extraction first (here no MediaPipe bundle could even be found)."""
    model, _ = trained
    bad = tmp_path / "truth.csv"
    bad.write_text("start_s,end_s,label\n1.0,oops,hello\n")
    env = {**os.environ, "POSEACT_MODEL_DIR": str(tmp_path / "no-models")}
    result = subprocess.run(
        [sys.executable, "-m", "poseact.cli", "evaluate-stream", str(model),
         str(testdata_dir / "hand_open.mp4"), str(bad)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"poseact evaluate-stream: error: {bad}: row 2: end_s 'oops' is not a number of seconds"
    ]


def test_evaluate_stream_refuses_labels_the_model_does_not_know(trained, tmp_path):
    from poseact.core.errors import DatasetError
    from poseact.core.sequence import LandmarkSequence
    from poseact.train.stream_eval import evaluate_stream

    model, _ = trained
    (tmp_path / "a.csv").write_text("start_s,end_s,label\n0,1,wave\n")
    still = LandmarkSequence(
        timestamps=np.arange(10) / 30,
        landmarks=np.full((10, 75, 3), 0.5, np.float32),
        visibility=np.ones((10, 75), np.float32),
        layout=LAYOUT,
    )
    with pytest.raises(DatasetError, match=r"name labels \['wave'\] that the model does not know"):
        evaluate_stream(model, still, tmp_path / "a.csv")


def test_a_gesture_it_was_never_taught_is_not_answered_as_a_sign(trained, asl_split, testdata_dir):
    """A real thumbs-up (a video the model never saw, no ASL sign) is "unknown" or the
    background, for the whole clip and for most of its one-second windows, while the
    signs it was taught are still answered."""
    from poseact.extract.extractor import extract_video
    from poseact.extract.options import ExtractorOptions
    from poseact.runtime.model import TFLiteGestureModel

    model, _ = trained
    video = testdata_dir / "person_thumb_up.mp4"
    result = poseact("predict", model, video, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    [answer] = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert answer["label"] in {"unknown", "none"}, answer
    thumb = extract_video(video, ExtractorOptions(layout=LAYOUT))
    windows = [thumb.between(start, start + 1.0) for start in np.arange(0, 6.5, 0.5)]
    recognizer = TFLiteGestureModel(model)
    answers = recognizer.predict(windows)
    assert np.mean([a in {"unknown", "none"} for a in answers]) >= 0.75, answers
    _, test = asl_split
    assert np.mean(recognizer.predict(test.sequences) == np.array(test.labels)) >= 0.7


def test_the_live_rule_judges_the_rows_the_classifier_answered(trained, testdata_dir):
    """The recognizer of a model with a rule decides as its parts composed by hand do:
    the window re-run, the rule's ratios over the same last W rows (kept once, by the
    stepper), the decider with `answer_times` and `settled`, on a real thumbs-up it never saw."""
    from poseact.extract.extractor import extract_video
    from poseact.extract.options import ExtractorOptions
    from poseact.normalize.streaming import StreamingFeaturizer
    from poseact.runtime.decider import Decider, DecisionOptions, answer_times, settled
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.runtime.recognizer import StreamingRecognizer
    from poseact.runtime.steppers import RowWindow

    path, _ = trained
    model = TFLiteGestureModel(path)
    assert model.rejection is not None and not model.has_stream_model
    video = extract_video(testdata_dir / "person_thumb_up.mp4", ExtractorOptions(layout=LAYOUT))
    frames = list(zip(video.timestamps, video.landmarks, video.visibility))
    recognizer = StreamingRecognizer(model, DecisionOptions(reject_starts=True))
    live, live_shown = [], []
    for t, lm, vis in frames:
        live += recognizer.push(t, lm, vis, video.image_size)
        live_shown.append(recognizer.label)
    labels = model.classes_.tolist()
    featurizer, stepper = StreamingFeaturizer(model.spec), model.stepper(stateful=False)
    rows, decider = (
        RowWindow(model.spec.window),
        Decider(labels, model.background, DecisionOptions(reject_starts=True), model.rejection),
    )
    by_hand, shown = [], []
    for t, lm, vis in frames:
        for row in featurizer.push(t, lm, vis, video.image_size):
            probs = stepper.step(row)
            rows.push(row)
            ratios = model.rejection.ratios(rows.window(), labels)[0]
            at, end_at = answer_times(float(t), stepper.context, model.spec.fps, model.onset)
            may_start = settled(stepper.context, model.spec.window, model.spec.fps, model.onset)
            by_hand += decider.update(probs, float(t), at, ratios, end_at, may_start)
        shown.append(decider.label)
    assert live == by_hand
    assert live_shown == shown
    assert "unknown" in shown  # the rule turned answers away


def test_the_api_and_the_cli_pick_the_same_background_and_train_the_same_model(
    synthetic_subjects, tmp_path
):
    """`Dataset.from_folder` and `poseact train` read a folder with a none/ label the
    same way (the background rule of poseact.data): same seed, same weights; with
    `--hard-negatives` (weighting from the sixth epoch) as with the option."""
    from poseact.data.dataset import Dataset
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import TrainingOptions

    data = synthetic_subjects
    renamed = tuple("none" if label == "idle" else label for label in data.labels)
    root = tmp_path / "gestures"
    Dataset(data.sequences, renamed, data.groups).to_folder(root)

    model = tmp_path / "cli.poseact"
    result = poseact("train", root, "-o", model, "--test-fraction", "0", "--epochs", "7",
                     "--hard-negatives", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "background class: 'none'" in result.stdout

    api = Dataset.from_folder(root)
    assert api.background == "none"
    training = TrainingOptions(epochs=7, seed=0, hard_negatives=1.0)
    fitted = GestureClassifier(training=training).fit(api)
    cli = GestureClassifier.load(model)
    assert cli.background_ == fitted.background_ == "none"
    assert cli.training == fitted.training == training
    for a, b in zip(cli.model_.get_weights(), fitted.model_.get_weights()):
        assert np.allclose(a, b, atol=1e-5)
    assert Dataset.from_folder(root, background=None).background is None


# ---------------------------------------------------------------------- the default rule
@pytest.fixture(scope="module")
def signs_only(asl_split, tmp_path_factory) -> Path:
    """A model of the three ASL signs alone (no background class), trained with
    `poseact train DIR` and no rejection flag: the default rule is in it."""
    root = tmp_path_factory.mktemp("three_signs")
    train, _ = asl_split
    train.to_folder(root / "signs")
    model = root / "signs.poseact"
    result = poseact(
        "train", root / "signs", "-o", model, "--layout", LAYOUT, "--epochs", "25",
        "--test-fraction", "0", "--no-cache",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rejection: answers 'unknown'" in result.stdout
    exported = poseact("export", model, "-o", root / "signs.tflite", "--quantization", "int8")
    assert exported.returncode == 0, exported.stderr[-3000:]
    return root / "signs.tflite"


@pytest.mark.parametrize("video", ["person_thumb_up.mp4", "hand_open.mp4"])
def test_the_default_rule_answers_a_sign_it_never_saw_unknown(signs_only, testdata_dir, video):
    """Real videos of no ASL sign (a thumbs-up, an open hand): without the rule the
    three-sign model could only name one of its signs; with the default rule it says unknown."""
    from poseact.runtime.model import TFLiteGestureModel

    result = poseact("predict", signs_only, testdata_dir / video, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    [answer] = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert answer["label"] == "unknown", answer
    model = TFLiteGestureModel(signs_only)
    assert model.background is None and set(model.rejection.thresholds) == set(model.classes_)


def test_the_default_rule_keeps_the_known_signs(signs_only, asl_split):
    """Real recordings of the signs it was taught (the held-out test split): the default
    rule turns away at most one point more than the closed-set answers get wrong."""
    from poseact.runtime.model import TFLiteGestureModel

    _, test = asl_split
    model = TFLiteGestureModel(signs_only)
    truth = np.array(test.labels)
    closed = np.mean(model.predict(test.sequences, reject=False) == truth)
    open_set = np.mean(model.predict(test.sequences) == truth)
    assert closed >= 0.9
    assert closed - open_set <= 0.01 + 1e-9, (closed, open_set)


def test_the_default_rule_costs_at_most_its_budget_in_the_file(signs_only, tmp_path):
    """The rule's references are one byte per number, within `REFERENCE_BUDGET` (or
    `MIN_REFERENCES` per class): the int8 model with the rule is that many bytes, the
    descriptor's float32 center and scale and a little JSON larger than without it."""
    from poseact.deploy.export import export_tflite
    from poseact.runtime.model_file import read_model_metadata
    from poseact.runtime.rejection import MIN_REFERENCES, REFERENCE_BUDGET
    from poseact.train.classifier import GestureClassifier

    meta = read_model_metadata(signs_only)
    references = meta["rejection"]["references"]
    assert {r["dtype"] for r in references.values()} == {"int8"}
    # the budget, or the floor of MIN_REFERENCES per class when that is more
    dims = next(iter(references.values()))["shape"][1]
    allowed = max(REFERENCE_BUDGET, MIN_REFERENCES * len(references) * dims)
    numbers = sum(r["shape"][0] * r["shape"][1] for r in references.values())
    assert numbers <= allowed
    closed = GestureClassifier.load(signs_only.with_suffix(".poseact"))
    closed.rejection_ = None
    report = export_tflite(closed, tmp_path / "closed.tflite", quantization="int8")
    # the references, the float32 center and scale of the descriptor, a little JSON
    assert signs_only.stat().st_size - report.size_bytes <= numbers + 8 * dims + 4096
