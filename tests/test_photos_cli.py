"""Photos as training data (issue 29, item 8): a Model Maker style folder
`label/*.jpg` trains, extracts and predicts through the command line.

The photos are real: frames of ../shared/testdata's videos written as JPEGs (an open
hand; a woman holding a thumb up), and the two stand-alone photos of other hands
(hand_open.jpg, hand_thumb_up.jpg) are predicted. Every run is a fresh process; stderr
is read as the user sees it.
"""

from __future__ import annotations

import struct
import subprocess
import zlib

import pytest
from conftest import TESTDATA_DIR
from helpers import run_cli

import poseact

pytestmark = pytest.mark.slow

#: (video, frames, label): hand shown in every frame picked (README of testdata).
SOURCES = (
    ("hand_open.mp4", range(5, 200, 24), "open"),
    ("person_thumb_up.mp4", range(115, 195, 10), "thumb_up"),
)
HELD_OUT = {"open": ("hand_open.mp4", 17), "thumb_up": ("person_thumb_up.mp4", 150)}


def frame_photos(video, picks, folder):
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    capture, i, written = cv2.VideoCapture(str(TESTDATA_DIR / video)), 0, []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if i in picks:
            path = folder / f"{video[:-4]}_{i:03d}.jpg"
            cv2.imwrite(str(path), frame)
            written.append(path)
        i += 1
    capture.release()
    return written


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    for video, picks, label in SOURCES:
        frame_photos(video, set(picks), root / "signs" / label)
    held = {
        label: frame_photos(video, {i}, root / "held_out")[0]
        for label, (video, i) in HELD_OUT.items()
    }
    model = root / "signs.poseact"
    train = run_cli(
        "train", root / "signs", "-o", model, "--layout", "hands", "--test-fraction", "0",
        "--epochs", "30",
    )  # fmt: skip
    return {"root": root, "model": model, "train": train, "held": held}


def test_a_photo_folder_trains_a_static_model(photos):
    out = ok(photos["train"])
    assert "17 clips, 2 classes (open=9, thumb_up=8)" in out
    # photos: features without motion over a one-frame window
    assert "window 1 frames" in out
    clf = poseact.GestureClassifier.load(photos["model"])
    spec = clf.normalizer_spec_
    assert (spec.window, spec.velocity, spec.path) == (1, False, False)


def test_predict_a_photo(photos):
    held = photos["held"]
    out = ok(run_cli("predict", photos["model"], held["open"], held["thumb_up"]))
    lines = out.splitlines()
    assert lines[0].startswith(f"{held['open']}: open  (open ")
    assert lines[1].startswith(f"{held['thumb_up']}: thumb_up  (thumb_up ")
    # photos of other people's hands: the answer may be 'unknown' (17 photos of two
    # hands), but the classes are ranked right
    out = ok(run_cli("predict", photos["model"], TESTDATA_DIR / "hand_open.jpg",
                     TESTDATA_DIR / "hand_thumb_up.jpg"))  # fmt: skip
    first, second = out.splitlines()[:2]
    assert "(open " in first and "(thumb_up " in second


def test_extract_a_photo_folder_with_auto_layout_and_refuse_a_huge_photo(photos, tmp_path):
    out = tmp_path / "landmarks"
    said = ok(run_cli("extract", photos["root"] / "signs", "-o", out, "--layout", "auto"))
    assert "--layout auto chose 'hands'" in said and "of 17 frames sampled from 17 clips" in said
    clips = sorted(out.rglob("*.npz"))
    assert len(clips) == 17
    assert all(len(poseact.LandmarkSequence.load(p)) == 1 for p in clips)
    # a PNG whose header declares 30000 x 30000 pixels: refused before decoding
    bad = tmp_path / "bad" / "open" / "huge.png"
    bad.parent.mkdir(parents=True)
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    ihdr = b"IHDR" + header
    bad.write_bytes(
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    )
    (tmp_path / "bad" / "thumb_up").mkdir()
    proc = run_cli("train", tmp_path / "bad", "--layout", "hands", "-o", tmp_path / "m.poseact")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(bad) in errors[0] and "30000 x 30000" in errors[0]
