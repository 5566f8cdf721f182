"""Round three (issue 28), the engineer's own sweep: cases the issue did not list.

Each was tried as an attacker or a clumsy user would, with real files, real mounts,
real sockets and real processes; the ones that failed were fixed (noted per test).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import tmpfs
from reliability import assert_one_line_error, run_cli

import poseact
from poseact.core.atomic import MANIFEST_NAME, atomic_dir, read_manifest
from poseact.deploy.web import build_web_app, serve

LEGACY_MODEL = Path(__file__).parent / "data" / "legacy_v1.tflite"


def _clip(frames: int = 4) -> poseact.LandmarkSequence:
    return poseact.LandmarkSequence(
        timestamps=np.arange(frames) / 30.0,
        landmarks=np.full((frames, 33, 3), 0.5, np.float32),
        visibility=np.ones((frames, 33), np.float32),
        layout="pose",
    )


def _forge_manifest(folder: Path, files: dict[str, str]) -> None:
    (folder / MANIFEST_NAME).write_text(
        json.dumps({"format": "poseact-manifest/1", "files": files})
    )


def test_a_crafted_manifest_cannot_delete_or_serve_files_outside_its_folder(tmp_path):
    """Found: a manifest listing "../victim.txt" with its true sha256 made a rebuild
    on a mount point (entry-by-entry publication) delete the file outside the site."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    digest = hashlib.sha256(b"precious").hexdigest()
    with tmpfs(tmp_path / "site", "1m") as site:  # a mount point: no folder exchange
        with atomic_dir(site) as tmp:
            (tmp / "index.html").write_text("v1")
        _forge_manifest(
            site,
            {
                "index.html": hashlib.sha256(b"v1").hexdigest(),
                "../victim.txt": digest,
                "/etc/hostname": digest,
            },
        )
        assert set(read_manifest(site)) == {"index.html"}
        with atomic_dir(site) as tmp:
            (tmp / "index.html").write_text("v2")
        assert (site / "index.html").read_text() == "v2"
    assert victim.read_text() == "precious"


def test_a_link_inside_the_site_never_leads_the_server_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET")
    site = tmp_path / "site"
    with atomic_dir(site) as tmp:
        (tmp / "index.html").write_text("page")
        (tmp / "vendor").mkdir()
        (tmp / "vendor" / "secret.txt").write_text("decoy")
    manifest = read_manifest(site)
    # someone with write access swaps the folder for a link out of the site
    (site / "vendor" / "secret.txt").unlink()
    (site / "vendor").rmdir()
    (site / "vendor").symlink_to(outside)
    _forge_manifest(site, manifest)
    with serve(site) as server:
        port = server.server_address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /vendor/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 404") and b"SECRET" not in answer


def test_a_clip_that_is_a_link_to_a_device_does_not_hang_a_dataset(tmp_path):
    """Found: a clip linked to a device was skipped silently (a clip missing without a
    word); it is now named."""
    root = tmp_path / "data"
    _clip().save(root / "wave" / "a.npz")
    (root / "wave" / "b.npz").symlink_to("/dev/zero")
    with pytest.raises(poseact.LandmarkFormatError, match="b.npz is a character device"):
        poseact.Dataset.from_folder(root)
    (root / "wave" / "b.npz").unlink()
    (root / "wave" / "c.csv").symlink_to("/dev/zero")
    with pytest.raises(poseact.LandmarkFormatError, match="c.csv is a character device"):
        poseact.Dataset.from_folder(root)


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_an_object_array_inside_an_npz_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Exploit(marker)], dtype=object), allow_pickle=True)
    path = tmp_path / "clip.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("landmarks.npy", buffer.getvalue())
        for name in ("timestamps", "visibility", "layout"):
            inner = io.BytesIO()
            np.save(inner, np.zeros(1))
            zf.writestr(f"{name}.npy", inner.getvalue())
    with pytest.raises(poseact.LandmarkFormatError, match="Python objects"):
        poseact.LandmarkSequence.load(path)
    assert not marker.exists()


def test_a_zip_with_a_member_twice_is_refused(tmp_path):
    """Found: an .npz holding `landmarks.npy` twice was read (the last copy), while
    other zip readers take the first: a file can show two programs two contents."""
    good = _clip().save(tmp_path / "good.npz")
    path = tmp_path / "twice.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        with pytest.warns(UserWarning, match="Duplicate name"):
            dst.writestr("landmarks.npy", src.read("landmarks.npy"))
    with pytest.raises(poseact.LandmarkFormatError, match="in the archive twice"):
        poseact.LandmarkSequence.load(path)


