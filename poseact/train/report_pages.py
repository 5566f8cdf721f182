"""Pictures and the single-page HTML report of an evaluation.

`EvaluationReport.save` (poseact.train.evaluate) writes, besides `report.json` and `confusion.csv`:

- `confusion.png`: counts, each cell shaded by its share of the true class;
- `confusion_normalized.png`: the shares themselves (rows sum to 1), which compare
  classes of different sizes;
- `report.html`: one self-contained page (images embedded as data URIs): the headline
  scores, the per-class table, both matrices and, for each misclassified clip, its file,
  true and predicted class, confidence and a strip of a few of its frames drawn as a
  skeleton — what the model saw.

Matplotlib draws everything (Agg backend, no display); nothing here needs OpenCV.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["confusion_png", "skeleton_strip_png", "skeleton_frame_pngs", "report_html"]

#: Misclassified clips drawn as strips in report.html (the rest are listed only).
MAX_STRIPS = 20
#: Side of one skeleton thumbnail in report.html, pixels.
THUMBNAIL = 150
_LEFT, _RIGHT, _CENTRE, _EDGE = "#2f7fd8", "#ff8c00", "#444444", "#9a9a9a"


def _figure(width: float, height: float, dpi: int = 100):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


#: Largest side of a confusion picture, inches (at 100 dpi: 2000 pixels).
MAX_FIGURE_INCHES = 20.0
#: Up to this many classes each cell shows its number; up to MAX_NAMED_CLASSES the
#: axes name the classes.
MAX_ANNOTATED_CLASSES = 30
MAX_NAMED_CLASSES = 100


def confusion_png(
    confusion: np.ndarray, classes: Sequence[str], title: str, *, normalized: bool
) -> bytes:
    """The confusion matrix as a PNG.

    Args:
        confusion: (C, C) int counts, rows true classes, columns predictions; or
            (C, C + 1) with a last column of clips answered "unknown".
        classes: the column names: (C,) class names, then "unknown" if it has that
            column (rows are the first C).
        title: the heading; wrapped to the figure's width, never cut.
        normalized: print each row's shares (rows sum to 1) instead of the counts.

    Returns:
        The PNG file's bytes.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    n, m = counts.shape
    rows = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    # the picture is bounded (at most MAX_FIGURE_INCHES a side): with many classes the
    # cells shrink, their numbers and then the class names are left out (report.json
    # and confusion.csv hold every count)
    cell = min(0.7, (MAX_FIGURE_INCHES - 1.8) / max(m, 1))
    width = max(4.2, 1.8 + cell * m)
    lines = textwrap.wrap(title, width=max(30, int(width * 11))) or [""]
    fig = _figure(width, 1.4 + cell * 0.86 * n + 0.25 * len(lines))
    ax = fig.add_subplot()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    annotate = m <= MAX_ANNOTATED_CLASSES
    for i in range(n if annotate else 0):
        for j in range(m):
            text = f"{shares[i, j]:.2f}" if normalized else str(int(counts[i, j]))
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                color="white" if shares[i, j] > 0.5 else "black",
                fontsize=9,
            )
    if m <= MAX_NAMED_CLASSES:
        size = 9 if m <= MAX_ANNOTATED_CLASSES else 5
        ax.set_xticks(range(m), list(classes), rotation=45, ha="right", fontsize=size)
        ax.set_yticks(range(n), list(classes)[:n], fontsize=size)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (share of each row)" if normalized else "true (clips)")
    ax.set_title("\n".join(lines), fontsize=10)
    return _png(fig)


def _point_colors(names: Sequence[str]) -> list[str]:
    return [
        _LEFT if n.startswith("LEFT") else _RIGHT if n.startswith("RIGHT") else _CENTRE
        for n in names
    ]


