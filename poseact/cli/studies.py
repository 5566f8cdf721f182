"""Commands that train many models: `demo` and `compare`."""

from __future__ import annotations

import argparse

from poseact.cli.common import (
    refuse_own_input,
)
from poseact.core.choices import (
    ARCHITECTURES,
    INPUT_STREAMS,
    MODEL_ARCHITECTURES,
    QUANTIZATIONS,
)
from poseact.flags import add_option_flags, field_help


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

    refuse_own_input(args.output, args.render, *(args.dataset or []))
    refuse_own_input(args.json, args.render, *(args.dataset or []))
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


def add_demo(sub: argparse._SubParsersAction) -> None:
    """The `poseact demo` command."""
    from poseact.train.options import ModelOptions, TrainingOptions

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
        choices=MODEL_ARCHITECTURES,  # "auto" too, as the help says
        help=field_help(ModelOptions, "architecture"),
    )
    p.add_argument(
        "--quantization",
        nargs="+",
        default=["float", "int8"],
        choices=QUANTIZATIONS,
        help="exports to write and check (default: float int8)",
    )
    p.add_argument("--epochs", type=int, default=None, help=field_help(TrainingOptions, "epochs"))
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the split and of training (default: 0)"
    )
    p.set_defaults(func=cmd_demo)


def add_compare(sub: argparse._SubParsersAction) -> None:
    """The `poseact compare` command."""
    from poseact.apps.compare import CompareOptions

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
    add_option_flags(p, CompareOptions, ["seeds", "epochs", "units"])
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
