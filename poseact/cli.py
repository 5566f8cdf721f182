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
    QUANTIZATIONS,
    SAMPLINGS,
    SMOOTHINGS,
)
from poseact.core.errors import DatasetError, PoseactError
from poseact.flags import add_option_flags, options_from_args

logger = logging.getLogger("poseact.cli")


# ---------------------------------------------------------------------- option mapping
def _extractor_options(args: argparse.Namespace, **changes):
    from poseact.extract.options import ExtractorOptions

    return options_from_args(args, ExtractorOptions, prefix="extractor.", **changes)


def _add_extractor_flags(parser: argparse.ArgumentParser, *, datasets: bool = True) -> None:
    """Landmark-extraction flags; with `datasets`, also those for reading dataset folders."""
    from poseact.extract.options import ExtractorOptions

    group = parser.add_argument_group(
        "landmark extraction (videos and images; MediaPipe models are found in"
        " POSEACT_MODEL_DIR, then the cache, else downloaded)"
    )
    add_option_flags(
        group,
        ExtractorOptions,
        ["layout", "pose_model", "hand_model", "frame_step"],
        prefix="extractor.",
        choices={"layout": EXTRACTION_LAYOUTS},
    )
    group.add_argument("--no-cache", action="store_true", help="do not use the landmark cache")
    if datasets:
        group.add_argument(
            "--workers", type=int, default=1, help="parallel extraction processes (default: 1)"
        )
        group.add_argument(
            "--group-pattern",
            default=None,
            help="regex with (?P<group>...) finding the subject in clip names",
        )


