"""A real user's afternoon, through the command line (issue 14).

Every test runs `poseact` in a subprocess, as a user does, with the real videos of
../shared/testdata as the camera: record two people with `--subject`, train with a
background class, look at the reports, an annotated video and a rendered clip, export,
run live headless, and the demo on the two real datasets shipped in `datasets/`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from cli_run import ok, write_mp4
from conftest import REPO_ROOT, SHARED_DIR
from helpers import run_cli, video_frames

PERSON = SHARED_DIR / "testdata" / "person_thumb_up.mp4"  # 1280×720, 25 fps, 195 frames
HAND = SHARED_DIR / "testdata" / "hand_open.mp4"  # 640×360, 25 fps, 202 frames, hand in all
ASL_SIGNS = REPO_ROOT / "datasets" / "asl_signs" / "asl_signs.npz"  # 90 clips, 3 signs

pytestmark = pytest.mark.slow


def poseact(
    *args: str | os.PathLike, cwd: Path | None = None, env: dict | None = None, timeout=600
):
    """Run `python -m poseact.cli ARGS` in a fresh process with this environment plus `env`."""
    return run_cli(*args, env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


def no_temp_files(folder: Path) -> bool:
    from poseact.core.atomic import MANIFEST_NAME  # a report folder's list of its files

    return not [
        p
        for p in folder.rglob("*")
        if ".tmp" in p.name or (p.name.startswith(".poseact") and p.name != MANIFEST_NAME)
    ]


@pytest.fixture(scope="module")
def signs_model(tmp_path_factory):
    """The shipped ASL signs (one clip per group) trained briefly with the hands layout:
    one training that several tests read (its output, its weak model)."""
    root = tmp_path_factory.mktemp("signs")
    model = root / "hands.poseact"
    train = poseact("-q", "train", ASL_SIGNS, "--layout", "hands", "-o", model,
                    "--epochs", "2", "--units", "8")  # fmt: skip
    return {"model": model, "train": train}


# ---------------------------------------------------------------------- the afternoon
@pytest.fixture(scope="module")
def afternoon(tmp_path_factory):
    """Record alice (person video) and bob (hand video), train with a background class,
    export: the folders and files of the README's "Use it" walk."""
    root = tmp_path_factory.mktemp("afternoon")
    env = {"POSEACT_CACHE_DIR": str(root / "cache")}
    data = root / "my_gestures"
    runs = {}
    for subject, video in (("alice", PERSON), ("bob", HAND)):
        runs[subject] = poseact(
            "record", "thumb", "none", "-o", data, "--source", video, "--subject", subject,
            "--repetitions", "2", "--clip-seconds", "1.5", "--no-preview", env=env,
        )  # fmt: skip
    model, report = root / "model.poseact", root / "report"
    train = poseact(
        "-q", "train", data, "-o", model, "--background", "none", "--epochs", "4",
        "--units", "16", "--report-dir", report, env=env,
    )  # fmt: skip
    tflite = root / "gestures.tflite"
    export = poseact("-q", "export", model, "-o", tflite, env=env)
    return {
        "root": root, "env": env, "data": data, "runs": runs, "model": model,
        "report": report, "train": train, "tflite": tflite, "export": export,
    }  # fmt: skip


# ---------------------------------------------------------------------- 1. subjects
def test_record_stores_the_subject_in_each_clip_and_its_name(afternoon):
    for subject in ("alice", "bob"):
        ok(afternoon["runs"][subject])
    clips = sorted(afternoon["data"].rglob("*.npz"))
    assert len(clips) == 8, clips
    for clip in clips:
        subject = "alice" if "alice" in clip.name else "bob"
        assert re.fullmatch(rf"{clip.parent.name}_{subject}_\d{{3}}\.npz", clip.name), clip.name
        with np.load(clip) as arrays:
            assert str(arrays["subject"]) == subject


def test_train_splits_by_the_recorded_subjects(afternoon):
    out = ok(afternoon["train"])
    assert "8 clips" in out and "2 groups" in out
    # the heading says what the split was: whole subjects held out, named
    assert re.search(r"split by subject: .*unseen subjects? \(?(alice|bob)", out), out
    assert "every group holds one clip" not in afternoon["train"].stderr


