"""`poseact` command line: a thin layer over the API.

Every command maps its flags onto the API's options, calls one API function, and
prints the result. Errors from poseact become one line on stderr and exit code 2
(`--debug` shows the traceback). One module per group of commands; each has its
`cmd_*` functions and the `add_*` functions that declare their flags.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from poseact import __version__
from poseact.cli import files, recording, running, studies, training
from poseact.cli.common import Parser, guard_paths
from poseact.core.atomic import clear_protected_inputs
from poseact.core.errors import PoseactError
from poseact.core.labels import printable

__all__ = ["build_parser", "main"]

logger = logging.getLogger("poseact.cli")


def build_parser() -> Parser:
    """The `poseact` parser with every command."""
    parser = Parser(prog="poseact", description="Pose-based gesture and activity recognition.")
    parser.add_argument("--version", action="version", version=f"poseact {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    for add in (
        files.add_extract,
        training.add_train,
        training.add_evaluate,
        training.add_export,
        running.add_predict,
        studies.add_demo,
        studies.add_compare,
        recording.add_record,
        running.add_evaluate_stream,
        running.add_live,
        files.add_show,
        files.add_models,
        files.add_generate,
        running.add_web,
    ):
        add(sub)
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
    for stream in (sys.stdout, sys.stderr):  # a path in any script, on any terminal
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    logging.basicConfig(  # after the redirection: the handler keeps its stream
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    args.skipped = []
    try:
        guard_paths(args)
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
        # text from files (names, labels) cannot forge lines or drive the terminal
        print(f"poseact {args.command}: error: {printable(text)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"poseact {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:  # main() may run again in this process (tests, notebooks)
        clear_protected_inputs()


def _say_skipped(skipped: list) -> None:
    """The closing summary of --allow-missing: which clips were left out."""
    for total, names, layout in skipped:
        what = "hand" if layout == "hands" else "person"
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        print(f"skipped {len(names)} of {total} clips with no {what} detected: {shown}")
