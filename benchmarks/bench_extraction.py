"""Extraction throughput: MediaPipe models per frame, poseact against a bare MediaPipe
loop, cold start, and a folder with 1 vs 2 workers.

    python -m benchmarks.bench_extraction [--quick]

1. Per model (pose full, hand full, hand lite) on a generated 640×480 clip of a real
   photo moving across the frame (a person from ../shared/testdata/person_thumb_up.mp4
   for pose, an open hand for hands): `extract_video` frames/s (decode + landmarker
   start + MediaPipe), MediaPipe alone per frame (wall and CPU), landmarker start-up,
   frames with a detection.
2. poseact against a bare MediaPipe loop (OpenCV decode, BGR→RGB, detect, one thread)
   on the real 720p test video, interleaved in the same run: `extract_video` decodes in
   a reader thread a few frames ahead, so the ratio can exceed 1.
3. Start-up: `poseact extract` of a 1 s clip in a fresh process (wall), and
   `import poseact.runtime`.
4. A folder of clips through `extract_many`: sequential (`workers=1`, MediaPipe already
   imported) against 2 workers on a warm pool (`extraction_pool(2)`, started before
   timing); and as a user runs it, `poseact extract FOLDER --workers 1` against
   `--workers 2`, each a fresh process (interpreter, imports and worker start-up
   included). Results must be identical to the sequential ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import (
    PERSON_VIDEO,
    REPO,
    Report,
    Stopwatch,
    bare_mediapipe_fps,
    busy_note,
    clip,
    main_wrapper,
)

TARGET_SPEEDUP = 1.8
TARGET_COLD_SPEEDUP = 1.7
TARGET_VS_BARE = 1.15
TARGET_COLD_START_S = 2.0
TARGET_RUNTIME_IMPORT_S = 0.5


def _frames_of(path) -> list[tuple[float, np.ndarray]]:
    from poseact.extract.sources import VideoFileSource

    with VideoFileSource(path) as source:
        return list(source)


def measure_model(report: Report, key: str, label: str, options, path, repeats: int) -> dict:
    """Per-frame cost of one MediaPipe model on one clip."""
    from poseact.extract.extractor import LandmarkExtractor, extract_video

    frames = _frames_of(path)
    best = None
    for _ in range(repeats):
        with Stopwatch() as opening:
            extractor = LandmarkExtractor(options).open()
        detected = 0
        with Stopwatch() as running:
            for t, rgb in frames:
                detected += int(extractor.process(rgb, t).detected)
        extractor.close()
        if best is None or running.wall < best[1].wall:
            best = (opening, running, detected)
    opening, running, detected = best
    whole = min(_timed(lambda: extract_video(path, options)) for _ in range(repeats))
    n = len(frames)
    result = {
        "frames": n,
        "extract_video_fps": n / whole,
        "mediapipe_ms_per_frame": 1000 * running.wall / n,
        "mediapipe_cpu_ms_per_frame": 1000 * running.cpu / n,
        "mediapipe_fps": n / running.wall,
        "landmarker_start_ms": 1000 * opening.wall,
        "landmarker_start_cpu_ms": 1000 * opening.cpu,
        "detected_frames": detected,
    }
    report.figure(
        f"{key}.extract_video_fps",
        result["extract_video_fps"],
        "frames/s",
        f"{label}: extract_video (decode + start + MediaPipe)",
    )
    report.figure(
        f"{key}.mediapipe_ms_per_frame",
        result["mediapipe_ms_per_frame"],
        "ms",
        f"{label}: MediaPipe per frame (wall)",
    )
    report.figure(
        f"{key}.mediapipe_cpu_ms_per_frame",
        result["mediapipe_cpu_ms_per_frame"],
        "ms",
        f"{label}: MediaPipe per frame (CPU)",
    )
    report.figure(
        f"{key}.landmarker_start_ms",
        result["landmarker_start_ms"],
        "ms",
        f"{label}: landmarker start-up",
    )
    report.figure(f"{key}.detected_frames", f"{detected}/{n}", "", f"{label}: frames detected")
    report.figures[key] = result
    return result


def _process_cpu(pid: int) -> float:
    """CPU seconds used so far by a running process (Linux /proc; else 0)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _decode_cpu_ms(path) -> float:
    from poseact.extract.sources import VideoFileSource

    with Stopwatch() as watch, VideoFileSource(path) as source:
        n = sum(1 for _ in source)
    return 1000 * watch.cpu / n


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def same_sequences(a, b) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x.timestamps, y.timestamps)
        and np.array_equal(x.landmarks, y.landmarks, equal_nan=True)
        and np.array_equal(x.visibility, y.visibility)
        for x, y in zip(a, b)
    )


