"""Event matching and event-level metrics on hand-made annotation cases."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from poseact.core.errors import DatasetError, WriteError
from poseact.train.stream_eval import (
    Annotation,
    Detection,
    EventReport,
    detect_events,
    evaluate_events,
    interval_iou,
    match_events,
    plot_timeline,
    read_annotations,
    write_annotations,
)

A, D = Annotation, Detection


# ---------------------------------------------------------------------- IoU
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 2), (0, 2), 1.0),
        ((0, 2), (1, 3), 1 / 3),
        ((0, 2), (2, 4), 0.0),  # touching
        ((0, 2), (5, 6), 0.0),
        ((0, 4), (1, 2), 0.25),  # one inside the other
        ((1, 1), (1, 1), 1.0),
        ((1, 1), (0, 2), 0.0),
    ],
)
def test_interval_iou(a, b, expected):
    assert interval_iou(*a, *b) == pytest.approx(expected)
    assert interval_iou(*b, *a) == pytest.approx(expected)


# ---------------------------------------------------------------------- matching cases
def test_perfect_detections_score_one_and_latency_is_from_the_true_start():
    truth = [A("wave", 1.0, 2.0), A("clap", 4.0, 5.0)]
    dets = [D("wave", 1.1, 2.0, reported=1.3), D("clap", 4.0, 5.1, reported=4.5)]
    report = evaluate_events(truth, dets, duration=10.0)
    assert (report.precision, report.recall, report.f1) == (1.0, 1.0, 1.0)
    assert report.latencies == pytest.approx([0.3, 0.5])
    assert report.latency_median == pytest.approx(0.4)
    assert report.latency_p90 == pytest.approx(0.48)  # linear interpolation
    assert report.false_alarms == 0
    assert report.background_seconds == pytest.approx(8.0)
    assert report.false_alarms_per_minute == 0.0
    assert report.matching.pairs == ((0, 0, pytest.approx(0.9)), (1, 1, pytest.approx(1 / 1.1)))


def test_latency_defaults_to_the_detection_start_and_may_be_negative():
    report = evaluate_events([A("wave", 2.0, 4.0)], [D("wave", 1.8, 4.0)], duration=5.0)
    assert report.latencies == pytest.approx([-0.2])


def test_a_miss_counts_against_recall_only():
    truth = [A("wave", 1, 2), A("wave", 5, 6)]
    report = evaluate_events(truth, [D("wave", 1, 2)], duration=10)
    assert report.precision == 1.0
    assert report.recall == 0.5
    assert report.f1 == pytest.approx(2 / 3)
    assert report.missed == 1
    assert report.matching.missed == (1,)


def test_overlap_below_the_iou_threshold_is_misaligned_not_matched():
    truth = [A("wave", 0, 4)]
    dets = [D("wave", 2.5, 4.5)]  # IoU 1.5 / 4.5 = 0.33, inside the event for 3/4
    report = evaluate_events(truth, dets, duration=10)
    assert report.num_matched == 0
    assert (report.missed, report.misaligned, report.false_alarms) == (1, 1, 0)
    # a looser rule accepts it
    assert evaluate_events(truth, dets, duration=10, min_iou=0.3).num_matched == 1


def test_iou_exactly_at_threshold_matches():
    report = evaluate_events([A("wave", 0, 2)], [D("wave", 0, 1)], duration=3)
    assert report.num_matched == 1


def test_duplicate_detections_match_once_the_best_by_iou():
    truth = [A("clap", 2, 4)]
    dets = [D("clap", 2.4, 4.0), D("clap", 2.0, 3.9), D("clap", 3.5, 4.0)]
    report = evaluate_events(truth, dets, duration=10)
    assert report.matching.pairs == ((0, 1, pytest.approx(0.95)),)
    assert report.matching.unmatched == (0, 2)
    assert report.duplicates == 2
    assert report.precision == pytest.approx(1 / 3)
    assert report.recall == 1.0
    assert report.f1 == pytest.approx(0.5)


def test_label_mismatch_is_mislabelled_and_the_true_event_missed():
    truth = [A("hello", 1, 2), A("thanks", 3, 4)]
    dets = [D("thanks", 1, 2), D("thanks", 3, 4)]
    report = evaluate_events(truth, dets, duration=6)
    assert report.num_matched == 1
    assert (report.missed, report.mislabelled, report.false_alarms) == (1, 1, 0)
    assert report.per_class["hello"].recall == 0.0
    assert math.isnan(report.per_class["hello"].precision)  # never detected
    assert report.per_class["thanks"].precision == 0.5
    assert report.per_class["thanks"].recall == 1.0


def test_false_alarms_are_unmatched_detections_mostly_in_background():
    truth = [A("wave", 10, 12)]
    dets = [
        D("wave", 10, 12),
        D("wave", 20, 21),  # all background
        D("clap", 11.5, 14),  # 0.5 of 2.5 s inside an event: background mostly
        D("clap", 30, 30),  # zero length, in background
    ]
    report = evaluate_events(truth, dets, duration=62)
    assert report.false_alarms == 3
    assert report.background_seconds == pytest.approx(60.0)
    assert report.false_alarms_per_minute == pytest.approx(3.0)
    assert report.precision == pytest.approx(0.25)


def test_greedy_one_to_one_when_one_detection_spans_two_true_events():
    truth = [A("wave", 0, 2), A("wave", 2, 3)]
    dets = [D("wave", 0, 2.5)]  # IoU 0.8 with the first, 0.2 with the second
    report = evaluate_events(truth, dets, duration=5)
    assert report.matching.pairs == ((0, 0, pytest.approx(0.8)),)
    assert report.missed == 1


def test_greedy_takes_the_highest_iou_first_not_the_earliest_detection():
    truth = [A("wave", 0, 2), A("wave", 2, 4)]
    dets = [D("wave", 1.0, 3.5), D("wave", 2.5, 4.0)]
    # det0: IoU 0.29 with event 0, 0.375 with event 1; det1: 0.75 with event 1
    report = evaluate_events(truth, dets, duration=5, min_iou=0.3)
    assert report.matching.pairs == ((1, 1, pytest.approx(0.75)),)
    assert report.duplicates == 1  # det0 lies mainly over event 1, found by det1
    assert report.missed == 1


def test_ties_go_to_the_earlier_true_event():
    truth = [A("wave", 0, 2), A("wave", 2, 4)]
    report = evaluate_events(truth, [D("wave", 1, 3)], duration=4, min_iou=1 / 3)
    assert report.matching.pairs == ((0, 0, pytest.approx(1 / 3)),)


def test_nothing_detected_and_nothing_true():
    report = evaluate_events([A("wave", 0, 1)], [], duration=2)
    assert math.isnan(report.precision)
    assert (report.recall, report.f1) == (0.0, 0.0)
    assert math.isnan(report.latency_median) and math.isnan(report.latency_p90)
    empty = evaluate_events([], [], duration=60)
    assert math.isnan(empty.f1)
    assert empty.false_alarms_per_minute == 0.0
    busy = evaluate_events([A("wave", 0, 2)], [D("clap", 0.5, 0.6)], duration=2)
    assert math.isnan(busy.false_alarms_per_minute)  # no background time
    assert busy.mislabelled == 1


def test_order_of_inputs_does_not_change_the_scores():
    rng = np.random.default_rng(0)
    truth = [A(str(rng.choice(["a", "b"])), 3.0 * k, 3.0 * k + 1.5) for k in range(20)]
    dets = [
        D(t.label if rng.random() < 0.8 else "b", t.start + rng.normal(0, 0.3), t.end + 0.2)
        for t in truth
    ]
    report = evaluate_events(truth, dets, duration=60).to_dict()
    order_t, order_d = rng.permutation(20), rng.permutation(20)
    shuffled = evaluate_events(
        [truth[i] for i in order_t], [dets[i] for i in order_d], duration=60
    ).to_dict()
    report.pop("latencies_s"), shuffled.pop("latencies_s")
    assert report == shuffled


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="min_iou"):
        match_events([], [], min_iou=0)
    with pytest.raises(ValueError, match="detection 0 .wave. ends at 1 s before"):
        match_events([], [D("wave", 2, 1)])
    with pytest.raises(ValueError, match="duration"):
        evaluate_events([], [], duration=math.inf)


# ---------------------------------------------------------------------- reports
def test_pooled_report_sums_counts_and_pools_latencies():
    r1 = evaluate_events([A("a", 0, 1)], [D("a", 0, 1, reported=0.2)], duration=61)
    r2 = evaluate_events(
        [A("a", 0, 1), A("b", 2, 3)], [D("b", 2, 3, reported=2.4), D("b", 9, 10)], duration=31
    )
    pooled = EventReport.pooled([r1, r2])
    assert (pooled.num_true, pooled.num_detected, pooled.num_matched) == (3, 3, 2)
    assert pooled.latencies == pytest.approx([0.2, 0.4])
    assert pooled.false_alarms == 1
    assert pooled.false_alarms_per_minute == pytest.approx(1 / ((60 + 29) / 60))
    assert pooled.per_class["a"].true == 2 and pooled.per_class["a"].matched == 1
    with pytest.raises(ValueError):
        EventReport.pooled([])


def test_report_dict_is_json_and_summary_names_the_rule():
    report = evaluate_events([A("wave", 0, 1)], [], duration=10)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["precision"] is None and data["recall"] == 0.0 and data["missed"] == 1
    text = report.summary()
    assert "IoU >= 0.5" in text and "n/a" in text and "1 missed" in text


# ---------------------------------------------------------------------- SHREC measures
# One recording counted by hand (30 fps, early tolerance 0.25 s):
#   true: wave 1-3, clap 5-6, wave 8-10, clap 12-13
#   det0 wave 0.8-2.9 reported 1.4  starts 0.2 s early: detects wave 1-3
#   det1 wave 1.5-2.0                a second one inside wave 1-3: a false positive
#   det2 clap 5.5-7.0 reported 5.9   starts inside clap 5-6: detects it
#   det3 wave 7.5-9.5                starts 0.5 s early (> 0.25): a false positive
#   det4 clap 8.5-9.0                wrong label inside wave 8-10: a false positive
#   det5 clap 15-16                  in the background: a false positive
#   (clap 12-13 is not detected)
SHREC_TRUTH = [A("wave", 1, 3), A("clap", 5, 6), A("wave", 8, 10), A("clap", 12, 13)]
SHREC_DETS = [
    D("wave", 0.8, 2.9, reported=1.4),
    D("wave", 1.5, 2.0),
    D("clap", 5.5, 7.0, reported=5.9),
    D("wave", 7.5, 9.5),
    D("clap", 8.5, 9.0),
    D("clap", 15, 16),
]


def test_shrec_detections_by_hand():
    assert detect_events(SHREC_TRUTH, SHREC_DETS) == ((0, 0), (1, 2))
    # with a 0.5 s tolerance det3 detects wave 8-10 too
    assert detect_events(SHREC_TRUTH, SHREC_DETS, early=0.5) == ((0, 0), (1, 2), (2, 3))
    with pytest.raises(ValueError, match="early"):
        detect_events(SHREC_TRUTH, SHREC_DETS, early=-1)


def test_shrec_detection_rate_by_hand():
    report = evaluate_events(SHREC_TRUTH, SHREC_DETS, duration=20)
    assert report.detected == 2
    assert report.detection_rate == 2 / 4


def test_shrec_false_positives_per_gesture_by_hand():
    report = evaluate_events(SHREC_TRUTH, SHREC_DETS, duration=20)
    assert report.false_positives_per_gesture == 4 / 4  # det1, det3, det4, det5


def test_shrec_jaccard_by_hand():
    report = evaluate_events(SHREC_TRUTH, SHREC_DETS, duration=20)
    # wave 1-3 and 0.8-2.9: 1.9 / 2.2; clap 5-6 and 5.5-7.0: 0.5 / 2.0
    assert report.jaccards == pytest.approx([1.9 / 2.2, 0.25])
    assert report.jaccard == pytest.approx((1.9 / 2.2 + 0.25) / 2)


def test_shrec_delay_in_frames_by_hand():
    report = evaluate_events(SHREC_TRUTH, SHREC_DETS, duration=20, fps=30)
    # reported 0.4 s and 0.9 s after the true starts: 12 and 27 frames at 30 fps
    assert report.delay_frames == pytest.approx([12, 27])
    assert report.delay == pytest.approx(19.5)
    assert evaluate_events(SHREC_TRUTH, SHREC_DETS, duration=20, fps=60).delay == pytest.approx(39)
    with pytest.raises(ValueError, match="fps"):
        evaluate_events(SHREC_TRUTH, SHREC_DETS, duration=20, fps=0)


def test_shrec_measures_pool_and_print():
    one = evaluate_events(SHREC_TRUTH, SHREC_DETS, duration=20)
    two = evaluate_events([A("wave", 0, 1)], [D("wave", 0, 1)], duration=5)
    pooled = EventReport.pooled([one, two])
    assert pooled.detection_rate == 3 / 5
    assert pooled.false_positives_per_gesture == 4 / 5
    assert len(pooled.jaccards) == 3 and len(pooled.delay_frames) == 3
    data = json.loads(json.dumps(pooled.to_dict(), allow_nan=False))
    assert data["shrec"]["detection_rate"] == pytest.approx(0.6)
    assert "detection rate 0.600" in pooled.summary()
    empty = evaluate_events([], [], duration=10)
    assert math.isnan(empty.detection_rate) and math.isnan(empty.jaccard)
    with pytest.raises(ValueError, match="early"):
        EventReport.pooled([one, evaluate_events([], [], duration=1, early=0.5)])


# ---------------------------------------------------------------------- annotation files
def test_annotation_file_round_trip_with_a_quoted_label(tmp_path):
    events = [A("thumbs, up", 3.25, 4.5), A("wave", 0.0, 1.0)]
    path = write_annotations(tmp_path / "a.csv", events)
    assert path.read_text().splitlines()[0] == "start_s,end_s,label"
    assert read_annotations(path) == sorted(events, key=lambda e: e.start)


def test_annotation_file_skips_comments_blank_lines_and_background(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "\ufeff# recorded 2026-12-01\nstart_s,end_s,label\n\n 1.5 , 2.0 , wave \n"
        "2.0,3.0,none\n3,4,clap\n"
    )
    assert read_annotations(path, background="none") == [A("wave", 1.5, 2.0), A("clap", 3, 4)]
    assert len(read_annotations(path)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,2\n", r"row 1 has 2 fields .*expected 3: start_s,end_s,label"),
        ("0,1,a\nx,2,b\n", r"row 2: start_s 'x' is not a number of seconds"),
        ("0,nan,a\n", r"row 1: end_s 'nan' is not a finite number"),
        ("2,2,a\n", r"row 1: end_s 2.0 is not after start_s 2.0"),
        ("-1,2,a\n", r"row 1: start_s -1.0 is negative"),
        ("1,2,\n", r"row 1: the label is empty"),
        ("0,2,a\n1,3,b\n", r"rows 1 \(a 0-2 s\) and 2 \(b 1-3 s\) overlap"),
    ],
)
def test_bad_annotation_rows_are_one_line_naming_file_and_row(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message) as info:
        read_annotations(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_or_binary_annotation_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_annotations(tmp_path / "missing.csv")
    (tmp_path / "b.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DatasetError, match="cannot read annotation file"):
        read_annotations(tmp_path / "b.csv")


def test_write_annotations_past_a_file_size_limit_keeps_the_old_file(tmp_path):
    import resource
    import signal

    path = write_annotations(tmp_path / "a.csv", [A("wave", 0, 1)])
    before = path.read_bytes()
    many = [A("wave", 2.0 * k, 2.0 * k + 1) for k in range(2000)]  # ~40 KB
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        with pytest.raises(WriteError, match="file-size limit"):
            write_annotations(path, many)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


# ---------------------------------------------------------------------- timeline
def test_timeline_png_draws_events_and_probabilities(tmp_path):
    import matplotlib.image
    import matplotlib.pyplot as plt

    truth = [A("hello", 1, 3), A("thanks", 6, 8)]
    dets = [D("hello", 1.2, 3.0, reported=1.5), D("thanks", 11, 12)]
    times = np.arange(0, 14, 0.1)
    probs = np.stack([np.exp(-((times - 2) ** 2)), np.exp(-((times - 7) ** 2))], axis=1)
    path = plot_timeline(
        tmp_path / "timeline.png",
        truth,
        dets,
        times=times,
        probabilities=probs,
        classes=["hello", "thanks"],
        threshold=0.6,
        duration=14,
    )
    image = matplotlib.image.imread(path)[..., :3]
    assert image.shape[0] > 200 and image.shape[1] >= 800
    for i in range(2):  # each class colour (tab10) is on the picture
        rgb = np.array(plt.get_cmap("tab10")(i)[:3])
        assert np.any(np.all(np.abs(image - rgb) < 0.02, axis=-1))
    red = np.all(np.abs(image - [1.0, 0.0, 0.0]) < 0.05, axis=-1)
    assert red.sum() > 50  # the missed true event and the unmatched detection
    assert [p.name for p in tmp_path.iterdir()] == ["timeline.png"]


def test_timeline_without_probabilities_and_shape_errors(tmp_path):
    path = plot_timeline(tmp_path / "t.png", [A("a", 0, 1)], [])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="expected .T, C. = .3, 2."):
        plot_timeline(
            tmp_path / "x.png",
            [],
            [],
            times=np.zeros(3),
            probabilities=np.zeros((3, 3)),
            classes=["a", "b"],
        )
    with pytest.raises(ValueError, match="need their times"):
        plot_timeline(tmp_path / "x.png", [], [], probabilities=np.zeros((3, 2)))
    assert not (tmp_path / "x.png").exists()


def test_the_event_matcher_is_public_api(tmp_path):
    """`poseact.Annotation`, `Detection` and `evaluate_events` (what `write_annotations`
    takes) in a fresh process; the events round-trip through an annotation file."""
    import subprocess
    import sys

    script = (
        "import poseact\n"
        "truth = [poseact.Annotation('wave', 1.0, 2.0), poseact.Annotation('clap', 4.0, 5.0)]\n"
        "found = [poseact.Detection('wave', 1.1, 2.1, reported=1.4, confidence=0.9)]\n"
        "report = poseact.evaluate_events(truth, found, duration=10.0)\n"
        f"poseact.write_annotations({str(tmp_path / 'a.csv')!r}, truth)\n"
        f"back = poseact.read_annotations({str(tmp_path / 'a.csv')!r})\n"
        "print(report.recall, report.precision, back == truth)\n"
    )
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environ, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0.5", "1.0", "True"]
    assert proc.stderr == ""
