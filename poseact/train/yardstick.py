"""The classical yardstick: a random forest on per-clip statistics of poseact's features.

Every clip becomes one vector: the mean, standard deviation, minimum and maximum over
its whole duration of each normalized coordinate (poseact's normalizer, positions on
the `fps` grid) and of each velocity (frame-to-frame difference). A scikit-learn
`RandomForestClassifier` (or `HistGradientBoostingClassifier`) learns from those.
It is what a practitioner would try first, so every poseact model must beat it on
the same splits (`poseact compare`, benchmarks/bench_quality.py).

No Keras; scikit-learn only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from poseact.core.errors import DatasetError
from poseact.core.sequence import LandmarkSequence
from poseact.data.dataset import Dataset
from poseact.normalize.normalizer import GridCache, Normalizer
from poseact.normalize.spec import NormalizerSpec
from poseact.train.classifier import NotFittedError

__all__ = ["yardstick_note", "YARDSTICK_MODELS", "clip_statistics", "ClipStatisticsClassifier"]

#: Every `ClipStatisticsClassifier.estimator`.
YARDSTICK_MODELS = ("random_forest", "gradient_boosting")


def clip_statistics(positions: np.ndarray) -> np.ndarray:
    """One clip's statistics vector.

    Args:
        positions: (n, K, C) normalized grid positions, NaN where missing.

    Returns:
        (8 · K · C,) float32: mean, std, min and max over time of the positions, then
        the same of the velocities (0 for a one-frame clip); missing values, and
        velocities next to them, count as 0.
    """
    flat = positions.reshape(len(positions), -1)
    velocity = np.diff(flat, axis=0) if len(flat) > 1 else np.zeros_like(flat)
    parts = []
    for values in (flat, velocity):
        values = np.nan_to_num(values, nan=0.0)
        parts += [values.mean(0), values.std(0), values.min(0), values.max(0)]
    return np.concatenate(parts).astype(np.float32)


class ClipStatisticsClassifier(ClassifierMixin, BaseEstimator):
    """Random forest (or gradient boosting) on per-clip statistics (`clip_statistics`).

    Args:
        normalizer: `NormalizerSpec` for the positions (its window is not used: the
            statistics cover the whole clip); default: the data's layout at 30 fps, without
            the path stream (statistics of the parts' normalized shapes and their motion).
        estimator: "random_forest" (300 trees, built on every core) or
            "gradient_boosting".
        seed: the estimator's random seed.
    """

    def __init__(
        self,
        normalizer: NormalizerSpec | None = None,
        estimator: str = "random_forest",
        seed: int = 0,
    ) -> None:
        self.normalizer = normalizer
        self.estimator = estimator
        self.seed = seed

    def _statistics(self, X, cache: GridCache | None = None) -> np.ndarray:
        if isinstance(X, LandmarkSequence):
            X = [X]
        sequences = X.sequences if isinstance(X, Dataset) else list(X)
        if cache is not None:
            self.normalizer_.cache = cache
        return np.stack([clip_statistics(self.normalizer_.resampled(s)) for s in sequences])

    def fit(
        self,
        X,
        y: Sequence[str] | None = None,
        *,
        cache: GridCache | None = None,
    ) -> ClipStatisticsClassifier:
        """Train on a `Dataset`, or on sequences `X` with labels `y`.

        Raises:
            DatasetError: empty data or an unknown estimator.
        """
        if isinstance(X, Dataset):
            labels = list(X.labels)
            layout = X.layout
        else:
            if y is None:
                raise DatasetError("labels y are required when X is a list of sequences")
            labels = [str(v) for v in y]
            layout = X[0].layout if len(X) else "pose"
        if not labels:
            raise DatasetError("cannot fit the yardstick on an empty dataset")
        if self.estimator not in YARDSTICK_MODELS:
            raise DatasetError(
                f"unknown yardstick estimator {self.estimator!r}; expected one of"
                f" {YARDSTICK_MODELS}"
            )
        spec = self.normalizer or NormalizerSpec(layout=layout, fps=30.0, path=False)
        self.normalizer_ = Normalizer(spec, cache=cache)
        features = self._statistics(X)
        if self.estimator == "random_forest":
            from sklearn.ensemble import RandomForestClassifier

            # on every core: the same trees as on one (each tree's seed is drawn first)
            model = RandomForestClassifier(n_estimators=300, random_state=self.seed, n_jobs=-1)
        else:
            from sklearn.ensemble import HistGradientBoostingClassifier

            model = HistGradientBoostingClassifier(random_state=self.seed)
        self.model_ = model.fit(features, np.array(labels))
        self.classes_ = self.model_.classes_
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this ClipStatisticsClassifier is not fitted yet; call fit()")

    def predict_proba(self, X) -> np.ndarray:
        """(N, C) class probabilities, columns in `classes_` order."""
        self._check_fitted()
        return self.model_.predict_proba(self._statistics(X)).astype(np.float32)

    def predict(self, X) -> np.ndarray:
        """(N,) predicted labels."""
        self._check_fitted()
        return self.model_.predict(self._statistics(X))

    def score(self, X, y=None, sample_weight=None) -> float:
        """Accuracy on a Dataset, or on sequences `X` with labels `y`."""
        labels = list(X.labels) if isinstance(X, Dataset) else [str(v) for v in y]
        return float(np.mean(self.predict(X) == np.array(labels)))


#: The least lead of the yardstick over the network that `yardstick_note` reports: 5
#: points of accuracy, and two standard errors of the difference of the two accuracies
#: on that many clips (48 clips at chance differ by 0.2 by luck alone).
CLEAR_MARGIN = 0.05
#: Fewer training clips per class than this: likely too few for the network.
FEW_CLIPS = 15


def yardstick_note(
    network: float,
    yardstick: float,
    clips: int,
    *,
    spec: NormalizerSpec,
    per_class: int,
    median_duration: float,
) -> str | None:
    """One line when the yardstick beats the network clearly on the same held-out clips
    (by `CLEAR_MARGIN` and by two standard errors of the difference of the accuracies).

    Args:
        network, yardstick: their accuracies on the same clips.
        clips: how many clips were evaluated.
        spec: the network's fitted normalizer (its window and streams).
        per_class: the fewest training clips of a class.
        median_duration: the training clips' median length, seconds.

    Returns:
        None, or "note: a random forest on clip statistics scores ... : likely cause".
    """
    lead = yardstick - network
    if clips <= 0:
        return None
    spread = (yardstick * (1 - yardstick) + network * (1 - network)) / clips
    if lead < max(CLEAR_MARGIN, 2.0 * float(np.sqrt(spread))) - 1e-9:
        return None
    seconds = spec.window / spec.fps
    if per_class < FEW_CLIPS:
        cause = (
            f"likely too few training clips (the smallest class has {per_class}) for the"
            " network, which needs more than a forest does; record more clips"
        )
    elif median_duration > 1.6 * seconds and spec.sampling != "segments":
        cause = (
            f"likely the window: the network sees {seconds:.2f} s of clips that last"
            f" {median_duration:.2f} s (median), the forest every frame; try"
            " --sampling segments or a longer --window"
        )
    elif not spec.path:
        cause = (
            "likely the path stream being off (--path, NormalizerSpec.path): where the hands and"
            " body go, not only their shape, may be what tells the classes apart"
        )
    else:
        cause = (
            "the classes differ in whole-clip statistics the network did not learn; try"
            " `poseact compare` (other streams and architectures)"
        )
    return (
        f"note: a random forest on clip statistics scores {yardstick:.3f} on the same"
        f" clips, {lead:.3f} above the network: {cause}"
    )
