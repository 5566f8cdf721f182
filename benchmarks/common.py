"""What every benchmark shares: environment, timing, test media, models, result files.

Each benchmark module is a script (`python -m benchmarks.bench_NAME [--quick]`) that
builds a `Report`: figures it measured and checks of those figures against the targets
of issue 5. `Report.write()` prints them and writes `benchmarks/results/NAME.json`;
`python -m benchmarks` runs them all and joins the JSON files into `summary.md` and
`summary.json`.

The machines these run on are shared and noisy, so benchmarks compare things measured
within one run (ratios), repeat interleaved measurements, keep the best (least
disturbed) repetition, and record the load average beside every result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from poseact.extract.video import write_video
from poseact.testing import moving_image_frames

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(os.environ.get("POSEACT_SHARED_DIR", REPO.parent / "shared"))


def setup_environment() -> None:
    """MediaPipe bundles from ../shared/models and quiet TensorFlow, unless already set."""
    os.environ.setdefault("POSEACT_MODEL_DIR", str(SHARED / "models"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


setup_environment()


# ---------------------------------------------------------------------- reports
@dataclass
class Check:
    """One figure beside its target.

    `met` is True / False, or None when the figure has no target of its own (shown
    for context, e.g. the start-up cost that a target leaves out).
    """

    id: str
    what: str
    measured: float | bool | None
    unit: str
    target: str
    met: bool | None
    note: str = ""


@dataclass
class Report:
    """The figures and checks of one benchmark run."""

    name: str
    title: str
    quick: bool
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    load_start: float = field(default_factory=lambda: os.getloadavg()[0])

    def figure(self, key: str, value: Any, unit: str = "", what: str = "") -> Any:
        """Record (and print) one measured figure."""
        self.figures[key] = value if not unit else {"value": value, "unit": unit}
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {what or key}: {shown} {unit}".rstrip(), flush=True)
        return value

    def check(
        self,
        id: str,
        what: str,
        measured: float | bool | None,
        unit: str,
        target: str,
        met: bool | None,
        note: str = "",
    ) -> Check:
        """Record (and print) a figure against its target."""
        item = Check(f"{self.name}.{id}", what, measured, unit, target, met, note)
        self.checks.append(item)
        state = {True: "met", False: "NOT MET", None: "info"}[met]
        print(f"  [{state}] {what}: {format_value(measured, unit)} (target {target})", flush=True)
        if note:
            print(f"      {note}", flush=True)
        return item

    def write(self, directory: Path = RESULTS) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        data = {
            "name": self.name,
            "title": self.title,
            "quick": self.quick,
            "date": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)),
            "seconds": round(time.time() - self.started, 1),
            "machine": machine_info(),
            "load_average": {"start": self.load_start, "end": os.getloadavg()[0]},
            "figures": self.figures,
            "checks": [asdict(c) for c in self.checks],
        }
        path = directory / f"{self.name}.json"
        path.write_text(json.dumps(data, indent=1, default=_json_default) + "\n")
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
        return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def format_value(value: Any, unit: str) -> str:
    """A figure as the summary table shows it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if unit == "%":
            text = f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
        elif unit == "" and 0 < abs(value) <= 1:  # an accuracy: 0.9955, not 1.00
            text = f"{value:.4f}"
        elif unit == "×" and abs(value) < 10:  # a ratio beside its target: 1.696, not 1.70
            text = f"{value:.3f}"
        elif abs(value) >= 100:
            text = f"{value:.0f}"
        elif abs(value) >= 10:
            text = f"{value:.1f}"
        else:
            text = f"{value:.2f}"
    else:
        text = str(value)
    if unit in ("×", "%"):
        return f"{text}{unit}" if unit == "%" else f"{text}×"
    return f"{text} {unit}".rstrip()