def test_extract_keeps_the_groups_of_a_group_pattern(tmp_path):
    videos = tmp_path / "videos"
    for label, video in (("thumb", PERSON), ("open", HAND)):
        (videos / label).mkdir(parents=True)
        for subject in ("ann", "ben"):
            (videos / label / f"{subject}_{label}.mp4").symlink_to(video)
    env = {"POSEACT_CACHE_DIR": str(tmp_path / "cache")}
    out = ok(poseact(
        "-q", "extract", videos, "-o", tmp_path / "landmarks", "--frame-step", "4",
        "--group-pattern", r"^(?P<group>[a-z]+)_", env=env,
    ))  # fmt: skip
    assert "2 groups" in out
    for clip in (tmp_path / "landmarks").rglob("*.npz"):
        with np.load(clip) as arrays:
            assert str(arrays["subject"]) == clip.name.split("_")[0]
    # training on the extracted folder finds the same two subjects, with no pattern
    train = poseact(
        "-q", "train", tmp_path / "landmarks", "-o", tmp_path / "m.poseact", "--epochs", "2",
        "--units", "8", "--test-fraction", "0.5", env=env,
    )  # fmt: skip
    assert "4 clips" in ok(train) and "2 groups" in train.stdout
    assert re.search(r"unseen subjects? \(?(ann|ben)", train.stdout)


def test_train_warns_when_every_group_holds_one_clip(signs_model):
    train = signs_model["train"]
    ok(train)
    assert "every group holds one clip" in train.stderr
    assert "subject" in train.stderr  # ... and what to do about it
    assert "stratified split of clips" in train.stdout
    assert "unseen subjects" not in train.stdout and "test subjects" not in train.stdout


def test_evaluate_leave_one_subject_out(afternoon):
    out = ok(poseact(
        "-q", "evaluate", afternoon["model"], afternoon["data"], "--leave-one-subject-out",
        env=afternoon["env"],
    ))  # fmt: skip
    scores = dict(re.findall(r"^\s*(alice|bob)\b.*?accuracy (\d\.\d{3})", out, re.MULTILINE))
    assert set(scores) == {"alice", "bob"}, out
    assert re.search(r"mean over 2 subjects.*accuracy \d\.\d{3}", out), out


# ---------------------------------------------------------------------- 2. missing detections
@pytest.fixture(scope="module")
def folder_with_an_empty_clip(tmp_path_factory):
    """Real clips of a person, a gesture clip with nobody in it (black frames), and in
    none/ (the background class) a real clip and an empty room."""
    root = tmp_path_factory.mktemp("missing") / "videos"
    frames = video_frames(PERSON)
    (root / "thumb").mkdir(parents=True)
    (root / "none").mkdir()
    write_mp4(root / "thumb" / "a.mp4", frames[:40:2])
    write_mp4(root / "thumb" / "b.mp4", frames[100:140:2])
    write_mp4(root / "thumb" / "empty.mp4", [np.zeros_like(frames[0])] * 20)
    write_mp4(root / "none" / "c.mp4", frames[150:190:2])
    write_mp4(root / "none" / "empty_room.mp4", [np.zeros_like(frames[0])] * 20)
    return root


