"""The pictures of `run_live`: the preview window and the annotated frames it writes.

`run_live` (in `poseact.apps.live`) calls `_show` for each frame of the preview window
and `_annotated` for each frame of its `output` video.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np

from poseact.extract.video import import_cv2

if TYPE_CHECKING:
    from poseact.apps.live import LiveFrame

_QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc


def _annotated(
    item: LiveFrame, classes: list[str], layout: str, several: bool = False
) -> np.ndarray:
    """The frame as BGR with the skeleton and the decision at it drawn (as `predict
    --output` draws a video's frames); with several people, each in their colour."""
    from poseact.apps.render import FrameDecision, annotate_frame

    cv2 = import_cv2()

    frame = item.landmarks
    if several:
        from poseact.apps.render import annotate_people

        return annotate_people(
            cv2.cvtColor(item.rgb, cv2.COLOR_RGB2BGR),
            item.people,
            layout,
            lines=[f"{item.timestamp:.2f} s", f"{sum(p.seen for p in item.people)} people"],
        )
    decision = FrameDecision(
        time=item.timestamp,
        label=item.label,
        confidence=item.confidence,
        probabilities=item.probabilities,
        gesture=item.gesture,
        events=item.events,
    )
    return annotate_frame(
        cv2.cvtColor(item.rgb, cv2.COLOR_RGB2BGR),
        frame.landmarks,
        frame.visibility,
        layout,
        decision,
        classes=classes,
    )


def _show(
    cv2: Any,
    window: str,
    item: LiveFrame,
    classes: list[str],
    layout: str,
    fps: float | None,
    several: bool = False,
) -> bool:
    """Draw and show the preview; False when the user asked to stop."""
    from poseact.apps.drawing import draw_landmarks, draw_probabilities, draw_status

    view = cv2.cvtColor(item.rgb, cv2.COLOR_RGB2BGR)
    frame = item.landmarks
    if several:
        from poseact.apps.render import annotate_people

        view = annotate_people(
            view,
            item.people,
            layout,
            lines=[
                f"{sum(p.seen for p in item.people)} people",
                f"{fps:.1f} fps" if fps is not None else "- fps",
                f"MediaPipe {1000 * item.extract_seconds:.0f} ms"
                f"  poseact {1000 * item.classify_seconds:.1f} ms",
            ],
        )
        cv2.imshow(window, view)
        return _still_open(cv2, window)
    draw_landmarks(view, frame.landmarks, frame.visibility, layout)
    label = item.label if item.label is not None else "-"
    lines = [
        f"{label}  {item.confidence:.2f}",
        f"{fps:.1f} fps" if fps is not None else "- fps",
        f"MediaPipe {1000 * item.extract_seconds:.0f} ms"
        f"  model {1000 * item.classify_seconds:.1f} ms",
    ]
    if not frame.detected:
        lines.append("nobody detected")
    draw_status(view, lines)
    if item.probabilities.size == len(classes) and item.label is not None:
        draw_probabilities(view, classes, item.probabilities, top=min(5, len(classes)))
    cv2.imshow(window, view)
    return _still_open(cv2, window)


def _still_open(cv2: Any, window: str) -> bool:
    """False when the user pressed q or Esc, or closed the window."""
    key = cv2.waitKey(1) & 0xFF
    if key in _QUIT_KEYS:
        return False
    with contextlib.suppress(cv2.error):
        if cv2.getWindowProperty(window, cv2.WND_PROP_VISIBLE) < 1:
            return False
    return True
