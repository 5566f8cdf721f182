"""Layout guidance and one message per fact (issue 29, items 6 and 9), through the CLI.

- `--layout auto` picks "hands" for a close-up of a hand (../shared/testdata/
  hand_open.mp4, where pose draws a "body" on the palm) and "pose+hands" for a person
  with a hand up (person_thumb_up.mp4), and says why.
- Training clips of a hand close-up with the pose layout: one warning naming
  `--layout hands`; recording them: a warning per clip.
- A background class recorded as "leave the frame" (black frames): no "nobody was
  detected" per clip on record, and at most one line about zero features on train.
- A short video's capacity is said once.
- Group splits hold out the closest achievable share of clips.
- `demo --architecture auto` is accepted, as its help says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from cli_run import REPO_ROOT, SHARED, cli, ok, write_mp4

PERSON = SHARED / "testdata" / "person_thumb_up.mp4"  # 7.8 s, a person, thumb up
HAND = SHARED / "testdata" / "hand_open.mp4"  # 8.1 s, a hand close-up

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("video", "layout"), [(HAND, "hands"), (PERSON, "pose+hands")])
def test_layout_auto_picks_what_mediapipe_finds_and_says_why(video, layout, tmp_path):
    out = tmp_path / "clip.npz"
    stdout = ok(cli("extract", video, "-o", out, "--layout", "auto", "--frame-step", "8",
                    tmp=tmp_path))  # fmt: skip
    assert f"--layout auto chose {layout!r}" in stdout, stdout
    assert re.search(r"plausible body .* in \d+% and a hand in \d+% of \d+ frames", stdout)
    with np.load(out) as arrays:
        assert str(arrays["layout"]) == layout


def test_layout_auto_refuses_a_camera_with_a_clear_line(tmp_path):
    proc = cli("record", "wave", "-o", tmp_path / "d", "--source", "0", "--layout", "auto",
               "--no-preview", tmp=tmp_path)  # fmt: skip
    assert proc.returncode != 0
    assert "--layout auto looks at videos" in proc.stderr and "Traceback" not in proc.stderr


def test_a_hand_close_up_under_the_pose_layout_is_flagged(tmp_path):
    # "none" takes the first 2.5 s (the hand coming in), "open" the next: the palm held up
    rec = cli(
        "record", "none", "open", "-o", tmp_path / "data", "--source", HAND, "--layout", "pose",
        "--repetitions", "1", "--clip-seconds", "2.5", "--no-preview", tmp=tmp_path,
    )  # fmt: skip
    ok(rec)
    flagged = [line for line in rec.stderr.splitlines() if "core points" in line]
    assert len(flagged) == 1 and "open_001" in flagged[0], rec.stderr  # not the background
    assert "--layout hands" in flagged[0]
    # the README's advice reaches the user who trains on such clips, once
    train = cli("-q", "train", tmp_path / "data", "-o", tmp_path / "m.poseact", "--epochs", "1",
                "--units", "4", "--test-fraction", "0", tmp=tmp_path)  # fmt: skip
    ok(train)
    warnings = [line for line in train.stderr.splitlines() if "core points" in line]
    assert len(warnings) == 1 and "--layout hands" in warnings[0], train.stderr


def test_a_background_of_leaving_the_frame_is_not_warned_about_per_clip(tmp_path):
    """`record thumb none`: the person for "thumb", then an empty room for "none"."""
    import cv2

    capture = cv2.VideoCapture(str(PERSON))
    frames = []
    while len(frames) < 100:
        good, frame = capture.read()
        if not good:
            break
        frames.append(cv2.resize(frame, (640, 360)))
    capture.release()
    empty = [np.zeros_like(frames[0])] * 100
    # interleaved thumb, none, thumb, none: 1 s clips, back to back
    video = write_mp4(
        tmp_path / "session.mp4", frames[:25] + empty[:25] + frames[50:75] + empty[:25]
    )
    rec = cli("record", "thumb", "none", "-o", tmp_path / "data", "--source", video,
              "--repetitions", "2", "--clip-seconds", "1", "--interleave", "--no-preview",
              tmp=tmp_path)  # fmt: skip
    ok(rec)
    assert "nobody was detected" not in rec.stderr, rec.stderr
    train = cli("-q", "train", tmp_path / "data", "-o", tmp_path / "m.poseact", "--epochs", "1",
                "--units", "4", "--test-fraction", "0", tmp=tmp_path)  # fmt: skip
    ok(train)
    assert train.stderr.count("features are all zero") <= 1, train.stderr
    assert "none_" not in train.stderr  # the background's empty clips are not listed


def test_a_short_video_says_its_capacity_once(tmp_path):
    rec = cli("record", "thumb", "none", "-o", tmp_path / "data", "--source", PERSON,
              "--repetitions", "3", "--clip-seconds", "1.5", "--no-preview",
              tmp=tmp_path)  # fmt: skip
    ok(rec)
    said = rec.stdout + rec.stderr
    assert said.count("has room for 5 of the 6") == 1, said
    assert "ended early" not in said
    assert "5 of 6 clips recorded" in rec.stdout


def test_a_group_split_holds_out_the_closest_share(tmp_path):
    """4 subjects with 3, 8, 6 and 13 clips (30), --test-fraction 0.2 (6 clips): the
    subject with 6 clips, exactly 20 %, whatever the seed."""
    import poseact

    data = poseact.load_dataset(REPO_ROOT / "datasets" / "asl_signs" / "asl_signs.npz")
    sizes = {"ann": 3, "ben": 8, "cat": 6, "dan": 13}
    folder, picks = tmp_path / "clips", iter(range(0, 90, 3))  # every class
    for subject, count in sizes.items():
        for _ in range(count):
            i = next(picks)
            seq, label = data.sequences[i], data.labels[i]
            (folder / label).mkdir(parents=True, exist_ok=True)
            replace(seq, subject=subject).save(folder / label / f"{label}_{subject}_{i:03d}.npz")
    for seed in ("0", "3"):
        out = ok(cli("-q", "train", folder, "-o", tmp_path / "m.poseact", "--epochs", "1",
                     "--units", "4", "--test-fraction", "0.2", "--seed", seed,
                     tmp=tmp_path))  # fmt: skip
        assert re.search(r"24 training clips, 6 test\s+clips from 1 unseen subject \(cat\)", out), (
            out
        )


def test_demo_accepts_the_architecture_its_help_offers(tmp_path):
    help_text = ok(cli("demo", "--help"))
    assert ",auto}" in "".join(help_text.split())
    proc = cli("demo", "--architecture", "auto", "--epochs", "0", "--output-dir", tmp_path / "o")
    assert "invalid choice" not in proc.stderr, proc.stderr


def test_an_export_that_fails_its_check_leaves_the_earlier_file(tmp_path):
    """Parity windows beyond float32 once squared: the exported model answers NaN, a
    real failure of the check that runs before the file is published; the earlier
    file under the name is left as it was, and no temporary file stays."""
    import poseact

    data = poseact.load_dataset(REPO_ROOT / "datasets" / "asl_signs" / "asl_signs.npz")
    model = poseact.GestureClassifier(
        normalizer=poseact.NormalizerSpec(layout="pose+hands"),
        model=poseact.ModelOptions(units=4),
        training=poseact.TrainingOptions(epochs=1, seed=0),
    ).fit(data.subset(range(0, 90, 3)))
    model.save(tmp_path / "m.poseact")
    script = (
        "import sys, numpy as np, poseact\n"
        "clf = poseact.GestureClassifier.load(sys.argv[1])\n"
        "spec = clf.normalizer_spec_\n"
        "wild = np.full((4, spec.window, spec.frame_features), 1e30, np.float32)\n"
        "poseact.export_tflite(clf, sys.argv[2], parity_data=wild)\n"
    )
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    target = tmp_path / "g.tflite"
    target.write_bytes(b"the earlier file")
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m.poseact"), str(target)],
        capture_output=True, text=True, env=environ, timeout=600,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "non-finite class probabilities" in proc.stderr
    assert target.read_bytes() == b"the earlier file"
    assert not [p for p in tmp_path.iterdir() if ".poseact-tmp" in p.name]
