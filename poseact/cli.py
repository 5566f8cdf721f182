"""`poseact` command line: a thin layer over the API.

Every command maps its flags onto the API's options, calls one API function, and
prints the result. Errors from poseact become one line on stderr and exit code 2
(`--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from poseact import __version__
from poseact.core.choices import (
    ARCHITECTURES,
    EXTRACTION_LAYOUTS,
    INPUT_STREAMS,
    MODEL_ARCHITECTURES,
    QUANTIZATIONS,
    SAMPLINGS,
    SMOOTHINGS,
)
from poseact.core.errors import DatasetError, PoseactError
from poseact.flags import add_option_flags, field_help, options_from_args

logger = logging.getLogger("poseact.cli")


# ---------------------------------------------------------------------- option mapping
def _extractor_options(args: argparse.Namespace, model_layout: str | None = None, **changes):
    """ExtractorOptions from the flags; a model's layout wins (commands that run a model
    have no --layout), and --allow-missing turns off `require_detection`."""
    from poseact.extract.options import ExtractorOptions

    if model_layout in EXTRACTION_LAYOUTS:
        changes["layout"] = model_layout
    if getattr(args, "allow_missing", False):
        changes["require_detection"] = False
    return options_from_args(args, ExtractorOptions, prefix="extractor.", **changes)


def _add_extractor_flags(
    parser: argparse.ArgumentParser,
    *,
    datasets: bool = True,
    layout: bool = True,
    frame_step: bool = True,
    cache: bool = True,
    missing: bool = True,
) -> None:
    """The landmark-extraction flags that apply to a command, and only those.

    Args:
        parser: the command's parser.
        datasets: also the flags for reading dataset folders (--workers, --group-pattern).
        layout: --layout (commands that run a model take the layout from the model).
        frame_step: --frame-step.
        cache: --no-cache (commands that extract files through the landmark cache).
        missing: --allow-missing.
    """
    from poseact.extract.options import ExtractorOptions

    group = parser.add_argument_group(
        "landmark extraction (videos and images; MediaPipe models are found in"
        " POSEACT_MODEL_DIR, then the cache, else downloaded: see `poseact models`)"
    )
    names = ["layout"] if layout else []
    names += ["pose_model", "hand_model"] + (["frame_step"] if frame_step else [])
    add_option_flags(
        group,
        ExtractorOptions,
        names,
        prefix="extractor.",
        choices={"layout": EXTRACTION_LAYOUTS},
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


def _add_format_flag(parser: argparse.ArgumentParser) -> None:
    from poseact.loading import DATASET_FORMATS

    parser.add_argument(
        "--format",
        default="auto",
        choices=["auto", *DATASET_FORMATS],
        help="the dataset's format (default: auto, found from the path): "
        + "; ".join(f"{name}: {what}" for name, what in DATASET_FORMATS.items()),
    )


def _load_dataset(
    args: argparse.Namespace, path: str, model_layout: str | None = None, **folder_options
):
    """The dataset at `path` (format from --format or detected); with --allow-missing,
    clips with nothing detected are left out and kept for the closing summary."""
    from poseact.loading import load_dataset

    given = getattr(args, "extractor.layout", None)
    data = load_dataset(
        path,
        format=getattr(args, "format", "auto"),
        layout=model_layout or given,
        options=_extractor_options(args, model_layout),
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
    return data


def _warn_groups(data) -> None:
    """Say so on stderr when every clip is its own group (no subjects known)."""
    if not data.groups_known and len(data) > 1:
        print(
            f"warning: every group holds one clip ({len(data)} clips, no subjects known):"
            " test scores measure new clips of the same people, not new people. Record"
            " with --subject NAME, or pass --group-pattern to find subjects in file names.",
            file=sys.stderr,
        )


def _refuse_own_input(output: str | os.PathLike | None, *inputs: str | os.PathLike | None) -> None:
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


def _check_report_dir(report_dir: str | None) -> None:
    """Refuse a --report-dir that is a file before any work is done."""
    if report_dir and Path(report_dir).exists() and not Path(report_dir).is_dir():
        raise PoseactError(f"--report-dir {report_dir} is a file, not a folder")


def _show_report(report, report_dir: str | None) -> None:
    print(report.title)
    print(report.summary())
    if report_dir:
        paths = report.save(report_dir)
        print(f"report written to {report_dir} (open {paths['html']})")


def _model_layout(model) -> str:
    """The landmark layout a model (.poseact or .tflite) was trained on."""
    spec = getattr(model, "spec", None)
    if spec is None and hasattr(model, "normalizer_spec_"):
        spec = model.normalizer_spec_
    return str(getattr(spec, "layout", None) or "pose")


def _what_is_detected(layout: str) -> str:
    return {"hands": "a hand"}.get(layout, "a person")


# ---------------------------------------------------------------------- commands
def cmd_extract(args: argparse.Namespace) -> int:
    from poseact.loading import load_sequence

    source = Path(args.input)
    out = Path(args.output)
    if source.is_dir():
        _refuse_own_input(out, source)
        data = _load_dataset(args, args.input)
        written = data.to_folder(out)
        print(f"extracted {len(written)} clips into {out}: {data.summary()}")
        return 0
    target = out / f"{source.stem}.npz" if out.is_dir() or not out.suffix else out
    _refuse_own_input(target, source)
    if target.suffix.lower() not in (".npz", ".csv"):
        raise PoseactError(
            f"cannot write landmarks to {target}: {target.suffix!r} is neither .npz nor .csv"
        )
    options = _extractor_options(args, **({"world_landmarks": True} if args.world else {}))
    sequence = load_sequence(source, options, cache=False if args.no_cache else None)
    if target.suffix.lower() == ".csv":
        from poseact.data.dataset import write_landmark_csv

        write_landmark_csv(sequence, target)
    else:
        sequence.save(target)
    found = int(sequence.detected.sum())
    print(
        f"{source}: {len(sequence)} frames, {_what_is_detected(sequence.layout)} in {found}"
        f" → {target}"
    )
    return 0


def _normalizer_spec(args: argparse.Namespace, layout: str):
    """The NormalizerSpec the flags ask for, or None when no normalizer flag was given
    (the classifier then chooses from the data)."""
    from poseact.normalize.spec import NormalizerSpec

    given = [
        f.name
        for f in fields(NormalizerSpec)
        if getattr(args, f"normalizer.{f.name}", None) is not None
    ]
    if not given:
        return None
    return options_from_args(
        args, NormalizerSpec, prefix="normalizer.", base=NormalizerSpec(layout=layout)
    )


#: Labels that mean "no gesture" by default (`record`, `train` without --background).
BACKGROUND_NAMES = ("none", "background")


def _background_label(chosen: str | None, classes: Sequence[str]) -> str | None:
    """The background label: `chosen` (must be a class; "" means none), else a class
    named none/background, announced on stdout."""
    if chosen == "":
        return None
    if chosen is not None:
        if chosen not in classes:
            raise DatasetError(
                f"--background {chosen!r} is not a label of the dataset (labels: {list(classes)})"
            )
        print(f"background class: {chosen!r} (no gesture: never reported as an event)")
        return chosen
    for name in BACKGROUND_NAMES:
        if name in classes:
            print(
                f"background class: {name!r} (no gesture: never reported as an event);"
                " pass --background '' to treat it as a gesture"
            )
            return name
    return None


def cmd_train(args: argparse.Namespace) -> int:
    from poseact.train.options import ModelOptions, TrainingOptions
    from poseact.train.workflow import train_and_evaluate

    _refuse_own_input(args.output, args.data)
    _refuse_own_input(args.report_dir, args.data)
    _check_report_dir(args.report_dir)
    root = Path(args.data)
    if root.is_dir():  # known before extraction: background videos may show nobody
        labels = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name[0] != ".")
        background = _background_label(args.background, labels)
        data = _load_dataset(args, args.data, background=background)
    else:
        data = _load_dataset(args, args.data)
        background = _background_label(args.background, data.classes)
        if background is not None:
            data = dataclasses.replace(data, background=background)
    print(f"dataset: {data.summary()}")
    if args.test_fraction:
        _warn_groups(data)
    run = train_and_evaluate(
        data,
        normalizer=_normalizer_spec(args, data.layout),
        model=options_from_args(args, ModelOptions, prefix="model."),
        training=options_from_args(args, TrainingOptions, prefix="training.", seed=args.seed),
        test_fraction=args.test_fraction,
        seed=args.seed,
        output=args.output,
        verbose=0 if args.quiet else 1,
    )
    print(run.split)
    print(f"saved {run.saved} ({run.classifier.training_seconds_:.1f} s of training)")
    rule = run.classifier.rejection_
    if rule is not None:
        kept = sum(len(r) for r in rule.references.values())
        print(
            f"rejection: answers {rule.unknown!r} for movements unlike the {kept} known clips"
            f" it keeps (calibrated on {rule.windows} clips for {rule.false_reject:.0%} of"
            " known gestures rejected)"
        )
    spec = run.classifier.normalizer_spec_
    print(
        f"normalizer: {spec.fps:g} fps, window {spec.window} frames"
        f" ({spec.window / spec.fps:.2f} s), sampling {spec.sampling}"
        + (", standardized" if spec.standardized else "")
    )
    if run.report is not None:
        print(
            "on the unseen subjects:" if run.by_subject else "on the held-out clips (same people):"
        )
        _show_report(run.report, args.report_dir)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from poseact.loading import load_model
    from poseact.train.evaluate import evaluate

    _refuse_own_input(args.report_dir, args.model, args.data)
    _check_report_dir(args.report_dir)
    model = load_model(args.model)
    data = _load_dataset(args, args.data, _model_layout(model))
    print(f"dataset {Path(data.name).name if data.name else args.data}: {data.summary()}")
    if args.leave_one_subject_out:
        return _leave_one_subject_out(args, model, data)
    _show_report(evaluate(model, data, model_name=Path(args.model).name), args.report_dir)
    return 0


def _leave_one_subject_out(args: argparse.Namespace, model, data) -> int:
    from poseact.train.classifier import GestureClassifier
    from poseact.train.crossval import leave_one_subject_out

    if not isinstance(model, GestureClassifier):
        raise ValueError(
            f"{args.model}: --leave-one-subject-out trains the model's recipe again; give the"
            " .poseact file from `poseact train`, not an exported .tflite"
        )

    def progress(subject, report) -> None:
        if not args.quiet:
            print(f"  held out {subject}: accuracy {report.accuracy:.3f}", file=sys.stderr)

    scores = leave_one_subject_out(model, data, on_subject=progress)
    print(scores.summary())
    if args.report_dir:
        dataset = Path(data.name).name if data.name else Path(args.data).name
        paths = scores.save(
            args.report_dir,
            title=f"{Path(args.model).name} recipe on {dataset}, leave-one-subject-out",
        )
        print(
            f"report written to {paths['html']} (per-subject scores, the pooled confusion"
            f" matrix, the wrong clips); per-subject scores in {paths['subjects_json'].name}"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from poseact.deploy.export import export_tflite
    from poseact.train.classifier import GestureClassifier

    _refuse_own_input(args.output, args.model, args.parity_data)
    classifier = GestureClassifier.load(args.model)
    parity = (
        _load_dataset(args, args.parity_data, _model_layout(classifier))
        if args.parity_data
        else None
    )
    report = export_tflite(
        classifier,
        args.output,
        quantization=args.quantization,
        streaming=not args.no_streaming,
        parity_data=parity,
    )
    print(report.summary())
    return 0 if report.parity_ok else 1


def cmd_evaluate_stream(args: argparse.Namespace) -> int:
    from poseact.loading import load_sequence
    from poseact.runtime.decider import DecisionOptions
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.train.stream_eval import evaluate_stream, read_annotations

    model = TFLiteGestureModel(args.model)
    read_annotations(args.annotations, background=model.background)  # fails before extracting
    # the recording is extracted in the model's layout; frames with nobody are background
    options = dataclasses.replace(
        _extractor_options(args), layout=model.spec.layout, require_detection=False
    )
    recording = load_sequence(args.recording, options, cache=False if args.no_cache else None)
    decision = options_from_args(args, DecisionOptions, prefix="decision.")
    result = evaluate_stream(
        model, recording, args.annotations, options=decision, min_iou=args.min_iou
    )
    print(result.summary())
    if args.report_dir:
        result.save(args.report_dir)
        print(f"report.json, detections.csv and timeline.png written to {args.report_dir}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from poseact.apps.events import check_events_path, input_files, write_events
    from poseact.core.errors import NoPoseDetected
    from poseact.data.dataset import VIDEO_SUFFIXES
    from poseact.loading import IMAGE_SUFFIXES, load_model, load_sequence
    from poseact.runtime.decider import DecisionOptions

    events_path = check_events_path(args.events) if args.events else None
    args.inputs = input_files(args.inputs, (*VIDEO_SUFFIXES, *IMAGE_SUFFIXES, ".npz", ".csv"))
    _refuse_own_input(args.events, *args.inputs)
    model = load_model(args.model)
    layout = _model_layout(model)
    options = _extractor_options(args, layout)
    decision = options_from_args(args, DecisionOptions, prefix="decision.")
    outputs = _annotated_outputs(args)
    skipped, recordings = [], []
    for item in args.inputs:
        try:
            sequence = load_sequence(item, options, cache=False if args.no_cache else None)
        except NoPoseDetected:
            if not args.allow_missing:
                raise
            skipped.append(str(item))
            continue
        if args.allow_missing and not sequence.detected.any():
            skipped.append(str(item))
            continue
        window = model.features([sequence])
        probs = model.predict_proba(window)[0]
        order = probs.argsort()[::-1]
        answer = str(model.predict(window)[0])  # "unknown" where the model's rule says so
        decisions = None
        if item in outputs or events_path is not None:
            from poseact.train.stream_eval import decide_stream

            # frame by frame, what the live recognizer decides (as `live` does)
            decisions = decide_stream(model, sequence, decision)
            recordings.append((str(item), decisions))
        if item in outputs:
            from poseact.apps.render import annotate_video

            annotate_video(
                item, sequence, outputs[item], decisions, clip=(answer, float(probs[order[0]]))
            )
        if args.json:
            print(
                json.dumps(
                    {
                        "input": str(item),
                        "label": answer,
                        "probabilities": {str(model.classes_[i]): float(probs[i]) for i in order},
                    }
                )
            )
        else:
            top = ", ".join(f"{model.classes_[i]} {probs[i]:.2f}" for i in order[:3])
            print(f"{item}: {answer}  ({top})")
        stream = sys.stderr if args.json else sys.stdout
        if decisions is not None and not args.json:
            for d in decisions.detections:
                print(f"  {d.start:7.2f}s → {d.end:7.2f}s  {d.label}  ({d.confidence:.2f})")
        if item in outputs:
            print(f"annotated video written to {outputs[item]}", file=stream)
    if events_path is not None:
        write_events(events_path, recordings)
        count = sum(len(d.detections) for _, d in recordings)
        print(
            f"{count} event{'' if count == 1 else 's'} of {len(recordings)}"
            f" input{'' if len(recordings) == 1 else 's'} written to {events_path}",
            file=sys.stderr if args.json else sys.stdout,
        )
    if skipped:
        args.skipped.append((len(args.inputs), tuple(skipped), layout))
    return 0


def _annotated_outputs(args: argparse.Namespace) -> dict[str, Path]:
    """input video → the annotated .mp4 to write (--output: a file for one video, a
    folder for several)."""
    from poseact.data.dataset import VIDEO_SUFFIXES

    if not args.output:
        return {}
    videos = [item for item in args.inputs if Path(item).suffix.lower() in VIDEO_SUFFIXES]
    if not videos:
        raise ValueError("--output draws on videos, and none of the inputs is a video")
    out = Path(args.output)
    if len(videos) == 1 and out.suffix.lower() == ".mp4":
        return {videos[0]: out}
    if out.suffix:
        raise ValueError(f"--output {out}: give a folder for {len(videos)} videos")
    return {item: out / f"{Path(item).stem}_annotated.mp4" for item in videos}


def cmd_demo(args: argparse.Namespace) -> int:
    from poseact.apps.demo import run_demo

    result = run_demo(
        args.output_dir,
        dataset=args.dataset,
        architecture=args.architecture,
        seed=args.seed,
        epochs=args.epochs,
        verbose=0 if args.quiet else 1,
        quantizations=tuple(args.quantization),
    )
    print(result.summary())
    ok = all(e.parity_ok for e in result.exports.values())
    return 0 if ok else 1


def cmd_compare(args: argparse.Namespace) -> int:
    from poseact.apps.compare import CompareOptions, compare_models, load_comparison_dataset
    from poseact.apps.compare_report import ComparisonReport

    _refuse_own_input(args.output, args.render, *(args.dataset or []))
    _refuse_own_input(args.json, args.render, *(args.dataset or []))
    if args.render:
        path = ComparisonReport.load_json(args.render).save_markdown(args.output)
        print(f"wrote {path} from {args.render}")
        return 0
    changes = {
        key: value
        for key, value in {
            "architectures": tuple(args.architectures) if args.architectures else None,
            "inputs": tuple(args.inputs) if args.inputs else None,
            "seeds": args.seeds,
            "epochs": args.epochs,
            "units": args.units,
        }.items()
        if value is not None
    }
    if args.full_grid:
        changes["stream_architectures"] = None
    make = CompareOptions.quick if args.quick else CompareOptions
    options = make(**changes, fewshot=args.fewshot, distill=args.distill)
    datasets = dict(load_comparison_dataset(source) for source in args.dataset or ["embedded"])
    for name, data in datasets.items():
        print(f"{name}: {data.summary()}")

    def progress(run) -> None:
        if not args.quiet:
            print(
                f"  {run.dataset} seed {run.seed}: {run.architecture}/{run.inputs}"
                f" accuracy {run.accuracy:.3f} ({run.training_seconds:.1f} s)",
                flush=True,
            )

    words = ["poseact compare"] + [f"--dataset {d}" for d in args.dataset or []]
    for flag in ("architectures", "inputs"):
        if getattr(args, flag):
            words.append(f"--{flag} " + " ".join(getattr(args, flag)))
    for flag in ("seeds", "epochs", "units"):
        if getattr(args, flag) is not None:
            words.append(f"--{flag} {getattr(args, flag)}")
    words += [
        f"--{flag.replace('_', '-')}"
        for flag in ("full_grid", "quick", "fewshot", "distill")
        if getattr(args, flag)
    ]
    report = compare_models(datasets, options, command=" ".join(words), on_run=progress)
    path = report.save_markdown(args.output)
    if args.json:
        report.save_json(args.json)
    for name in report.datasets:
        best = report.best(name)
        print(
            f"{name}: best {best.architecture}/{best.inputs} accuracy {best.accuracy:.3f}"
            f" ± {best.accuracy_std:.3f}"
        )
    print(f"wrote {path} ({report.seconds / 60:.1f} min)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from poseact.data.synthetic import generate_activities

    data = generate_activities(
        num_subjects=args.subjects, clips_per_class=args.clips_per_class, seed=args.seed
    )
    path = data.save(args.output, precision="float16")
    frames = sum(len(s) for s in data.sequences)
    print(f"wrote {path}: {data.summary()}, {frames} frames, {os.path.getsize(path) / 1e6:.2f} MB")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    from poseact.apps.recorder import RecorderOptions, record_dataset

    for name in BACKGROUND_NAMES:
        if name in args.labels:
            print(
                f"{name!r} is recorded as the background class (no gesture: stand still, move"
                " naturally, or leave the frame); `poseact train` treats it so"
            )

    options = options_from_args(
        args,
        RecorderOptions,
        prefix="recorder.",
        base=RecorderOptions(labels=tuple(args.labels)),
        extractor=_extractor_options(args),
    )
    _say_capacity(args.source, options)
    saved = record_dataset(
        args.source,
        args.output,
        options,
        video_root=args.video_root,
        on_clip=None if args.quiet else lambda clip: print(f"saved {clip.path}"),
    )
    print(f"{len(saved)} of {options.total_clips} clips recorded into {args.output}")
    return 0


def _say_capacity(source: str, options) -> None:
    """For a video file: how many clips it has room for (cut back to back by time)."""
    if source.strip().isdigit() or "://" in source or not Path(source).is_file():
        return
    from poseact.apps.recorder import source_seconds
    from poseact.extract.sources import VideoFileSource

    video = VideoFileSource(source)
    try:
        seconds = source_seconds(video)
    finally:
        video.close()
    if seconds is None:
        return
    resolved = options.for_source(live=False)
    countdown = resolved.countdown_seconds
    print(
        f"{source}: {seconds:.1f} s of video has room for {resolved.clips_that_fit(seconds)}"
        f" of the {options.total_clips} clips asked ({options.clip_seconds:g} s each, cut by time,"
        f" {f'{countdown:g} s countdown' if countdown else 'no countdown'})"
    )


def cmd_live(args: argparse.Namespace) -> int:
    from poseact.apps.live import run_live
    from poseact.runtime.decider import DecisionOptions

    decision = options_from_args(args, DecisionOptions, prefix="decision.")

    def show(event) -> None:
        end = "…" if event.end is None else f"{event.end:7.2f}s"
        print(f"{event.start:7.2f}s → {end}  {event.label}  ({event.confidence:.2f})", flush=True)

    source = args.source
    if args.width or args.height:
        if not source.strip().isdigit():
            raise ValueError("--width and --height set a camera's resolution; the source is a file")
        from poseact.extract.sources import open_source

        source = open_source(source, width=args.width, height=args.height)
    try:
        stats = run_live(
            source,
            args.model,
            decision=decision,
            preview=not args.no_preview,
            on_event=show,
            max_frames=args.max_frames,
            output=args.output,
        )
    finally:
        if source is not args.source:
            source.close()
    print(stats.summary())
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from poseact.apps.render import render_sequence
    from poseact.loading import load_sequence

    sequence = load_sequence(args.clip)
    title = args.title if args.title is not None else Path(args.clip).parent.name
    path = render_sequence(sequence, args.output, fps=args.fps, title=title)
    found = int(sequence.detected.sum())
    print(
        f"{args.clip}: {len(sequence)} frames ({_what_is_detected(sequence.layout)} in {found})"
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


def cmd_web(args: argparse.Namespace) -> int:
    from poseact.deploy.web import build_web_app, serve

    if not 0 <= args.port <= 65535:
        raise PoseactError(f"--port {args.port} is not a TCP port (0-65535; 0 picks a free one)")
    assets = args.assets
    if args.offline:
        if assets:
            raise PoseactError("give --offline or --assets, not both")
        from poseact.deploy.web import fetch_js_packages

        assets = fetch_js_packages()
    out = build_web_app(args.model, args.output_dir, assets=assets)
    where = "its JavaScript packages in vendor/, no internet needed" if assets else "CDN packages"
    print(f"wrote the recognizer page into {out} ({where})")
    if not args.serve:
        return 0
    server = serve(out, args.port, host=args.host)
    where = (
        f"on every interface, port {server.server_address[1]}: from a phone on the same"
        f" network open http://THIS-MACHINE'S-ADDRESS:{server.server_address[1]}/ (the camera"
        " needs HTTPS there; see docs/deploy.md)"
        if args.host in ("0.0.0.0", "::", "")
        else f"at {server.url}"
    )
    print(f"serving {out} {where} (Ctrl-C stops)", flush=True)
    try:
        server.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


# ---------------------------------------------------------------------- parser
def _add_training_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of ModelOptions, TrainingOptions and NormalizerSpec (defaults from them)."""
    from poseact.normalize.spec import NormalizerSpec
    from poseact.train.options import ModelOptions, TrainingOptions

    group = parser.add_argument_group("model")
    add_option_flags(
        group,
        ModelOptions,
        ["architecture", "units", "layers", "dropout", "inputs"],
        prefix="model.",
        choices={"architecture": MODEL_ARCHITECTURES, "inputs": INPUT_STREAMS},
    )
    group = parser.add_argument_group("training")
    add_option_flags(
        group,
        TrainingOptions,
        [
            "epochs",
            "batch_size",
            "learning_rate",
            "validation_fraction",
            "patience",
            "label_smoothing",
            "dropout_from_epoch",
            "weight_averaging",
            "reject_rate",
        ],
        prefix="training.",
    )
    group = parser.add_argument_group(
        "normalizer (unset: chosen from the training clips, see docs/normalizer.md)"
    )
    add_option_flags(
        group,
        NormalizerSpec,
        ["fps", "window", "sampling", "rotate", "use_z", "velocity"],
        prefix="normalizer.",
        flags={"use_z": "z"},
        choices={"sampling": SAMPLINGS},
    )