def machine_info() -> dict[str, Any]:
    """CPU, OS and the versions that matter for these figures."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": _cpu_model(),
    }
    from importlib import metadata

    for package in (
        "mediapipe",
        "tensorflow",
        "tensorflow-cpu",
        "keras",
        "ai-edge-litert",
        "numpy",
    ):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def busy_note(report: Report) -> str:
    """A warning when other work ran on the machine while measuring."""
    load = max(report.load_start, os.getloadavg()[0])
    cpus = os.cpu_count() or 1
    if load > 0.5 * cpus:
        return (
            f"machine busy (load average {load:.1f} on {cpus} CPUs) while measuring:"
            " figures are pessimistic, ratios that need free cores most of all"
        )
    return ""


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    parser.add_argument("--work", type=Path, help="folder for generated clips and models")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------- timing
def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, list[float], Any]:
    """(min, all wall times, last result) of `repeats` calls of `fn`."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def per_call(fn: Callable[[], Any], calls: int, repeats: int = 5) -> dict[str, float]:
    """Seconds per call of `fn`: best and median over `repeats` runs of `calls` calls."""
    fn()  # warm up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - start) / calls)
    return {"best": min(runs), "median": statistics.median(runs)}


class Stopwatch:
    """Wall and CPU time (this process and its finished children) of a `with` block."""

    def __enter__(self) -> Stopwatch:
        self.wall = self.cpu = 0.0
        self._wall = time.perf_counter()
        self._cpu = _cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = _cpu_seconds() - self._cpu


def _cpu_seconds() -> float:
    children = os.times()  # finished child processes (1/100 s resolution)
    return time.process_time() + children.children_user + children.children_system


# ---------------------------------------------------------------------- work folder
def work_dir(given: Path | None = None) -> Path:
    """Where clips and models are kept between benchmarks of one `python -m benchmarks`."""
    path = given or os.environ.get("POSEACT_BENCH_WORK")
    path = Path(path) if path else Path(tempfile.mkdtemp(prefix="poseact-bench-"))
    path.mkdir(parents=True, exist_ok=True)
    os.environ["POSEACT_BENCH_WORK"] = str(path)
    return path


# ---------------------------------------------------------------------- media
TESTDATA = SHARED / "testdata"
#: The real 720p test video (a woman raising a thumb up, 195 frames at 25 fps).
PERSON_VIDEO = TESTDATA / "person_thumb_up.mp4"


def person_image() -> np.ndarray:
    """A real person, head and shoulders: the middle 720×720 of frame 100 of
    ../shared/testdata/person_thumb_up.mp4, RGB. Needs nothing beyond the plain install."""
    from poseact.extract.sources import VideoFileSource

    if not PERSON_VIDEO.is_file():
        raise FileNotFoundError(f"test video {PERSON_VIDEO} not found (set POSEACT_SHARED_DIR)")
    with VideoFileSource(PERSON_VIDEO) as source:
        for i, (_, rgb) in enumerate(source):
            if i == 100:
                left = (rgb.shape[1] - rgb.shape[0]) // 2
                return np.ascontiguousarray(rgb[:, left : left + rgb.shape[0]])
    raise ValueError(f"{PERSON_VIDEO} has fewer than 101 frames")


def bare_mediapipe_fps(
    path: Path, frames: int | None = None, timings: dict | None = None
) -> tuple[float, int]:
    """(frames/s, frames) of a bare MediaPipe loop over a video: OpenCV decode, BGR→RGB,
    `PoseLandmarker.detect_for_video` (pose full), all on one thread, landmarker start
    included — what a user writes without poseact. The reference for poseact's figures.
    `timings`, if given, receives the loop's seconds spent decoding + converting
    ("decode_s") and detecting ("detect_s")."""
    import cv2

    from poseact.extract.assets import resolve_model
    from poseact.extract.mp import import_mediapipe

    mp = import_mediapipe()
    vision = mp.tasks.vision
    options = vision.PoseLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=str(resolve_model("pose_full"))),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=1,
    )
    start = time.perf_counter()
    n = 0
    decode_s = detect_s = 0.0
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        capture = cv2.VideoCapture(str(path))
        fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        try:
            while frames is None or n < frames:
                t0 = time.perf_counter()
                ok, bgr = capture.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                t1 = time.perf_counter()
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
                landmarker.detect_for_video(image, int(round(1000 * n / fps)))
                detect_s += time.perf_counter() - t1
                decode_s += t1 - t0
                n += 1
        finally:
            capture.release()
    if timings is not None:
        timings.update(decode_s=decode_s, detect_s=detect_s)
    return n / (time.perf_counter() - start), n