def _draw_strip(sequence: Any, frames: int, min_visibility: float, panel: float):
    """The figure of a clip's frames side by side (one `panel`-inch square each) and the
    number of panels."""
    from poseact.core.layouts import get_layout

    layout = get_layout(sequence.layout)
    edges = _edge_indices(layout)
    colors = _point_colors(layout.point_names)
    n = max(1, min(frames, len(sequence)))
    picks = np.unique(np.round(np.linspace(0, len(sequence) - 1, n)).astype(int))
    points = np.array(sequence.landmarks[..., :2], dtype=np.float64)
    points[np.asarray(sequence.visibility) < min_visibility] = np.nan
    if sequence.image_size is not None:  # undo the aspect ratio so limbs keep their shape
        w, h = sequence.image_size
        points[..., 0] *= w / h
    finite = points[np.isfinite(points[..., 0])]
    lo, hi = (finite.min(axis=0), finite.max(axis=0)) if finite.size else (np.zeros(2), np.ones(2))
    half = max(float((hi - lo).max()) / 2 * 1.08, 1e-6)
    centre = (lo + hi) / 2
    fig = _figure(panel * len(picks), panel * 1.15)
    for k, i in enumerate(picks):
        ax = fig.add_axes((k / len(picks), 0.0, 1.0 / len(picks), 1 / 1.15))
        p = points[i]
        if not edges:  # loose points (a tracked fingertip): draw the path so far
            for j in range(p.shape[0]):
                ax.plot(points[: i + 1, j, 0], points[: i + 1, j, 1], color=_EDGE, lw=1.2)
        for a, b in edges:
            if np.isfinite(p[a, 0]) and np.isfinite(p[b, 0]):
                ax.plot([p[a, 0], p[b, 0]], [p[a, 1], p[b, 1]], color=_EDGE, lw=1.2)
        shown = np.isfinite(p[:, 0])
        ax.scatter(p[shown, 0], p[shown, 1], s=6, c=[colors[j] for j in np.flatnonzero(shown)])
        if not shown.any():
            ax.text(0.5, 0.5, "nobody\ndetected", ha="center", va="center", fontsize=9,
                    transform=ax.transAxes)  # fmt: skip
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] + half, centre[1] - half)  # image y points down
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 1.02, f"{float(sequence.timestamps[i]):.2f} s", ha="center",
                va="bottom", fontsize=9, transform=ax.transAxes)  # fmt: skip
    return fig, len(picks)


def skeleton_strip_png(sequence: Any, *, frames: int = 6, min_visibility: float = 0.3) -> bytes:
    """A few frames of a clip side by side as skeletons, zoomed on the person (for a
    layout without edges, e.g. one tracked point, each frame shows the path so far).

    Args:
        sequence: a `LandmarkSequence`.
        frames: how many frames, evenly spaced from the first to the last.
        min_visibility: points seen with lower visibility are not drawn.

    Returns:
        The PNG file's bytes (`THUMBNAIL` pixels a frame, and its time above it).
    """
    fig, _ = _draw_strip(sequence, frames, min_visibility, THUMBNAIL / 100)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def skeleton_frame_pngs(
    sequence: Any, *, frames: int = 6, min_visibility: float = 0.3
) -> list[bytes]:
    """`skeleton_strip_png` cut into one PNG per frame (drawn once, cut with Pillow), so
    a page can wrap them to its width.

    Returns:
        One PNG file's bytes per frame, in time order.
    """
    from PIL import Image

    fig, count = _draw_strip(sequence, frames, min_visibility, THUMBNAIL / 100)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    strip = Image.open(io.BytesIO(buffer.getvalue()))
    width = strip.width / count
    tiles = []
    for k in range(count):
        tile = strip.crop((round(k * width), 0, round((k + 1) * width), strip.height))
        out = io.BytesIO()
        tile.save(out, format="PNG", optimize=True)
        tiles.append(out.getvalue())
    return tiles


def _edge_indices(layout: Any) -> tuple[tuple[int, int], ...]:
    return tuple(layout.edge_indices)


def _confidence(item: dict[str, Any]) -> str:
    value = item.get("confidence")
    return "-" if value is None else f"{value:.2f}"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em;
  color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.3em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.7em; text-align: right; }
