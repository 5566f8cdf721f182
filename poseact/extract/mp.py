"""Import MediaPipe without dragging TensorFlow in: the one place poseact imports it.

`import mediapipe` imports TensorFlow whenever TensorFlow is installed: its
`mediapipe.tasks.python.core.optional_dependencies` tries
`from tensorflow.tools.docs import doc_controls` (used only to generate API docs) and
falls back to a no-op on `ModuleNotFoundError`. That costs ~3,300 extra modules and
5-10 s of start-up in every process that only extracts landmarks (`poseact extract`,
each extraction worker, the recorder, the live recognizer, the Ray actors).

`import_mediapipe()` imports MediaPipe (and the task modules poseact uses) with
TensorFlow hidden from the importing thread only, for the duration of that import:
MediaPipe takes its no-op fallback, and TensorFlow can still be imported afterwards,
by any thread, in the same process. If TensorFlow is already imported, MediaPipe is
imported normally (it then finds TensorFlow in `sys.modules`, at no cost).

Hiding TensorFlow is done with a `sys.meta_path` finder that answers
`ModuleNotFoundError` for "tensorflow" and its submodules when asked from the
importing thread, rather than with `sys.modules["tensorflow"] = None`, which would
also make a concurrent `import tensorflow` in another thread fail.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["import_mediapipe"]

_LOCK = threading.Lock()
_HIDDEN = "tensorflow"
# What poseact uses: the vision tasks (PoseLandmarker, HandLandmarker, Image) and
# BaseOptions. `import mediapipe` imports all of them today; naming them here keeps
# them inside the TensorFlow-free import if a later MediaPipe imports them lazily.
_MODULES = (
    "mediapipe",
    "mediapipe.tasks.python.core.base_options",
    "mediapipe.tasks.python.vision",
)


class _HideTensorFlow(importlib.abc.MetaPathFinder):
    """Makes `import tensorflow[.x]` fail in one thread, as if it were not installed."""

    def __init__(self, thread: int) -> None:
        self.thread = thread

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if threading.get_ident() == self.thread and (
            fullname == _HIDDEN or fullname.startswith(_HIDDEN + ".")
        ):
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (hidden while poseact imports MediaPipe)",
                name=fullname,
            )
        return None


def _import_all() -> ModuleType:
    for name in _MODULES:
        importlib.import_module(name)
    return sys.modules["mediapipe"]


def import_mediapipe() -> ModuleType:
    """The `mediapipe` module, imported without TensorFlow when that is not loaded yet.

    Thread-safe and idempotent: concurrent callers wait for one import. TensorFlow
    stays importable afterwards (by every thread), and the landmarkers are the same
    either way (TensorFlow is only MediaPipe's API-doc helper).

    Returns:
        The `mediapipe` package, with `mediapipe.tasks.python.vision` imported.

    Raises:
        ImportError: MediaPipe is not installed.
    """
    module = sys.modules.get("mediapipe")
    if module is not None and all(name in sys.modules for name in _MODULES):
        return module
    with _LOCK:
        if sys.modules.get(_HIDDEN) is not None:  # already imported: nothing to save
            return _import_all()
        finder = _HideTensorFlow(threading.get_ident())
        sys.meta_path.insert(0, finder)
        try:
            return _import_all()
        finally:
            sys.meta_path.remove(finder)
