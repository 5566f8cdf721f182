"""Landmark cache: a second `extract_many` over the same folder against the first.

    python -m benchmarks.bench_cache [--quick]

The first run extracts every clip (MediaPipe already imported, so its import is not
counted) and fills an empty cache; the second run finds every entry. The second run is
measured twice: in the same process, and with the process's memo of file hashes
cleared, as a new process would see it (every video and model file hashed again). A
third measurement runs it in a fresh Python process (without importing MediaPipe).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_extraction import same_sequences
from benchmarks.common import REPO, Report, Stopwatch, busy_note, clip, main_wrapper

TARGET_SHARE = 1.0  # percent of the extraction time

_FRESH_PROCESS = """
import json, sys, time
from poseact.extract.options import ExtractorOptions
from poseact.extract.extractor import LandmarkExtractor
from poseact.extract.batch import extract_many
paths, cache = json.loads(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
result = extract_many(paths, ExtractorOptions(layout="pose"), cache=cache, progress=False)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "landmarkers": LandmarkExtractor.landmarkers_created,
                  "mediapipe": "mediapipe" in sys.modules}))
"""


def run(args) -> Report:
    import poseact.extract.extractor as landmarks
    from poseact.extract.batch import extract_many
    from poseact.extract.cache import LandmarkCache
    from poseact.extract.options import ExtractorOptions

    quick = args.quick
    report = Report("cache", "Landmark cache", quick)
    n_clips = 4 if quick else 8
    clip_frames = 20 if quick else 45
    paths = [clip(args.work, "person", clip_frames, variant=i) for i in range(n_clips)]
    options = ExtractorOptions(layout="pose")
    print(f"cache: {n_clips} clips × {clip_frames} frames (640×480, pose full)", flush=True)
    import mediapipe  # noqa: F401  (its import is not part of either run)

    with tempfile.TemporaryDirectory() as folder:
        cache = LandmarkCache(folder)
        landmarks._file_hashes.clear()
        with Stopwatch() as first:
            extracted = extract_many(paths, options, cache=cache, progress=False)
        created = landmarks.LandmarkExtractor.landmarkers_created
        with Stopwatch() as warm:
            hit = extract_many(paths, options, cache=cache, progress=False)
        landmarks._file_hashes.clear()
        with Stopwatch() as cold:
            hit_cold = extract_many(paths, options, cache=cache, progress=False)
        no_landmarker = landmarks.LandmarkExtractor.landmarkers_created == created
        fresh = subprocess.run(
            [sys.executable, "-c", _FRESH_PROCESS, json.dumps([str(p) for p in paths]), folder],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        )
        fresh_result = json.loads(fresh.stdout.strip().splitlines()[-1])
        entry_bytes = sum(p.stat().st_size for p in cache.entries())
    video_bytes = sum(Path(p).stat().st_size for p in paths)

    report.figure("first_run_s", first.wall, "s", "first run (extract + store)")
    report.figure("second_run_same_process_s", warm.wall, "s", "second run, same process")
    report.figure("second_run_rehash_s", cold.wall, "s", "second run, file hashes recomputed")
    report.figure(
        "second_run_fresh_process_s", fresh_result["seconds"], "s", "second run, fresh process"
    )
    report.figure(
        "fresh_process_landmarkers",
        fresh_result["landmarkers"],
        "",
        "landmarkers created by the fresh process",
    )
    report.figure(
        "fresh_process_imported_mediapipe",
        fresh_result["mediapipe"],
        "",
        "fresh process imported MediaPipe",
    )
    report.figure("cache_bytes", entry_bytes, "bytes", "cache entries on disk")
    report.figure("video_bytes", video_bytes, "bytes", "the videos")
    share = 100.0 * max(cold.wall, fresh_result["seconds"]) / first.wall
    report.check(
        "hit_share",
        "cache hit time / extraction time (new process)",
        share,
        "%",
        f"< {TARGET_SHARE:g} %",
        share < TARGET_SHARE,
        f"{max(cold.wall, fresh_result['seconds']) * 1000:.0f} ms vs {first.wall:.1f} s"
        f" for {n_clips} clips; same process {100 * warm.wall / first.wall:.2f} %"
        + ("" if share < TARGET_SHARE else f"; {busy_note(report)}"),
    )
    same = (
        same_sequences(extracted, hit)
        and same_sequences(extracted, hit_cold)
        and no_landmarker
        and fresh_result["landmarkers"] == 0
    )
    report.check("identical", "hits identical, no landmarker created", same, "", "yes", same)
    return report


if __name__ == "__main__":
    raise SystemExit(main_wrapper(run, __doc__.splitlines()[0]))
