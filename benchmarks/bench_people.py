"""Several people: live speed with two people in 640×480, poseact's share, id switches.

    python -m benchmarks.bench_people [--quick]

The videos are composed from the real recording person_thumb_up.mp4 (../shared/testdata):
two people side by side (the right-hand one starts the recording 3 s later), and one
person walking behind another (hidden for about a second; twice, at two moments of the
recording). `run_live` runs headless with `max_people=2` (a VIDEO-mode PoseLandmarker per
person, `poseact.extract.people`) and one recognizer per person (the benchmark GRU); the
same video with `max_people=1` and a single person alone are measured beside it. Id
switches are counted against the composition's true boxes (`poseact.testing.id_switches`).
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import SHARED, Report, busy_note, exported_models, main_wrapper

TARGET_FPS = 20.0
TARGET_SHARE = 5.0  # percent of a frame: tracking + two recognizers
FPS = 25.0


def compositions(quick: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (frames (T, 480, 640, 3), true boxes (T, 2, 4))."""
    from poseact.testing import crossing_frames, read_video_rgb, side_by_side_frames

    video = SHARED / "testdata" / "person_thumb_up.mp4"
    limit = 100 if quick else None
    cells = read_video_rgb(video, (240, 288), max_frames=limit)
    held = min(75, len(cells) // 3)
    late = np.concatenate([np.repeat(cells[:1], held, axis=0), cells[: len(cells) - held]])
    small = read_video_rgb(video, (160, 192), max_frames=limit)
    walker = small[:, :, ::-1].copy()
    alone, _ = side_by_side_frames(cells, np.zeros_like(cells))
    return {
        "side_by_side": side_by_side_frames(cells, late),
        "alone": (alone, np.full((len(alone), 2, 4), np.nan)),
        "crossing_late": crossing_frames(small, walker, cross=(50, 90) if quick else (50, 110)),
        "crossing_early": crossing_frames(small, walker, cross=(5, 45)),
    }


def live(frames: np.ndarray, model, people: int) -> dict:
    from poseact.apps.live import run_live
    from poseact.extract.options import ExtractorOptions
    from poseact.extract.sources import ArraySource

    stats = run_live(
        ArraySource(frames, fps=FPS),
        model,
        extractor=ExtractorOptions(max_people=people, require_detection=False),
        preview=False,
    )
    per_frame = 1000 * stats.seconds / stats.frames
    return {
        "fps": stats.fps,
        "frame_ms": per_frame,
        "mediapipe_ms": stats.extract_ms_per_frame,
        "poseact_ms": stats.classify_ms_per_frame,
        "poseact_share": 100 * stats.classify_ms_per_frame / per_frame,
        "people": stats.people,
    }


def run(args) -> Report:
    from poseact.extract.extractor import extract_people
    from poseact.extract.mp import import_mediapipe
    from poseact.extract.options import ExtractorOptions
    from poseact.extract.sources import ArraySource
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.testing import id_switches

    quick = args.quick
    report = Report("people", "Several people", quick)
    model = TFLiteGestureModel(exported_models(args.work, quick)["float"]["path"])
    import_mediapipe()  # not part of the measured loops
    videos = compositions(quick)
    side, _ = videos["side_by_side"]
    print(f"people: {len(side)} frames, 640×480, pose full, GRU float", flush=True)
    runs = {
        "two_people": live(side, model, 2),
        "two_people_max1": live(side, model, 1),
        "alone_max1": live(videos["alone"][0], model, 1),
        "alone_max2": live(videos["alone"][0], model, 2),
    }
    for key, result in runs.items():
        report.figures[key] = result
        print(
            f"  {key}: {result['fps']:.1f} frames/s; per frame MediaPipe"
            f" {result['mediapipe_ms']:.1f} ms, poseact {result['poseact_ms']:.2f} ms"
            f" ({result['poseact_share']:.2f} %), {result['people']} people tracked",
            flush=True,
        )
    switches = {}
    for name in ("side_by_side", "crossing_late", "crossing_early"):
        frames, boxes = videos[name]
        tracks = extract_people(ArraySource(frames, fps=FPS), ExtractorOptions(max_people=2))
        counts, ids = id_switches(boxes, np.arange(len(frames)) / FPS, tracks)
        switches[name] = counts
        report.figures[f"{name}_switches"] = counts
        report.figures[f"{name}_tracks"] = len(tracks)
        print(f"  {name}: {len(tracks)} tracks, id switches per person {counts}", flush=True)
    note = busy_note(report)
    two = runs["two_people"]
    report.check(
        "fps_two",
        "live FPS, two people side by side, 640×480, every frame",
        two["fps"],
        "frames/s",
        f"≥ {TARGET_FPS:g}",
        two["fps"] >= TARGET_FPS,
        f"MediaPipe {two['mediapipe_ms']:.1f} ms of {two['frame_ms']:.1f} ms per frame"
        + (f"; {note}" if note else ""),
    )
    report.check(
        "share_two",
        "poseact's share of a frame with two people (tracking + two recognizers)",
        two["poseact_share"],
        "%",
        f"< {TARGET_SHARE:g}",
        two["poseact_share"] < TARGET_SHARE,
        f"{two['poseact_ms']:.2f} ms per frame",
    )
    alone = runs["alone_max1"]
    report.check(
        "max1_unchanged",
        "one person, max_people=1 (the single-person code path): live FPS",
        alone["fps"],
        "frames/s",
        "as before (bench_live)",
        None,
        f"MediaPipe {alone['mediapipe_ms']:.1f} ms, poseact {alone['poseact_ms']:.2f} ms per"
        f" frame; the same person with max_people=2: {runs['alone_max2']['fps']:.1f} frames/s",
    )
    report.check(
        "switches_side",
        "id switches, side by side (per person)",
        float(max(switches["side_by_side"])),
        "",
        "0",
        max(switches["side_by_side"]) == 0,
    )
    for name in ("crossing_late", "crossing_early"):
        report.check(
            f"switches_{name}",
            f"id switches, one walking behind the other ({name}), most for one person",
            float(max(switches[name])),
            "",
            "≤ 1",
            max(switches[name]) <= 1,
        )
    return report


if __name__ == "__main__":
    raise SystemExit(main_wrapper(run, __doc__.splitlines()[0]))
