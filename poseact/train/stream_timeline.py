"""A recording's timeline as a PNG: the true events, the detections and the class
probabilities over time (`plot_timeline`). matplotlib is imported when a picture is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from poseact.core.atomic import atomic_path
from poseact.train.event_annotations import Annotation, Detection
from poseact.train.event_match import EventMatching, match_events

__all__ = [
    "plot_timeline",
]


# ---------------------------------------------------------------------- timeline
def plot_timeline(
    path: str | os.PathLike,
    truth: Sequence[Annotation],
    detections: Sequence[Detection],
    *,
    times: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    threshold: float | None = None,
    duration: float | None = None,
    title: str = "",
    matching: EventMatching | None = None,
) -> Path:
    """Draw a recording's timeline into a PNG, atomically.

    Top: the true events; middle: the detections (a matched one filled, an unmatched
    one hatched with a red edge); bottom: each class's probability over time, with the
    decision threshold. One colour per label throughout.

    Args:
        path: the PNG to write.
        truth: the annotated events.
        detections: the detected events.
        times: (T,) seconds of the probability rows.
        probabilities: (T, C) class probabilities (e.g. the smoothed ones the decisions
            use), columns in `classes` order.
        classes: (C,) labels of the probability columns.
        threshold: drawn as a dashed line on the probability panel.
        duration: the x range's end (default: the last time or event end).
        title: the figure's title.
        matching: from `match_events` (computed with the default IoU when None).

    Raises:
        ValueError: probabilities without times or classes, or shapes that disagree.
        WriteError: the PNG cannot be written.
    """
    if probabilities is not None:
        if times is None or classes is None:
            raise ValueError("probabilities need their times (T,) and classes (C,)")
        probabilities = np.asarray(probabilities, dtype=np.float64)
        times = np.asarray(times, dtype=np.float64)
        if probabilities.ndim != 2 or probabilities.shape != (len(times), len(classes)):
            raise ValueError(
                f"probabilities have shape {probabilities.shape}, expected"
                f" (T, C) = ({len(times)}, {len(classes)})"
            )
    if matching is None:
        matching = match_events(truth, detections)
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    labels = list(classes or ())
    for event in (*truth, *detections):
        if event.label not in labels:
            labels.append(event.label)
    palette = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    colour = {label: palette(i % palette.N) for i, label in enumerate(labels)}
    ends = [e.end for e in (*truth, *detections)]
    if times is not None and len(times):
        ends.append(float(times[-1]))
    x_end = duration if duration is not None else max(ends, default=1.0)
    x_end = max(x_end, 1e-3)

    panels = 3 if probabilities is not None else 2
    ratios = [1, 1, 3][:panels]
    fig = Figure(figsize=(min(30.0, max(8.0, x_end / 6.0)), 1.6 + 1.1 * panels), dpi=100)
    axes = fig.subplots(panels, 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    matched = {j for _, j, _ in matching.pairs}
    found = {i for i, _, _ in matching.pairs}
    for i, t in enumerate(truth):
        axes[0].broken_barh(
            [(t.start, t.duration)],
            (0.1, 0.8),
            facecolor=colour[t.label],
            edgecolor="black" if i in found else "red",
            linewidth=1.0 if i in found else 2.0,
        )
    for j, d in enumerate(detections):
        hit = j in matched
        axes[1].broken_barh(
            [(d.start, max(d.duration, x_end / 500))],
            (0.1, 0.8),
            facecolor=colour[d.label],
            edgecolor="black" if hit else "red",
            hatch=None if hit else "//",
            linewidth=1.0 if hit else 2.0,
        )
        if d.reported is not None:
            axes[1].plot([d.reported], [0.5], marker="v", color="black", markersize=4)
    for ax, name in zip(axes[:2], ("true", "detected")):
        ax.set_yticks([0.5], [name])
        ax.set_ylim(0, 1)
    if probabilities is not None:
        ax = axes[2]
        for c, label in enumerate(classes):
            ax.plot(times, probabilities[:, c], color=colour[label], linewidth=1.2, label=label)
        if threshold is not None:
            ax.axhline(threshold, color="grey", linestyle="--", linewidth=1.0)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("probability")
    axes[-1].set_xlim(0, x_end)
    axes[-1].set_xlabel("time (s)")
    handles = [Patch(facecolor=colour[label], label=label) for label in labels]
    handles.append(Patch(facecolor="white", edgecolor="red", hatch="//", label="unmatched"))
    fig.legend(handles=handles, loc="upper right", ncol=min(len(handles), 6), fontsize=8)
    axes[0].set_title(title or "events: true, detected and class probabilities", loc="left")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
