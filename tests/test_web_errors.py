"""The page says what is wrong, and a pip user can build a site that needs no internet
(issue 29, item 5).

- With the CDN blocked (every request to cdn.jsdelivr.net aborted, as offline or
  behind a blocker), the page shows a visible error naming MediaPipe / LiteRT.js, the
  URL and `--offline`, instead of "Loading…" forever.
- A site whose vendored LiteRT.js WebAssembly is missing says that the site's copy is
  damaged.
- `poseact web M site/ --offline` downloads the npm packages once (from a registry:
  here a local one serving the very tarballs npm fetched, from npm's own cache, or
  the real registry), checks their sha512, and the site loads with every request to
  anything but the site itself blocked.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from cli_run import REPO_ROOT, cli
from cli_run import browser as find_browser

from poseact.deploy.web import JS_PACKAGES, serve
from poseact.testing import chromium_args

pytestmark = pytest.mark.slow


def _open(site: Path, *, allow_only_site: bool, block: str = "", timeout_ms: int = 90_000):
    """Open the site (served on 127.0.0.1) in headless Chromium with network requests
    blocked (`block`: URLs containing it; `allow_only_site`: all but the site's);
    returns the page's state, its error box and where that box is."""
    chromium, sync_playwright = find_browser()
    with serve(site) as server, sync_playwright() as playwright:
        # a camera (Chromium's own test pattern): without one the page, once loaded,
        # fails at getUserMedia ("Requested device not found"), and whether that error
        # or the loaded state is read first depends on the machine's load
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=chromium_args(camera=True)
        )
        try:
            context = browser.new_context(viewport={"width": 720, "height": 900})
            blocked: list[str] = []

            def route(request_route):
                url = request_route.request.url
                if (allow_only_site and not url.startswith(server.url)) or (block and block in url):
                    blocked.append(url)
                    return request_route.abort("internetdisconnected")
                return request_route.continue_()

            context.route("**/*", route)
            page = context.new_page()
            page.goto(server.url + "index.html")
            page.wait_for_function(
                "() => window.poseactApp && (poseactApp.state === 'error' ||"
                " poseactApp.timings.landmarkersLoaded !== undefined)",
                timeout=timeout_ms,
            )
            seen = page.evaluate(
                """() => { const box = document.getElementById('error');
                  const r = box.getBoundingClientRect();
                  return {state: poseactApp.state, error: poseactApp.error,
                          text: box.hidden ? '' : box.innerText,
                          top: r.top, bottom: r.bottom, height: r.height,
                          timings: poseactApp.timings}; }"""
            )
            seen["blocked"] = blocked
            return seen
        finally:
            browser.close()


@pytest.fixture(scope="module")
def model(asl_tflite):
    return asl_tflite[0]


def test_a_blocked_cdn_shows_a_visible_error_with_its_cause(model, tmp_path):
    site = tmp_path / "site"
    out = cli("web", model, site)
    assert out.returncode == 0, out.stderr
    seen = _open(site, allow_only_site=False, block="cdn.jsdelivr.net")
    assert seen["blocked"], "the page did not ask the CDN"
    assert seen["state"] == "error", seen
    text = seen["text"]
    assert "MediaPipe could not be loaded from https://cdn.jsdelivr.net/npm/@mediapipe" in text
    assert "LiteRT.js could not be loaded" in text
    assert "--offline" in text and "connection" in text
    assert seen["height"] > 20 and 0 <= seen["top"] and seen["bottom"] <= 900, seen


def test_a_damaged_offline_site_says_its_copy_is_missing(model, tmp_path):
    node_modules = REPO_ROOT / "tests" / "web" / "node_modules"
    if not (node_modules / JS_PACKAGES[0].name).is_dir():
        pytest.skip("tests/web/node_modules is missing (npm ci --prefix tests/web)")
    site = tmp_path / "site"
    assert cli("web", model, site, "--assets", node_modules).returncode == 0
    for wasm in (site / "vendor" / "@litertjs" / "core" / "wasm").glob("*.wasm"):
        wasm.unlink()
    seen = _open(site, allow_only_site=True)
    assert seen["state"] == "error", seen
    assert "LiteRT.js's WebAssembly could not be loaded from http://127.0.0.1" in seen["text"]
    assert "build the site again" in seen["text"]


def _npm_cache_tarball(integrity: str) -> Path | None:
    algorithm, _, value = integrity.partition("-")
    digest = base64.b64decode(value).hex()
    path = Path.home() / ".npm" / "_cacache" / "content-v2" / algorithm / digest[:2]
    path = path / digest[2:4] / digest[4:]
    return path if path.is_file() else None


@pytest.fixture
def registry(tmp_path):
    """A local npm registry serving the pinned tarballs from npm's own cache (the bytes
    `npm ci` downloaded); without them, the real registry."""
    root = tmp_path / "registry"
    for package in JS_PACKAGES:
        tarball = _npm_cache_tarball(package.integrity)
        if tarball is None:
            yield None
            return
        name = package.name.split("/")[-1]
        target = root / package.name / "-" / f"{name}-{package.version}.tgz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(tarball)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_offline_site_for_a_pip_user_loads_with_the_network_blocked(model, tmp_path, registry):
    env = {"POSEACT_CACHE_DIR": str(tmp_path / "cache")}
    if registry is not None:
        env["POSEACT_NPM_REGISTRY"] = registry
    site = tmp_path / "site"
    out = cli("web", model, site, "--offline", env=env)
    if out.returncode != 0 and registry is None and "cannot download" in out.stderr:
        pytest.skip(f"no npm cache and no registry: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    assert "no internet needed" in out.stdout
    cached = tmp_path / "cache" / "web" / "node_modules"
    assert (cached / "@mediapipe" / "tasks-vision" / "vision_bundle.mjs").is_file()
    # a second site downloads nothing: the registry is gone, the cache serves
    env["POSEACT_NPM_REGISTRY"] = "http://127.0.0.1:9"
    again = cli("web", model, tmp_path / "site2", "--offline", env=env)
    assert again.returncode == 0, again.stderr
    seen = _open(site, allow_only_site=True)
    assert seen["state"] != "error", seen
    assert "landmarkersLoaded" in seen["timings"]
    assert not [url for url in seen["blocked"] if "jsdelivr" in url], seen["blocked"]


def test_a_tampered_tarball_is_refused(model, tmp_path):
    """A registry serving other bytes under the pinned name: refused before the archive
    is opened, one line naming the package and what to check."""
    root = tmp_path / "registry"
    package = JS_PACKAGES[0]
    target = root / package.name / "-" / f"tasks-vision-{package.version}.tgz"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\x1f\x8b" + os.urandom(1000))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            "POSEACT_CACHE_DIR": str(tmp_path / "cache"),
            "POSEACT_NPM_REGISTRY": f"http://127.0.0.1:{server.server_address[1]}",
        }
        out = cli("web", model, tmp_path / "site", "--offline", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode != 0
    assert "is not the pinned @mediapipe/tasks-vision@1.1.0" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "site").exists()
