"""Helpers for the reliability tests (issue 13): the CLI in a subprocess, real faults.

`run_cli` runs `python -m poseact.cli` in a child process with the environment a user
has (no TF_CPP_MIN_LOG_LEVEL / GLOG_minloglevel, which conftest sets for the test
process), so its stderr pipe shows everything written to file descriptor 2, native
libraries (absl, glog, oneDNN, LiteRT) included (`helpers.run_cli` with that environment).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import helpers
import pytest

#: Variables that quieten native logs; a user's shell does not set them.
NATIVE_LOG_VARIABLES = (
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_CPP_MAX_VLOG_LEVEL",
    "GLOG_minloglevel",
    "GLOG_logtostderr",
    "TF_ENABLE_ONEDNN_OPTS",
    "ABSL_MIN_LOG_LEVEL",
)


def user_environment(**changes: str | None) -> dict[str, str]:
    """os.environ without the native-log variables, with `changes` (None removes)."""
    env = {k: v for k, v in os.environ.items() if k not in NATIVE_LOG_VARIABLES}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_cli(*args: str | os.PathLike, env: dict[str, str] | None = None, **kwargs):
    """`python -m poseact.cli ARGS` in a child process with a user's environment
    (`user_environment`, unless `env` is given); stdout and stderr captured."""
    return helpers.run_cli(*args, env=env if env is not None else user_environment(), **kwargs)


def assert_one_line_error(
    result: subprocess.CompletedProcess, command: str, *needles: str | os.PathLike
) -> str:
    """Exit code 2 and exactly one stderr line `poseact COMMAND: error: ...` with `needles`."""
    err = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = err.splitlines()
    assert len(lines) == 1, f"{len(lines)} lines on stderr:\n{err[-3000:]}"
    line = lines[0]
    assert line.startswith(f"poseact {command}: error: "), line
    assert "Traceback" not in line, line
    for needle in needles:
        assert str(needle) in line, (needle, line)
    return line


def files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def python_child(code: str, *args: str | os.PathLike, **kwargs) -> subprocess.Popen:
    """Start `python -c code args...` with pipes for stdout and stderr."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


#: Runs argv[1:] and writes its peak RSS (KiB) to the file named by argv[0]. A process
#: started from a big one (pytest with TensorFlow loaded) inherits the parent's peak as
#: its own at exec, so the measured command is started from this small process instead.
_TRAMPOLINE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss_of(argv: Sequence[str], *, timeout: float, env: dict[str, str] | None = None):
    """Run `argv` to the end; (return code, peak RSS in bytes, stdout, stderr).

    The peak resident memory is that of `argv`'s own process (measured by `os.wait4`
    in a small intermediate process). Killed after `timeout` seconds.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "rss"
        process = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(record), *map(str, argv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # a timeout kills the measured command too
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"{argv} ran for more than {timeout} s:\n{err[-2000:]}")
        peak = int(record.read_text()) * 1024 if record.exists() else 0
    return process.returncode, peak, out, err
