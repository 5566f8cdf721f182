"""Fitting a normalizer to training clips: data-driven timing and feature standardization."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from poseact.core.sequence import LandmarkSequence
from poseact.normalize.normalizer import GridCache, Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.normalize.timing import choose_timing

__all__ = ["fit_normalizer", "feature_statistics"]

logger = logging.getLogger(__name__)

#: The smallest standard deviation a feature is divided by (body-size units, or π for
#: angles: 1 % of the torso, 1.8°). Smaller variations are tracker noise; dividing by
#: their std would amplify noise (and float rounding) a thousandfold.
MIN_STD = 0.01


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of (N, F) raw features, ignoring NaN (missing).

    Returns:
        ((F,) mean, (F,) std) float64; a feature never seen gets mean 0 and std 1,
        and no std is below `MIN_STD`.
    """
    x = np.asarray(features, dtype=np.float64)
    seen = np.isfinite(x)
    count = seen.sum(axis=0)
    total = np.where(seen, x, 0.0).sum(axis=0)
    mean = np.divide(total, count, out=np.zeros(x.shape[1]), where=count > 0)
    square = np.where(seen, (x - mean) ** 2, 0.0).sum(axis=0)
    std = np.sqrt(np.divide(square, count, out=np.zeros(x.shape[1]), where=count > 0))
    std = np.where(count > 0, np.maximum(std, MIN_STD), 1.0)
    return mean, std


def fit_normalizer(
    spec: NormalizerSpec,
    sequences: Sequence[LandmarkSequence],
    *,
    cache: GridCache | None = None,
) -> tuple[Normalizer, list[np.ndarray]]:
    """The normalizer `fit` trains with: timings and standardization from the clips.

    Timings left as None are chosen by `poseact.normalize.timing.choose_timing`
    (logged); with `spec.standardize` and no mean/std given, the per-feature mean and
    std of the clips' unaugmented windows are stored in the spec.

    Args:
        spec: the requested spec (explicit settings are kept).
        sequences: the training clips.
        cache: a shared `GridCache`, or None.

    Returns:
        (the fitted normalizer, the clips' grid positions (n, K, C) under it).
    """
    durations = np.array([s.duration for s in sequences], dtype=np.float64)
    rates = np.array([s.fps if len(s) > 1 else np.nan for s in sequences], dtype=np.float64)
    timed, why = choose_timing(spec, durations, rates)
    if why:
        logger.info("normalizer: %s", why)
    normalizer = Normalizer(timed, cache=cache)
    positions = [normalizer.resampled(s) for s in sequences]
    if timed.standardize and not timed.feature_mean:
        raw = np.concatenate([normalizer.raw_features(normalizer.window(p)) for p in positions])
        mean, std = feature_statistics(raw)
        timed = replace(timed, feature_mean=tuple(mean), feature_std=tuple(std))
        normalizer = Normalizer(timed, cache=cache)
    return normalizer, positions
