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

- `hidden_native_logs` (the library, around its calls into native code: TensorFlow's
  import, fit, predict, export; MediaPipe's landmarkers; LiteRT's interpreters) points
  file descriptor 2 at a temporary file for the call while `sys.stderr` keeps writing
  to the terminal, then writes back every line of that file that is not a native log
  line (glog/absl `I0000 00:00:... file.cc:12]`, LiteRT `INFO: ...`/`WARNING: ...`):
  an API user sees poseact's own warnings and nothing else, and nothing else is lost.

`--debug` (and `POSEACT_NATIVE_LOGS=1`) keeps every native line.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = [
    "QUIET_ENVIRONMENT",
    "CLI_ENVIRONMENT",
    "KEEP_VARIABLE",
    "quiet_native_logs",
    "silence_native_stderr",
    "hidden_native_logs",
    "hides_native_logs",
]

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
    global _silenced
    _silenced = True
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


#: A line a native library logs: glog/absl ("W0000 00:00:1796561327.758326    4991
#: file.cc:81] ..."), TensorFlow Lite / LiteRT ("INFO: ...", "WARNING: [model_load.cc
#: ...", "WARNING: All log messages before absl::InitializeLog() ...").
_NATIVE_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-/]+:\d+\]|(?:INFO|WARNING|ERROR|VERBOSE): )"
)
_lock = threading.RLock()
_depth = 0
_silenced = False  # the command line sent descriptor 2 to /dev/null for good
_state: dict[str, Any] = {}
_Function = TypeVar("_Function", bound=Callable[..., Any])


def _capture_file() -> Any:
    """The process's one temporary file that descriptor 2 points at inside a block."""
    capture = _state.get("capture")
    if capture is None or _state.get("pid") != os.getpid():
        capture = _state["capture"] = tempfile.TemporaryFile()
        _state["pid"] = os.getpid()
    return capture


def _terminal(saved: int) -> Any:
    """The one stream on (a duplicate of) the original descriptor 2 that `sys.stderr` is
    inside a block; never closed, since a logging handler made inside a block (by
    TensorFlow's import, say) keeps it."""
    stream = _state.get("terminal")
    if stream is None or _state.get("terminal_pid") != os.getpid():
        stream = _state["terminal"] = open(  # noqa: SIM115 - the process's, for good
            os.dup(saved),
            "w",
            buffering=1,
            encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
            errors="backslashreplace",
        )
        _state["terminal_pid"] = os.getpid()
    return stream


def _enter() -> None:
    global _depth
    _depth += 1
    if _depth > 1:
        return
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    saved = os.dup(2)
    os.dup2(_capture_file().fileno(), 2)
    _state.update(saved=saved, stderr=None)
    try:
        is_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        is_fd2 = False
    if is_fd2:  # Python's own messages go to the terminal as they come
        _state["stderr"] = sys.stderr
        sys.stderr = _terminal(saved)
    tf_logger = logging.getLogger("tensorflow")
    _state["tf_level"] = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # retracing warnings and the like


def _leave() -> None:
    global _depth
    _depth -= 1
    if _depth > 0:
        return
    logging.getLogger("tensorflow").setLevel(_state.pop("tf_level"))
    original = _state.pop("stderr")
    if original is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        sys.stderr = original
    saved, capture = _state.pop("saved"), _state["capture"]
    os.dup2(saved, 2)
    os.close(saved)
    size = os.lseek(capture.fileno(), 0, os.SEEK_END)
    if not size:
        return
    os.lseek(capture.fileno(), 0, os.SEEK_SET)
    data = os.read(capture.fileno(), size)
    os.ftruncate(capture.fileno(), 0)
    os.lseek(capture.fileno(), 0, os.SEEK_SET)
    kept = b"".join(line for line in data.splitlines(keepends=True) if not _NATIVE_LINE.match(line))
    if kept:
        with contextlib.suppress(OSError):
            os.write(2, kept)


@contextlib.contextmanager
def hidden_native_logs() -> Iterator[None]:
    """Hide what native libraries log to file descriptor 2 during the block.

    Descriptor 2 points at a temporary file for the block (the outermost of nested
    blocks, in any thread); `sys.stderr`, if it is descriptor 2, is a stream on the
    terminal meanwhile, so Python's messages come as they are made. After the block,
    the lines of the file that are not native log lines are written to descriptor 2.
    Does nothing with `POSEACT_NATIVE_LOGS=1`, or when the command line has already
    silenced descriptor 2.
    """
    if _keep() or _silenced:
        yield
        return
    with _lock:
        _enter()
    try:
        yield
    finally:
        with _lock:
            _leave()


def hides_native_logs(function: _Function) -> _Function:
    """Decorator: `function` runs inside `hidden_native_logs()`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with hidden_native_logs():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
