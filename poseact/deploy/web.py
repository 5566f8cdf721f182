"""An in-browser recognizer: an exported model as a static web page for any phone.

`build_web_app` writes a folder that any static web server can serve:

- `index.html`, `app.js`, `poseact.js`, `landmarks-worker.js`, `style.css`: the page.
  It asks for the camera, finds landmarks with MediaPipe Tasks Vision for JavaScript
  (`@mediapipe/tasks-vision`, PoseLandmarker / HandLandmarker in VIDEO mode, in a module
  worker where the browser allows), normalizes them with `poseact.js` (a
  port of `poseact.normalize.StreamingFeaturizer` that reads its spec from the model
  file), runs the model with LiteRT.js (`@litertjs/core`: the same .tflite runtime,
  compiled to WebAssembly; the streaming single-step model where the file has one),
  smooths and thresholds like `poseact.runtime.StreamingRecognizer`, draws the skeleton
  over the video and shows the gesture, its confidence and the frame rate.
- the exported `.tflite` model, unchanged;
- the MediaPipe `.task` bundles the model's layout needs (pose and/or hand);
- with `assets`, `vendor/`: the JavaScript and WebAssembly files of those two npm
  packages, copied from a local `node_modules`, so the page needs no internet. Without
  it the page loads them from the jsDelivr CDN, at the versions pinned below.

`serve` serves such a folder on 127.0.0.1 (browsers give the camera to pages from
localhost or https only). Nothing here imports TensorFlow or MediaPipe.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import os
import shutil
import urllib.parse
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from poseact.core.atomic import atomic_dir
from poseact.core.choices import EXTRACTION_LAYOUTS
from poseact.core.errors import ModelFormatError, PoseactError
from poseact.deploy.server import SITE_CONFIG_NAME, SiteServer, page_csp, serve
from poseact.extract.assets import resolve_model
from poseact.runtime.decider import DecisionOptions
from poseact.runtime.model_file import read_model_metadata

__all__ = [
    "CDN_BASE_URL",
    "JS_PACKAGES",
    "WebAssetError",
    "WebServer",
    "build_web_app",
    "fetch_js_packages",
    "serve",
]

logger = logging.getLogger(__name__)

#: Where the page loads its JavaScript packages from when no local copy is given.
CDN_BASE_URL = "https://cdn.jsdelivr.net/npm"

_PAGE_FILES = ("app.js", "boot.js", "poseact.js", "landmarks-worker.js", "style.css")


@dataclass(frozen=True)
class _JsPackage:
    """An npm package the page needs, and which of its files.

    Attributes:
        name: npm name.
        version: the version the page is tested with (tests/web/package.json).
        module: its ES module entry point, relative to the package folder.
        files: every file the page loads from it (module included).
        wasm_dir: the folder of its WebAssembly loader files, or None.
        integrity: npm's integrity string of its tarball ("sha512-<base64>", as
            tests/web/package-lock.json pins it): `fetch_js_packages` checks it before
            the archive is opened.
    """

    name: str
    version: str
    module: str
    files: tuple[str, ...]
    wasm_dir: str | None = None
    integrity: str = ""


#: The npm packages the page uses, pinned to the versions the tests run.
JS_PACKAGES: tuple[_JsPackage, ...] = (
    _JsPackage(
        "@mediapipe/tasks-vision",
        "1.1.0",
        "vision_bundle.mjs",
        (
            "vision_bundle.mjs",
            "wasm/vision_wasm_internal.js",
            "wasm/vision_wasm_internal.wasm",
            "wasm/vision_wasm_nosimd_internal.js",
            "wasm/vision_wasm_nosimd_internal.wasm",
            "wasm/vision_wasm_module_internal.js",  # for the module worker
            "wasm/vision_wasm_module_internal.wasm",
        ),
        "wasm",
        "sha512-ZJqh0wMKOINorfSffvDAxzyO1//c+FiG3IkzOdNDnLqvBB3DbMfj0bB/tys2SNf9S914sgoIbIpF4HTOi336cg==",
    ),
    _JsPackage(
        "@litertjs/core",
        "2.5.3",
        "dist/index.js",
        (
            "dist/index.js",
            "wasm/litert_wasm_internal.js",
            "wasm/litert_wasm_internal.wasm",
            "wasm/litert_wasm_compat_internal.js",
            "wasm/litert_wasm_compat_internal.wasm",
        ),
        "wasm",
        "sha512-PlGmbMOq9WitX7FO0jhbdJw9GthatsyuCQXjTt/wJZo0FLaw48q4tz8IwqgqCIkviYGr9OFDL1kCnN4nzWoyJQ==",
    ),
    _JsPackage(
        "@litertjs/wasm-utils",
        "2.5.3",
        "dist/index.js",
        ("dist/index.js",),
        None,
        "sha512-4fJiw6tBQnIs+0jH/OQ16nYOiSl8/+zZnn5h2ul8aTKHi05sVqZW580Tmk78pC2kT39A9OYBVdFawteZ/sI1kQ==",
    ),
)
#: Where `fetch_js_packages` downloads the packages' tarballs from
#: (`$POSEACT_NPM_REGISTRY` overrides it, e.g. a company mirror).
NPM_REGISTRY = "https://registry.npmjs.org"
#: The largest tarball `fetch_js_packages` reads, bytes (the pinned ones are ~12 MB).
MAX_TARBALL_BYTES = 64 << 20


class WebAssetError(PoseactError, FileNotFoundError):
    """The JavaScript packages given with `assets` are missing or incomplete."""


def _node_modules(assets: str | os.PathLike) -> Path:
    """The `node_modules` folder in or at `assets`; raises WebAssetError."""
    root = Path(assets).expanduser()
    for folder in (root / "node_modules", root):
        if (folder / JS_PACKAGES[0].name).is_dir():
            return folder
    names = " ".join(f"{p.name}@{p.version}" for p in JS_PACKAGES[:2])
    raise WebAssetError(
        f"--assets {root}: no {JS_PACKAGES[0].name} in {root} or {root / 'node_modules'};"
        f" create it with `npm install --prefix {root} {names}`"
    )


def _copy_packages(node_modules: Path, vendor: Path) -> dict[str, str]:
    """Copy the page's files of each package into `vendor`; {package: relative base}."""
    bases = {}
    for package in JS_PACKAGES:
        source = node_modules / package.name
        missing = [f for f in package.files if not (source / f).is_file()]
        if missing:
            raise WebAssetError(
                f"{source} lacks {', '.join(missing)}: install"
                f" {package.name}@{package.version} there (npm install)"
            )
        try:
            found = json.loads((source / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            found = "unknown"
        if found != package.version:
            logger.warning(
                "%s is version %s in %s; the page is tested with %s",
                package.name,
                found,
                node_modules,
                package.version,
            )
        target = vendor / package.name
        for name in package.files:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, target / name)
        bases[package.name] = f"./vendor/{package.name}"
    return bases


def fetch_js_packages(
    *, registry: str | None = None, cache: str | os.PathLike | None = None
) -> Path:
    """Download the page's npm packages once, for sites that work offline.

    Each package's tarball comes from the npm registry at its pinned version; its
    size is checked while it downloads and its sha512 against the pinned integrity
    before it is opened, and only the files the page needs (and package.json) are
    taken out of it, into `<cache>/web/node_modules` (each package folder written
    whole or not at all). Later calls find them there and download nothing.

    Args:
        registry: the registry's base URL; default `$POSEACT_NPM_REGISTRY`, else
            `NPM_REGISTRY`.
        cache: the cache folder; default poseact's user cache
            (`$POSEACT_CACHE_DIR`, ~/.cache/poseact).

    Returns:
        The `node_modules` folder (what `build_web_app(assets=...)` takes).

    Raises:
        WebAssetError: a tarball cannot be downloaded, is too large, differs from the
            pinned one, or lacks a file.
    """
    import base64
    import hashlib
    import io
    import tarfile
    import urllib.error
    import urllib.request

    from poseact.extract.assets import user_cache_dir

    registry = (registry or os.environ.get("POSEACT_NPM_REGISTRY") or NPM_REGISTRY).rstrip("/")
    root = Path(cache).expanduser() if cache is not None else user_cache_dir()
    node_modules = root / "web" / "node_modules"
    for package in JS_PACKAGES:
        target = node_modules / package.name
        stamp = target / ".poseact-integrity"
        if stamp.is_file() and stamp.read_text().strip() == package.integrity:
            if all((target / name).is_file() for name in package.files):
                continue
        url = f"{registry}/{package.name}/-/{package.name.split('/')[-1]}-{package.version}.tgz"
        logger.info("downloading %s@%s from %s", package.name, package.version, url)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read(MAX_TARBALL_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise WebAssetError(
                f"cannot download {package.name}@{package.version} from {url} ({exc}); build"
                " the site with --assets NODE_MODULES from a machine with npm, or set"
                " POSEACT_NPM_REGISTRY to a reachable mirror"
            ) from None
        if len(data) > MAX_TARBALL_BYTES:
            raise WebAssetError(
                f"{url} is larger than {MAX_TARBALL_BYTES >> 20} MB; not the pinned"
                f" {package.name}@{package.version}"
            )
        algorithm, _, expected = package.integrity.partition("-")
        digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode("ascii")
        if digest != expected:
            raise WebAssetError(
                f"{url} is not the pinned {package.name}@{package.version} (its {algorithm}"
                " differs); check POSEACT_NPM_REGISTRY"
            )
        wanted = {f"package/{name}": name for name in (*package.files, "package.json")}
        with atomic_dir(target) as folder, tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive:
                name = wanted.pop(member.name, None)
                if name is None or not member.isfile():
                    continue
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(archive.extractfile(member).read())
            if set(wanted.values()) - {"package.json"}:
                raise WebAssetError(
                    f"{url} lacks {', '.join(sorted(wanted.values()))} that the page needs"
                )
            (folder / ".poseact-integrity").write_text(package.integrity + "\n")
    return node_modules


def _cdn_bases(cdn: str) -> dict[str, str]:
    return {p.name: f"{cdn.rstrip('/')}/{p.name}@{p.version}" for p in JS_PACKAGES}


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    return json.dumps(value, indent=1).replace("</", "<\\/")


def build_web_app(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    assets: str | os.PathLike | None = None,
    cdn: str = CDN_BASE_URL,
    decision: DecisionOptions | None = None,
    pose_model: str | os.PathLike = "pose_full",
    hand_model: str | os.PathLike = "hand_full",
    delegate: str = "CPU",
    workers: int | None = None,
    max_image_side: int | None = None,
    max_people: int = 1,
    title: str | None = None,
    force: bool = False,
) -> Path:
    """Write the recognizer page for an exported model into `out_dir`.

    Args:
        model_path: a `.tflite` written by `poseact.export_tflite`.
        out_dir: the site folder; created if needed. The site is published as a unit
            with a manifest of its files (`core.atomic.atomic_dir`): an earlier build
            is replaced, the user's other files there are kept.
        assets: a local copy of the page's npm packages: a `node_modules` folder or a
            folder containing one (`npm install @mediapipe/tasks-vision@1.1.0
            @litertjs/core@2.5.3`). Their files are copied into `out_dir/vendor`, so
            the page works offline. None: the page loads them from `cdn`.
        cdn: base URL of an npm CDN laid out as `{cdn}/{name}@{version}/{file}`
            (jsDelivr, the default, and unpkg are; so is a mirror of your own). It must
            send CORS headers, since the page's worker imports modules from it.
        decision: smoothing, threshold, hysteresis and cooldown, as for
            `StreamingRecognizer`; default `DecisionOptions()`.
        pose_model: MediaPipe pose bundle, a name for `resolve_model` or a `.task` path
            (copied when the model's layout has pose points).
        hand_model: MediaPipe hand bundle (copied when the layout has hands).
        delegate: MediaPipe's default delegate, "CPU" or "GPU" (WebGL); the page's
            `?delegate=` query parameter overrides it.
        workers: MediaPipe module workers (where the browser has VideoFrame); each
            takes a frame while the others and the main thread work on earlier ones,
            results are used in camera order. None: 2 on devices with 2 or more
            cores; 0 keeps MediaPipe on the main thread (also `?workers=N`).
        max_image_side: downscale camera frames whose longer side exceeds this many
            pixels before MediaPipe (None: as the camera gives them; `?maxSide=`).
        max_people: follow up to this many people (1 to 10), each with their own
            track, recognizer, colour and label (docs/people.md; `?maxPeople=`).
        title: shown in the page header; default the model file's name.
        force: replace files in `out_dir` that poseact did not write (by default
            they are kept, and a user's file where the site puts one of its own, e.g.
            their own index.html, is refused with `OutputRefused`).

    Returns:
        `out_dir`, the folder holding `index.html`.

    Raises:
        ModelFormatError: `model_path` is not an exported poseact model.
        ModelAssetError: a MediaPipe bundle cannot be found or downloaded.
        WebAssetError: `assets` lacks the packages' files.
        ValueError: `delegate` is neither "CPU" nor "GPU", `workers` is not in 0-8,
            `max_image_side` < 16, or `max_people` is not in 1-10.
    """
    if delegate not in ("CPU", "GPU"):
        raise ValueError(f"delegate must be 'CPU' or 'GPU', got {delegate!r}")
    if workers is not None and not 0 <= workers <= 8:
        raise ValueError(f"workers must be None or 0 to 8, got {workers!r}")
    if max_image_side is not None and max_image_side < 16:
        raise ValueError(f"max_image_side must be None or >= 16, got {max_image_side!r}")
    if isinstance(max_people, bool) or not isinstance(max_people, int) or not 1 <= max_people <= 10:
        raise ValueError(f"max_people must be an integer from 1 to 10, got {max_people!r}")
    model_path = Path(model_path)
    metadata = read_model_metadata(model_path)
    try:
        layout = str(metadata.get("layout") or metadata["normalizer"]["layout"])
    except (KeyError, TypeError):
        raise ModelFormatError(f"{model_path}: its poseact metadata has no layout") from None
    if layout not in EXTRACTION_LAYOUTS:
        raise ModelFormatError(
            f"{model_path}: its layout {layout!r} is not one MediaPipe gives (pose, hands,"
            " pose+hands), and the page finds landmarks with MediaPipe on the camera; run a"
            " custom-layout model on your tracker's landmarks in Python"
            " (poseact.TFLiteGestureModel) or with poseact.js"
        )
    out = Path(out_dir)
    decision = decision or DecisionOptions()
    bundles = {
        kind: resolve_model(name)
        for kind, name in (("pose", pose_model), ("hand", hand_model))
        if kind in layout
    }
    # Built in a temporary folder beside `out`, then moved into place: a full disk or
    # a crash half-way leaves the earlier site (or nothing), never a partial one.
    with atomic_dir(out, force=force) as site:
        _write_site(
            site,
            model_path,
            bundles,
            assets=assets,
            cdn=cdn,
            decision=decision,
            delegate=delegate,
            workers=workers,
            max_image_side=max_image_side,
            max_people=max_people,
            title=title,
        )
    logger.info("wrote the recognizer page for %s into %s", model_path.name, out)
    return out


def _write_site(
    out: Path,
    model_path: Path,
    bundles: dict[str, Path],
    *,
    assets: str | os.PathLike | None,
    cdn: str,
    decision: DecisionOptions,
    delegate: str,
    workers: int | None,
    max_image_side: int | None,
    max_people: int,
    title: str | None,
) -> None:
    """Write every file of the page into the (empty) folder `out`."""
    if assets is not None:
        bases = _copy_packages(_node_modules(assets), out / "vendor")
    else:
        bases = _cdn_bases(cdn)

    shutil.copyfile(model_path, out / model_path.name)
    config: dict[str, Any] = {
        "title": title or model_path.stem,
        "model": urllib.parse.quote(model_path.name),
        "pose_model": None,
        "hand_model": None,
        "delegate": delegate,
        "workers": workers,
        "max_image_side": max_image_side,
        "max_people": max_people,
        "camera": "user",
        "decision": dataclasses.asdict(decision),
        "mediapipe_wasm": f"{bases['@mediapipe/tasks-vision']}/wasm",
        "litert_wasm": f"{bases['@litertjs/core']}/wasm/",
        "versions": {p.name: p.version for p in JS_PACKAGES},
    }
    for kind, bundle in bundles.items():
        shutil.copyfile(bundle, out / bundle.name)
        config[f"{kind}_model"] = bundle.name

    import_map = {"imports": {p.name: f"{bases[p.name]}/{p.module}" for p in JS_PACKAGES}}
    template = resources.files("poseact.deploy").joinpath("web_assets", "index.html").read_text()
    page = (
        template.replace("{{IMPORTMAP}}", _script_json(import_map))
        .replace("{{CONFIG}}", _script_json(config))
        .replace("{{TITLE}}", html.escape(config["title"]))
    )
    (out / "index.html").write_text(page, encoding="utf-8")
    origins = {
        "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(base))
        for base in bases.values()
        if urllib.parse.urlsplit(base).scheme in ("http", "https")
    }
    csp = page_csp(origins, [_script_json(import_map)])
    (out / SITE_CONFIG_NAME).write_text(json.dumps({"csp": csp}, indent=1) + "\n", "utf-8")
    for name in _PAGE_FILES:
        data = resources.files("poseact.deploy").joinpath("web_assets", name).read_bytes()
        (out / name).write_bytes(data)


# ---------------------------------------------------------------------- serving
#: The server of `poseact web --serve` (kept under its former name).
WebServer = SiteServer
