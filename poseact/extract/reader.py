"""Decode frames in a background thread, a few frames ahead of their consumer.

Decoding a 720p frame and converting it to RGB take ~5 ms, MediaPipe ~17-25 ms; on
one thread they add up. OpenCV releases the GIL while it decodes and converts, and
MediaPipe while it detects, so a reader thread that stays a few frames ahead overlaps
the two on a multi-core CPU:

    >>> with VideoFileSource(path) as source, ReadAhead(source) as frames:
    ...     for t, rgb in frames:
    ...         extractor.process(rgb, t)

The frames and timestamps are exactly the source's, in order. The queue is bounded
(`depth` frames), so memory stays at a few frames whatever the consumer's speed. On
close, on an exception in the consumer (KeyboardInterrupt included) or when the
consumer stops early, the thread is told to stop, the queue is drained and the thread
joined before `ReadAhead` returns, so the source can be closed safely afterwards. An
exception raised while decoding is re-raised in the consumer, at the frame where it
happened.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from poseact.extract.sources import CameraSource, VideoFileSource

__all__ = ["ReadAhead", "DEFAULT_DEPTH", "CAMERA_DEPTH", "read_ahead"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Frames decoded ahead: 4 covers decode jitter; 4 720p RGB frames are 11 MB.
DEFAULT_DEPTH = 4
#: A camera delivers in real time: 2 frames ahead hide decode jitter without adding
#: more than a frame of latency when the consumer is slower than the camera.
CAMERA_DEPTH = 2
_POLL_S = 0.05  # how often a blocked producer checks whether it should stop


class _End:
    """Queue item: the source is exhausted (error None) or raised `error`."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """Iterates `items` (e.g. a `FrameSource`'s (t, rgb) frames) from a reader thread.

    Args:
        items: any iterable; it is iterated once, in the reader thread only.
        depth: items read ahead at most (queue size), >= 1.
        name: the thread's name (shows in debuggers and logs).

    Raises:
        ValueError: depth < 1.
    """

    def __init__(
        self, items: Iterable[T], *, depth: int = DEFAULT_DEPTH, name: str = "poseact-reader"
    ) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"ReadAhead depth must be an int >= 1, got {depth!r}")
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = name
        self._done = False

    # ------------------------------------------------------------------ producer
    def _put(self, item: object) -> bool:
        """Put `item` unless told to stop; False if stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        error: BaseException | None = None
        iterator = None
        try:
            iterator = iter(self._items)
            for item in iterator:
                if not self._put(item):
                    break
        except BaseException as exc:  # re-raised in the consumer
            error = exc
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # a generator: run its cleanup in this thread
                try:
                    close()
                except Exception:  # pragma: no cover - a source's cleanup failing
                    logger.debug("reader: closing the source iterator failed", exc_info=True)
        self._put(_End(error))

    # ------------------------------------------------------------------ consumer
    def __iter__(self) -> Iterator[T]:
        if self._thread is not None or self._done:
            raise RuntimeError("a ReadAhead can be iterated once")
        self._thread = threading.Thread(target=self._produce, name=self._name, daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop and join the reader thread (idempotent); unread items are dropped."""
        self._done = True
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        while thread.is_alive():
            try:  # make room so a blocked put returns at once
                self._queue.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=_POLL_S)
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_ahead(source: Any) -> Any:
    """`source` decoded in a reader thread when it decodes (a video file or a camera).

    Other sources (arrays, the caller's own iterables) are returned as they are: they
    have nothing to decode, and their code keeps running in the caller's thread.
    """
    if isinstance(source, VideoFileSource):
        return ReadAhead(source, depth=DEFAULT_DEPTH)
    if isinstance(source, CameraSource):
        return ReadAhead(source, depth=CAMERA_DEPTH)
    return source