def versus_bare_mediapipe(report: Report, repeats: int) -> float:
    """poseact's `extract_video` against a bare MediaPipe loop on the real 720p video."""
    from poseact.extract.extractor import extract_video
    from poseact.extract.options import ExtractorOptions

    options = ExtractorOptions(layout="pose", require_detection=False)
    bare, ours, ceilings = [], [], []
    n = 0
    for _ in range(repeats):  # interleaved, so that load bursts hit both
        timings: dict = {}
        fps, n = bare_mediapipe_fps(PERSON_VIDEO, timings=timings)
        bare.append(fps)
        # Overlapping decode with MediaPipe can at best hide the decode: the loop's
        # (decode + detect) time over its detect time bounds any reader thread's gain.
        ceilings.append((timings["decode_s"] + timings["detect_s"]) / timings["detect_s"])
        start = time.perf_counter()
        sequence = extract_video(PERSON_VIDEO, options)
        ours.append(len(sequence) / (time.perf_counter() - start))
    # each pair ran back to back, so a load burst hits both of its runs: the median of
    # the pairs' ratios is steadier on a shared machine than the ratio of the best runs
    ratio = float(np.median([o / b for o, b in zip(ours, bare)]))
    report.figure("vs_bare.bare_fps", bare, "frames/s", "bare MediaPipe loop runs (720p)")
    report.figure("vs_bare.poseact_fps", ours, "frames/s", "poseact extract_video runs (720p)")
    pairs = ", ".join(f"{o / b:.2f}" for o, b in zip(ours, bare))
    ceiling = float(np.median(ceilings))
    report.figure("vs_bare.decode_ms", 1000 * timings["decode_s"] / n, "ms", "decode + BGR→RGB")
    report.figure("vs_bare.detect_ms", 1000 * timings["detect_s"] / n, "ms", "detect_for_video")
    report.check(
        "vs_bare_ceiling",
        "ceiling for overlapping decode with MediaPipe, 720p test video",
        ceiling,
        "×",
        "— (bounds the ratio to the bare loop)",
        None,
        f"the bare loop spends {1000 * timings['decode_s'] / n:.1f} ms per frame decoding"
        f" and converting and {1000 * timings['detect_s'] / n:.1f} ms in MediaPipe: a"
        " reader thread can hide the first, never the second",
    )
    report.check(
        "vs_bare",
        "poseact sequential extraction vs a bare MediaPipe loop, 720p test video",
        ratio,
        "×",
        f"≥ {TARGET_VS_BARE:g}×",
        ratio >= TARGET_VS_BARE,
        f"median of the per-pair ratios {pairs}; best runs {max(ours):.1f} vs"
        f" {max(bare):.1f} frames/s ({max(ours) / max(bare):.2f}×) on {n} frames of"
        f" {PERSON_VIDEO.name}; poseact decodes in a reader thread",
    )
    return ratio


