"""`architecture="auto"`: choose the network by grouped cross-validation within a budget.

`GestureClassifier.fit` with `ModelOptions(architecture="auto")` scores each of
`AUTO_CANDIDATES` (in order) by k-fold cross-validation on the training clips — folds
keep each subject (group) whole when the data has groups, else they are stratified by
class — then trains the most accurate on all the clips. Candidates are tried while the
time spent stays within `ModelOptions.auto_seconds`; the first candidate is always
scored. What was tried is logged and kept in `GestureClassifier.auto_report_`.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from poseact.core.choices import AUTO_CANDIDATES
from poseact.data.dataset import Dataset
from poseact.normalize.normalizer import GridCache
from poseact.normalize.spec import NormalizerSpec
from poseact.train.options import ModelOptions, TrainingOptions

__all__ = ["AUTO_FOLDS", "choose_architecture", "cross_validation_folds"]

logger = logging.getLogger(__name__)

AUTO_FOLDS = 3


def cross_validation_folds(
    data: Dataset, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs: grouped when the data has ≥ `folds` groups, else stratified."""
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    labels = np.array(data.labels)
    groups = np.array(data.groups)
    if len(set(data.groups)) >= folds and len(set(data.groups)) < len(data):
        return list(GroupKFold(folds).split(labels, labels, groups))
    smallest = min(np.unique(labels, return_counts=True)[1])
    k = int(max(2, min(folds, smallest)))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(labels, labels))


def choose_architecture(
    data: Dataset,
    spec: NormalizerSpec,
    model: ModelOptions,
    training: TrainingOptions,
    *,
    estimator: type,
    cache: GridCache | None = None,
) -> tuple[ModelOptions, list[dict]]:
    """The candidate with the best cross-validated accuracy, and what was tried.

    Args:
        estimator: the classifier class trained per fold (`GestureClassifier`).

    Returns:
        (`model` with the chosen architecture, one dict per candidate tried:
        architecture, fold accuracies, mean accuracy, seconds).
    """
    folds = cross_validation_folds(data, AUTO_FOLDS, training.seed)
    started = time.perf_counter()
    tried: list[dict] = []
    for architecture in AUTO_CANDIDATES:
        spent = time.perf_counter() - started
        if tried and spent > model.auto_seconds:
            logger.info(
                "auto: time budget of %.0f s used; %s not tried", model.auto_seconds, architecture
            )
            break
        options = dataclasses.replace(model, architecture=architecture)
        scores = []
        begin = time.perf_counter()
        for train_idx, test_idx in folds:
            clf = estimator(normalizer=spec, model=options, training=training)
            clf.fit(data.subset(train_idx), cache=cache)
            scores.append(clf.score(data.subset(test_idx)))
        tried.append(
            {
                "architecture": architecture,
                "folds": [float(s) for s in scores],
                "accuracy": float(np.mean(scores)),
                "seconds": time.perf_counter() - begin,
            }
        )
        logger.info(
            "auto: %s %.3f over %d folds (%.0f s)",
            architecture, tried[-1]["accuracy"], len(folds), tried[-1]["seconds"],
        )  # fmt: skip
    best = max(tried, key=lambda t: t["accuracy"])  # ties: the earlier candidate
    logger.info("auto: chose %s", best["architecture"])
    return dataclasses.replace(model, architecture=best["architecture"]), tried