_ENVIRONMENT = """environment:
  POSEACT_MODEL_DIR   folders (separated by ':') holding MediaPipe .task bundles, searched
                      before the user cache: set it to work offline (see `poseact models`)
  POSEACT_OFFLINE=1   never download a MediaPipe model
  POSEACT_CACHE_DIR   the user cache (models, landmarks; default ~/.cache/poseact)
"""


class _Parser(argparse.ArgumentParser):
    """Every command's --help ends with the environment variables poseact reads."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("epilog", _ENVIRONMENT)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    from poseact.apps.recorder import RecorderOptions
    from poseact.runtime.decider import DecisionOptions
    from poseact.train.options import ModelOptions

    parser = _Parser(prog="poseact", description="Pose-based gesture and activity recognition.")
    parser.add_argument("--version", action="version", version=f"poseact {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    p = sub.add_parser("extract", help="video/image/folder → landmark .npz files")
    p.add_argument("input", help="a video, an image, or a dataset folder root/<label>/<clip>")
    p.add_argument("-o", "--output", required=True, help=".npz file or output folder")
    p.add_argument(
        "--world", action="store_true", help="also keep world landmarks in metres (default: off)"
    )
    _add_extractor_flags(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "train", help="train a classifier on a dataset (folder, .npz, public formats)"
    )
    p.add_argument(
        "data", help="dataset folder root/<label>/<clip>, a dataset .npz, or a public format"
    )
    _add_format_flag(p)
    p.add_argument(
        "-o",
        "--output",
        default="model.poseact",
        help="where to save the model (default: model.poseact)",
    )
    _add_training_flags(p)
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of the clips (whole subjects when known) held out for testing;"
        " 0 trains on everything (default: 0.2)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the split and of training (default: 0)"
    )
    p.add_argument(
        "--report-dir",
        default=None,
        help="write the test report here: report.html, report.json, confusion pictures"
        " (default: none)",
    )
    p.add_argument(
        "--background",
        default=None,
        metavar="LABEL",
        help="the 'no gesture' label, never reported as an event (default: a label named"
        " none or background; '' for none)",
    )
    _add_extractor_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a model (.poseact or .tflite) on a dataset")
    p.add_argument("model", help="a .poseact or an exported .tflite (its layout is used)")
    p.add_argument("data", help="dataset folder, dataset .npz, or a public format")
    _add_format_flag(p)
    p.add_argument(
        "--report-dir",
        default=None,
        help="write the report here: report.html, report.json, confusion pictures (default: none)",
    )
    p.add_argument(
        "--leave-one-subject-out",
        action="store_true",
        help="train the model's recipe once per subject on the others and score it on that"
        " subject: a score per person (needs a .poseact model; default: off)",
    )
    _add_extractor_flags(p, layout=False)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="export a trained model to .tflite")
    p.add_argument("model", help="a .poseact file from `poseact train`")
    p.add_argument("-o", "--output", required=True, help="the .tflite to write")
    p.add_argument(
        "--quantization",
        default="float",
        choices=QUANTIZATIONS,
        help="weights as float32, float16 or int8 (default: float)",
    )
    p.add_argument(
        "--no-streaming",
        action="store_true",
        help="omit the single-step model that live recognition uses (default: include it)",
    )
    p.add_argument(
        "--parity-data",
        default=None,
        help="held-out dataset to check the export against Keras on (default: none)",
    )
    _add_format_flag(p)
    _add_extractor_flags(p, layout=False, frame_step=False, datasets=False)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("predict", help="classify videos, images or landmark files")
    p.add_argument("model", help=".poseact or .tflite; its layout and settings are used")
    p.add_argument(
        "inputs", nargs="+", help="videos, images, .npz or .csv landmark files, or folders of them"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per input (default: text)")
    p.add_argument(
        "--output",
        default=None,
        help="write each video again with, frame by frame, the skeleton and what the live"
        " recognizer decides at that frame (and the whole clip's answer apart): an .mp4 for"
        " one video, a folder for several (default: none)",
    )
    p.add_argument(
        "--events",
        default=None,
        help="write the gesture events of every input (label, start, end, peak confidence),"
        " as the live recognizer finds them, to this .csv or .json (the .json also holds"
        " every frame's decision) (default: none)",
    )
    add_option_flags(
        p,
        DecisionOptions,
        ["smoothing", "ema_alpha", "majority_frames", "threshold", "min_frames", "cooldown"],
        prefix="decision.",
        choices={"smoothing": SMOOTHINGS},
    )
    _add_extractor_flags(p, datasets=False, layout=False)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "demo", help="train, evaluate, export and run on the embedded or a shipped dataset"
    )
    p.add_argument(
        "--output-dir", default="demo-output", help="where outputs go (default: demo-output)"
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="asl_signs or fingertip_tracks (the real sets in datasets/), or a dataset folder"
        " or .npz (default: the embedded synthetic dataset)",
    )
    p.add_argument(
        "--architecture",
        default=None,
        choices=ARCHITECTURES,
        help=field_help(ModelOptions, "architecture"),
    )
    p.add_argument(
        "--quantization",
        nargs="+",
        default=["float", "int8"],
        choices=QUANTIZATIONS,
        help="exports to write and check (default: float int8)",
    )
    p.add_argument(
        "--epochs", type=int, default=None, help="most epochs (default: TrainingOptions' default)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the split and of training (default: 0)"
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("compare", help="compare the model zoo on datasets (docs/comparison.md)")
    p.add_argument(
        "--dataset",
        action="append",
        help="'embedded' (default), a poseact dataset, or a public format (repeatable)",
    )
    p.add_argument(
        "-o",
        "--output",
        default="comparison.md",
        help="the Markdown report (default: comparison.md)",
    )
    p.add_argument(
        "--json", default=None, help="also write every measurement as JSON here (default: none)"
    )
    p.add_argument(
        "--architectures",
        nargs="+",
        default=None,
        choices=ARCHITECTURES,
        help="architectures to train (default: the whole zoo)",
    )
    p.add_argument(
        "--inputs",
        nargs="+",
        default=None,
        choices=INPUT_STREAMS,
        help="input streams to compare (default: all)",
    )
    p.add_argument("--seeds", type=int, default=None, help="default 3")
    p.add_argument("--epochs", type=int, default=None, help="default 20")
    p.add_argument("--units", type=int, default=None, help="default 64")
    p.add_argument("--fewshot", action="store_true", help="add the few-shot study (default: off)")
    p.add_argument(
        "--distill", action="store_true", help="add the distillation study (default: off)"
    )
    p.add_argument(
        "--full-grid", action="store_true", help="every architecture × every stream (default: off)"
    )
    p.add_argument(
        "--quick", action="store_true", help="tiny models, 2 seeds: a smoke test (default: off)"
    )
    p.add_argument(
        "--render", default=None, help="only re-render a saved --json report (default: none)"
    )
    p.set_defaults(func=cmd_compare)

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
    _add_extractor_flags(p, datasets=False, cache=False, missing=False)
    p.set_defaults(func=cmd_record)

    p = sub.add_parser(
        "evaluate-stream",
        help="event precision/recall/F1, latency and false alarms on an annotated recording",
    )
    p.add_argument("model", help="an exported .tflite")
    p.add_argument("recording", help="a video or a landmark file (.npz, .csv)")
    p.add_argument("annotations", help="CSV, one row per gesture: start_s,end_s,label")
    p.add_argument("--report-dir", default=None, help="write report.json and timeline.png here")
    p.add_argument(
        "--min-iou",
        type=float,
        default=0.5,
        help="interval IoU for a detection to match a true event (default: 0.5)",
    )
    add_option_flags(
        p,
        DecisionOptions,
        ["smoothing", "ema_alpha", "majority_frames", "threshold", "min_frames", "cooldown"],
        prefix="decision.",
        choices={"smoothing": SMOOTHINGS},
    )
    _add_extractor_flags(p)
    p.set_defaults(func=cmd_evaluate_stream)

    p = sub.add_parser("live", help="recognize gestures live from a camera or a video file")
    p.add_argument("--model", required=True, help="an exported .tflite (its layout is used)")
    p.add_argument("--source", default="0", help="camera index or video file/URL (default: 0)")
    p.add_argument(
        "--width", type=int, default=None, help="camera frame width, pixels (default: the camera's)"
    )
    p.add_argument(
        "--height",
        type=int,
        default=None,
        help="camera frame height, pixels (default: the camera's)",
    )
    p.add_argument(
        "--no-preview", action="store_true", help="headless: print events only (default: a window)"
    )
    p.add_argument(
        "--output",
        default=None,
        help="also write the frames with skeleton, label and confidence to this .mp4 (default: none)",
    )
    add_option_flags(
        p,
        DecisionOptions,
        ["smoothing", "ema_alpha", "majority_frames", "threshold", "min_frames", "cooldown"],
        prefix="decision.",
        choices={"smoothing": SMOOTHINGS},
    )
    p.add_argument(
        "--max-frames", type=int, default=None, help="stop after this many frames (default: none)"
    )
    p.set_defaults(func=cmd_live)

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

    p = sub.add_parser("web", help="write an in-browser recognizer page for a .tflite model")
    p.add_argument("model", help="an exported .tflite")
    p.add_argument("output_dir", help="the site folder to write")
    p.add_argument(
        "--assets",
        default=None,
        help="local node_modules with the page's npm packages (default: none, the page loads them from a CDN)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="a site that needs no internet: the page's npm packages are downloaded once"
        " (checked against their pinned sha512) into poseact's cache and copied into the"
        " site (default: the page loads them from a CDN)",
    )
    p.add_argument("--serve", action="store_true", help="then serve it (default: only write it)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface --serve listens on (default: 127.0.0.1, this machine only). A phone"
        " needs --host 0.0.0.0, the same network, and a browser that lets the page use the"
        " camera: HTTPS, or http://localhost on the device itself (see docs/deploy.md)",
    )
    p.add_argument(
        "--port", type=int, default=8000, help="port for --serve, 0: any free one (default: 8000)"
    )
    p.set_defaults(func=cmd_web)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from poseact.core import native

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        # Before any native library loads; --debug keeps the user's environment.
        native.quiet_native_logs(native.CLI_ENVIRONMENT)
        if argv is None:  # this process's own command line: C++ logs off for good
            native.silence_native_stderr()
    logging.basicConfig(  # after the redirection: the handler keeps its stream
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    args.skipped = []
    try:
        code = int(args.func(args) or 0)
        _say_skipped(args.skipped)
        return code
    except (PoseactError, ValueError, OSError) as exc:  # OSError: unreadable paths etc.
        if args.debug:
            raise
        from poseact.core.errors import NoPoseDetected

        text = str(exc)
        if isinstance(exc, NoPoseDetected):
            text = text.replace(
                "pass require_detection=False", "pass --allow-missing to skip such clips"
            )
        print(f"poseact {args.command}: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"poseact {args.command}: interrupted", file=sys.stderr)
        return 130


def _say_skipped(skipped: list) -> None:
    """The closing summary of --allow-missing: which clips were left out."""
    for total, names, layout in skipped:
        what = "hand" if layout == "hands" else "person"
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        print(f"skipped {len(names)} of {total} clips with no {what} detected: {shown}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