def _repo_env() -> dict[str, str]:
    """The environment for a child `python -m poseact.cli`: this checkout first on the path."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _wall(command: list[str], env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Wall seconds of a child process; its CPU seconds appended to `cpu`."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = os.times()
    if cpu is not None:
        cpu.append(
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system
        )
    return wall


def fresh_pool_cli(work, paths, reference, repeats: int) -> tuple[dict, list, list, list]:
    """`poseact extract FOLDER --workers 1` against `--workers 2`, fresh processes each.

    What a user runs: each command starts Python, imports what it needs, spawns its
    workers (with the CLI's small main module) and writes the .npz files; interleaved
    pairs, so that a load burst hits both runs of a pair. Returns the wall times
    ({"sequential", "parallel", "identical"}), the pairs' ratios, and the CPU seconds
    of the parallel and of the sequential runs.
    """
    from poseact.core.sequence import LandmarkSequence

    root = work / "folder_dataset"
    for k, path in enumerate(paths):
        link = root / f"label_{k % 2}" / path.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(path.resolve())
    env = _repo_env()
    by_name = {p.name: r for p, r in zip(paths, reference)}
    runs: dict = {"sequential": [], "parallel": [], "identical": True}
    ratios, cpu_parallel, cpu_sequential = [], [], []
    for _ in range(repeats):
        walls = {}
        for workers, key, cpu in ((1, "sequential", cpu_sequential), (2, "parallel", cpu_parallel)):
            out = work / f"folder_out_{workers}"
            shutil.rmtree(out, ignore_errors=True)
            command = [sys.executable, "-m", "poseact.cli", "extract", str(root), "-o", str(out)]
            walls[key] = _wall([*command, "--no-cache", "--workers", str(workers)], env, cpu)
            runs[key].append(walls[key])
        ratios.append(walls["sequential"] / walls["parallel"])
        for npz in sorted((work / "folder_out_2").glob("*/*.npz")):
            got = LandmarkSequence.load(npz)
            want = by_name[npz.stem + ".mp4"]
            runs["identical"] &= bool(np.array_equal(got.landmarks, want.landmarks, equal_nan=True))
    return runs, ratios, cpu_parallel, cpu_sequential


def start_up(report: Report, work, repeats: int) -> None:
    """Cold start of `poseact extract` on a 1 s clip, and of `import poseact.runtime`."""
    from poseact.extract.sources import VideoFileSource
    from poseact.extract.video import write_video

    one_second = work / "clips" / "person_720p_1s.mp4"
    if not one_second.is_file():
        with VideoFileSource(PERSON_VIDEO) as source:
            write_video(one_second, [rgb for _, (_, rgb) in zip(range(25), source)], 25.0)
    env = _repo_env()
    out = work / "cold_start.npz"
    command = [sys.executable, "-m", "poseact.cli", "extract", str(one_second), "-o", str(out)]
    cpu: list[float] = []
    runs = [_wall([*command, "--no-cache"], env, cpu) for _ in range(repeats + 1)]
    best = min(runs)
    report.figure("cold_start.extract_s", runs, "s", "poseact extract, 1 s 720p clip, runs")
    report.figure("cold_start.extract_cpu_s", cpu, "s", "... CPU time of those runs")
    report.check(
        "cold_start",
        "cold start: `poseact extract` of a 1 s clip (25 frames, 720p), wall",
        best,
        "s",
        f"≤ {TARGET_COLD_START_S:g} s",
        best <= TARGET_COLD_START_S,
        f"CPU {min(cpu):.2f} s; a fresh Python process each run: interpreter, MediaPipe"
        " import without TensorFlow, landmarker start, 25 frames, .npz written"
        + ("" if best <= TARGET_COLD_START_S else f"; {busy_note(report)}"),
    )
    code = (
        "import time; t = time.perf_counter(); import poseact.runtime;"
        " print(time.perf_counter() - t)"
    )
    imports = []
    for _ in range(repeats + 2):
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        )
        imports.append(float(done.stdout.strip().splitlines()[-1]))
    best = min(imports)
    report.check(
        "runtime_import",
        "`import poseact.runtime` in a fresh process",
        best,
        "s",
        f"≤ {TARGET_RUNTIME_IMPORT_S:g} s",
        best <= TARGET_RUNTIME_IMPORT_S,
        "numpy and LiteRT; no TensorFlow, Keras or MediaPipe",
    )


def run(args) -> Report:
    from poseact.extract.batch import extract_many, extraction_pool
    from poseact.extract.options import ExtractorOptions

    quick = args.quick
    report = Report("extraction", "Extraction throughput", quick)
    frames = 30 if quick else 90
    repeats = 1 if quick else 2
    print(f"extraction: generated 640×480 clips, {frames} frames", flush=True)

    from poseact.extract.mp import import_mediapipe

    with Stopwatch() as importing:
        import_mediapipe()  # as poseact does: without TensorFlow
    report.figure("mediapipe_import_s", importing.wall, "s", "import mediapipe (once per process)")
    report.figure("mediapipe_import_cpu_s", importing.cpu, "s", "import mediapipe, CPU time")

    person = clip(args.work, "person", frames)
    hand = clip(args.work, "hand", frames)
    models = [
        (
            "pose_full",
            "pose full",
            ExtractorOptions(layout="pose", require_detection=False),
            person,
        ),
        (
            "hand_full",
            "hand full",
            ExtractorOptions(layout="hands", hand_model="hand_full", require_detection=False),
            hand,
        ),
        (
            "hand_lite",
            "hand lite",
            ExtractorOptions(layout="hands", hand_model="hand_lite", require_detection=False),
            hand,
        ),
    ]
    for key, label, options, path in models:
        measure_model(report, key, label, options, path, repeats)
    pose = report.figures["pose_full"]
    decode_ms = report.figure(
        "decode_cpu_ms_per_frame", _decode_cpu_ms(person), "ms", "decode + BGR→RGB (CPU)"
    )
    report.check(
        "pose_full_fps",
        "pose full, MediaPipe frames/s (640×480)",
        pose["mediapipe_fps"],
        "frames/s",
        "—",
        None,
        f"{pose['mediapipe_cpu_ms_per_frame']:.1f} ms CPU per frame",
    )

    # ---------------------------------------------------------------- vs bare, start-up
    versus_bare_mediapipe(report, 2 if quick else 3)
    start_up(report, args.work, 1 if quick else 2)

    # ---------------------------------------------------------------- a folder
    n_clips = 4 if quick else 8
    clip_frames = 20 if quick else 45
    paths = [clip(args.work, "person", clip_frames, variant=i) for i in range(n_clips)]
    options = ExtractorOptions(layout="pose")
    total_frames = n_clips * clip_frames
    print(f"folder: {n_clips} clips × {clip_frames} frames", flush=True)
    report.figure("folder.clips", n_clips)
    report.figure("folder.frames", total_frames)

    with Stopwatch() as starting:
        pool = extraction_pool(2)
    report.figure("folder.pool_start_s", starting.wall, "s", "warm pool start (2 workers)")
    sequential, parallel, seq_cpu, par_cpu = [], [], [], []
    workers = list(getattr(pool, "_processes", {}) or {})  # pids, for their CPU time
    try:
        extract_many(paths[:2], options, cache=False, progress=False, executor=pool)  # warm
        reference = extract_many(paths[:1], options, cache=False, progress=False)  # warm
        identical = True
        for _ in range(repeats + 1):  # interleaved, so that load bursts hit both
            with Stopwatch() as seq:
                reference = extract_many(paths, options, cache=False, progress=False)
            sequential.append(seq.wall)
            seq_cpu.append(seq.cpu)
            before = sum(_process_cpu(pid) for pid in workers)
            with Stopwatch() as par:
                result = extract_many(paths, options, cache=False, progress=False, executor=pool)
            parallel.append(par.wall)
            par_cpu.append(par.cpu + sum(_process_cpu(pid) for pid in workers) - before)
            identical &= same_sequences(reference, result)
    finally:
        pool.shutdown()
    cold_runs, cold_ratios, cold_cpu_runs, seq_cli_cpu = fresh_pool_cli(
        args.work, paths, reference, 2 if quick else 5
    )
    identical &= cold_runs["identical"]

    seq_best, par_best = min(sequential), min(parallel)
    speedup = seq_best / par_best
    pairs = sorted(s / p for s, p in zip(sequential, parallel))
    report.figure("folder.sequential_s", sequential, "s", "sequential (workers=1) runs")
    report.figure("folder.parallel_warm_s", parallel, "s", "2 workers, warm pool, runs")
    report.figure("folder.cold_sequential_s", cold_runs["sequential"], "s", "CLI, --workers 1")
    report.figure("folder.parallel_cold_s", cold_runs["parallel"], "s", "CLI, --workers 2")
    report.figure("folder.sequential_cpu_s", seq_cpu, "s", "sequential runs, CPU time")
    report.figure("folder.parallel_cpu_s", par_cpu, "s", "2 workers, CPU time (all processes)")
    report.figure("folder.sequential_fps", total_frames / seq_best, "frames/s")
    report.figure("folder.parallel_warm_fps", total_frames / par_best, "frames/s")
    note = busy_note(report)
    report.check(
        "speedup_2_workers",
        "folder, 2 workers (warm pool) vs 1",
        speedup,
        "×",
        f"≥ {TARGET_SPEEDUP}×",
        speedup >= TARGET_SPEEDUP,
        "; ".join(
            x
            for x in (
                f"best runs {seq_best:.2f} s vs {par_best:.2f} s; per-pair ratios"
                f" {', '.join(f'{r:.2f}' for r in pairs)}",
                "" if speedup >= TARGET_SPEEDUP else note,
            )
            if x
        ),
    )
    importing_s = report.figures["mediapipe_import_s"]["value"]
    if workers and min(par_cpu) > 0:
        # What 2 idle cores would give: the parallel run's CPU work split over 2 cores
        projected = 2 * min(seq_cpu) / min(par_cpu)
        report.check(
            "speedup_2_workers_cpu",
            "folder, 2 workers vs 1, projected on 2 idle cores from CPU time",
            projected,
            "×",
            "— (cross-check of the wall-time ratio)",
            None,
            f"CPU {min(seq_cpu):.2f} s sequential vs {min(par_cpu):.2f} s over the main"
            " process and both workers: 2 × their ratio is the speed-up when nothing else"
            " competes for the cores",
        )
    cold_speedup = float(np.median(cold_ratios))
    cold_best = min(cold_runs["parallel"])
    startup = max(cold_best - par_best, 0.0)
    # sequential work W (seconds) from which (I + W) / (S + W / r) reaches the target,
    # with I the import, S the pool start-up and r the warm speed-up
    if speedup > TARGET_COLD_SPEEDUP:
        need = max(
            (TARGET_COLD_SPEEDUP * startup - importing_s) / (1 - TARGET_COLD_SPEEDUP / speedup), 0
        )
        reach = (
            f"at this start-up, {TARGET_COLD_SPEEDUP}× needs about {need:.0f} s of sequential work"
        )
    else:
        reach = f"a fresh pool cannot reach {TARGET_COLD_SPEEDUP}× when a warm one does not"
    report.check(
        "speedup_2_workers_cold",
        "folder, `poseact extract --workers 2` vs `--workers 1` (fresh processes, start-up"
        " included)",
        cold_speedup,
        "×",
        f"≥ {TARGET_COLD_SPEEDUP:g}×",
        cold_speedup >= TARGET_COLD_SPEEDUP,
        f"median of the per-pair ratios {', '.join(f'{r:.2f}' for r in sorted(cold_ratios))};"
        f" best runs {min(cold_runs['sequential']):.2f} s vs {cold_best:.2f} s; the pool's"
        f" start-up beyond the warm pool ≈ {startup:.1f} s; {reach}",
    )
    # What 2 idle cores would give a fresh pool: its CPU work (worker start-ups
    # included) split over 2 cores, against the sequential command's
    cold_cpu = min(cold_cpu_runs)
    cold_projected = 2 * min(seq_cli_cpu) / cold_cpu if cold_cpu > 0 else 0.0
    report.figure("folder.parallel_cold_cpu_s", cold_cpu_runs, "s", "fresh pool, CPU time (all)")
    report.check(
        "speedup_2_workers_cold_cpu",
        "folder, 2 workers (fresh pool) vs 1, projected on 2 idle cores from CPU time",
        cold_projected,
        "×",
        f"— (cross-check of the ≥ {TARGET_COLD_SPEEDUP:g}× wall-time target)",
        None,
        f"CPU {min(seq_cli_cpu):.2f} s (`--workers 1`) vs {cold_cpu:.2f} s (`--workers 2`,"
        " all its processes)",
    )
    report.check(
        "identical",
        "2-worker results identical to sequential",
        identical,
        "",
        "identical",
        identical,
    )
    report.figures["cpu_count"] = os.cpu_count()

    # Paper estimate for a large corpus (docs/scaling.md): CPU time, not wall time.
    clips, frames_per_clip = 100_000, 150  # 5 s clips at 30 fps
    per_frame_s = (pose["mediapipe_cpu_ms_per_frame"] + decode_ms) / 1000
    per_clip_s = pose["landmarker_start_cpu_ms"] / 1000
    cpu_hours = (clips * frames_per_clip * per_frame_s + clips * per_clip_s) / 3600
    # one fresh process per clip (a `poseact extract` per file): its start-up, i.e. the
    # cold start's CPU time less its 25 frames (at the 640×480 per-frame cost: MediaPipe
    # scales its input to the model's size, so 720p costs about the same)
    start_cpu = min(report.figures["cold_start.extract_cpu_s"]["value"])
    process_s = max(start_cpu - 25 * per_frame_s, 0.0)
    report.figure(
        "estimate_100k.process_per_clip_cpu_hours",
        clips * process_s / 3600,
        "CPU-hours",
        "100k clips: extra for one fresh process per clip (start-up CPU)",
    )
    report.figure(
        "estimate_100k.cpu_hours",
        cpu_hours,
        "CPU-hours",
        "100k clips × 150 frames, pose full, 640×480",
    )
    report.check(
        "estimate_100k",
        "paper estimate: 100k clips of 5 s (30 fps, 640×480), pose full",
        cpu_hours,
        "CPU-hours",
        "— (docs/scaling.md)",
        None,
        f"{pose['mediapipe_cpu_ms_per_frame']:.1f} ms MediaPipe + {decode_ms:.1f} ms decode CPU"
        f" per frame, {pose['landmarker_start_cpu_ms']:.0f} ms landmarker start per clip;"
        f" at $0.04 per vCPU-hour ≈ ${0.04 * cpu_hours:.0f}; a fresh process per clip adds"
        f" ≈ {process_s:.1f} s CPU each: {clips * process_s / 3600:.0f} CPU-hours",
    )
    return report


if __name__ == "__main__":
    raise SystemExit(main_wrapper(run, __doc__.splitlines()[0]))
