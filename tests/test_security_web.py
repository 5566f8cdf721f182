"""Round three (issue 28, item 6; issue 29, item 3): the server of `poseact web --serve`.

Real sockets against a real site built by `build_web_app`: raw HTTP request lines
(NUL bytes, `..`, dotfiles, folders), 400 half-open connections, HTTPS with the
certificate made on the spot, and `poseact web --serve` itself in a child process.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability import user_environment

from poseact.core.errors import OutputRefused, PoseactError
from poseact.deploy.server import local_addresses
from poseact.deploy.web import build_web_app, serve

LEGACY_MODEL = Path(__file__).parent / "data" / "legacy_v1.tflite"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = build_web_app(LEGACY_MODEL, tmp_path_factory.mktemp("web") / "site")
    (out / ".env").write_text("SECRET=1\n")  # the user's own files beside the site
    (out / "private").mkdir()
    (out / "private" / "notes.txt").write_text("mine\n")
    return out


def _raw(port: int, request: bytes, *, context: ssl.SSLContext | None = None) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        conn = context.wrap_socket(sock, server_hostname="127.0.0.1") if context else sock
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    answer = _raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return status, headers, body


def test_only_the_sites_own_files_are_served(site):
    with serve(site) as server:
        port = server.server_address[1]
        status, headers, body = _get(port, "/")
        assert status == 200 and b"poseact" in body
        assert headers["X-Content-Type-Options"] == "nosniff"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "'wasm-unsafe-eval'" in csp
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert re.search(r"'sha256-[A-Za-z0-9+/=]{44}'", csp)  # the import map, by hash
        assert _get(port, "/app.js")[1]["Content-Type"].startswith("text/javascript")
        assert _get(port, "/legacy_v1.tflite")[0] == 200
        for path, expected in [
            ("/.env", 404),
            ("/.poseact-manifest.json", 404),
            ("/private/notes.txt", 404),
            ("/private/", 404),
            ("/vendor/", 404),
            ("/../../../etc/passwd", 404),
            ("/%2e%2e/%2e%2e/etc/passwd", 404),
            ("/index.html%00.js", 400),
            ("/index.html%0d%0aSet-Cookie:%20x=1", 400),
            ("/..%5c..%5cetc%5cpasswd", 400),
            ("/%ff%fe", 400),
        ]:
            status, headers, body = _get(port, path)
            assert status == expected, (path, status, body[:200])
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert b"SECRET" not in body and b"mine" not in body and b"Traceback" not in body
        # a request line that is not HTTP, and a method that is not GET/HEAD
        assert b"400" in _raw(port, b"\x00\x01garbage\r\n\r\n")[:20]
        assert b" 501 " in _raw(port, b"DELETE /index.html HTTP/1.1\r\nHost: x\r\n\r\n")[:20]


def test_half_open_connections_hold_no_threads(site):
    with serve(site) as server:
        port = server.server_address[1]
        before = threading.active_count()
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(400)]
        try:
            deadline = time.monotonic() + 10
            while server.waiting < 400 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.waiting == 400
            assert threading.active_count() - before <= 16  # the bounded pool at most
            started = time.perf_counter()
            assert _get(port, "/index.html")[0] == 200  # still answers at once
            assert time.perf_counter() - started < 2.0
        finally:
            for sock in idle:
                sock.close()
        # slow senders (a byte at a time) take a worker each, at most 16, with a time-out
        assert threading.active_count() - before <= 17


def test_https_with_a_certificate_made_on_the_spot(site):
    with serve(site, host="0.0.0.0", https=True) as server:
        port = server.server_address[1]
        certificate = server.certificate
        assert certificate is not None and len(certificate.fingerprint) == 95
        assert all(url.startswith("https://") for url in server.urls)
        context = ssl.create_default_context(cafile=str(certificate.cert_file))
        for address in {"127.0.0.1", *local_addresses()}:
            connection = http.client.HTTPSConnection(address, port, timeout=10, context=context)
            connection.request("GET", "/index.html")
            response = connection.getresponse()
            assert response.status == 200 and b"poseact" in response.read()
            assert response.getheader("X-Content-Type-Options") == "nosniff"
        with pytest.raises(ssl.SSLError):  # plain browsers see an unknown certificate
            _raw(port, b"GET / HTTP/1.1\r\n\r\n", context=ssl.create_default_context())
        assert (certificate.key_file.stat().st_mode & 0o077) == 0  # the key is private
        key_file = certificate.key_file
    assert not key_file.exists()  # removed when the server stops


def test_a_folder_poseact_did_not_write_is_not_served(tmp_path):
    (tmp_path / "index.html").write_text("hi")
    with pytest.raises(PoseactError, match="no site written by `poseact web`"):
        serve(tmp_path)


def test_busy_and_impossible_addresses_are_one_clear_line(site):
    with serve(site) as server:
        port = server.server_address[1]
        with pytest.raises(PoseactError, match="the port is in use by another program"):
            serve(site, port)
    with pytest.raises(PoseactError, match="is not an address of this machine"):
        serve(site, host="203.0.113.7")
    with pytest.raises(PoseactError, match="not a host name or address"):
        serve(site, host="no-such-host.invalid")


def test_the_users_own_index_html_is_never_replaced(tmp_path):
    folder = tmp_path / "my-site"
    folder.mkdir()
    (folder / "index.html").write_text("<h1>my own page</h1>")
    (folder / "app.js").write_text("my own script")
    with pytest.raises(OutputRefused, match="app.js, index.html; refusing to replace them"):
        build_web_app(LEGACY_MODEL, folder)
    assert (folder / "index.html").read_text() == "<h1>my own page</h1>"
    assert sorted(p.name for p in folder.iterdir()) == ["app.js", "index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-site"]  # no temp folder
    build_web_app(LEGACY_MODEL, folder, force=True)
    assert "poseact" in (folder / "index.html").read_text()
    # a site poseact wrote is rebuilt without asking
    build_web_app(LEGACY_MODEL, folder)


def _as_from_a_terminal() -> None:
    """Ctrl-C's default action in the child, as a terminal gives it: a suite started in
    the background (`cmd &` in a script) runs with SIGINT ignored, which children
    inherit, and Python then never turns SIGINT into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _web_serve(out: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    """`poseact web MODEL OUT --serve --port 0 --https FLAGS` in a child process, and
    what it printed up to its "Ctrl-C" line (the addresses, the certificate)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "poseact.cli", "web", LEGACY_MODEL, out, "--serve"]
        + ["--port", "0", "--https", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_environment(),
        preexec_fn=_as_from_a_terminal,  # noqa: PLW1509 - resets one signal, no locks
    )
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (line := process.stdout.readline()):
        lines.append(line)
        if "Ctrl-C" in line:
            break
    return process, "".join(lines)


def _insecure_tls() -> ssl.SSLContext:
    """A client context that takes the self-signed certificate (checked elsewhere)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_web_serve_prints_the_real_addresses_and_serves_https(site, tmp_path):
    """`poseact web MODEL DIR --serve --host 0.0.0.0 --https` in a child process."""
    out = tmp_path / "site"
    process, text = _web_serve(out, "--host", "0.0.0.0")
    try:
        addresses = [a for a in local_addresses() if a != "127.0.0.1"]
        urls = re.findall(r"https://([0-9.]+):(\d+)/", text)
        assert urls, text
        assert "THIS-MACHINE" not in text
        for address in addresses:
            assert any(a == address for a, _ in urls), (address, text)
        assert re.search(r"SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}", text), text
        assert "certificate" in text.lower()
        port = int(urls[0][1])
        answer = _raw(
            port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", context=_insecure_tls()
        )
        assert answer.startswith(b"HTTP/1.1 200") and b"nosniff" in answer
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
    assert process.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert os.path.isdir(out)


def test_ctrl_c_stops_the_server_at_once_while_a_browser_keeps_its_connection(tmp_path):
    """A browser keeps its HTTP/1.1 connection open for the next request, and the server
    waits up to its 15 s request time-out for it. Ctrl-C cuts such connections rather
    than waiting them out (it took 15.0 s before, measured; here the TLS path)."""
    process, text = _web_serve(tmp_path / "site")
    try:
        port = int(re.findall(r"https://[0-9.]+:(\d+)/", text)[0])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as plain:
            browser = _insecure_tls().wrap_socket(plain, server_hostname="127.0.0.1")
            browser.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += browser.recv(65536)
            head, body = answer.split(b"\r\n\r\n", 1)
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            while len(body) < length:
                body += browser.recv(65536)
            assert head.startswith(b"HTTP/1.1 200") and b"poseact" in body
            started = time.monotonic()
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=60)
            stopped = time.monotonic() - started
            try:
                cut = browser.recv(1) == b""
            except (OSError, ssl.SSLError):
                cut = True
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-2000:]
    assert stopped < 10.0, f"Ctrl-C took {stopped:.1f} s"
    assert cut  # the server ended the kept-alive connection
