"""Subjects carried by clips and folders, the shipped fingertip tracks split by recording,
the recorder's plan for a video file, and reports that list the wrong clips (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from poseact.apps.recorder import RecorderOptions
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset
from poseact.data.point_history import read_point_history, recording_runs, recording_tracks

REPO_ROOT = Path(__file__).resolve().parents[1]
FINGERTIPS = REPO_ROOT / "datasets" / "fingertip_tracks"


def test_a_subject_travels_with_the_clip_and_through_folders(asl_dataset, tmp_path):
    clips = asl_dataset.subset(range(0, 90, 15))  # 6 clips, 2 of each sign
    subjects = tuple("ann" if i % 2 else "ben" for i in range(len(clips)))
    grouped = Dataset(clips.sequences, clips.labels, subjects)
    written = grouped.to_folder(tmp_path / "signs")
    assert {str(LandmarkSequence.load(p).subject) for p in written} == {"ann", "ben"}
    again = Dataset.from_folder(tmp_path / "signs", progress=False)
    assert again.groups_known and sorted(set(again.groups)) == ["ann", "ben"]
    assert again.split_strategy() == "group"
    # without known groups nothing is stored, and each clip stays its own group
    clips.to_folder(tmp_path / "plain")
    plain = Dataset.from_folder(tmp_path / "plain", progress=False)
    assert not plain.groups_known and plain.split_strategy() == "stratified"


def test_drop_undetected_keeps_background_clips(asl_dataset):
    seq = asl_dataset.sequences[0]
    empty = seq.replace(landmarks=np.full_like(seq.landmarks, np.nan), source="empty.npz")
    data = Dataset((seq, empty, empty), ("hello", "hello", "none"), background="none")
    kept, skipped = data.drop_undetected()
    assert skipped == ("empty.npz",) and list(kept.labels) == ["hello", "none"]


def test_fingertip_tracks_are_split_by_recording():
    data = read_point_history(FINGERTIPS)
    assert len(data) == 5296 and data.layout == "fingertip"
    assert data.class_counts() == {
        "Clockwise": 1234, "Counter Clockwise": 1279, "Move": 1302, "Stop": 1481,
    }  # fmt: skip
    assert len(set(data.groups)) == 217  # continuous recordings (see its README)
    train, test = data.split(0.25, seed=42)
    assert not set(train.groups) & set(test.groups)
    # a row continues the previous one when it is that row shifted by one frame
    track = np.cumsum(np.random.default_rng(0).normal(size=(20, 2)), axis=0)
    rows = np.stack([track[i : i + 16] - track[i] for i in range(5)])
    rows[3] += 0.5  # a jump: a new recording starts at row 3
    assert recording_runs(np.zeros(5), rows).tolist() == [0, 0, 0, 1, 1]
    # joined back, each recording is its rows' frames: n rows make n + 15 frames, and
    # every row is the recording's frames there, relative to its first
    tracks = recording_tracks(data)
    assert len(tracks) == 217 and sum(len(t) - 15 for _, t in tracks) == len(data)
    label, joined = tracks[0]
    first = [i for i, g in enumerate(data.groups) if g == data.groups[0]]
    assert label == data.labels[0] and len(joined) == len(first) + 15
    for k, i in enumerate(first):
        row = data.sequences[i].landmarks[:, 0, :2]
        assert np.allclose(joined[k : k + 16] - joined[k], row, atol=1e-5)


def test_a_video_file_is_cut_back_to_back():
    options = RecorderOptions(labels=("wave", "clap", "none"))
    assert options.countdown_seconds is None
    from_file, from_camera = options.for_source(live=False), options.for_source(live=True)
    assert (from_file.countdown_seconds, from_file.pause_seconds) == (0.0, 0.0)
    assert (from_camera.countdown_seconds, from_camera.pause_seconds) == (3.0, 1.0)
    assert from_file.clips_that_fit(7.8) == 3  # the 7.8 s test video, 2 s clips
    assert from_camera.clips_that_fit(7.8) == 1  # what the webcam defaults gave
    assert RecorderOptions(labels=("a",), subject="ann").clip_prefix("a") == "a_ann"
    with pytest.raises(ValueError, match="file name"):
        RecorderOptions(labels=("a",), subject="ann/../x")


@pytest.mark.slow
def test_the_report_lists_wrong_clips_and_draws_them(asl_gru, asl_split, tmp_path):
    from poseact.train.evaluate import evaluate

    _, test = asl_split
    report = evaluate(asl_gru, test, model_name="asl.poseact", split="held-out clips")
    assert len(report.clips) == len(test)
    wrong = report.misclassified
    assert len(wrong) == int(report.confusion.sum() - np.trace(report.confusion))
    assert "confusion matrix" in report.summary()
    assert report.title.startswith("asl.poseact on asl_signs (held-out clips): accuracy")
    paths = report.save(tmp_path)
    content = json.loads(paths["json"].read_text())
    assert content["misclassified"] == [c.to_dict() for c in wrong]
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == 2 + len(wrong)
    assert paths["normalized_png"].read_bytes()[:4] == b"\x89PNG"
