"""OpenCV drawing helpers for preview windows: skeletons, status boxes, banners.

Every function draws in place on a BGR image (OpenCV's convention) and returns None;
pass a copy to keep the original frame. OpenCV is imported inside the functions, so
`import poseact.drawing` stays cheap.

Landmarks are the ones poseact uses everywhere: (K, 3) normalized image coordinates
(x in [0, 1] of the width, y in [0, 1] of the height), NaN where not detected, with a
(K,) visibility in [0, 1].
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from poseact.core.layouts import Layout, get_layout
from poseact.extract.video import import_cv2

__all__ = [
    "skeleton_edges",
    "draw_landmarks",
    "draw_status",
    "draw_banner",
    "draw_probabilities",
    "display_problem",
]

Color = tuple[int, int, int]  # B, G, R

_LEFT_COLOR: Color = (255, 160, 0)  # blue-ish: the person's left side / left hand
_RIGHT_COLOR: Color = (0, 140, 255)  # orange: the person's right side / right hand
_CENTER_COLOR: Color = (230, 230, 230)
_EDGE_COLOR: Color = (200, 200, 200)


#: Qt platforms that need no display server.
_HEADLESS_QT_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def display_problem() -> str | None:
    """Why an OpenCV window cannot open here, or None when it can (as far as known).

    OpenCV's Qt back end aborts the whole process (SIGABRT) when it finds no display,
    so the preview checks first: on Linux and the BSDs a window needs `DISPLAY` naming
    an X server that accepts a connection (or `WAYLAND_DISPLAY`, or a headless
    `QT_QPA_PLATFORM` such as "offscreen"). Windows and macOS always have one.
    """
    if sys.platform.startswith(("win", "darwin", "cygwin")):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in _HEADLESS_QT_PLATFORMS or platform.startswith("wayland"):
        return None
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no display (DISPLAY is not set)"
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return f"DISPLAY={display!r} is not a display name"
    try:
        if host in ("", "unix"):
            address: Any = f"/tmp/.X11-unix/X{number}"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(address)
        else:
            with socket.create_connection((host, 6000 + int(number)), timeout=1.0):
                pass
    except OSError:
        return f"cannot connect to the display {display} (no X server answers)"
    return None


def _as_layout(layout: str | Layout) -> Layout:
    return layout if isinstance(layout, Layout) else get_layout(layout)


def skeleton_edges(layout: str | Layout) -> tuple[tuple[int, int], ...]:
    """The skeleton's connections for a layout, as pairs of point indices.

    The layout's `edges` (point names): MediaPipe's POSE_CONNECTIONS and
    HAND_CONNECTIONS for the built-in layouts, whatever a registered layout lists.

    Args:
        layout: a layout name ("pose", "hands", "pose+hands") or a `Layout`.

    Returns:
        (i, j) index pairs into the layout's points.

    Raises:
        LandmarkFormatError: unknown layout name.
    """
    return _as_layout(layout).edge_indices


def _point_colors(layout: Layout) -> list[Color]:
    colors = []
    for name in layout.point_names:
        if name.startswith("LEFT"):
            colors.append(_LEFT_COLOR)
        elif name.startswith("RIGHT"):
            colors.append(_RIGHT_COLOR)
        else:
            colors.append(_CENTER_COLOR)
    return colors


def draw_landmarks(
    bgr: np.ndarray,
    landmarks: np.ndarray,
    visibility: np.ndarray,
    layout: str | Layout = "pose",
    *,
    min_visibility: float = 0.5,
    radius: int | None = None,
    thickness: int | None = None,
) -> None:
    """Draw a skeleton on an image, in place.

    Points that are NaN or whose visibility is below `min_visibility` are not drawn,
    nor are the connections touching them. The person's left side (and left hand) is
    blue, the right side orange, central points white.

    Args:
        bgr: (H, W, 3) uint8 BGR image, drawn on in place.
        landmarks: (K, 3) normalized image coordinates (x, y in [0, 1]; z is unused),
            NaN where not detected.
        visibility: (K,) in [0, 1].
        layout: the layout of the K points, a name or a `Layout`.
        min_visibility: points below this visibility are hidden.
        radius: point radius in pixels; default scales with the image size.
        thickness: line thickness in pixels; default scales with the image size.

    Raises:
        ValueError: `landmarks` or `visibility` do not have K points of the layout.
    """
    cv2 = import_cv2()
    layout = _as_layout(layout)
    points = np.asarray(landmarks, dtype=np.float64)
    vis = np.asarray(visibility, dtype=np.float64).reshape(-1)
    k = layout.num_points
    if points.ndim != 2 or points.shape[0] != k or points.shape[1] < 2:
        raise ValueError(
            f"landmarks have shape {points.shape}, expected ({k}, 3) for {layout.name}"
        )
    if vis.shape != (k,):
        raise ValueError(f"visibility has shape {vis.shape}, expected ({k},) for {layout.name}")
    height, width = bgr.shape[:2]
    side = max(min(height, width), 1)
    radius = radius if radius is not None else max(2, side // 120)
    thickness = thickness if thickness is not None else max(1, side // 240)
    shown = np.isfinite(points[:, 0]) & np.isfinite(points[:, 1]) & (vis >= min_visibility)
    # Clip far-off points so OpenCV's int conversion cannot overflow.
    xy = np.zeros((k, 2), dtype=np.int64)
    xy[shown, 0] = np.round(np.clip(points[shown, 0], -4.0, 5.0) * width)
    xy[shown, 1] = np.round(np.clip(points[shown, 1], -4.0, 5.0) * height)
    for a, b in skeleton_edges(layout):
        if shown[a] and shown[b]:
            cv2.line(
                bgr,
                (int(xy[a, 0]), int(xy[a, 1])),
                (int(xy[b, 0]), int(xy[b, 1])),
                _EDGE_COLOR,
                thickness,
                cv2.LINE_AA,
            )
    colors = _point_colors(layout)
    for i in np.flatnonzero(shown):
        center = (int(xy[i, 0]), int(xy[i, 1]))
        cv2.circle(bgr, center, radius, colors[i], -1, cv2.LINE_AA)
        cv2.circle(bgr, center, radius, (40, 40, 40), 1, cv2.LINE_AA)


def _text_block(
    bgr: np.ndarray,
    lines: Sequence[str],
    origin: tuple[int, int],
    scale: float,
    color: Color,
    background: Color,
    alpha: float,
    thickness: int,
) -> None:
    cv2 = import_cv2()
    font = cv2.FONT_HERSHEY_SIMPLEX
    lines = [str(line) for line in lines if line is not None]
    if not lines:
        return
    sizes = [cv2.getTextSize(line, font, scale, thickness) for line in lines]
    line_height = max(h + base for (_, h), base in sizes) + int(round(6 * scale))
    pad = int(round(8 * scale)) + 2
    box_w = max(w for (w, _), _ in sizes) + 2 * pad
    box_h = line_height * len(lines) + 2 * pad - int(round(6 * scale))
    height, width = bgr.shape[:2]
    x0, y0 = max(0, origin[0]), max(0, origin[1])
    x1, y1 = min(width, x0 + box_w), min(height, y0 + box_h)
    if x1 > x0 and y1 > y0:
        region = bgr[y0:y1, x0:x1]
        shade = np.empty_like(region)
        shade[:] = background
        cv2.addWeighted(shade, alpha, region, 1.0 - alpha, 0.0, dst=region)
    y = y0 + pad
    for line, ((_, h), _base) in zip(lines, sizes):
        y_text = y + h
        cv2.putText(bgr, line, (x0 + pad, y_text), font, scale, color, thickness, cv2.LINE_AA)
        y += line_height


def draw_status(
    bgr: np.ndarray,
    lines: Sequence[str],
    *,
    origin: tuple[int, int] = (8, 8),
    scale: float | None = None,
    color: Color = (255, 255, 255),
    background: Color = (0, 0, 0),
    alpha: float = 0.6,
) -> None:
    """Draw lines of text (label, confidence, FPS, counters) in a shaded box, in place.

    Args:
        bgr: (H, W, 3) uint8 BGR image, drawn on in place.
        lines: the text lines, top to bottom (ASCII; OpenCV's fonts have no accents).
        origin: (x, y) pixels of the box's top-left corner.
        scale: font scale; default scales with the image height.
        color: text colour, BGR.
        background: box colour, BGR.
        alpha: box opacity in [0, 1].
    """
    height = bgr.shape[0]
    scale = scale if scale is not None else max(0.4, min(1.0, height / 800.0))
    thickness = 1 if scale < 0.8 else 2
    _text_block(bgr, lines, origin, scale, color, background, alpha, thickness)


def draw_banner(
    bgr: np.ndarray,
    text: str,
    *,
    color: Color = (255, 255, 255),
    background: Color = (0, 0, 0),
    scale: float | None = None,
) -> None:
    """Draw large text centred on the image (a countdown, "REC", "press SPACE"), in place.

    Args:
        bgr: (H, W, 3) uint8 BGR image, drawn on in place.
        text: one line of ASCII text.
        color: text colour, BGR.
        background: colour of the shaded box behind it, BGR.
        scale: font scale; default scales with the image height.
    """
    cv2 = import_cv2()
    height, width = bgr.shape[:2]
    scale = scale if scale is not None else max(0.8, height / 200.0)
    thickness = max(2, int(round(scale * 2)))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = int(round(10 * scale / 2)) + 2
    origin = ((width - w) // 2 - pad, (height - h - base) // 2 - pad)
    _text_block(bgr, [text], origin, scale, color, background, 0.5, thickness)


def draw_probabilities(
    bgr: np.ndarray,
    classes: Sequence[str],
    probabilities: np.ndarray,
    *,
    top: int = 5,
    origin: tuple[int, int] | None = None,
    bar_width: int | None = None,
) -> None:
    """Draw the most probable classes as horizontal bars, in place.

    Args:
        bgr: (H, W, 3) uint8 BGR image, drawn on in place.
        classes: (C,) class names.
        probabilities: (C,) probabilities in [0, 1], same order as `classes`.
        top: how many classes to show, most probable first.
        origin: (x, y) of the top-left corner; default bottom-left of the image.
        bar_width: length in pixels of a bar at probability 1.

    Raises:
        ValueError: `classes` and `probabilities` differ in length.
    """
    cv2 = import_cv2()
    probs = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if len(classes) != probs.shape[0]:
        raise ValueError(f"{len(classes)} classes but {probs.shape[0]} probabilities")
    if probs.size == 0:
        return
    height, width = bgr.shape[:2]
    order = np.argsort(-np.nan_to_num(probs, nan=-1.0))[: max(1, top)]
    scale = max(0.35, min(0.7, height / 1000.0))
    row = int(round(22 * scale / 0.5))
    bar_width = bar_width if bar_width is not None else max(40, width // 5)
    x0, y0 = origin if origin is not None else (8, height - 8 - row * len(order))
    font = cv2.FONT_HERSHEY_SIMPLEX
    for n, i in enumerate(order):
        y = y0 + n * row
        p = float(np.clip(np.nan_to_num(probs[i]), 0.0, 1.0))
        cv2.rectangle(bgr, (x0, y + 2), (x0 + bar_width, y + row - 4), (60, 60, 60), -1)
        cv2.rectangle(
            bgr, (x0, y + 2), (x0 + int(round(p * bar_width)), y + row - 4), (80, 200, 80), -1
        )
        cv2.putText(
            bgr,
            f"{classes[i]} {p:.2f}",
            (x0 + bar_width + 6, y + row - 6),
            font,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
