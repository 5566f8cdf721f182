"""What the commands share: extraction and dataset flags, loading a dataset from the
flags, refusing to overwrite an input, showing a report, the parser class."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from poseact.core.choices import (
    EXTRACTION_LAYOUTS,
)
from poseact.core.errors import LandmarkFormatError, PoseactError
from poseact.core.layouts import LAYOUTS, read_layout_file
from poseact.flags import add_option_flags, options_from_args

#: How --layout names a custom layout: its JSON definition's file (docs/layouts.md).
LAYOUT_FILE = "FILE.json"


def layout_value(value: str) -> str:
    """--layout's type: a layout's name, or a `.json` file whose layout definition is
    read (size-checked, data only) and registered; returns the layout's name."""
    if value.lower().endswith(".json"):
        try:
            return read_layout_file(value).name
        except LandmarkFormatError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return value


class _LayoutChoices(tuple):
    """--layout's choices: the listed names, and any layout registered from a file."""

    def __contains__(self, value: object) -> bool:
        return tuple.__contains__(self, value) or (
            value in LAYOUTS and value not in EXTRACTION_LAYOUTS
        )


def custom_layout(args: argparse.Namespace) -> str | None:
    """The custom layout --layout FILE.json registered, or None."""
    given = getattr(args, "extractor.layout", None)
    return given if given in LAYOUTS and given not in EXTRACTION_LAYOUTS else None


def refuse_media_for_custom_layout(args: argparse.Namespace, path: str | os.PathLike) -> None:
    """With --layout FILE.json, refuse videos and photos at `path` (a file or a folder)
    before MediaPipe runs on them: it gives no custom layout.

    Raises:
        PoseactError: naming the first video or photo found.
    """
    given = custom_layout(args)
    if given is None:
        return
    from poseact.data.dataset import IMAGE_SUFFIXES, VIDEO_SUFFIXES

    path = Path(path)
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    media = next((p for p in files if p.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES), None)
    if media is not None:
        raise PoseactError(
            f"{media}: --layout names the custom layout {given!r}, and MediaPipe extracts"
            " videos and photos as pose, hands or pose+hands only; clips of a custom layout"
            " are landmark files (.npz, .csv) from its tracker"
        )


def check_layout(args: argparse.Namespace, layout: str, where: str | os.PathLike) -> None:
    """With --layout FILE.json, the clips read from `where` must be in that layout.

    Raises:
        PoseactError: they are in another one (e.g. videos extracted by MediaPipe).
    """
    given = custom_layout(args)
    if given is not None and layout != given:
        raise PoseactError(
            f"{where}: the clips are in layout {layout!r}, and --layout names {given!r}:"
            " MediaPipe extracts videos and photos as pose, hands or pose+hands; clips of a"
            " custom layout are landmark files (.npz, .csv) from its tracker"
        )


def extractor_options(args: argparse.Namespace, model_layout: str | None = None, **changes):
    """ExtractorOptions from the flags; a model's layout wins (commands that run a model
    have no --layout), and --allow-missing turns off `require_detection`. A custom
    layout (--layout FILE.json) is not one MediaPipe extracts: videos get the default,
    and `check_layout` refuses the clips that result."""
    from poseact.extract.options import ExtractorOptions

    if model_layout in EXTRACTION_LAYOUTS:
        changes["layout"] = model_layout
    elif custom_layout(args) is not None:
        changes.setdefault("layout", ExtractorOptions().layout)
    if getattr(args, "allow_missing", False):
        changes["require_detection"] = False
    return options_from_args(args, ExtractorOptions, prefix="extractor.", **changes)


#: `--layout auto`: chosen from what MediaPipe finds in the videos (record, extract, train).
AUTO_LAYOUT = "auto"


def resolve_layout(args: argparse.Namespace, *paths: str | os.PathLike) -> None:
    """With `--layout auto`, pick pose, hands or pose+hands from a few frames of the
    videos and photos at `paths` (files or folders), say which and why, and set it on `args`.

    Raises:
        PoseactError: `paths` hold no video (landmark files keep their layout), or the
            source is a camera.
    """
    if getattr(args, "extractor.layout", None) != AUTO_LAYOUT:
        return
    from poseact.data.dataset import IMAGE_SUFFIXES, VIDEO_SUFFIXES
    from poseact.extract.layout_choice import choose_layout

    seen = VIDEO_SUFFIXES + IMAGE_SUFFIXES
    videos: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            videos += sorted(p for p in path.rglob("*") if p.suffix.lower() in seen)
        elif path.suffix.lower() in seen and path.is_file():
            videos.append(path)
    if not videos:
        where = ", ".join(str(p) for p in paths)
        raise PoseactError(
            f"--layout auto looks at videos and photos, and {where} holds none (a camera,"
            " or landmark files, which keep the layout they were extracted with): give"
            " --layout pose, hands or pose+hands"
        )
    base = options_from_args(args, _extractor_class(), prefix="extractor.", layout="pose")
    choice = choose_layout(videos, options=base)
    print(choice.reason())
    setattr(args, "extractor.layout", choice.layout)