def hand_image() -> np.ndarray:
    """A real photo of an open hand (../shared/testdata/hand_open.jpg), RGB."""
    import cv2

    path = TESTDATA / "hand_open.jpg"
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(f"test photo {path} not found (set POSEACT_SHARED_DIR)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def clip(
    work: Path, kind: str, frames: int, size: tuple[int, int] = (640, 480), *, variant: int = 0
) -> Path:
    """A generated mp4 of a real photo ("person" or "hand") moving; made once per work folder.

    `variant` shifts the motion so clips of a folder differ in content.
    """
    path = work / "clips" / f"{kind}_{size[0]}x{size[1]}_{frames}f_v{variant}.mp4"
    if path.is_file():
        return path
    image = person_image() if kind == "person" else hand_image()
    zoom = (0.80 + 0.01 * (variant % 5), 0.95 - 0.01 * (variant % 3))
    return write_video(path, moving_image_frames(image, frames, size, zoom=zoom))


# ---------------------------------------------------------------------- models
def embedded_split():
    """(train, test) of the embedded synthetic dataset, test = held-out subjects."""
    from poseact.loading import load_default_dataset

    return load_default_dataset().split(0.25, seed=0)


def trained_classifier(work: Path, quick: bool):
    """A GRU of 64 units (the streaming default: its model file holds the single-step
    form) trained on the embedded dataset's training subjects; trained once per work
    folder and loaded afterwards."""
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    path = work / ("gru_quick.poseact" if quick else "gru.poseact")
    if path.is_file():
        return GestureClassifier.load(path)
    train, _ = embedded_split()
    training = TrainingOptions(epochs=10, seed=0) if quick else TrainingOptions(seed=0)
    start = time.perf_counter()
    classifier = GestureClassifier(model=ModelOptions(architecture="gru"), training=training)
    classifier.fit(train)
    print(f"  (trained the benchmark GRU in {time.perf_counter() - start:.1f} s)", flush=True)
    classifier.save(path)
    return classifier


QUANTIZATIONS = ("float", "float16", "int8")


def exported_models(work: Path, quick: bool) -> dict[str, dict[str, Any]]:
    """The benchmark GRU exported as float, float16 and int8 TFLite, once per work folder.

    Returns {quantization: {"path", "size_bytes", "max_abs_diff", "argmax_agreement",
    "parity_ok"}}.
    """
    index = work / ("exports_quick.json" if quick else "exports.json")
    if index.is_file():
        models = json.loads(index.read_text())
        if all(Path(m["path"]).is_file() for m in models.values()):
            return models
    from poseact.deploy.export import export_tflite

    classifier = trained_classifier(work, quick)
    _, test = embedded_split()
    models = {}
    for quantization in QUANTIZATIONS:
        path = work / f"gru_{quantization}{'_quick' if quick else ''}.tflite"
        report = export_tflite(classifier, path, quantization=quantization, parity_data=test)
        models[quantization] = {
            "path": str(path),
            "size_bytes": report.size_bytes,
            "max_abs_diff": report.max_abs_diff,
            "argmax_agreement": report.argmax_agreement,
            "parity_ok": report.parity_ok,
        }
    index.write_text(json.dumps(models, indent=1))
    return models


def main_wrapper(run: Callable[[argparse.Namespace], Report], description: str) -> int:
    """Parse the common arguments, run a benchmark, write its JSON."""
    args = parse_args(description)
    args.work = work_dir(args.work)
    report = run(args)
    report.write()
    return 0


def ensure_on_path() -> None:
    """Make `import benchmarks` work when a module is run as a script."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
