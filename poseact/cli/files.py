"""Commands on landmark files and MediaPipe models: `extract`, `show`, `models`,
`generate`."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from poseact.cli.common import (
    add_extractor_flags,
    add_force_flag,
    check_layout,
    extractor_options,
    load_data,
    refuse_media_for_custom_layout,
    refuse_own_input,
    resolve_layout,
    what_is_detected,
)
from poseact.core.errors import PoseactError


def cmd_extract(args: argparse.Namespace) -> int:
    from poseact.loading import load_sequence

    source = Path(args.input)
    out = Path(args.output)
    if source.is_dir() and getattr(args, "extractor.max_people", None) not in (None, 1):
        raise PoseactError(
            f"--max-people follows the people of one video; {source} is a folder (extract"
            " its videos one by one)"
        )
    if source.is_dir():
        from poseact.core.atomic import atomic_dir

        refuse_own_input(out, source)
        data = load_data(args, args.input)
        # the dataset folder is one unit: written beside `out`, then moved into place
        with atomic_dir(out, force=args.force) as tmp:
            written = data.to_folder(tmp)
        print(f"extracted {len(written)} clips into {out}: {data.summary()}")
        return 0
    target = out / f"{source.stem}.npz" if out.is_dir() or not out.suffix else out
    refuse_own_input(target, source)
    if getattr(args, "extractor.max_people", None) not in (None, 1):
        return _extract_people(args, source, target)
    if target.suffix.lower() not in (".npz", ".csv"):
        raise PoseactError(
            f"cannot write landmarks to {target}: {target.suffix!r} is neither .npz nor .csv"
        )
    refuse_media_for_custom_layout(args, source)
    resolve_layout(args, source)
    options = extractor_options(args, **({"world_landmarks": True} if args.world else {}))
    sequence = load_sequence(source, options, cache=False if args.no_cache else None)
    check_layout(args, sequence.layout, source)
    if target.suffix.lower() == ".csv":
        from poseact.data.dataset import write_landmark_csv

        write_landmark_csv(sequence, target)
    else:
        sequence.save(target)
    found = int(sequence.detected.sum())
    print(
        f"{source}: {len(sequence)} frames, {what_is_detected(sequence.layout)} in {found}"
        f" → {target}"
    )
    return 0


def _extract_people(args: argparse.Namespace, source: Path, target: Path) -> int:
    """--max-people N on a video: one landmark file per person (track), <name>_p<id>."""
    from poseact.extract.extractor import extract_people

    if target.suffix.lower() != ".npz":
        raise PoseactError(f"cannot write several people to {target}: give a .npz name or a folder")
    options = extractor_options(args, **({"world_landmarks": True} if args.world else {}))
    tracks = extract_people(source, options)
    for track in tracks:
        path = target.with_name(f"{target.stem}_p{track.person}{target.suffix}")
        refuse_own_input(path, source)
        track.save(path)
        print(
            f"{source}: person {track.person} from {track.timestamps[0]:.2f} s to"
            f" {track.timestamps[-1]:.2f} s, {what_is_detected(track.layout)} in"
            f" {int(track.detected.sum())} of {len(track)} frames → {path}"
        )
    print(f"{source}: {len(tracks)} people tracked")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from poseact.apps.render import render_sequence
    from poseact.loading import load_sequence

    if args.fps is not None and not (math.isfinite(args.fps) and 0 < args.fps <= 1000):
        raise PoseactError(
            f"--fps {args.fps} is not a frame rate poseact writes (a finite number of frames"
            " per second in (0, 1000])"
        )
    sequence = load_sequence(args.clip)
    title = args.title if args.title is not None else Path(args.clip).parent.name
    path = render_sequence(sequence, args.output, fps=args.fps, title=title)
    found = int(sequence.detected.sum())
    print(
        f"{args.clip}: {len(sequence)} frames ({what_is_detected(sequence.layout)} in {found})"
        f" drawn into {path}"
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from poseact.extract.assets import (
        MODELS,
        find_model,
        model_search_dirs,
        resolve_model,
        verify_model,
    )

    default = ["pose_full", "hand_full"] if args.action == "download" else list(MODELS)
    names = args.names or default
    if args.action == "list":
        dirs = model_search_dirs()
        env = os.pathsep.join(str(d) for d in dirs[:-1]) or "not set"
        print(f"POSEACT_MODEL_DIR: {env}; then the cache: {dirs[-1]}")
        for name in names:
            status = find_model(name)
            if status.path is not None:
                print(f"  {name:<11} {status.path} ({status.origin})")
            elif status.url:
                print(f"  {name:<11} not found; downloaded on first use from {status.url}")
            else:
                print(f"  {name:<11} not found, and Google publishes no download for it")
        return 0
    if args.action == "download":
        for name in names:
            status = find_model(name)
            if status.path is not None:
                print(f"{name}: already at {status.path} ({status.origin}), nothing to download")
            else:
                print(f"{name}: downloaded to {resolve_model(name, download=True)}")
        return 0
    bad = 0
    for name in names:
        status = verify_model(name)
        if status.problem == "not found":
            print(f"{name}: not found")
        elif status.problem:
            bad += 1
            print(f"{name}: {status.path}: {status.problem}")
        else:
            print(f"{name}: {status.path} ok")
    return 1 if bad else 0


def cmd_generate(args: argparse.Namespace) -> int:
    from poseact.data.synthetic import generate_activities

    data = generate_activities(
        num_subjects=args.subjects, clips_per_class=args.clips_per_class, seed=args.seed
    )
    path = data.save(args.output, precision="float16")
    frames = sum(len(s) for s in data.sequences)
    print(f"wrote {path}: {data.summary()}, {frames} frames, {os.path.getsize(path) / 1e6:.2f} MB")
    return 0


def add_extract(sub: argparse._SubParsersAction) -> None:
    """The `poseact extract` command."""
    p = sub.add_parser("extract", help="video/image/folder → landmark .npz files")
    p.add_argument("input", help="a video, an image, or a dataset folder root/<label>/<clip>")
    p.add_argument("-o", "--output", required=True, help=".npz file or output folder")
    p.add_argument(
        "--world", action="store_true", help="also keep world landmarks in metres (default: off)"
    )
    add_force_flag(p, "the output folder (for a dataset folder)")
    add_extractor_flags(p, people=True, auto_layout=True)
    p.set_defaults(func=cmd_extract)


def add_show(sub: argparse._SubParsersAction) -> None:
    """The `poseact show` command."""
    p = sub.add_parser("show", help="draw a landmark clip as a video or GIF: what the model sees")
    p.add_argument("clip", help="a landmark .npz or .csv")
    p.add_argument("-o", "--output", required=True, help="the .mp4 or .gif to write")
    p.add_argument(
        "--fps", type=float, default=None, help="frame rate of the output (default: the clip's)"
    )
    p.add_argument(
        "--title",
        default=None,
        help="first line on every frame (default: the clip's folder, its label)",
    )
    p.set_defaults(func=cmd_show)


def add_models(sub: argparse._SubParsersAction) -> None:
    """The `poseact models` command."""
    p = sub.add_parser("models", help="list, download or verify the MediaPipe model bundles")
    p.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=["list", "download", "verify"],
        help="list: where each model is found; download: fetch now; verify: check the files"
        " (default: list)",
    )
    p.add_argument(
        "names", nargs="*", help="model names (default: all; download: pose_full hand_full)"
    )
    p.set_defaults(func=cmd_models)


def add_generate(sub: argparse._SubParsersAction) -> None:
    """The `poseact generate` command."""
    p = sub.add_parser("generate", help="regenerate the synthetic dataset (bit for bit)")
    p.add_argument(
        "-o",
        "--output",
        default="datasets/synthetic_activities.npz",
        help="the .npz to write (default: datasets/synthetic_activities.npz)",
    )
    p.add_argument("--subjects", type=int, default=None, help="simulated subjects (default: 12)")
    p.add_argument(
        "--clips-per-class", type=int, default=None, help="clips per subject and class (default: 4)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    p.set_defaults(func=cmd_generate)
