"""`poseact record`: labelled clips from a camera or a video file."""

from __future__ import annotations

import argparse
from pathlib import Path

from poseact.cli.common import (
    add_extractor_flags,
    custom_layout,
    extractor_options,
    resolve_layout,
)
from poseact.core.errors import PoseactError
from poseact.data.background import BACKGROUND_NAMES
from poseact.flags import add_option_flags, options_from_args


def cmd_record(args: argparse.Namespace) -> int:
    from poseact.apps.recorder import RecorderOptions, record_dataset

    for name in BACKGROUND_NAMES:
        if name in args.labels:
            print(
                f"{name!r} is recorded as the background class (no gesture: stand still, move"
                " naturally, or leave the frame); `poseact train` treats it so"
            )

    if custom_layout(args) is not None:
        raise PoseactError(
            f"--layout names the custom layout {custom_layout(args)!r}: record extracts with"
            " MediaPipe, which gives pose, hands or pose+hands"
        )
    resolve_layout(args, args.source)
    background = next((name for name in BACKGROUND_NAMES if name in args.labels), None)
    options = options_from_args(
        args,
        RecorderOptions,
        prefix="recorder.",
        base=RecorderOptions(labels=tuple(args.labels), background=background),
        extractor=extractor_options(args),
    )
    _say_capacity(args.source, options)
    saved = record_dataset(
        args.source,
        args.output,
        options,
        video_root=args.video_root,
        on_clip=None if args.quiet else lambda clip: print(f"saved {clip.path}"),
    )
    if options.extractor.max_people > 1:
        clips = {path.with_name(path.stem.rsplit("_p", 1)[0]) for path in saved}
        people = {path.stem.rsplit("_p", 1)[1] for path in saved}
        print(
            f"{len(clips)} of {options.total_clips} clips recorded into {args.output}:"
            f" {len(saved)} files, one per person ({len(people)} people tracked)"
        )
    else:
        print(f"{len(saved)} of {options.total_clips} clips recorded into {args.output}")
    return 0


def _say_capacity(source: str, options) -> None:
    """For a video file: how many clips it has room for (cut back to back by time)."""
    from poseact.apps.recorder import source_seconds
    from poseact.extract.sources import VideoFileSource, is_camera, is_url

    if is_camera(source) or is_url(source) or not Path(source).is_file():
        return

    video = VideoFileSource(source)
    try:
        seconds = source_seconds(video)
    finally:
        video.close()
    if seconds is None:
        return
    resolved = options.for_source(live=False)
    if resolved.clips_that_fit(seconds) < options.total_clips:
        return  # the recorder says so, once
    countdown = resolved.countdown_seconds
    print(
        f"{source}: {seconds:.1f} s of video has room for {resolved.clips_that_fit(seconds)}"
        f" of the {options.total_clips} clips asked ({options.clip_seconds:g} s each, cut by time,"
        f" {f'{countdown:g} s countdown' if countdown else 'no countdown'})"
    )


def add_record(sub: argparse._SubParsersAction) -> None:
    """The `poseact record` command."""
    from poseact.apps.recorder import RecorderOptions

    p = sub.add_parser("record", help="record labelled clips from a camera or a video file")
    p.add_argument("labels", nargs="+", help="gestures to record, e.g. wave clap none")
    p.add_argument("-o", "--output", required=True, help="dataset folder root/<label>/<clip>")
    p.add_argument("--source", default="0", help="camera index or video file/URL (default: 0)")
    add_option_flags(
        p,
        RecorderOptions,
        [
            "subject",
            "repetitions",
            "clip_seconds",
            "countdown_seconds",
            "pause_seconds",
            "interleave",
            "wait_for_key",
            "save_video",
            "preview",
        ],
        prefix="recorder.",
        flags={"countdown_seconds": "countdown", "pause_seconds": "pause"},
    )
    p.add_argument("--video-root", default=None, help="where raw clips go (default: OUTPUT-videos)")
    add_extractor_flags(
        p, datasets=False, cache=False, missing=False, auto_layout=True, people=True
    )
    p.set_defaults(func=cmd_record)
