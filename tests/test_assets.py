"""Model bundle resolution and verified downloads, against a local HTTP server."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from poseact.core.atomic import sha256_file
from poseact.core.errors import ModelAssetError
from poseact.extract.assets import (
    OFFICIAL_BASE_URL,
    download_model,
    model_cache_dir,
    model_url,
    resolve_model,
    user_cache_dir,
)

POSE_URL_PATH = "/pose_landmarker/pose_landmarker_full/float16/1/pose_landmarker_full.task"
POSE_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, Path]:
    """Empty model dir and cache dir, downloads only from 127.0.0.1, no proxies."""
    dirs = {"models": tmp_path / "models", "cache": tmp_path / "cache"}
    dirs["models"].mkdir()
    monkeypatch.setenv("POSEACT_MODEL_DIR", str(dirs["models"]))
    monkeypatch.setenv("POSEACT_CACHE_DIR", str(dirs["cache"]))
    monkeypatch.setenv("POSEACT_MODEL_BASE_URL", "http://127.0.0.1:9/unused")
    monkeypatch.delenv("POSEACT_OFFLINE", raising=False)
    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return dirs


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        server = self.server
        server.requests.append(self.path)
        if self.path != server.route:
            self.send_error(404)
            return
        body = server.payload
        length = len(body)
        if server.mode == "lie":  # announces more than it sends, then closes
            length += 4096
        elif server.mode == "cut":  # honest length, but half a zip
            body = body[: len(body) // 2]
            length = len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path, model_dir, monkeypatch):
    """A local server for a copy of the shared pose bundle; set `.mode`, `.payload`."""
    bundle = tmp_path / "served" / "pose_landmarker_full.task"
    bundle.parent.mkdir()
    shutil.copyfile(model_dir / "pose_landmarker_full.task", bundle)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.route = POSE_URL_PATH
    httpd.payload = bundle.read_bytes()
    httpd.mode = "ok"
    httpd.requests = []
    httpd.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.sha256 = sha256_file(bundle)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def cache_files(env) -> list[str]:
    folder = env["cache"] / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------- folders
def test_user_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("POSEACT_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "explicit"
    assert model_cache_dir() == tmp_path / "explicit" / "models"
    monkeypatch.delenv("POSEACT_CACHE_DIR")
    assert user_cache_dir() == tmp_path / "xdg" / "poseact"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "poseact"


def test_explicit_path_wins(env, tmp_path):
    custom = tmp_path / "my pose.task"
    custom.write_bytes(b"x")
    (env["models"] / "pose_landmarker_full.task").write_bytes(b"y")
    assert resolve_model(str(custom)) == custom.resolve()
    assert resolve_model(custom) == custom.resolve()


def test_missing_explicit_path_or_unknown_name(env, tmp_path):
    with pytest.raises(ModelAssetError, match="missing.task"):
        resolve_model(str(tmp_path / "missing.task"), download=False)
    with pytest.raises(ModelAssetError, match="pose_full"):
        resolve_model("pose_fullest")


def test_model_dirs_in_order_then_cache(env, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.setenv("POSEACT_MODEL_DIR", os.pathsep.join([str(first), "", str(second)]))
    cached = model_cache_dir() / "pose_landmarker_full.task"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cache")
    assert resolve_model("pose_full", download=False) == cached.resolve()
    (second / "pose_landmarker_full.task").write_bytes(b"2")
    assert resolve_model("pose_full", download=False) == (second / "pose_landmarker_full.task")
    (first / "pose_landmarker_full.task").write_bytes(b"1")
    assert resolve_model("pose_full", download=False) == (first / "pose_landmarker_full.task")


def test_hand_full_accepts_both_file_names(env):
    official_name = env["models"] / "hand_landmarker.task"
    official_name.write_bytes(b"h")
    assert resolve_model("hand_full", download=False) == official_name.resolve()
    preferred = env["models"] / "hand_landmarker_full.task"
    preferred.write_bytes(b"h")
    assert resolve_model("hand_full", download=False) == preferred.resolve()


def test_shared_models_resolve(model_dir, monkeypatch):
    monkeypatch.setenv("POSEACT_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("POSEACT_OFFLINE", "1")
    assert resolve_model("pose_full").name == "pose_landmarker_full.task"
    assert resolve_model("hand_full").name == "hand_landmarker_full.task"
    assert resolve_model("hand_lite").name == "hand_landmarker_lite.task"


# ---------------------------------------------------------------------------- not found
def test_offline_error_says_where_it_looked_and_how_to_fix(env, monkeypatch):
    monkeypatch.setenv("POSEACT_OFFLINE", "1")
    with pytest.raises(ModelAssetError) as info:
        resolve_model("pose_full")
    message = str(info.value)
    assert OFFICIAL_BASE_URL + POSE_URL_PATH in message
    assert "POSEACT_MODEL_DIR" in message and str(env["models"]) in message
    assert str(model_cache_dir()) in message and "POSEACT_OFFLINE" in message
    assert "path" in message


def test_download_false_and_hand_lite_have_clear_errors(env):
    with pytest.raises(ModelAssetError, match=r"download=False") as info:
        resolve_model("hand_full", download=False)
    assert "hand_landmarker/hand_landmarker/float16/1/hand_landmarker.task" in str(info.value)
    with pytest.raises(ModelAssetError, match="no separate bundle"):
        resolve_model("hand_lite")  # would be a download, but there is none


def test_model_url_honours_base_url(env, monkeypatch):
    monkeypatch.setenv("POSEACT_MODEL_BASE_URL", "http://mirror.example/models/")
    assert model_url("pose_full") == "http://mirror.example/models" + POSE_URL_PATH
    assert model_url("pose_full", official=True) == OFFICIAL_BASE_URL + POSE_URL_PATH
    assert model_url("hand_lite") is None


# ---------------------------------------------------------------------------- downloads
def test_download_into_cache_with_sidecar(env, server, monkeypatch):
    monkeypatch.setenv("POSEACT_MODEL_BASE_URL", server.base_url)
    path = resolve_model("pose_full")
    assert path == (model_cache_dir() / "pose_landmarker_full.task").resolve()
    assert sha256_file(path) == server.sha256
    sidecar = path.with_name("pose_landmarker_full.task.sha256")
    assert sidecar.read_text() == f"{server.sha256}  pose_landmarker_full.task\n"
    assert cache_files(env) == ["pose_landmarker_full.task", "pose_landmarker_full.task.sha256"]
    assert server.requests == [POSE_URL_PATH]
    # Found in the cache from now on, even offline.
    monkeypatch.setenv("POSEACT_OFFLINE", "1")
    assert resolve_model("pose_full") == path
    assert server.requests == [POSE_URL_PATH]


def test_pinned_checksum(env, server):
    url = server.base_url + POSE_URL_PATH
    dest = model_cache_dir() / "pose_landmarker_full.task"
    with pytest.raises(ModelAssetError, match="checksum mismatch") as info:
        download_model(url, dest, sha256="0" * 64, expected_members=POSE_MEMBERS)
    assert url in str(info.value)
    assert cache_files(env) == []
    assert download_model(url, dest, sha256=server.sha256.upper(), expected_members=POSE_MEMBERS)
    assert sha256_file(dest) == server.sha256


@pytest.mark.parametrize("mode", ["lie", "cut"])
def test_truncated_download_leaves_nothing(env, server, monkeypatch, mode):
    server.mode = mode
    monkeypatch.setenv("POSEACT_MODEL_BASE_URL", server.base_url)
    with pytest.raises(ModelAssetError) as info:
        resolve_model("pose_full")
    message = str(info.value)
    assert server.base_url + POSE_URL_PATH in message
    assert ("truncated" in message) if mode == "lie" else ("zip" in message)
    assert cache_files(env) == []


def test_wrong_bundle_and_http_errors(env, server, model_dir):
    url = server.base_url + POSE_URL_PATH
    dest = model_cache_dir() / "pose_landmarker_full.task"
    server.payload = (model_dir / "hand_landmarker_lite.task").read_bytes()
    with pytest.raises(ModelAssetError, match="pose_detector.tflite"):
        download_model(url, dest, expected_members=POSE_MEMBERS)
    with pytest.raises(ModelAssetError, match="HTTP 404") as info:
        download_model(server.base_url + "/nothing.task", dest)
    assert "/nothing.task" in str(info.value)
    assert cache_files(env) == []


def test_unreachable_server(env, tmp_path):
    dest = tmp_path / "out" / "x.task"
    with pytest.raises(ModelAssetError, match="127.0.0.1:9"):
        download_model("http://127.0.0.1:9/x.task", dest, timeout=5)
    assert not dest.exists()
