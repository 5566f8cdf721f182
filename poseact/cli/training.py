"""Commands that train or score a model: `train`, `evaluate`, `export`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from poseact.cli.common import (
    add_extractor_flags,
    add_force_flag,
    add_format_flag,
    check_report_dir,
    load_data,
    model_layout,
    refuse_own_input,
    show_report,
    unit_interval,
    warn_groups,
)
from poseact.core.choices import (
    INPUT_STREAMS,
    MODEL_ARCHITECTURES,
    QUANTIZATIONS,
    SAMPLINGS,
)
from poseact.data.background import AUTO
from poseact.flags import add_option_flags, options_from_args


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


def _announce_background(data, chosen: str | None) -> None:
    """Say which label is the background (the data stage chose it, `choose_background`)."""
    if data.background is None:
        return
    print(
        f"background class: {data.background!r} (no gesture: never reported as an event)"
        + ("; pass --background '' to treat it as a gesture" if chosen is None else "")
    )


def cmd_train(args: argparse.Namespace) -> int:
    from poseact.train.options import ModelOptions, TrainingOptions
    from poseact.train.workflow import train_and_evaluate

    refuse_own_input(args.output, args.data)
    refuse_own_input(args.report_dir, args.data)
    check_report_dir(args.report_dir)
    # the options are checked at the door, before the data is read
    model_options = options_from_args(args, ModelOptions, prefix="model.")
    training_options = options_from_args(
        args,
        TrainingOptions,
        prefix="training.",
        seed=args.seed,
        **({"reject_rate": None} if getattr(args, "training.no_reject", False) else {}),
    )
    _normalizer_spec(args, "pose")
    # the background rule of poseact.data: "auto" (a label named none or background),
    # '' for none, or the label given
    background = {None: AUTO, "": None}.get(args.background, args.background)
    data = load_data(args, args.data, background=background)
    _announce_background(data, args.background)
    print(f"dataset: {data.summary()}")
    if args.test_fraction:
        warn_groups(data)
    run = train_and_evaluate(
        data,
        normalizer=_normalizer_spec(args, data.layout),
        model=model_options,
        training=training_options,
        test_fraction=args.test_fraction,
        seed=args.seed,
        output=args.output,
        verbose=0 if args.quiet else 1,
        yardstick=not args.no_yardstick,
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
        show_report(run.report, args.report_dir, force=args.force)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from poseact.loading import load_model
    from poseact.train.evaluate import evaluate

    refuse_own_input(args.report_dir, args.model, args.data)
    check_report_dir(args.report_dir)
    model = load_model(args.model)
    data = load_data(args, args.data, model_layout(model))
    print(f"dataset {Path(data.name).name if data.name else args.data}: {data.summary()}")
    if args.leave_one_subject_out:
        return _leave_one_subject_out(args, model, data)
    show_report(
        evaluate(model, data, model_name=Path(args.model).name), args.report_dir, force=args.force
    )
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

    refuse_own_input(args.output, args.model, args.parity_data)
    classifier = GestureClassifier.load(args.model)
    parity = (
        load_data(args, args.parity_data, model_layout(classifier)) if args.parity_data else None
    )
    report = export_tflite(
        classifier,
        args.output,
        quantization=args.quantization,
        streaming=not args.no_streaming,
        parity_data=parity,
        threshold=args.threshold,
        keep_on_parity_failure=args.keep_on_parity_failure,
    )
    print(report.summary())  # a failure is also said on stderr, with what was (not) kept
    if args.threshold is not None:
        print(f"decision threshold {args.threshold:g} stored: live recognition and the page use it")
    return 0 if report.parity_ok else 1


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
            "hard_negatives",
            "reject_rate",
        ],
        prefix="training.",
    )
    group.add_argument(
        "--no-reject",
        dest="training.no_reject",
        action="store_true",
        help="train a closed-set model: no rejection rule, every clip is answered a class"
        " (default: a rule calibrated at --reject-rate)",
    )
    group = parser.add_argument_group(
        "normalizer (unset: chosen from the training clips, see docs/normalizer.md)"
    )
    add_option_flags(
        group,
        NormalizerSpec,
        ["fps", "window", "sampling", "rotate", "use_z", "velocity", "path"],
        prefix="normalizer.",
        flags={"use_z": "z"},
        choices={"sampling": SAMPLINGS},
    )


def add_train(sub: argparse._SubParsersAction) -> None:
    """The `poseact train` command."""
    p = sub.add_parser(
        "train", help="train a classifier on a dataset (folder, .npz, public formats)"
    )
    p.add_argument(
        "data", help="dataset folder root/<label>/<clip>, a dataset .npz, or a public format"
    )
    add_format_flag(p)
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
        "--no-yardstick",
        action="store_true",
        help="do not fit the random-forest yardstick beside the network on the held-out"
        " clips' report (a few seconds on a few thousand clips, half a minute on 10,000)",
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
    add_force_flag(p, "--report-dir")
    p.add_argument(
        "--background",
        default=None,
        metavar="LABEL",
        help="the 'no gesture' label, never reported as an event (default: a label named"
        " none or background; '' for none)",
    )
    add_extractor_flags(p, auto_layout=True)
    p.set_defaults(func=cmd_train)


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    """The `poseact evaluate` command."""
    p = sub.add_parser("evaluate", help="score a model (.poseact or .tflite) on a dataset")
    p.add_argument("model", help="a .poseact or an exported .tflite (its layout is used)")
    p.add_argument("data", help="dataset folder, dataset .npz, or a public format")
    add_format_flag(p)
    p.add_argument(
        "--report-dir",
        default=None,
        help="write the report here: report.html, report.json, confusion pictures (default: none)",
    )
    add_force_flag(p, "--report-dir")
    p.add_argument(
        "--leave-one-subject-out",
        action="store_true",
        help="train the model's recipe once per subject on the others and score it on that"
        " subject: a score per person (needs a .poseact model; default: off)",
    )
    add_extractor_flags(p, layout=False)
    p.set_defaults(func=cmd_evaluate)


def add_export(sub: argparse._SubParsersAction) -> None:
    """The `poseact export` command."""
    p = sub.add_parser("export", help="export a trained model to .tflite")
    p.add_argument("model", help="a .poseact file from 'poseact train'")
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
    p.add_argument(
        "--threshold",
        type=unit_interval,
        default=None,
        help="decision threshold stored in the model, used live and by the page unless"
        " another is given (pick one with 'poseact evaluate-stream --sweep'; default: 0.6)",
    )
    p.add_argument(
        "--keep-on-parity-failure",
        action="store_true",
        help="keep the .tflite when it fails its parity check against Keras (default: nothing"
        " is left under its name, and the command exits 1)",
    )
    add_format_flag(p)
    add_extractor_flags(p, layout=False, frame_step=False, datasets=False)
    p.set_defaults(func=cmd_export)
