"""Round three (issue 28), library level: hostile files and destroyed outputs.

Real faults only: device nodes made with mknod (root), FIFOs, symbolic and hard
links, real tmpfs mounts that fill up, a real malicious pickle that would create a
file, real decompression bombs (deflate streams of hundreds of megabytes), real
threads on one LiteRT interpreter. The command-line side is in
test_security_cli.py, the web server in test_security_web.py.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import tmpfs
from reliability import files

import poseact
from poseact.core.archives import ArchiveLimitError, load_npz
from poseact.core.atomic import (
    MANIFEST_NAME,
    atomic_dir,
    atomic_write_text,
    clear_protected_inputs,
    protect_inputs,
)
from poseact.core.errors import OutputRefused

LEGACY_MODEL = Path(__file__).parent / "data" / "legacy_v1.tflite"


def _clip(value: float = 0.5, frames: int = 4) -> poseact.LandmarkSequence:
    return poseact.LandmarkSequence(
        timestamps=np.arange(frames) / 30.0,
        landmarks=np.full((frames, 33, 3), value, np.float32),
        visibility=np.ones((frames, 33), np.float32),
        layout="pose",
    )


def _writers(target: Path):
    """Every kind of library writer, each aimed at `target`."""
    data = poseact.Dataset.from_arrays([np.full((4, 33, 3), 0.5)] * 2, ["a", "b"])
    return {
        "text": lambda: atomic_write_text(target, "x"),
        "clip": lambda: _clip().save(target),
        "dataset": lambda: data.save(target),
    }


# ---------------------------------------------------------------------- 1. outputs
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")


@needs_root
@pytest.mark.parametrize("writer", ["text", "clip", "dataset"])
def test_a_character_device_is_never_replaced(writer, tmp_path):
    node = tmp_path / "null-copy"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null
    with pytest.raises(OutputRefused, match="character device, not a regular file"):
        _writers(node)[writer]()
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null-copy"]  # no temp file left


@pytest.mark.parametrize("writer", ["text", "clip", "dataset"])
def test_a_fifo_is_refused_without_blocking(writer, tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(OutputRefused, match="FIFO"):
        _writers(fifo)[writer]()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_symbolic_link_is_followed_on_purpose(tmp_path):
    real = tmp_path / "real" / "clip.npz"
    real.parent.mkdir()
    _clip(0.1).save(real)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    _clip(0.9).save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link stays
    assert np.allclose(poseact.LandmarkSequence.load(real).landmarks, 0.9)  # its target changed
    # a dangling link: the file it names is created
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "real" / "new.npz")
    _clip(0.3).save(dangling)
    assert dangling.is_symlink() and (tmp_path / "real" / "new.npz").is_file()


def test_a_registered_input_is_never_written_even_through_a_hard_link(tmp_path):
    source = tmp_path / "in.npz"
    _clip(0.2).save(source)
    hard = tmp_path / "hard.npz"
    os.link(source, hard)
    before = source.read_bytes()
    protect_inputs(source)
    try:
        for target in (source, hard):
            with pytest.raises(OutputRefused, match="is the input"):
                _clip(0.7).save(target)
    finally:
        clear_protected_inputs()
    assert source.read_bytes() == before


def test_a_folder_output_keeps_user_files_and_refuses_to_replace_them(tmp_path):
    site = tmp_path / "site"
    with atomic_dir(site) as tmp:
        (tmp / "index.html").write_text("poseact 1")
        (tmp / "vendor").mkdir()
        (tmp / "vendor" / "a.js").write_text("a")
    (site / "notes.txt").write_text("mine")
    (site / "mine").mkdir()
    (site / "mine" / "photo.jpg").write_bytes(b"jpg")
    (site / "photos").symlink_to(site / "mine", target_is_directory=True)
    os.mkfifo(site / "pipe")
    with atomic_dir(site) as tmp:  # an update: poseact's files replaced, the user's kept
        (tmp / "index.html").write_text("poseact 2")
    assert (site / "index.html").read_text() == "poseact 2"
    assert not (site / "vendor").exists()  # poseact's old file, gone with the old build
    assert (site / "notes.txt").read_text() == "mine"
    assert (site / "mine" / "photo.jpg").read_bytes() == b"jpg"
    assert (site / "photos").is_symlink() and (site / "photos" / "photo.jpg").is_file()
    assert stat.S_ISFIFO((site / "pipe").lstat().st_mode)
    # the user edits a file poseact wrote: it is theirs now
    (site / "index.html").write_text("my edit")
    with pytest.raises(OutputRefused, match="index.html; refusing to replace"):
        with atomic_dir(site) as tmp:
            (tmp / "index.html").write_text("poseact 3")
    assert (site / "index.html").read_text() == "my edit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temp folder left
    with atomic_dir(site, force=True) as tmp:
        (tmp / "index.html").write_text("poseact 3")
    assert (site / "index.html").read_text() == "poseact 3"
    assert (site / MANIFEST_NAME).is_file()


def _report(classes):
    """A real EvaluationReport of a perfect answer on 3 clips per class."""
    from poseact.train.evaluate import EvaluationReport

    n = len(classes)
    ones = np.ones(n)
    return EvaluationReport(
        classes=tuple(classes),
        accuracy=1.0,
        macro_f1=1.0,
        precision=ones,
        recall=ones,
        f1=ones,
        support=np.full(n, 3),
        confusion=np.eye(n, dtype=int) * 3,
    )


def test_a_report_on_a_full_disk_is_all_or_nothing(tmp_path):
    report = _report(("a", "b"))
    reference = report.save(tmp_path / "reference")
    size = sum(p.stat().st_size for p in files(tmp_path / "reference"))
    with tmpfs(tmp_path / "disk", f"{(size * 3 // 2) // 1024 + 8}k") as disk:
        report.save(disk / "r")  # room for one report, not two
        before = {p.name: p.read_bytes() for p in files(disk / "r")}
        with pytest.raises(poseact.WriteError, match="disk is full"):
            _report(("a", "b", "c")).save(disk / "r")
        after = {p.name: p.read_bytes() for p in files(disk / "r")}
        assert after == before  # the old report, whole: not the new json beside the old html
        assert [p for p in disk.iterdir() if p.name != "r"] == []
    assert set(reference) == {"json", "csv", "png", "normalized_png", "html"}


# ---------------------------------------------------------------------- 3. pickles
class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_malicious_pickle_never_runs(protocol, tmp_path):
    marker = tmp_path / "pwned"
    assert os.system(f"true {marker}") == 0  # the payload would work
    crafted = tmp_path / "skeletons.pkl"
    crafted.write_bytes(
        pickle.dumps({"annotations": [{"frame_dir": _Exploit(marker)}]}, protocol=protocol)
    )
    for read in (
        lambda: poseact.read_pyskl_pickle(crafted),
        lambda: poseact.load_dataset(crafted),
        lambda: poseact.load_dataset(crafted, format="pyskl"),
    ):
        with pytest.raises(poseact.DatasetError, match="posix.system|refused"):
            read()
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_real_pyskl_pickle_still_reads(protocol, tmp_path):
    rng = np.random.default_rng(0)
    annotations = [
        {
            "frame_dir": f"S001P00{i}",
            "label": i % 2,
            "img_shape": (480, 640),
            "total_frames": np.int64(12),
            "keypoint": rng.uniform(0, 400, (1, 12, 17, 2)).astype(np.float32),
            "keypoint_score": np.ones((1, 12, 17), np.float16),
        }
        for i in range(4)
    ]
    path = tmp_path / "ntu.pkl"
    path.write_bytes(
        pickle.dumps({"split": {"train": ["S001P000"]}, "annotations": annotations}, protocol)
    )
    data = poseact.read_pyskl_pickle(path, label_names=["sit", "stand"])
    assert len(data) == 4 and data.classes == ("sit", "stand")


# ---------------------------------------------------------------------- 4. bombs
def _bomb_npz(path: Path, members: dict[str, int]) -> Path:
    """An .npz whose members inflate to `members[name]` zero bytes each (real deflate)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, nbytes in members.items():
            # zipfile compresses as it streams: 1 MiB at a time, never the whole array
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f4", "fortran_order": False, "shape": (nbytes // 4,)}
            )
            with zf.open(zipfile.ZipInfo(f"{name}.npy"), "w", force_zip64=True) as out:
                out._compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
                out.write(header.getvalue())
                chunk = bytes(1 << 20)
                for _ in range(nbytes // len(chunk)):
                    out.write(chunk)
    return path


@pytest.fixture(scope="module")
def landmark_bomb(tmp_path_factory) -> Path:
    """A landmark .npz of 300 KB whose landmarks inflate to 320 MiB."""
    path = tmp_path_factory.mktemp("bombs") / "clip.npz"
    return _bomb_npz(path, {"landmarks": 320 << 20, "timestamps": 4, "visibility": 4})


def test_a_landmark_npz_bomb_is_refused_before_inflating(landmark_bomb):
    import resource

    assert landmark_bomb.stat().st_size < 2 << 20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(poseact.LandmarkFormatError, match="decompression bomb"):
        poseact.LandmarkSequence.load(landmark_bomb)
    with pytest.raises(poseact.DatasetError, match="decompression bomb"):
        poseact.Dataset.load(landmark_bomb)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown * 1024 < 64 << 20, f"peak memory grew by {grown} KiB"


def test_an_npy_header_declaring_more_than_its_member_holds(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 33, 3)}
    )
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("landmarks.npy", header.getvalue() + bytes(800))
    with pytest.raises(ArchiveLimitError, match="declares an array of shape"):
        load_npz(path)
    with pytest.raises(poseact.LandmarkFormatError, match="declares an array"):
        poseact.LandmarkSequence.load(path)


