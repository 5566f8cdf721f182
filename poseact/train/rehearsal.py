"""Rehearsal memory: a few normalized training windows per class, kept for fine-tuning (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from poseact.core.errors import DatasetError
from poseact.data.dataset import Dataset
from poseact.normalize.normalizer import Normalizer

#: Clips per class `GestureClassifier.fit` keeps as rehearsal memory (saved with it).
MEMORY_PER_CLASS = 5


# ---------------------------------------------------------------------- memory
@dataclass(frozen=True, eq=False)
class RehearsalMemory:
    """A few normalized training windows per class, kept for rehearsal.

    Attributes:
        positions: (M, W, K, C) float32 normalized window positions, NaN where missing
            (what `Normalizer.positions` gives; augmented and featurized in training).
        labels: (M,) label of each window.
    """

    positions: np.ndarray
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        positions = np.asarray(self.positions, dtype=np.float32)
        if positions.ndim != 4 or len(positions) != len(self.labels):
            raise DatasetError(
                f"rehearsal memory has positions {positions.shape} for {len(self.labels)} labels"
            )
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "labels", tuple(str(v) for v in self.labels))

    def __len__(self) -> int:
        return len(self.labels)

    def only(self, labels) -> RehearsalMemory:
        """The windows whose label is in `labels`."""
        wanted = set(labels)
        keep = [i for i, label in enumerate(self.labels) if label in wanted]
        return RehearsalMemory(self.positions[keep], tuple(self.labels[i] for i in keep))

    def capped(self, per_class: int) -> RehearsalMemory:
        """At most the first `per_class` windows of each label."""
        seen: dict[str, int] = {}
        keep = []
        for i, label in enumerate(self.labels):
            if seen.get(label, 0) < per_class:
                seen[label] = seen.get(label, 0) + 1
                keep.append(i)
        return RehearsalMemory(self.positions[keep], tuple(self.labels[i] for i in keep))

    def merged(self, other: RehearsalMemory) -> RehearsalMemory:
        """This memory plus `other`'s windows of the labels this one lacks."""
        extra = other.only(set(other.labels) - set(self.labels))
        return RehearsalMemory(
            np.concatenate([self.positions, extra.positions]), self.labels + extra.labels
        )


def build_memory(
    normalizer: Normalizer, data: Dataset, per_class: int = MEMORY_PER_CLASS, *, seed: int = 0
) -> RehearsalMemory:
    """Pick up to `per_class` clips of each class, spread over groups (subjects).

    Args:
        normalizer: the model's normalizer; windows are `normalizer.positions(clip)`.
        data: the clips to choose from.
        per_class: clips kept per class.
        seed: seed of the choice.
    """
    rng = np.random.default_rng([seed, 7])
    chosen: list[int] = []
    labels = np.array(data.labels)
    groups = np.array(data.groups)
    for label in data.classes:
        idx = rng.permutation(np.flatnonzero(labels == label))
        # round robin over groups: one clip per subject before a second one
        rank = np.empty(len(idx), dtype=np.int64)
        counts: dict[str, int] = {}
        for j, i in enumerate(idx):
            rank[j] = counts.get(groups[i], 0)
            counts[groups[i]] = rank[j] + 1
        chosen += [int(i) for i in idx[np.argsort(rank, kind="stable")][:per_class]]
    spec = normalizer.spec
    if not chosen:
        shape = (0, spec.window, spec.grid_points, spec.channels)
        return RehearsalMemory(np.empty(shape, np.float32), ())
    positions = np.stack([normalizer.positions(data.sequences[i]) for i in chosen])
    return RehearsalMemory(positions, tuple(data.labels[i] for i in chosen))
