"""The rejection rule's calibration step, run after training (see `poseact.runtime.rejection`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from poseact.core.sequence import LandmarkSequence
from poseact.data.augment import AugmentOptions, augment_windows, random_speed
from poseact.normalize.normalizer import Normalizer
from poseact.runtime.rejection import RejectionRule, calibrate_rejection

__all__ = ["CALIBRATION_DRAWS", "calibrate_model"]

#: Augmented draws of each validation clip, beside the clip itself.
CALIBRATION_DRAWS = 8


def calibration_windows(
    normalizer: Normalizer,
    sequences: Sequence[LandmarkSequence],
    targets: np.ndarray,
    augment: AugmentOptions,
    rng: np.random.Generator,
    draws: int = CALIBRATION_DRAWS,
) -> tuple[np.ndarray, np.ndarray]:
    """(M, W, F) windows and (M,) targets: each clip once as is, and `draws` times
    augmented the way training augments (mirror, rotation, scale, speed, noise, crops).

    A few validation clips give too few windows for a quantile, and early stopping picked
    the weights that suit exactly those clips best: their clean windows score higher
    than new recordings will. The augmented draws widen them the way new recordings
    differ.
    """
    spec = normalizer.spec
    clean, drawn = [], []
    for sequence in sequences:
        positions = normalizer.resampled(sequence)
        clean.append(normalizer.window(positions))
        for _ in range(draws):
            p = random_speed(positions, augment, rng)
            start = None
            if p.shape[0] > spec.window:
                start = int(rng.integers(0, p.shape[0] - spec.window + 1))
            drawn.append(normalizer.window(p, start=start))
    windows = np.stack(clean)
    if drawn:
        drawn_windows = augment_windows(np.stack(drawn), spec.layout, augment, rng)
        windows = np.concatenate([windows, drawn_windows])
    labels = np.concatenate([targets, np.repeat(targets, draws)])
    return normalizer.features(windows).astype(np.float32), np.asarray(labels, dtype=np.int64)


def calibrate_model(
    net,
    normalizer: Normalizer,
    sequences: Sequence[LandmarkSequence],
    targets: np.ndarray,
    classes: Sequence[str],
    *,
    false_reject: float,
    background: str | None,
    augment: AugmentOptions,
    seed: int,
) -> RejectionRule:
    """A rejection rule for a trained Keras network from validation clips.

    Args:
        net: the trained Keras model ((N, W, F) → (N, C) probabilities).
        normalizer: the model's normalizer.
        sequences: validation clips (the training clips when there are none).
        targets: (N,) their class indices.
        classes: (C,) labels.
        false_reject: target share of known windows answered "unknown".
        background: the "no gesture" label (never rejected).
        augment: the training augmentation, applied to the calibration draws.
        seed: seed of the draws (a generator of its own: training is not affected).
    """
    rng = np.random.default_rng([seed, 12])
    x, y = calibration_windows(normalizer, sequences, targets, augment, rng)
    probs = np.asarray(net.predict(x, verbose=0, batch_size=256))
    return calibrate_rejection(probs, y, classes, false_reject=false_reject, background=background)