def test_an_all_nan_hour_long_clip_is_not_taken_for_a_bomb(tmp_path):
    """Legitimate files that compress extremely well stay readable (ratio-free below
    64 MiB): an hour of an empty room is 43 MB of NaN and compresses 1000 times."""
    frames = 30 * 3600
    clip = poseact.LandmarkSequence(
        timestamps=np.arange(frames) / 30.0,
        landmarks=np.full((frames, 33, 3), np.nan, np.float32),
        visibility=np.zeros((frames, 33), np.float32),
        layout="pose",
    )
    path = clip.save(tmp_path / "empty-room.npz")
    assert path.stat().st_size < 1 << 20
    assert len(poseact.LandmarkSequence.load(path)) == frames


def test_a_model_whose_nested_rehearsal_npz_is_a_bomb(asl_gru, tmp_path):
    classifier = asl_gru[0] if isinstance(asl_gru, tuple) else asl_gru
    good = classifier.save(tmp_path / "good.poseact")
    bomb = _bomb_npz(tmp_path / "rehearsal.npz", {"positions": 320 << 20, "labels": 4})
    crafted = tmp_path / "crafted.poseact"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "rehearsal.npz":
                dst.writestr(info, src.read(info))
        dst.writestr("rehearsal.npz", bomb.read_bytes())
    with pytest.raises(poseact.ModelFormatError, match="rehearsal.npz: member positions.npy"):
        poseact.GestureClassifier.load(crafted)