def _extractor_class():
    from poseact.extract.options import ExtractorOptions

    return ExtractorOptions


def warn_implausible_bodies(data) -> None:
    """One warning for the clips (not of the background class) whose body's core
    points are missing or implausible in most frames: a hand close-up under a pose
    layout, where MediaPipe draws a "body" on the palm."""
    from poseact.extract.layout_choice import implausible_body_frames

    if "pose" not in str(data.layout):
        return
    bad = [
        seq.source or f"clip {i}"
        for i, (seq, label) in enumerate(zip(data.sequences, data.labels))
        if label != data.background
        and len(seq)
        and implausible_body_frames(seq).sum() > len(seq) / 2
    ]
    if not bad:
        return
    shown = ", ".join(f"{Path(b).parent.name}/{Path(b).name}" for b in bad[:3]) + (
        f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    )
    print(
        f"warning: in {len(bad)} of {len(data)} clips ({shown}) the body's core points"
        " (shoulders, hips) are missing or implausible in most frames: on a close-up of a"
        " hand MediaPipe's pose model draws a 'body' on the palm; for hand gestures use"
        " --layout hands (or --layout auto)",
        file=sys.stderr,
    )


def add_extractor_flags(
    parser: argparse.ArgumentParser,
    *,
    datasets: bool = True,
    layout: bool = True,
    auto_layout: bool = False,
    frame_step: bool = True,
    cache: bool = True,
    missing: bool = True,
    people: bool = False,
) -> None:
    """The landmark-extraction flags that apply to a command, and only those.

    Args:
        parser: the command's parser.
        datasets: also the flags for reading dataset folders (--workers, --group-pattern).
        layout: --layout (commands that run a model take the layout from the model).
        auto_layout: --layout also takes "auto" (`resolve_layout`).
        frame_step: --frame-step.
        cache: --no-cache (commands that extract files through the landmark cache).
        missing: --allow-missing.
        people: --max-people (commands that follow several people).
    """
    from poseact.extract.options import ExtractorOptions

    group = parser.add_argument_group(
        "landmark extraction (videos and images; MediaPipe models are found in"
        " POSEACT_MODEL_DIR, then the cache, else downloaded: see 'poseact models')"
    )
    names = ["layout"] if layout else []
    names += ["pose_model", "hand_model"] + (["frame_step"] if frame_step else [])
    names += ["max_people"] if people else []
    add_option_flags(
        group,
        ExtractorOptions,
        names,
        prefix="extractor.",
        choices={
            "layout": _LayoutChoices(
                (*EXTRACTION_LAYOUTS, *((AUTO_LAYOUT,) if auto_layout else ()), LAYOUT_FILE)
            )
        },
    )
    for action in group._group_actions:
        if action.dest == "extractor.layout":
            action.type = layout_value
            action.help += (
                "; auto: chosen from what MediaPipe finds in a few frames of the videos and photos (a"
                " plausible body: pose; hands and no body: hands; both: pose+hands)"
                if auto_layout
                else ""
            ) + (
                f"; {LAYOUT_FILE}: a custom layout's definition (docs/layouts.md), for"
                " landmark files (.npz, .csv) of your own skeleton"
            )
    if cache:
        group.add_argument(
            "--no-cache",
            action="store_true",
            help="do not use the landmark cache (default: use it)",
        )
    if datasets:
        group.add_argument(
            "--workers", type=int, default=1, help="parallel extraction processes (default: 1)"
        )
        group.add_argument(
            "--group-pattern",
            default=None,
            help="regular expression with (?P<group>...) finding the subject in clip file"
            " names (default: the subject stored in each clip, else one group per clip)",
        )
    if missing:
        group.add_argument(
            "--allow-missing",
            action="store_true",
            help="skip clips in which nothing is detected and list them at the end"
            " (default: stop with an error naming the clip)",
        )


def add_format_flag(parser: argparse.ArgumentParser) -> None:
    from poseact.loading import DATASET_FORMATS

    parser.add_argument(
        "--format",
        default="auto",
        choices=["auto", *DATASET_FORMATS],
        help="the dataset's format (default: auto, found from the path): "
        + "; ".join(f"{name}: {what}" for name, what in DATASET_FORMATS.items()),
    )


