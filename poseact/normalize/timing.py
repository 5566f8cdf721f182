"""Data-driven timing: the grid rate, window and sampling chosen from the training clips.

`GestureClassifier.fit` calls `choose_timing` for every `NormalizerSpec` timing left as
None (explicit settings always win). The rule (docs/normalizer.md):

1. fps: the clips' median frame rate rounded to a whole number, at most `MAX_FPS`
   (30): the grid never invents frames a camera did not see, and 30 fps resolves
   every human gesture.
2. window: covers the typical (median-length) clip, `round(duration · fps) + 1` frames,
   within [`MIN_WINDOW`, `MAX_WINDOW`] (64 frames keep training fast and models small).
3. sampling: "segments" (TSN: one frame from each of `window` equal parts of the whole
   clip) when a tenth of the clips or more are over `LONG_CLIP` times the window, so
   that no clip loses most of its frames; else "center".

Lowering the rate instead, so that a 64-frame window spans a long typical clip in
real time, was measured and lost (embedded dataset, 2.7 s clips: 0.94 at 23.9 fps vs
1.00 at 30 fps with segments, benchmarks/bench_quality.py).

Plain numpy, no Keras.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from poseact.normalize.spec import NormalizerSpec

__all__ = ["MAX_FPS", "MIN_WINDOW", "MAX_WINDOW", "LONG_CLIP", "choose_timing"]

logger = logging.getLogger(__name__)

MAX_FPS = 30.0
MIN_WINDOW = 8
MAX_WINDOW = 64
LONG_CLIP = 1.25


def choose_timing(
    spec: NormalizerSpec, durations: np.ndarray, rates: np.ndarray
) -> tuple[NormalizerSpec, str]:
    """Fill the spec's timings left as None from the training clips.

    Args:
        spec: the requested spec; fps, window and sampling that are set are kept.
        durations: (N,) clip durations, seconds (last minus first timestamp).
        rates: (N,) clip frame rates, frames per second.

    Returns:
        (the spec with every timing set, a one-line description of what was chosen
        and why, or "" when nothing was left to choose).
    """
    if spec.is_resolved:
        return spec, ""
    durations = np.asarray(durations, dtype=np.float64)
    rates = np.asarray(rates, dtype=np.float64)
    rates = rates[np.isfinite(rates) & (rates > 0)]
    if len(durations) == 0:
        return spec.resolved(), ""
    typical = float(np.median(durations))
    why = []
    fps = spec.fps
    if fps is None:
        # nominal rates are whole numbers (29.97 and a jittery 29.9 are 30 fps)
        fps = float(max(1, round(min(MAX_FPS, np.median(rates))))) if len(rates) else MAX_FPS
        why.append(f"fps={fps:g} (clips at {np.median(rates) if len(rates) else 0:.3g} fps)")
    window = spec.window
    if window is None:
        window = int(np.clip(round(typical * fps) + 1, MIN_WINDOW, MAX_WINDOW))
        why.append(f"window={window} ({window / fps:.2f} s; median clip {typical:.2f} s)")
    sampling = spec.sampling
    if sampling is None:
        frames = durations * fps + 1
        long_share = float(np.mean(frames > LONG_CLIP * window))
        sampling = "segments" if long_share >= 0.1 else "center"
        why.append(f"sampling={sampling} ({long_share:.0%} of clips over {LONG_CLIP}x the window)")
    chosen = replace(spec, fps=float(fps), window=int(window), sampling=sampling)
    return chosen, "chose " + ", ".join(why) + f" from {len(durations)} training clips"