def _png_bomb(path: Path, width: int, height: int) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def _jpeg_claiming(path: Path, width: int, height: int) -> Path:
    """A real JPEG (written by OpenCV) whose frame header is edited to claim a size."""
    import cv2

    ok, data = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    data = bytearray(data.tobytes())
    i = data.index(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def test_image_bombs_are_measured_before_decoding(tmp_path):
    import resource

    from poseact.extract.extractor import _read_image

    png = _png_bomb(tmp_path / "bomb.png", 30000, 30000)
    assert png.stat().st_size < 4 << 20
    jpeg = _jpeg_claiming(tmp_path / "bomb.jpg", 30000, 30000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for image in (png, jpeg):
        with pytest.raises(poseact.VideoReadError, match="30000 x 30000 pixels"):
            _read_image(image)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown * 1024 < 64 << 20, f"peak memory grew by {grown} KiB"
    small = _png_bomb(tmp_path / "small.png", 64, 48)
    assert _read_image(small).shape == (48, 64, 3)


# ---------------------------------------------------------------------- 5. labels
@pytest.mark.parametrize(
    "label",
    ["\x1b[2Jgotcha", "line\nforged", "tab\there", "\u202eevil", " wave", "wave ", "nul\x00"],
)
def test_labels_with_control_characters_or_spaces_are_refused(label):
    with pytest.raises(poseact.DatasetError, match="cannot be a class name"):
        poseact.Dataset.from_arrays([np.full((4, 33, 3), 0.5)] * 2, ["ok", label])


def test_unicode_forms_of_one_name_are_one_class():
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    data = poseact.Dataset.from_arrays([np.full((4, 33, 3), 0.5)] * 2, [composed, decomposed])
    assert data.classes == (composed,)


def test_formula_labels_are_escaped_in_csv_and_read_back(tmp_path):
    from poseact.train.stream_eval import Annotation, read_annotations, write_annotations

    labels = ["=1+1", "@SUM(A1)", "-2", "+cmd", "wave"]
    report = _report(labels)
    report.save(tmp_path / "report")
    csv_text = (tmp_path / "report" / "confusion.csv").read_text()
    for cell in labels[:4]:
        assert f",'{cell}" in csv_text or f"\n'{cell}," in csv_text, csv_text
    events = [Annotation(label, i, i + 0.5) for i, label in enumerate(labels)]
    write_annotations(tmp_path / "a.csv", events)
    assert [e.label for e in read_annotations(tmp_path / "a.csv")] == labels


def test_model_files_with_escape_sequences_in_their_classes_are_refused(tmp_path):
    from test_bad_input_models import with_metadata

    meta = poseact.read_model_metadata(LEGACY_MODEL)
    classes = list(meta["classes"])
    classes[0] = "\x1b]0;owned\x07" + classes[0]
    crafted = with_metadata(LEGACY_MODEL, tmp_path / "esc2.tflite", classes=classes)
    with pytest.raises(poseact.ModelFormatError, match="U\\+001B"):
        poseact.TFLiteGestureModel(crafted)


# ---------------------------------------------------------------------- 7. nonsense values
@pytest.mark.parametrize(
    "landmarks, match",
    [
        (np.full((4, 33, 3), 0.5) + 0j, "complex"),
        (np.where(np.arange(4 * 33 * 3).reshape(4, 33, 3) == 7, 1e30, 0.5), "1e\\+30"),
    ],
)
def test_landmarks_that_make_nonsense_are_refused(landmarks, match):
    with pytest.raises(poseact.LandmarkFormatError, match=match):
        poseact.LandmarkSequence(
            timestamps=np.arange(4) / 30.0,
            landmarks=landmarks,
            visibility=np.ones((4, 33)),
            layout="pose",
        )


def test_options_that_grow_without_bound_are_refused():
    from poseact.data.synthetic import generate_activities

    with pytest.raises(ValueError, match="learning_rate must be a finite number"):
        poseact.TrainingOptions(learning_rate=float("inf"))
    with pytest.raises(ValueError, match="window must be a whole number of frames from 1 to"):
        poseact.NormalizerSpec(window=100000)
    with pytest.raises(ValueError, match="fps must be a finite number"):
        poseact.NormalizerSpec(fps=float("inf"))
    with pytest.raises(ValueError, match="fps must be a finite number"):
        poseact.NormalizerSpec(fps=100000)
    with pytest.raises(ValueError, match="more than the 100000 generated at once"):
        generate_activities(num_subjects=100000)


def test_a_network_with_nan_weights_is_never_saved_or_exported(asl_gru, tmp_path):
    import copy

    classifier = asl_gru[0] if isinstance(asl_gru, tuple) else asl_gru
    broken = copy.copy(classifier)
    broken.model_ = __import__("keras").models.clone_model(classifier.model_)
    weights = [np.full_like(w, np.nan) for w in classifier.model_.get_weights()]
    broken.model_.set_weights(weights)
    with pytest.raises(poseact.ModelFormatError, match="NaN or inf weights"):
        broken.save(tmp_path / "nan.poseact")
    with pytest.raises(poseact.ModelFormatError, match="NaN or inf weights"):
        poseact.export_tflite(broken, tmp_path / "nan.tflite")
    assert files(tmp_path) == []


# ---------------------------------------------------------------------- 8. threads
def test_one_model_shared_by_threads_gives_each_its_own_answer():
    model = poseact.TFLiteGestureModel(LEGACY_MODEL)
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(64, model.spec.window, model.spec.frame_features)).astype(np.float32)
    expected = np.stack([model.predict_window(w) for w in windows])
    results: dict[int, list] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        try:
            barrier.wait()
            order = np.random.default_rng(k).permutation(len(windows))
            results[k] = [(i, model.predict_window(windows[i])) for i in np.tile(order, 5)]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for answers in results.values():
        for i, probs in answers:
            np.testing.assert_array_equal(probs, expected[i])


def test_one_stepper_used_from_two_threads_says_so():
    model = poseact.TFLiteGestureModel(LEGACY_MODEL)
    stepper = model.stepper()
    row = np.zeros(model.spec.frame_features, np.float32)
    caught: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        for _ in range(3000):
            try:
                stepper.step(row)
            except poseact.PoseactError as exc:
                caught.append(exc)
                return

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert caught and "two threads at once" in str(caught[0])
    # one stepper per thread is the way: each gives the single-thread answer
    assert np.all(np.isfinite(model.stepper().step(row)))