def test_a_clip_without_detection_names_allow_missing(folder_with_an_empty_clip, tmp_path):
    proc = poseact("-q", "extract", folder_with_an_empty_clip, "-o", tmp_path / "out",
                   env={"POSEACT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert proc.returncode == 2
    assert "empty.mp4" in proc.stderr and "--allow-missing" in proc.stderr
    assert "require_detection" not in proc.stderr


def test_allow_missing_skips_the_clip_and_says_so_at_the_end(folder_with_an_empty_clip, tmp_path):
    proc = poseact("-q", "extract", folder_with_an_empty_clip, "-o", tmp_path / "out",
                   "--allow-missing", env={"POSEACT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    out = ok(proc)
    # the empty room is background ("no gesture": nobody there is valid), kept as it is
    assert len(list((tmp_path / "out").rglob("*.npz"))) == 4
    assert (tmp_path / "out" / "none" / "empty_room.npz").is_file()
    last = out.strip().splitlines()[-1]  # the closing summary
    assert "skipped 1 of 5 clips" in last and "empty.mp4" in last, out


def test_record_warns_when_the_person_is_in_fewer_than_half_the_frames(tmp_path):
    frames = video_frames(PERSON)
    video = write_mp4(tmp_path / "mostly_empty.mp4", frames[:20] + [np.zeros_like(frames[0])] * 40)
    proc = poseact("record", "thumb", "-o", tmp_path / "data", "--source", video,
                   "--repetitions", "1", "--clip-seconds", "2.4", "--no-preview")  # fmt: skip
    ok(proc)
    warning = [
        line for line in proc.stderr.splitlines() if "thumb_001" in line and "frames" in line
    ]
    assert warning and re.search(r"in (1[5-9]|2[0-2]) of 60 frames", warning[0]), proc.stderr


# ---------------------------------------------------------------------- 3. headless checks
def _assert_annotated(path: Path, source: Path, frames: int | None = None) -> None:
    written, original = video_frames(path), video_frames(source)
    assert written, f"{path} holds no frames"
    if frames is not None:
        assert len(written) == frames
    assert written[0].shape == original[0].shape
    # skeleton and label are drawn on the frames
    diff = np.abs(written[10].astype(int) - original[10].astype(int)).mean(axis=2)
    assert (diff > 60).mean() > 0.002
    assert no_temp_files(path.parent)


def test_live_headless_writes_an_annotated_video(afternoon):
    out = afternoon["root"] / "live.mp4"
    proc = poseact("live", "--model", afternoon["tflite"], "--source", PERSON, "--no-preview",
                   "--max-frames", "60", "--output", out, env=afternoon["env"])  # fmt: skip
    assert "60 frames" in ok(proc)
    _assert_annotated(out, PERSON, frames=60)


def test_predict_writes_an_annotated_video(afternoon):
    out = afternoon["root"] / "predicted.mp4"
    proc = poseact("-q", "predict", afternoon["tflite"], PERSON, "--output", out,
                   env=afternoon["env"])  # fmt: skip
    assert re.search(r"(thumb|none)", ok(proc))
    _assert_annotated(out, PERSON, frames=195)


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_show_renders_a_landmark_clip(afternoon, suffix):
    from PIL import Image

    clip = next((afternoon["data"] / "thumb").glob("thumb_alice_*.npz"))
    with np.load(clip) as arrays:
        n = len(arrays["timestamps"])
    out = afternoon["root"] / f"shown{suffix}"
    ok(poseact("show", clip, "-o", out))
    if suffix == ".gif":
        with Image.open(out) as image:
            assert image.n_frames == n
            image.seek(n // 2)
            pixels = np.asarray(image.convert("RGB"))
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 3  # a skeleton, not a blank
    else:
        assert len(video_frames(out)) == n


# ---------------------------------------------------------------------- 4. models
def test_models_lists_and_verifies_the_mediapipe_bundles():
    out = ok(poseact("models"))
    assert "pose_full" in out and "hand_full" in out and str(SHARED_DIR / "models") in out
    assert "POSEACT_MODEL_DIR" in out
    verified = ok(poseact("models", "verify"))
    assert re.search(r"pose_full.*ok", verified)
    assert "POSEACT_MODEL_DIR" in ok(poseact("--help"))


def test_models_download_finds_a_present_bundle_without_the_network(tmp_path):
    out = ok(poseact("models", "download", "pose_full",
                     env={"POSEACT_CACHE_DIR": str(tmp_path / "cache")}))  # fmt: skip
    assert "pose_full" in out and str(SHARED_DIR / "models") in out
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.task"))


# ---------------------------------------------------------------------- 5. record from a file
def test_record_from_a_video_file_cuts_clips_without_countdown(tmp_path):
    proc = poseact("record", "wave", "clap", "none", "-o", tmp_path / "data",
                   "--source", PERSON, "--no-preview")  # fmt: skip
    out = ok(proc)
    # 7.8 s of video, 2 s clips, no countdown: 3 clips, and it says how many it could give
    assert len(list((tmp_path / "data").rglob("*.npz"))) == 3
    said = out + proc.stderr  # said once (issue 29), by the recorder, as a warning
    assert len(re.findall(r"7\.8 s of video has room for 3 of the 15 clips", said)) == 1, said
    assert "3 of 15 clips" in out


# ---------------------------------------------------------------------- 6. layout from the model
def test_predict_and_evaluate_take_the_layout_from_a_hands_model(signs_model, tmp_path):
    model = signs_model["model"]
    ok(signs_model["train"])
    env = {"POSEACT_CACHE_DIR": str(tmp_path / "cache")}
    proc = poseact("-q", "predict", model, HAND, "--json", env=env)
    result = json.loads(ok(proc).splitlines()[0])
    # a thumb up is none of the three signs: the default rejection rule may say so
    assert result["label"] in {"hello", "iloveyou", "thanks", "unknown"}
    folder = tmp_path / "videos" / "hello"
    folder.mkdir(parents=True)
    (folder / "hand.mp4").symlink_to(HAND)
    assert "macro F1" in ok(poseact("-q", "evaluate", model, tmp_path / "videos", env=env))


# ---------------------------------------------------------------------- 7. help
def _flag_help(command: str) -> dict[str, str]:
    text = ok(poseact(command, "--help"))
    flags: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^\s{2,}(-\w, )?(--[\w-]+)", line)
        if match:
            current = match.group(2)
            flags[current] = line
        elif current and line.startswith(" " * 10):
            flags[current] += " " + line.strip()
        else:
            current = None
    flags.pop("--help", None)
    return flags


def test_every_flag_has_help_and_its_default():
    from poseact import DecisionOptions, ModelOptions, TrainingOptions

    train = _flag_help("train")
    for flag, value in (("--units", ModelOptions().units), ("--layers", ModelOptions().layers),
                        ("--epochs", TrainingOptions().epochs)):  # fmt: skip
        assert re.search(rf"default:? {value}\b", train[flag]), train[flag]
    assert "--window" in train and len(train["--window"].split()) > 3
    live = _flag_help("live")
    for flag, value in (("--threshold", DecisionOptions().threshold),
                        ("--min-frames", DecisionOptions().min_frames),
                        ("--smoothing", DecisionOptions().smoothing)):  # fmt: skip
        value = 0.6 if value is None else value  # unset: the model's threshold, else 0.6
        assert f"{value}" in live[flag] and "default" in live[flag], live[flag]
    for command in ("train", "live", "record", "export", "predict", "evaluate", "extract"):
        for flag, text in _flag_help(command).items():
            assert len(text.split()) > 2, f"{command} {flag} has no help: {text!r}"


def test_commands_list_only_the_flags_that_apply():
    record, export = _flag_help("record"), _flag_help("export")
    for flag in ("--workers", "--no-cache", "--group-pattern"):
        assert flag not in record, f"record lists {flag}"
    for flag in ("--layout", "--group-pattern", "--frame-step"):
        assert flag not in export, f"export lists {flag}"


# ---------------------------------------------------------------------- 8. reports
def test_reports_worth_looking_at(afternoon):
    report = afternoon["report"]
    out = ok(afternoon["train"])
    assert re.search(r"confusion", out, re.IGNORECASE)  # summary() prints the matrix
    # the random-forest yardstick beside the network, on the same held-out clips
    assert re.search(r"yardstick \(random forest on clip statistics\): accuracy [01]\.\d{3}", out)
    for name in ("confusion.png", "confusion_normalized.png", "report.html", "report.json"):
        assert (report / name).is_file(), name
    content = json.loads((report / "report.json").read_text())
    assert content["model"].endswith("model.poseact") and "my_gestures" in content["dataset"]
    wrong = content["misclassified"]
    assert isinstance(wrong, list)
    assert len(wrong) == content["num_clips"] - round(content["accuracy"] * content["num_clips"])
    for item in wrong:
        assert set(item) >= {"file", "true", "predicted", "confidence"}
        assert item["true"] != item["predicted"] and 0 <= item["confidence"] <= 1
        assert Path(item["file"]).name.endswith(".npz")
    html = (report / "report.html").read_text()
    assert "accuracy" in html and "data:image/png;base64," in html
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html)  # one self-contained page
    assert html.count("<img") >= 1 + len(wrong)  # the matrix, then one strip per wrong clip


def test_evaluate_report_lists_each_wrong_clip(signs_model, tmp_path):
    model = signs_model["model"]  # two passes: some clips are wrong
    ok(signs_model["train"])
    out = ok(poseact("-q", "evaluate", model, ASL_SIGNS, "--report-dir", tmp_path / "r"))
    content = json.loads((tmp_path / "r" / "report.json").read_text())
    wrong = content["misclassified"]
    assert wrong, "the weak model got every clip right: nothing to list"
    assert len(wrong) == sum(  # an "unknown" column, when the model has one, counts too
        v for i, row in enumerate(content["confusion"]) for j, v in enumerate(row) if i != j
    )
    assert "hands.poseact" in (tmp_path / "r" / "report.html").read_text()
    assert "asl_signs" in out


# ---------------------------------------------------------------------- 9. formats
def test_train_reads_the_formats_the_converters_know(signs_model, tmp_path):
    assert "90 clips, 3 classes" in ok(signs_model["train"])  # a packed .npz
    bad = tmp_path / "numbers.npz"
    np.savez(bad, x=np.zeros(3))
    proc = poseact("-q", "train", bad, "-o", tmp_path / "n.poseact")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "numbers.npz" in proc.stderr and "holistic" in proc.stderr and "--format" in proc.stderr
    forced = poseact("-q", "train", ASL_SIGNS, "--format", "landmark-table",
                     "-o", tmp_path / "f.poseact")  # fmt: skip
    assert forced.returncode == 2 and "landmark-table" in forced.stderr


# ---------------------------------------------------------------------- 10. small ones
def test_live_summary_words_and_event_times(afternoon):
    proc = poseact("live", "--model", afternoon["tflite"], "--source", PERSON, "--no-preview",
                   "--threshold", "0.3", "--min-frames", "1", env=afternoon["env"])  # fmt: skip
    out = ok(proc)
    assert not re.search(r"\b1 gestures\b", out)
    assert "person in 195" in out
    events = re.findall(r"^\s*(\d+\.\d+)s → +(\d+\.\d+)s", out, re.MULTILINE)
    spans = sorted((float(a), float(b)) for a, b in events)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start + 1e-6, f"events overlap: {spans}"
    assert "--width" in ok(poseact("live", "--help"))


def test_hands_mode_counts_hands_not_people(tmp_path):
    proc = poseact("-q", "extract", HAND, "-o", tmp_path / "hand.npz", "--layout", "hands",
                   "--frame-step", "5", env={"POSEACT_CACHE_DIR": str(tmp_path / "c")})  # fmt: skip
    out = ok(proc)
    assert "hand" in out and "person" not in out


def test_web_help_says_what_a_phone_needs():
    text = ok(poseact("web", "--help"))
    assert "--host" in text and "0.0.0.0" in text
    assert re.search(r"HTTPS|localhost", text)


# ---------------------------------------------------------------------- 11. real-data demos
@pytest.mark.parametrize(
    "dataset, says, held_out",
    [
        ("asl_signs", "one signer", "held-out clips"),
        ("fingertip_tracks", "one person", "held-out recordings"),
    ],
)
def test_demo_on_a_shipped_real_dataset(dataset, says, held_out, tmp_path):
    # from a folder outside the repository, as on a fresh clone: datasets/ is found
    proc = poseact("-q", "demo", "--dataset", dataset, "--output-dir", tmp_path / "out",
                   "--epochs", "4", "--quantization", "float", cwd=tmp_path)  # fmt: skip
    out = ok(proc)
    assert re.search(rf"what it cannot show: .*{says}", out), out
    assert f"Keras model on the {held_out}:" in out and "test subjects" not in out
    accuracy = float(re.search(r"^accuracy (\d\.\d{3})", out, re.MULTILINE).group(1))
    assert accuracy > 0.4, out  # 3 or 4 classes: well above chance after 4 epochs
    assert (tmp_path / "out" / "gestures_float.tflite").is_file()
    assert (tmp_path / "out" / "report-keras" / "report.html").is_file()