th { border-bottom: 1px solid #999; } td:first-child, th:first-child { text-align: left; }
.big { font-size: 1.3em; } .note { color: #555; }
.matrices { display: flex; flex-wrap: wrap; gap: 1em; }
.matrices img { max-width: 100%; height: auto; }
.clip { border-top: 1px solid #ddd; padding: 0.6em 0; }
.clip p { margin: 0 0 0.4em 0; overflow-wrap: anywhere; }
.frames { display: flex; flex-wrap: wrap; gap: 6px; }
.frames img { width: 150px; height: auto; border: 1px solid #eee; }
"""


def report_html(
    report: dict[str, Any],
    matrices: Sequence[bytes],
    frames: dict[int, Sequence[bytes]],
    *,
    title: str,
    note: str = "",
    subjects: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The single-page report.

    Args:
        report: `EvaluationReport.to_dict()` (scores, per-class table, misclassified).
        matrices: PNG bytes of the confusion pictures, shown side by side (wrapping).
        frames: index into `report["misclassified"]` → PNG bytes of its skeleton
            thumbnails (`skeleton_frame_pngs`), shown in a row that wraps to the page.
        title: the page heading (model and dataset), said once.
        note: a line under the heading: what the test clips were (the held-out
            subjects, named).
        subjects: for a leave-one-subject-out report, subject → {"accuracy",
            "macro_f1", "num_clips"}: a per-subject table before the pooled scores.

    Returns:
        The HTML text; every image is embedded, the page loads nothing else.
    """
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if note:
        parts.append(f'<p class="note" id="split">{esc(note)}</p>')
    if subjects:
        parts.append(
            '<h2>Each subject held out in turn</h2><table id="subjects"><tr><th>held-out'
            " subject</th><th>accuracy</th><th>macro F1</th><th>clips</th></tr>"
        )
        for name, row in subjects.items():
            parts.append(
                f"<tr><td>{esc(name)}</td><td>{row['accuracy']:.3f}</td>"
                f"<td>{row['macro_f1']:.3f}</td><td>{row['num_clips']}</td></tr>"
            )
        parts.append("</table><h2>All held-out clips pooled</h2>")
    parts.append(
        f'<p class="big" id="scores">accuracy {report["accuracy"]:.3f} &nbsp; macro F1'
        f" {report['macro_f1']:.3f} &nbsp; ({report['num_clips']} clips,"
        f" {len(report['misclassified'])} wrong)</p>"
    )
    parts.append(
        '<table id="classes"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>'
        "<th>clips</th></tr>"
    )
    for name, row in report["per_class"].items():
        parts.append(
            f"<tr><td>{esc(name)}</td><td>{row['precision']:.3f}</td><td>{row['recall']:.3f}</td>"
            f"<td>{row['f1']:.3f}</td><td>{row['support']}</td></tr>"
        )
    parts.append('</table><h2>Confusion matrix</h2><div class="matrices">')
    for png in matrices:
        parts.append(f'<img class="matrix" alt="confusion matrix" src="{_data_uri(png)}">')
    parts.append("</div>")
    wrong = report["misclassified"]
    parts.append(f'<h2 id="wrong">Misclassified clips ({len(wrong)})</h2>')
    if not wrong:
        parts.append("<p>None: every clip was classified correctly.</p>")
    else:
        if len(wrong) > len(frames):
            parts.append(
                f'<p class="note">Skeletons of the first {len(frames)}; the rest are listed.</p>'
            )
        for i, item in enumerate(wrong):
            who = f" &nbsp; subject {esc(str(item['group']))}" if item.get("group") else ""
            parts.append(
                f'<div class="clip"><p><b>{esc(str(item["file"]))}</b>{who} &nbsp; true'
                f" <b>{esc(str(item['true']))}</b>, predicted"
                f" <b>{esc(str(item['predicted']))}</b> ({_confidence(item)})</p>"
            )
            images = frames.get(i) or ()
            if images:
                parts.append('<div class="frames">')
                for k, png in enumerate(images):
                    parts.append(
                        f'<img class="frame" alt="frame {k + 1} of {esc(str(item["file"]))}"'
                        f' src="{_data_uri(png)}">'
                    )
                parts.append("</div>")
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
