"""Native libraries' logs: TensorFlow, MediaPipe (absl/glog), LiteRT, XNNPACK, CUDA.

Loading MediaPipe or TensorFlow writes some 60 lines to file descriptor 2 from C++
(cuInit, cpu_feature_guard, "All log messages before absl::InitializeLog()", LiteRT's
accelerator registry, "Sparsity tensors may not yet be fully supported", ...), so a
one-line error would be line 59 of 59. Two measures (stdlib only, before any native
library loads):

- `quiet_native_logs` sets the libraries' own log-level variables (unless the user set
  them): `import poseact` calls it, so the library is quieter wherever it is used.
- `silence_native_stderr` (the command line only) points file descriptor 2 at
  /dev/null for the rest of the process while Python's `sys.stderr` keeps writing to
  the terminal: most of those lines come from C++ code that reads no variable at all.

`--debug` (and `POSEACT_NATIVE_LOGS=1`) keeps every native line.
"""

from __future__ import annotations

import io
import os
import sys

__all__ = ["QUIET_ENVIRONMENT", "CLI_ENVIRONMENT", "quiet_native_logs", "silence_native_stderr"]

#: Log levels the libraries read from the environment when they load: 2 hides INFO
#: and WARNING (TensorFlow's C++ logs; glog/absl as used by MediaPipe).
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2", "GLOG_minloglevel": "2"}
#: The command line also hides ERROR-level lines (e.g. "failed call to cuInit" on a
#: machine without a GPU): its own errors are one line of its own.
CLI_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "3"}
#: Set to "1" to keep every native log line.
KEEP_VARIABLE = "POSEACT_NATIVE_LOGS"


def _keep() -> bool:
    return os.environ.get(KEEP_VARIABLE, "") not in ("", "0")


def quiet_native_logs(levels: dict[str, str] | None = None) -> None:
    """Set the native libraries' log-level variables, keeping any the user set.

    Only effective before TensorFlow / MediaPipe load (they read them once).

    Args:
        levels: variable → value; default `QUIET_ENVIRONMENT`.
    """
    if _keep():
        return
    for key, value in (levels or QUIET_ENVIRONMENT).items():
        os.environ.setdefault(key, value)


def silence_native_stderr() -> bool:
    """Send what C++ writes to file descriptor 2 to /dev/null, for good; keep Python's.

    `sys.stderr` is replaced by a stream on a duplicate of the original descriptor 2,
    so Python's own messages (errors, warnings, logging, progress bars) still reach the
    terminal. Configure logging afterwards (a handler keeps the stream it was given).
    For a command-line process only: native libraries also log while the process
    exits, so nothing is restored. Does nothing when `sys.stderr` is not descriptor 2
    (e.g. under pytest's capsys) or with `POSEACT_NATIVE_LOGS=1`.

    Returns:
        True if descriptor 2 was redirected.
    """
    try:
        sys.stderr.flush()
        fileno = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        fileno = -1
    if _keep() or fileno != 2:
        return False
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = open(  # noqa: SIM115 - the process's stderr from now on
        saved,
        "w",
        buffering=1,
        encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
        errors="backslashreplace",
    )
    return True