def load_data(
    args: argparse.Namespace, path: str, model_layout: str | None = None, **folder_options
):
    """The dataset at `path` (format from --format or detected); with --allow-missing,
    clips with nothing detected are left out and kept for the closing summary."""
    from poseact.loading import load_dataset

    if model_layout is None:
        refuse_media_for_custom_layout(args, path)
        resolve_layout(args, path)
    given = getattr(args, "extractor.layout", None)
    data = load_dataset(
        path,
        format=getattr(args, "format", "auto"),
        layout=model_layout or given,
        options=extractor_options(args, model_layout),
        cache=False if getattr(args, "no_cache", False) else None,
        workers=getattr(args, "workers", 1),
        progress=not args.quiet,
        group_pattern=getattr(args, "group_pattern", None),
        **folder_options,
    )
    if getattr(args, "allow_missing", False):
        total = len(data)
        data, skipped = data.drop_undetected()
        if skipped:
            args.skipped.append((total, skipped, data.layout))
    if model_layout is None:
        check_layout(args, data.layout, path)
        warn_implausible_bodies(data)
    return data


def warn_groups(data) -> None:
    """Say so on stderr when every clip is its own group (no subjects known)."""
    if not data.groups_known and len(data) > 1:
        print(
            f"warning: every group holds one clip ({len(data)} clips, no subjects known):"
            " test scores measure new clips of the same people, not new people. Record"
            " with --subject NAME, or pass --group-pattern to find subjects in file names.",
            file=sys.stderr,
        )


def refuse_own_input(output: str | os.PathLike | None, *inputs: str | os.PathLike | None) -> None:
    """No command may destroy its own input: refuse an output that is one of `inputs`
    (the same file or folder, by `os.path.samefile`, so links count too)."""
    from poseact.core.atomic import same_file

    if output is None:
        return
    for item in inputs:
        if item is not None and same_file(item, output):
            raise PoseactError(
                f"the output {output} is the input {item}: refusing to overwrite it;"
                " choose another output"
            )


def unit_interval(text: str) -> float:
    """A number in (0, 1] (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


#: Flags naming what a command writes; every other flag naming an existing file or
#: folder is one of its inputs.
OUTPUT_FLAGS = ("output", "output_dir", "report_dir", "json", "video_root")


def guard_paths(args: argparse.Namespace) -> None:
    """The output rule, before any work: register every input the flags name (an
    existing file or folder) so that no write can replace it (`core.atomic`), and
    refuse an output that is an input, a device, a FIFO or a socket up front."""
    from poseact.core.atomic import check_output, protect_inputs

    outputs = [getattr(args, name, None) for name in OUTPUT_FLAGS]
    outputs = [str(o) for o in outputs if isinstance(o, (str, os.PathLike))]
    inputs: list[str] = []
    for name, value in vars(args).items():
        if name in OUTPUT_FLAGS or name in ("func", "command", "skipped"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, os.PathLike)) and str(item) and os.path.exists(item):
                inputs.append(str(item))
    protect_inputs(*inputs)
    for output in outputs:
        check_output(output, inputs=inputs, folder=None)


def add_force_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"replace files in {what} that poseact did not write (default: refuse; poseact"
        " replaces only what it wrote there before, and keeps the rest)",
    )


def check_report_dir(report_dir: str | None) -> None:
    """Refuse a --report-dir that is a file before any work is done."""
    if report_dir and Path(report_dir).exists() and not Path(report_dir).is_dir():
        raise PoseactError(f"--report-dir {report_dir} is a file, not a folder")


def show_report(report, report_dir: str | None, *, force: bool = False) -> None:
    print(report.title)
    print(report.summary())
    if report_dir:
        paths = report.save(report_dir, force=force)
        print(f"report written to {report_dir} (open {paths['html']})")


def model_layout(model) -> str:
    """The landmark layout a model (.poseact or .tflite) was trained on."""
    spec = getattr(model, "spec", None)
    if spec is None and hasattr(model, "normalizer_spec_"):
        spec = model.normalizer_spec_
    return str(getattr(spec, "layout", None) or "pose")


def what_is_detected(layout: str) -> str:
    return {"hands": "a hand"}.get(layout, "a person")


ENVIRONMENT = """environment:
  POSEACT_MODEL_DIR   folders (separated by ':') holding MediaPipe .task bundles, searched
                      before the user cache: set it to work offline (see `poseact models`)
  POSEACT_OFFLINE=1   never download a MediaPipe model
  POSEACT_CACHE_DIR   the user cache (models, landmarks; default ~/.cache/poseact)
"""


class Parser(argparse.ArgumentParser):
    """Every command's --help ends with the environment variables poseact reads."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("epilog", ENVIRONMENT)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)