def test_a_deeply_nested_pickle_ends_in_one_error_not_a_crash(tmp_path):
    """Found: annotations that are not dicts raised a bare AttributeError."""
    path = tmp_path / "deep.pkl"
    depth = 200_000
    path.write_bytes(b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b".")
    code = (
        "import sys, poseact\n"
        "try:\n    poseact.read_pyskl_pickle(sys.argv[1])\n"
        "except poseact.DatasetError as e:\n    print('error:', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "error:" in result.stdout and "annotation 0 is a list" in result.stdout


def test_a_label_of_ten_thousand_characters_is_refused():
    with pytest.raises(poseact.DatasetError, match="10000 characters long"):
        poseact.Dataset.from_arrays([np.full((4, 33, 3), 0.5)] * 2, ["a", "x" * 10000])


def test_a_model_whose_metadata_asks_for_a_huge_window(tmp_path):
    from test_bad_input_models import with_metadata

    crafted = with_metadata(LEGACY_MODEL, tmp_path / "w.tflite", **{"normalizer.window": 100000})
    with pytest.raises(poseact.ModelFormatError, match="from 1 to 1024"):
        poseact.TFLiteGestureModel(crafted)


def test_a_file_name_with_escape_sequences_is_printed_escaped(tmp_path):
    name = tmp_path / "\x1b[2J\x1b]0;owned\x07clip.npz"
    result = run_cli("-q", "predict", LEGACY_MODEL, name)
    line = assert_one_line_error(result, "predict")
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b[2J" in line


def test_huge_request_lines_and_header_floods_are_refused_quietly(tmp_path):
    site = build_web_app(LEGACY_MODEL, tmp_path / "site")
    with serve(site) as server:
        port = server.server_address[1]
        for request in (
            b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(300)) + b"\r\n",
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                answer = sock.recv(4096)
            assert answer.split()[1] in (b"400", b"414", b"431"), answer[:100]
            assert b"Traceback" not in answer


def test_a_report_dir_that_is_a_link_is_followed(tmp_path):
    from test_security_files import _report

    real = tmp_path / "reports" / "today"
    real.mkdir(parents=True)
    link = tmp_path / "latest"
    link.symlink_to(real, target_is_directory=True)
    _report(("a", "b")).save(link)
    assert link.is_symlink() and (real / "report.html").is_file()
    _report(("a", "b", "c")).save(link)  # replaced as a unit through the link
    assert link.is_symlink() and "c" in json.loads((real / "report.json").read_text())["classes"]


def test_csv_landmarks_of_1e30_are_refused_at_the_door(tmp_path):
    from poseact.data.dataset import read_landmark_csv, write_landmark_csv

    path = write_landmark_csv(_clip(), tmp_path / "clip.csv")
    text = path.read_text().splitlines()
    cells = text[2].split(",")
    cells[1] = "1e30"
    text[2] = ",".join(cells)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(poseact.LandmarkFormatError, match="1e\\+30"):
        read_landmark_csv(path)


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"format": 3}', '{"files": "x"}'])
def test_a_damaged_manifest_means_no_file_is_poseacts(content, tmp_path):
    site = tmp_path / "site"
    with atomic_dir(site) as tmp:
        (tmp / "index.html").write_text("v1")
    (site / MANIFEST_NAME).write_text(content)
    assert read_manifest(site) == {}
    with pytest.raises(poseact.OutputRefused, match="index.html"):
        with atomic_dir(site) as tmp:
            (tmp / "index.html").write_text("v2")
    assert (site / "index.html").read_text() == "v1"
    assert stat.S_ISREG((site / "index.html").stat().st_mode)
    assert pickle  # (the module is used by the pickle cases above)


def test_a_model_whose_keras_config_asks_for_a_python_lambda(tmp_path):
    """A `.poseact` whose network config holds a `Lambda` layer with Python bytecode:
    refused by Keras' safe mode, in one line (Keras quotes the whole config)."""
    source = Path(__file__).parent / "data" / "legacy" / "asl_gru16_v0.1.0.poseact"
    with zipfile.ZipFile(source) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(io.BytesIO(members["model.keras"])) as zf:
        keras_members = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(keras_members["config.json"])
    old = config["config"]["layers"][1]
    code = "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAfABTAKkBTqkAqQHaAXhyAgAAAHICAAAA+gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAAcwIAAAAEAA=="
    config["config"]["layers"][1] = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": old["config"]["name"],
            "trainable": True,
            "dtype": old["config"]["dtype"],
            "function": {
                "class_name": "__lambda__",
                "config": {"code": code, "defaults": None, "closure": None},
            },
            "arguments": {},
        },
        "registered_name": None,
        "name": old.get("name"),
        "inbound_nodes": old.get("inbound_nodes", []),
    }
    keras_members["config.json"] = json.dumps(config).encode()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        for name, data in keras_members.items():
            zf.writestr(name, data)
    members["model.keras"] = inner.getvalue()
    crafted = tmp_path / "lambda.poseact"
    with zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(poseact.ModelFormatError, match="Lambda") as info:
        poseact.GestureClassifier.load(crafted)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