def _load_dataset(args: argparse.Namespace, path: str, **folder_options):
    from poseact.loading import load_dataset

    return load_dataset(
        path,
        options=_extractor_options(args),
        cache=False if args.no_cache else None,
        workers=getattr(args, "workers", 1),
        progress=not args.quiet,
        group_pattern=getattr(args, "group_pattern", None),
        **folder_options,
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
    print(report.summary())
    if report_dir:
        report.save(report_dir)
        print(f"report written to {report_dir}")


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
    print(f"{source}: {len(sequence)} frames, landmarks in {found} → {target}")
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
        limits = ", ".join(f"{k} {v:.2f}" for k, v in rule.thresholds.items())
        print(
            f"rejection: answers {rule.unknown!r} below {limits} (calibrated on {rule.windows}"
            f" validation windows for {rule.false_reject:.0%} of known gestures rejected)"
        )
    if run.report is not None:
        print(f"on the {'test subjects' if run.by_subject else 'test clips'}:")
        _show_report(run.report, args.report_dir)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from poseact.loading import load_model
    from poseact.train.evaluate import evaluate

    _refuse_own_input(args.report_dir, args.model, args.data)
    _check_report_dir(args.report_dir)
    model = load_model(args.model)
    data = _load_dataset(args, args.data)
    _show_report(evaluate(model, data), args.report_dir)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from poseact.deploy.export import export_tflite
    from poseact.train.classifier import GestureClassifier

    _refuse_own_input(args.output, args.model, args.parity_data)
    classifier = GestureClassifier.load(args.model)
    parity = _load_dataset(args, args.parity_data) if args.parity_data else None
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
    from poseact.train.stream_eval import evaluate_stream

    model = TFLiteGestureModel(args.model)
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
    from poseact.loading import load_model, load_sequence

    model = load_model(args.model)
    options = _extractor_options(args)
    for item in args.inputs:
        sequence = load_sequence(item, options, cache=False if args.no_cache else None)
        probs = model.predict_proba([sequence])[0]
        order = probs.argsort()[::-1]
        answer = str(model.classes_[order[0]])
        rule = getattr(model, "rejection", None) or getattr(model, "rejection_", None)
        if rule is not None:  # "unknown" below the model's rejection rule
            background = getattr(model, "background", None) or getattr(model, "background_", None)
            answer = str(rule.apply(probs[None], list(model.classes_), background)[0])
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
    return 0


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
    saved = record_dataset(
        args.source,
        args.output,
        options,
        video_root=args.video_root,
        on_clip=None if args.quiet else lambda clip: print(f"saved {clip.path}"),
    )
    print(f"{len(saved)} of {options.total_clips} clips recorded into {args.output}")
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from poseact.apps.live import run_live
    from poseact.runtime.decider import DecisionOptions

    decision = options_from_args(args, DecisionOptions, prefix="decision.")

    def show(event) -> None:
        end = "…" if event.end is None else f"{event.end:7.2f}s"
        print(f"{event.start:7.2f}s → {end}  {event.label}  ({event.confidence:.2f})", flush=True)

    stats = run_live(
        args.source,
        args.model,
        decision=decision,
        preview=not args.no_preview,
        on_event=show,
        max_frames=args.max_frames,
    )
    print(stats.summary())
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from poseact.deploy.web import build_web_app, serve

    if not 0 <= args.port <= 65535:
        raise PoseactError(f"--port {args.port} is not a TCP port (0-65535; 0 picks a free one)")
    out = build_web_app(args.model, args.output_dir, assets=args.assets)
    print(f"wrote the recognizer page into {out}")
    if not args.serve:
        return 0
    server = serve(out, args.port)
    print(f"serving {out} at {server.url} (Ctrl-C stops)", flush=True)
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
        choices={"architecture": ARCHITECTURES, "inputs": INPUT_STREAMS},
    )
    group = parser.add_argument_group("training")
    add_option_flags(
        group,
        TrainingOptions,
        ["epochs", "batch_size", "learning_rate", "validation_fraction", "patience", "reject_rate"],
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


def build_parser() -> argparse.ArgumentParser:
    from poseact.apps.recorder import RecorderOptions
    from poseact.runtime.decider import DecisionOptions

    parser = argparse.ArgumentParser(
        prog="poseact", description="Pose-based gesture and activity recognition."
    )
    parser.add_argument("--version", action="version", version=f"poseact {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("extract", help="video/image/folder → landmark .npz files")
    p.add_argument("input", help="a video, an image, or a dataset folder root/<label>/<clip>")
    p.add_argument("-o", "--output", required=True, help=".npz file or output folder")
    p.add_argument("--world", action="store_true", help="also keep world landmarks (metres)")
    _add_extractor_flags(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("train", help="train a classifier on a dataset folder or .npz")
    p.add_argument("data", help="dataset folder root/<label>/<clip> or a dataset .npz")
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
    p.add_argument("--report-dir", default=None, help="write the test report here")
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
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--report-dir", default=None)
    _add_extractor_flags(p)
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
    p.add_argument("--no-streaming", action="store_true", help="omit the single-step model")
    p.add_argument("--parity-data", default=None, help="held-out dataset for the parity check")
    _add_extractor_flags(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("predict", help="classify videos, images or landmark files")
    p.add_argument("model", help=".poseact or .tflite")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--json", action="store_true", help="one JSON object per input")
    _add_extractor_flags(p, datasets=False)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("demo", help="train, evaluate, export and run on the embedded dataset")
    p.add_argument("--output-dir", default="demo-output")
    p.add_argument("--dataset", default=None, help="another dataset (folder or .npz)")
    p.add_argument("--architecture", default="gru", choices=ARCHITECTURES)
    p.add_argument(
        "--quantization",
        nargs="+",
        default=["float", "int8"],
        choices=QUANTIZATIONS,
        help="exports to write and check (default: float int8)",
    )
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("compare", help="compare the model zoo on datasets (docs/comparison.md)")
    p.add_argument(
        "--dataset",
        action="append",
        help="'embedded' (default), a poseact dataset, or a public format (repeatable)",
    )
    p.add_argument("-o", "--output", default="comparison.md", help="the Markdown report")
    p.add_argument("--json", default=None, help="also write every measurement as JSON")
    p.add_argument("--architectures", nargs="+", default=None, choices=ARCHITECTURES)
    p.add_argument(
        "--inputs",
        nargs="+",
        default=None,
        choices=INPUT_STREAMS,
    )
    p.add_argument("--seeds", type=int, default=None, help="default 3")
    p.add_argument("--epochs", type=int, default=None, help="default 20")
    p.add_argument("--units", type=int, default=None, help="default 64")
    p.add_argument("--fewshot", action="store_true", help="add the few-shot study")
    p.add_argument("--distill", action="store_true", help="add the distillation study")
    p.add_argument("--full-grid", action="store_true", help="every architecture × every stream")
    p.add_argument("--quick", action="store_true", help="tiny models, 2 seeds: a smoke test")
    p.add_argument("--render", default=None, help="only re-render a saved --json report")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("record", help="record labelled clips from a camera or a video file")
    p.add_argument("labels", nargs="+", help="gestures to record, e.g. wave clap none")
    p.add_argument("-o", "--output", required=True, help="dataset folder root/<label>/<clip>")
    p.add_argument("--source", default="0", help="camera index or video file/URL (default 0)")
    add_option_flags(
        p,
        RecorderOptions,
        [
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
    p.add_argument("--video-root", default=None, help="where raw clips go (default OUTPUT-videos)")
    _add_extractor_flags(p, datasets=False)
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
    p.add_argument("--model", required=True, help="an exported .tflite")
    p.add_argument("--source", default="0", help="camera index or video file/URL (default 0)")
    p.add_argument("--no-preview", action="store_true", help="headless: print events only")
    add_option_flags(
        p,
        DecisionOptions,
        ["smoothing", "ema_alpha", "majority_frames", "threshold", "min_frames", "cooldown"],
        prefix="decision.",
        choices={"smoothing": SMOOTHINGS},
    )
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.set_defaults(func=cmd_live)

    p = sub.add_parser("generate", help="regenerate the synthetic dataset (bit for bit)")
    p.add_argument("-o", "--output", default="datasets/synthetic_activities.npz")
    p.add_argument("--subjects", type=int, default=None)
    p.add_argument("--clips-per-class", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("web", help="write an in-browser recognizer page for a .tflite model")
    p.add_argument("model", help="an exported .tflite")
    p.add_argument("output_dir", help="the site folder to write")
    p.add_argument(
        "--assets", default=None, help="local node_modules with the page's npm packages (no CDN)"
    )
    p.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="port for --serve (0: any free one)")
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
    try:
        return int(args.func(args) or 0)
    except (PoseactError, ValueError, OSError) as exc:  # OSError: unreadable paths etc.
        if args.debug:
            raise
        print(f"poseact {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"poseact {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
