"""The web server of `poseact web --serve`: only the site's own files, hardened.

`SiteServer` serves the files a site's manifest lists (`core.atomic.MANIFEST_NAME`,
written by `build_web_app`), nothing else: no dotfiles, no directory listings, no
path outside the list (`..`, NUL bytes, backslashes and control characters are a
400). Every answer carries `X-Content-Type-Options: nosniff`, the page's Content
Security Policy (written by `build_web_app`: its own origin, the CDN if it uses one,
WebAssembly compilation, camera streams), `Referrer-Policy: no-referrer`, and
`X-Frame-Options: DENY`.

Connections cost no thread while they send nothing: a selector holds accepted
sockets until their first bytes arrive (or drops them after `idle_timeout`), and
only then hands them to a bounded pool of `workers` threads, whose sockets time out
after `request_timeout` seconds. So 400 half-open connections hold 400 sockets and
no thread. With `https=True` the server makes a self-signed certificate for this
machine's addresses on the spot (`self_signed_certificate`).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import hashlib
import ipaddress
import json
import logging
import os
import selectors
import socket
import ssl
import struct
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from poseact.core.atomic import read_manifest
from poseact.core.errors import PoseactError

__all__ = [
    "SITE_CONFIG_NAME",
    "Certificate",
    "SiteServer",
    "local_addresses",
    "self_signed_certificate",
    "serve",
]

logger = logging.getLogger(__name__)

#: The site file with the server's settings for the page (its CSP).
SITE_CONFIG_NAME = ".poseact-web.json"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".task": "application/octet-stream",
    ".tflite": "application/octet-stream",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}

#: The CSP for a site without its own (only its origin, WebAssembly, camera streams).
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:;"
    " connect-src 'self' blob: data:; img-src 'self' data: blob:; media-src 'self' blob:"
    " mediastream:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none';"
    " frame-ancestors 'none'; form-action 'none'"
)


class _Handler(BaseHTTPRequestHandler):
    server_version = "poseact"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request.settimeout(self.server.request_timeout)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        super().end_headers()

    def _fail(self, status: HTTPStatus) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", "default-src 'none'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _resolve(self) -> str | None | HTTPStatus:
        """The manifest name the request asks for, or the error status."""
        raw = urllib.parse.urlsplit(self.path).path
        try:
            path = urllib.parse.unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return HTTPStatus.BAD_REQUEST
        if not path.startswith("/") or any(ord(c) < 32 or c in "\\\x7f" for c in path):
            return HTTPStatus.BAD_REQUEST
        name = path.lstrip("/") or "index.html"
        parts = name.split("/")
        if any(part.startswith(".") or part == "" for part in parts):
            return HTTPStatus.NOT_FOUND  # dotfiles, "..", "//", folders ("vendor/")
        return name if name in self.server.files else HTTPStatus.NOT_FOUND

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        name = self._resolve()
        if isinstance(name, HTTPStatus):
            self._fail(name)
            return
        real = os.path.realpath(self.server.directory / name)
        if not real.startswith(self.server.real_directory + os.sep):
            self._fail(HTTPStatus.NOT_FOUND)  # a link leading out of the site
            return
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            self._fail(HTTPStatus.NOT_FOUND)
            return
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            self.send_response(HTTPStatus.OK)
            self.send_header(
                "Content-Type",
                CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream"),
            )
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Security-Policy", self.server.csp)
            self.end_headers()
            if self.command == "HEAD":
                return
            while chunk := handle.read(1 << 16):
                self.wfile.write(chunk)

    do_HEAD = do_GET  # noqa: N815

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """Errors of the request line or headers: short, no request text echoed."""
        with contextlib.suppress(OSError):
            self.close_connection = True
            self._fail(HTTPStatus(code))


class SiteServer(HTTPServer):
    """Serves a site's listed files in a background thread (see the module doc).

    Attributes:
        directory: the folder served.
        files: the names served (the manifest's, without dotfiles).
        url: the page's address, e.g. "http://127.0.0.1:8000/".
        urls: one address per way to reach it (this machine's addresses for 0.0.0.0).
        certificate: the self-signed certificate with `https`, else None.
        thread: the thread running `serve_forever`.
    """

    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        directory: Path,
        port: int,
        host: str = "127.0.0.1",
        *,
        https: bool = False,
        workers: int = 16,
        request_timeout: float = 15.0,
        idle_timeout: float = 10.0,
        max_waiting: int = 4096,
    ) -> None:
        self.directory = directory
        self.real_directory = os.path.realpath(directory)
        self.files = frozenset(
            name
            for name in read_manifest(directory)
            if not any(part.startswith(".") for part in name.split("/"))
        )
        if not self.files:
            raise PoseactError(
                f"cannot serve {directory}: it holds no site written by `poseact web` (no"
                " manifest of its files); build one with `poseact web MODEL FOLDER`"
            )
        self.csp = _site_csp(directory)
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.max_waiting = max_waiting
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poseact-web")
        self._selector = selectors.DefaultSelector()
        self._waiting: dict[socket.socket, tuple[float, Any]] = {}
        self._answering: set[socket.socket] = set()  # the workers' connections
        self._lock = threading.Lock()
        self.certificate = None
        self._tls = None
        if https:
            self.certificate = self_signed_certificate(
                [host] if host not in ("", "0.0.0.0", "::") else local_addresses()
            )
            self._tls = self.certificate.context()
        scheme = "https" if https else "http"
        port = self.server_address[1]
        shown = (local_addresses() if host in ("", "0.0.0.0", "::") else [host]) or ["127.0.0.1"]
        self.urls = [f"{scheme}://{_bracket(a)}:{port}/" for a in shown]
        self.url = (
            f"{scheme}://127.0.0.1:{port}/" if host in ("", "0.0.0.0", "::") else self.urls[0]
        )
        self.thread = threading.Thread(target=self.serve_forever, name="poseact-web", daemon=True)
        self._waiter = threading.Thread(
            target=self._wait_loop, name="poseact-web-idle", daemon=True
        )
        self._stop = threading.Event()
        self._waiter.start()

    def server_bind(self) -> None:
        """Bind without `HTTPServer`'s reverse DNS lookup of the host (slow offline)."""
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    # connections wait in the selector until they send something
    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self._lock:
            if len(self._waiting) >= self.max_waiting:
                self.shutdown_request(request)
                return
            request.setblocking(False)
            self._waiting[request] = (time.monotonic(), client_address)
            self._selector.register(request, selectors.EVENT_READ)

    def _wait_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                has = bool(self._waiting)
            if not has:
                self._stop.wait(0.05)
                continue
            try:
                ready = self._selector.select(timeout=0.2)
            except (OSError, ValueError):
                continue
            now = time.monotonic()
            with self._lock:
                for key, _ in ready:
                    sock = key.fileobj
                    if sock in self._waiting:
                        _, address = self._waiting.pop(sock)
                        self._selector.unregister(sock)
                        sock.setblocking(True)
                        self.pool.submit(self._work, sock, address)
                for sock, (since, _) in list(self._waiting.items()):
                    if now - since > self.idle_timeout:
                        self._waiting.pop(sock)
                        self._selector.unregister(sock)
                        self.shutdown_request(sock)

    def _work(self, request: socket.socket, client_address: Any) -> None:
        self._answer(request)
        try:
            if self._tls is not None:
                request.settimeout(self.request_timeout)
                request = self._answer(self._tls.wrap_socket(request, server_side=True), request)
            self.finish_request(request, client_address)
        except Exception as exc:  # a client that went away, a failed handshake, close()
            logger.debug("web request from %s failed: %s", client_address, exc)
        finally:
            with self._lock:
                self._answering.discard(request)
            self.shutdown_request(request)

    def _answer(self, sock: socket.socket, replaces: socket.socket | None = None) -> socket.socket:
        """Note `sock` as a worker's connection (`close` ends it), in place of `replaces`
        (the plain socket a TLS one wraps)."""
        with self._lock:
            self._answering.discard(replaces)
            self._answering.add(sock)
        return sock

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("web request from %s failed", client_address, exc_info=True)

    @property
    def waiting(self) -> int:
        """Connections accepted that have not sent a request yet."""
        with self._lock:
            return len(self._waiting)

    def close(self) -> None:
        """Stop serving and release the port (idempotent). Connections being answered
        are cut, so that a browser's kept-alive connection (HTTP/1.1: it may wait
        `request_timeout` seconds for the next request) does not hold the workers, and
        so Ctrl-C, until it times out."""
        if self.thread.is_alive():
            self.shutdown()
            self.thread.join()
        self._stop.set()
        if self._waiter.is_alive():
            self._waiter.join()
        with self._lock:
            for sock in list(self._waiting):
                self._selector.unregister(sock)
                self.shutdown_request(sock)
            self._waiting.clear()
            for sock in self._answering:
                try:  # the plain socket's shutdown, also under TLS: the worker's read ends
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass  # closed already
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.server_close()
        if self.certificate is not None:
            self.certificate.remove()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _site_csp(directory: Path) -> str:
    try:
        raw = json.loads((directory / SITE_CONFIG_NAME).read_text(encoding="utf-8"))
        csp = raw.get("csp")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_CSP
    if not isinstance(csp, str) or any(c in csp for c in "\r\n\0"):
        return DEFAULT_CSP
    return csp


def page_csp(cdn_origins: Iterable[str], inline_scripts: Iterable[str]) -> str:
    """The Content Security Policy of the recognizer page.

    Args:
        cdn_origins: origins the page loads packages from (none with a local copy).
        inline_scripts: executable inline scripts (the import map), allowed by hash.
    """
    extra = " ".join(sorted(set(cdn_origins)))
    hashes = " ".join(
        "'sha256-"
        + __import__("base64").b64encode(hashlib.sha256(s.encode()).digest()).decode()
        + "'"
        for s in inline_scripts
    )
    add = f" {extra}" if extra else ""
    return (
        f"default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {hashes}{add};"
        f" worker-src 'self' blob:{add}; connect-src 'self' blob: data:{add};"
        " img-src 'self' data: blob:; media-src 'self' blob: mediastream:;"
        " style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none';"
        " frame-ancestors 'none'; form-action 'none'"
    )


# ---------------------------------------------------------------------- addresses
def local_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (the addresses a phone on
    the same network can use), from the network interfaces; ["127.0.0.1"] if none."""
    found: list[str] = []
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        names = []
    for name in names:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15])
                )  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
        if not ipaddress.ip_address(address).is_loopback and address not in found:
            found.append(address)
    if not found:
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent; picks the route's address
            address = s.getsockname()[0]
            if not ipaddress.ip_address(address).is_loopback:
                found.append(address)
    return found or ["127.0.0.1"]


# ---------------------------------------------------------------------- https
@dataclass
class Certificate:
    """A self-signed certificate: its files (removed by `remove`) and fingerprint."""

    cert_file: Path
    key_file: Path
    fingerprint: str  # SHA-256, "AB:CD:..."
    names: tuple[str, ...]

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def remove(self) -> None:
        for path in (self.cert_file, self.key_file):
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            self.cert_file.parent.rmdir()


def self_signed_certificate(addresses: Iterable[str], days: int = 30) -> Certificate:
    """Make a self-signed certificate (EC P-256) for `addresses`, localhost and this
    machine's name, valid for `days` days, in a private temporary folder.

    Raises:
        PoseactError: the `cryptography` package is missing.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise PoseactError(
            "--https needs the cryptography package: pip install cryptography"
        ) from None
    key = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname() or "localhost"
    alt: list[Any] = [x509.DNSName("localhost")]
    if hostname != "localhost":
        alt.append(x509.DNSName(hostname))
    names = ["localhost", hostname]
    for address in [*addresses, "127.0.0.1"]:
        with contextlib.suppress(ValueError):
            ip = ipaddress.ip_address(address)
            if x509.IPAddress(ip) not in alt:
                alt.append(x509.IPAddress(ip))
                names.append(address)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"poseact on {hostname}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="poseact-https-"))  # 0700
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return Certificate(cert_file, key_file, fingerprint, tuple(dict.fromkeys(names)))


def serve(
    directory: str | os.PathLike,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    https: bool = False,
    workers: int = 16,
) -> SiteServer:
    """Serve a site written by `build_web_app` on http(s)://HOST:PORT/.

    Only the files the site's manifest lists are served (see the module doc). A phone
    can open the page only if it reaches the server (the same network, and
    `host="0.0.0.0"` to listen on every interface) and its browser allows the camera:
    browsers give the camera to HTTPS pages and to http://localhost only, so from
    another device use `https=True` (a self-signed certificate made on the spot; the
    phone's browser asks once to accept it) or put the site behind HTTPS.

    Args:
        directory: the site folder.
        port: TCP port; 0 picks a free one (see the returned server's `url`).
        host: the interface to listen on: "127.0.0.1" (this machine only) or
            "0.0.0.0" (every interface, e.g. for a phone on the same network).
        https: serve over TLS with a fresh self-signed certificate.
        workers: threads answering requests (at most this many at once).

    Returns:
        The running `SiteServer`; stop it with `close()` or use it in a `with` block.

    Raises:
        FileNotFoundError: `directory` is not a folder.
        PoseactError: the folder holds no site poseact wrote; the port is taken or not
            an address of this machine (one line naming host and port).
    """
    folder = Path(directory).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot serve {folder}: not a folder")
    try:
        server = SiteServer(folder, port, host, https=https, workers=workers)
    except OSError as exc:
        raise PoseactError(_bind_problem(host, port, exc)) from None
    server.thread.start()
    logger.info("serving %s at %s", folder, server.url)
    return server


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot serve on {where}: the port is in use by another program; pass another --port (0 picks a free one)"
    if exc.errno == errno.EACCES:
        return f"cannot serve on {where}: ports below 1024 need administrator rights; use a port from 1024 up"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot serve on {where}: {host} is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of {', '.join(local_addresses())}"
    if isinstance(exc, socket.gaierror):
        return f"cannot serve on {where}: {host!r} is not a host name or address this machine knows"
    return f"cannot serve on {where}: {exc.strerror or exc}"
