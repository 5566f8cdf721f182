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

The same finder makes MediaPipe's drawing helpers (`vision.drawing_utils`,
`vision.drawing_styles`) lazy modules (`importlib.util.LazyLoader`): they import
`matplotlib.pyplot` at module level, which is most of what is left of the import time
(about 0.4 s), and poseact never draws with them. They load, matplotlib included, the
first time anyone touches one of their attributes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["import_mediapipe"]

_LOCK = threading.Lock()
_HIDDEN = "tensorflow"
#: MediaPipe modules loaded lazily: they import matplotlib.pyplot, poseact never uses them.
_LAZY = frozenset(
    {
        "mediapipe.tasks.python.vision.drawing_utils",
        "mediapipe.tasks.python.vision.drawing_styles",
    }
)
# What poseact uses: the vision tasks (PoseLandmarker, HandLandmarker, Image) and
# BaseOptions. `import mediapipe` imports all of them today; naming them here keeps
# them inside the TensorFlow-free import if a later MediaPipe imports them lazily.
_MODULES = (
    "mediapipe",
    "mediapipe.tasks.python.core.base_options",
    "mediapipe.tasks.python.vision",
)


class _MediaPipeImport(importlib.abc.MetaPathFinder):
    """In one thread: `import tensorflow[.x]` fails as if it were not installed, and
    MediaPipe's drawing modules get lazy loaders."""

    def __init__(self, thread: int) -> None:
        self.thread = thread

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if threading.get_ident() != self.thread:
            return None
        if fullname == _HIDDEN or fullname.startswith(_HIDDEN + "."):
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (hidden while poseact imports MediaPipe)",
                name=fullname,
            )
        if fullname in _LAZY:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = importlib.util.LazyLoader(spec.loader)
            return spec
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
        finder = _MediaPipeImport(threading.get_ident())
        sys.meta_path.insert(0, finder)
        try:
            return _import_all()
        finally:
            sys.meta_path.remove(finder)
