"""Open-set rejection: answer "unknown" when the model is not sure enough.

A closed-set classifier always names one of its classes, even for a movement it was
never taught. A `RejectionRule` holds one threshold per class on the top probability
(offline: the window's probability; live: the smoothed one the decisions use): when the
best class's probability is below that class's threshold, the answer is `unknown`.
The background class is never rejected (it already means "no gesture").

`calibrate_rejection` sets the thresholds from validation windows, for a target
false-reject rate: class c's threshold is the `false_reject` quantile of the
probability that the validation windows of class c get for c, so about that share of
known gestures is answered `unknown`. `GestureClassifier.fit` runs it after training
(`TrainingOptions.reject_rate`, `poseact.train.calibration`) on each validation clip
and 8 augmented draws of it.

The rule is stored in the exported model (`poseact.json`, key "rejection") and applied
the same way by `TFLiteGestureModel.predict`, `Decider` (live) and the web page
(`web_assets/poseact.js`). numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from poseact.core.errors import ModelFormatError

__all__ = ["UNKNOWN", "RejectionRule", "calibrate_rejection"]

#: The answer for a movement the model does not recognize.
UNKNOWN = "unknown"
RULE = "max_probability"


@dataclass(frozen=True, kw_only=True)
class RejectionRule:
    """Per-class thresholds on the top probability; below them the answer is `unknown`.

    Attributes:
        thresholds: label -> minimum probability for that label to be answered.
        unknown: the answer below threshold.
        false_reject: the target share of known windows answered `unknown`, used at
            calibration.
        windows: how many validation windows the thresholds were calibrated on.
    """

    thresholds: dict[str, float] = field(default_factory=dict)
    unknown: str = UNKNOWN
    false_reject: float = 0.05
    windows: int = 0

    def threshold(self, label: str) -> float:
        """The minimum probability for `label` (0 for a label without a threshold)."""
        return self.thresholds.get(label, 0.0)

    def accepts(self, label: str, probability: float) -> bool:
        """True when `label` with `probability` is answered (not `unknown`)."""
        return probability >= self.threshold(label)

    def apply(
        self, probabilities: np.ndarray, classes: Sequence[str], background: str | None = None
    ) -> np.ndarray:
        """(N,) answers for (N, C) probabilities: the best class, or `unknown` below its
        threshold (the background is always answered)."""
        probabilities = np.asarray(probabilities)
        best = np.argmax(probabilities, axis=1)
        labels = np.array([str(c) for c in classes], dtype=object)[best]
        limits = np.array([self.threshold(str(c)) for c in classes])[best]
        top = probabilities[np.arange(len(best)), best]
        rejected = (top < limits) & (labels != background)
        out = labels.astype(str).astype(object)
        out[rejected] = self.unknown
        return out.astype(str)

    def to_dict(self) -> dict[str, Any]:
        """The stored form (the "rejection" object of `poseact.json`)."""
        return {
            "rule": RULE,
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "unknown": self.unknown,
            "false_reject": self.false_reject,
            "windows": self.windows,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, classes: Sequence[str], where: str = "model"
    ) -> RejectionRule:
        """A rule from its stored form (checked by `ModelMetadata.from_dict` when read
        from a model file); raises ModelFormatError naming `where`."""
        thresholds = data.get("thresholds") if isinstance(data, dict) else None
        if not isinstance(thresholds, dict) or not set(thresholds) <= set(classes):
            raise ModelFormatError(
                f"{where}: invalid poseact metadata: rejection needs thresholds for classes"
                f" {list(classes)}"
            )
        return cls(
            thresholds={str(k): float(v) for k, v in thresholds.items()},
            unknown=str(data.get("unknown", UNKNOWN)),
            false_reject=float(data.get("false_reject", math.nan)),
            windows=int(data.get("windows", 0)),
        )


def calibrate_rejection(
    probabilities: np.ndarray,
    targets: np.ndarray,
    classes: Sequence[str],
    *,
    false_reject: float = 0.05,
    background: str | None = None,
) -> RejectionRule:
    """Thresholds for a target false-reject rate on validation windows.

    Args:
        probabilities: (N, C) the model's probabilities for N validation windows.
        targets: (N,) their true class indices.
        classes: (C,) labels.
        false_reject: target share of known windows answered `unknown`, in [0, 1).
        background: the "no gesture" label, never rejected (no threshold).

    Returns:
        A `RejectionRule`: class c's threshold is the `false_reject` quantile (linear)
        of the probabilities of c on the windows of class c; a class without
        validation windows gets the same quantile over all windows' own-class
        probabilities.

    Raises:
        ValueError: `false_reject` outside [0, 1), no windows, or shapes that disagree.
    """
    if not 0.0 <= false_reject < 1.0:
        raise ValueError(f"false_reject must be in [0, 1), got {false_reject}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if probabilities.ndim != 2 or probabilities.shape != (len(targets), len(classes)):
        raise ValueError(
            f"probabilities have shape {probabilities.shape}, expected (N, C) ="
            f" ({len(targets)}, {len(classes)})"
        )
    if len(targets) == 0:
        raise ValueError("calibrate_rejection needs at least one validation window")
    own = probabilities[np.arange(len(targets)), targets]
    overall = float(np.quantile(own, false_reject))
    thresholds = {}
    for c, label in enumerate(classes):
        if label == background:
            continue
        scores = own[targets == c]
        thresholds[str(label)] = (
            float(np.quantile(scores, false_reject)) if len(scores) else overall
        )
    return RejectionRule(
        thresholds=thresholds, false_reject=float(false_reject), windows=int(len(targets))
    )
