"""Custom layouts through the command line (issue 29, item 7).

A "leap_tips" skeleton (the wrist and five fingertips of the right hand, cut by name
out of real MediaPipe recordings in datasets/asl_signs) is written as landmark files
by this process; every `poseact` run is a fresh process that never registered it: the
files carry its definition, `--layout FILE.json` registers one for files that do not,
and the model carries it on to the exported `.tflite`. stderr is read as the user sees
it (the child's file descriptor 2).
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from conftest import REPO_ROOT, TESTDATA_DIR
from helpers import run_cli

import poseact
from poseact.core.layouts import layout_from_dict

pytestmark = pytest.mark.slow

ASL = REPO_ROOT / "datasets" / "asl_signs" / "asl_signs.npz"
TIPS = (
    "WRIST",
    "THUMB_TIP",
    "INDEX_FINGER_TIP",
    "MIDDLE_FINGER_TIP",
    "RING_FINGER_TIP",
    "PINKY_TIP",
)
DEFINITION = {
    "name": "leap_tips",
    "point_names": list(TIPS),
    "parts": [{"name": "hand", "kind": "points", "points": list(TIPS), "anchors": ["WRIST"]}],
    "edges": [["WRIST", tip] for tip in TIPS[1:]],
}


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The single line a refused run prints on stderr (after argparse's usage lines)."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def tips_clips(count_per_class: int = 10) -> list[tuple[str, poseact.LandmarkSequence]]:
    """(label, clip) of the right hand's wrist and fingertips, by name from "hands"."""
    layout = poseact.register_layout(layout_from_dict(DEFINITION))
    hands = poseact.get_layout("hands")
    columns = hands.indices([f"RIGHT_HAND.{n}" for n in TIPS]) - 21  # the right hand's 21
    with np.load(ASL) as z:
        hand, labels, classes = z["hands"][:, :, 1], z["labels"], z["classes"]
    clips = []
    for c in range(len(classes)):
        for i in np.flatnonzero(labels == c)[:count_per_class]:
            xyz = hand[i][:, columns].astype(np.float32)
            xyz[np.all(xyz == 0, axis=-1)] = np.nan  # zeros mean "not detected"
            seq = poseact.LandmarkSequence.from_array(xyz, fps=30.0, layout=layout.name)
            clips.append((str(classes[c]), seq))
    return clips


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Clips written by this process; a model trained and exported by fresh ones."""
    root = tmp_path_factory.mktemp("custom_layout")
    clips = root / "clips"
    for n, (label, seq) in enumerate(tips_clips()):
        (clips / label).mkdir(parents=True, exist_ok=True)
        seq.save(clips / label / f"{label}_{n:03d}.npz")
    model, tflite = root / "tips.poseact", root / "tips.tflite"
    train = run_cli("-q", "train", clips, "-o", model, "--epochs", "6", "--seed", "0")
    export = run_cli("export", model, "-o", tflite)
    return {"root": root, "clips": clips, "model": model, "tflite": tflite,
            "train": train, "export": export}  # fmt: skip


def test_fresh_processes_train_evaluate_predict_and_export_custom_clips(trained):
    out = ok(trained["train"])
    assert "layout 'leap_tips'" in out  # the dataset summary names the layout
    ok(trained["export"])
    meta = poseact.read_model_metadata(trained["tflite"])  # the page reads this too
    assert meta["layout"] == "leap_tips"
    assert meta["layout_definition"]["point_names"] == list(TIPS)
    assert [p["anchor_indices"] for p in meta["layout_definition"]["parts"]] == [[0]]
    out = ok(run_cli("evaluate", trained["model"], trained["clips"]))
    accuracy = float(out.split("accuracy ")[1].split(",")[0])
    assert accuracy > 0.6  # three signs from six points, 6 epochs
    hello = sorted((trained["clips"] / "hello").glob("*.npz"))[0]
    out = ok(run_cli("predict", trained["tflite"], hello))  # LiteRT, as on a device
    assert out.startswith(f"{hello}: ")
    # a photo is extracted by MediaPipe, which gives no custom layout: said in one line
    import cv2

    capture = cv2.VideoCapture(str(TESTDATA_DIR / "person_thumb_up.mp4"))
    photo = trained["root"] / "person.jpg"
    cv2.imwrite(str(photo), capture.read()[1])  # a person MediaPipe finds
    capture.release()
    one_error_line(
        run_cli("predict", trained["tflite"], photo), str(photo), "expects 'leap_tips'",
        "MediaPipe extracts videos and photos as pose, hands or pose+hands",
    )  # fmt: skip


def test_the_camera_page_refuses_a_custom_layout_model(trained):
    # the page runs MediaPipe on the camera, which gives no custom layout
    site = trained["root"] / "site"
    one_error_line(
        run_cli("web", trained["tflite"], site), str(trained["tflite"]),
        "layout 'leap_tips' is not one MediaPipe gives", "poseact.TFLiteGestureModel",
    )  # fmt: skip
    assert not site.exists()


def test_csv_clips_and_packed_datasets_carry_the_definition(trained):
    root = trained["root"]
    label, seq = tips_clips(1)[0]
    from poseact.data.clip_csv import write_landmark_csv

    csv_clip = write_landmark_csv(seq, root / "clip.csv")
    assert csv_clip.read_text().startswith("# poseact-layout: {")
    ok(run_cli("predict", trained["tflite"], csv_clip))
    packed = poseact.Dataset.from_arrays(
        [s.landmarks for _, s in tips_clips(4)], [lab for lab, _ in tips_clips(4)],
        layout="leap_tips", fps=30.0,
    ).save(root / "packed.npz")  # fmt: skip
    out = ok(run_cli("evaluate", trained["model"], packed))
    assert "12 clips" in out or "accuracy" in out
    # CSV clips without the definition line (another tool wrote them): a model
    # supplies its layout; without a model, --layout FILE.json does
    bare = root / "bare"
    for n, (label, seq) in enumerate(tips_clips(2)):
        (bare / label).mkdir(parents=True, exist_ok=True)
        text = write_landmark_csv(seq, bare / label / f"{n}.csv").read_text()
        (bare / label / f"{n}.csv").write_text(text.split("\n", 1)[1])
    ok(run_cli("predict", trained["tflite"], bare / "hello" / "0.csv"))
    model = root / "bare.poseact"
    train = ["-q", "train", bare, "-o", model, "--epochs", "1", "--test-fraction", "0"]
    one_error_line(run_cli(*train), "0.csv", "match no layout")
    definition = root / "leap_tips.json"
    definition.write_text(json.dumps(DEFINITION))
    assert "leap_tips" in ok(run_cli(*train, "--layout", definition))


def test_evaluate_stream_takes_a_custom_layout_model(trained):
    root, clips = trained["root"], trained["clips"]
    parts, rows, start = [], [], 0.0
    for label in ("hello", "thanks", "iloveyou"):
        seq = poseact.LandmarkSequence.load(sorted((clips / label).glob("*.npz"))[-1])
        parts.append(seq.replace(timestamps=seq.timestamps + start))
        rows.append(f"{start:.3f},{start + seq.timestamps[-1]:.3f},{label}\n")
        start += seq.timestamps[-1] + 1 / 30
    recording = poseact.LandmarkSequence(
        timestamps=np.concatenate([p.timestamps for p in parts]),
        landmarks=np.concatenate([p.landmarks for p in parts]),
        visibility=np.concatenate([p.visibility for p in parts]),
        layout="leap_tips",
    ).save(root / "recording.npz")
    annotations = root / "truth.csv"
    annotations.write_text("start_s,end_s,label\n" + "".join(rows))
    out = ok(run_cli("evaluate-stream", trained["tflite"], recording, annotations))
    assert "events: precision" in out and "of 3 true events" in out


def test_layout_file_must_match_the_clips(tmp_path):
    definition = tmp_path / "tips.json"
    definition.write_text(json.dumps(DEFINITION))
    # clips of another layout than --layout names: one line naming the folder
    pose = tmp_path / "pose"
    with np.load(ASL) as z:
        for i in (0, 1, 30, 31):
            (pose / str(z["labels"][i])).mkdir(parents=True, exist_ok=True)
            poseact.LandmarkSequence.from_array(z["pose"][i], fps=30.0).save(
                pose / str(z["labels"][i]) / f"{i}.npz"
            )
    one_error_line(
        run_cli("train", pose, "-o", tmp_path / "p.poseact", "--layout", definition),
        str(pose), "layout 'pose'", "'leap_tips'",
    )  # fmt: skip
    # videos and photos: refused before MediaPipe runs, naming the file
    photo = tmp_path / "photos" / "open" / "hand.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes((TESTDATA_DIR / "hand_open.jpg").read_bytes())
    for command in (["train", photo.parent.parent], ["extract", photo, "-o", tmp_path / "x.npz"]):
        one_error_line(
            run_cli(*command, "--layout", definition), str(photo),
            "MediaPipe extracts videos and photos as pose, hands or pose+hands only",
        )  # fmt: skip
    video = TESTDATA_DIR / "hand_open.mp4"
    one_error_line(
        run_cli("record", "a", "-o", tmp_path / "rec", "--source", video, "--no-preview",
                "--layout", definition),
        "record extracts with MediaPipe",
    )  # fmt: skip


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{not json", "not valid JSON"),
        ('{"name": "x", "point_names": "ABC"}', "'point_names' must be a list of strings"),
        ('{"name": "x"}', "missing key 'point_names'"),
        ("[1, 2]", "a layout definition is a JSON object"),
        ('{"name": "pose", "point_names": ["A"]}', "'pose' is a built-in layout"),
        ('{"name": "x", "point_names": ["A"], "edges": [["A", "B"]]}', "unknown points ['B']"),
        (" " * (1 << 20) + "{}", "more than the 1,048,576 allowed"),
    ],
)
def test_bad_layout_files_get_one_line(tmp_path, content, problem):
    path = tmp_path / "layout.json"
    path.write_text(content)
    one_error_line(run_cli("train", tmp_path, "--layout", path), str(path), problem)


def test_a_landmark_file_with_a_bad_definition_is_refused_by_name(tmp_path):
    label, seq = tips_clips(1)[0]
    good = dict(np.load(seq.save(tmp_path / "good.npz")))
    good["layout_definition"] = np.array(json.dumps({**DEFINITION, "name": "other"}))
    bad = tmp_path / "a" / "bad.npz"
    bad.parent.mkdir()
    np.savez(bad, **good)
    one_error_line(run_cli("show", bad, "-o", tmp_path / "clip.png"), str(bad),
                   "definition is of 'other'")  # fmt: skip


def test_a_landmark_table_of_a_custom_layout(tmp_path):
    """A "label, x0, y0, z0, ..." log of the six points (another tracker's CSV): read
    with --layout FILE.json; without it the width matches no MediaPipe layout."""
    rows = []
    clips = tips_clips(4)
    for n in range(4):  # labels interleaved: each run of rows is one clip
        for label, seq in clips[n::4]:
            for frame in seq.landmarks:
                cells = ["" if np.isnan(v) else f"{v:.5f}" for v in frame.reshape(-1)]
                rows.append(",".join([label, *cells]))
    table = tmp_path / "tips_log.csv"
    table.write_text("\n".join(rows) + "\n")
    definition = tmp_path / "tips.json"
    definition.write_text(json.dumps(DEFINITION))
    train = ["-q", "train", table, "-o", tmp_path / "m.poseact", "--epochs", "1"]
    one_error_line(run_cli(*train), str(table), "18 values per row match no known layout")
    out = ok(run_cli(*train, "--layout", definition, "--test-fraction", "0"))
    assert "12 clips, 3 classes (hello=4, iloveyou=4, thanks=4)" in out
    assert "layout 'leap_tips'" in out
