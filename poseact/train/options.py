"""Options of the train stage: `ModelOptions` (the network) and `TrainingOptions` (the recipe)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from poseact.core.choices import INPUT_STREAMS, MODEL_ARCHITECTURES
from poseact.data.augment import AugmentOptions


@dataclass(frozen=True, kw_only=True)
class ModelOptions:
    """Architecture of the network.

    Attributes:
        architecture: the network: "stats_pool" (statistics pooling over time), "gru",
            "lstm", "tcn", "transformer", the MLP baselines, or "auto": the best of a
            few candidates by cross-validation on the training clips (see
            `poseact.train.auto`).
        units: width of each recurrent or hidden layer (32-128 keeps models < 100 KB).
        layers: number of recurrent layers or transformer blocks (1-3); ignored by
            the MLPs and the TCN (its depth follows the window).
        dropout: dropout rate before the classification head.
        inputs: the per-frame stream(s) the network sees: "positions", "velocities",
            "both" (all normalizer features, concatenated) or "two_branch" (one Dense
            branch per stream, merged); velocities need the normalizer's velocity
            features (on by default).
        auto_seconds: time budget of `architecture="auto"`, seconds: candidates are
            cross-validated (3 folds each) until it is spent, then the best is trained.
    """

    architecture: str = "stats_pool"
    units: int = 64
    layers: int = 1
    dropout: float = 0.2
    inputs: str = "both"
    auto_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.architecture not in MODEL_ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; expected one of {MODEL_ARCHITECTURES}"
            )
        if not self.auto_seconds > 0:
            raise ValueError(f"ModelOptions.auto_seconds must be > 0, got {self.auto_seconds}")
        if not 1 <= self.units <= 1024:
            raise ValueError(f"ModelOptions.units must be in [1, 1024], got {self.units}")
        if self.layers not in (1, 2, 3):
            raise ValueError(f"ModelOptions.layers must be 1, 2 or 3, got {self.layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelOptions.dropout must be in [0, 1), got {self.dropout}")
        if self.inputs not in INPUT_STREAMS:
            raise ValueError(
                f"unknown ModelOptions.inputs {self.inputs!r}; expected one of {INPUT_STREAMS}"
            )


@dataclass(frozen=True, kw_only=True)
class TrainingOptions:
    """How to train.

    Attributes:
        epochs: maximum passes over the training clips; with a validation split,
            training ends sooner, once it stops improving (see patience).
        batch_size: windows per gradient step.
        learning_rate: Adam learning rate.
        validation_fraction: share of the training clips (by group) held out for early
            stopping; 0 trains for all epochs.
        patience: epochs without validation improvement before stopping.
        label_smoothing: share of each target spread evenly over all classes (the
            Kaggle ISLR 2023 recipe uses 0.1-0.5); 0 trains on hard labels.
        dropout_from_epoch: "late dropout" (ISLR 2023's winner): the network's
            dropout layers stay off for this many epochs, then switch on; 0 = on from
            the start.
        class_weights: weight classes inversely to their frequency.
        augment: on-the-fly augmentation.
        seed: seed of every random choice (weights, shuffling, augmentation, splits).
        weight_averaging: decay of a per-epoch exponential moving average of the
            weights (Polyak averaging): early stopping scores, and the model keeps, the
            averaged weights, which span the last ~1 / (1 - decay) epochs (5 at 0.8)
            instead of one epoch's; 0 keeps each epoch's own weights.
        hard_negatives: hard-negative emphasis with a background class: from the sixth
            epoch on, each epoch shares the background class's weight among its clips
            by how much the network, as it is then, takes each for a gesture (1 - the
            background probability of its hardest window), mixed with the even share by
            this fraction (1: in proportion to that; 0, the default: even). For a
            background of real motion that can look like a gesture (a hand's arcs
            between gestures); measured, it cut false alarms there and cost the small
            ASL set 17 points of event F1 (docs/streaming.md, "Background that looks
            like a gesture").
        reject_rate: after training, calibrate an open-set rejection rule
            (`poseact.runtime.rejection`): a window farther from the known clips of its
            best class than that class's threshold is answered "unknown", the
            thresholds set so that about this share of new recordings of known
            gestures is (0.01 by default: at most about one point of known-class
            accuracy); None trains a closed-set model (always a class).
    """

    epochs: int = 200
    batch_size: int = 32
    learning_rate: float = 3e-3
    validation_fraction: float = 0.15
    patience: int = 20
    label_smoothing: float = 0.0
    dropout_from_epoch: int = 0
    class_weights: bool = True
    augment: AugmentOptions = field(default_factory=AugmentOptions)
    seed: int = 0
    weight_averaging: float = 0.8
    hard_negatives: float = 0.0
    reject_rate: float | None = 0.01

    def __post_init__(self) -> None:
        if self.reject_rate is not None and not 0.0 <= self.reject_rate < 1.0:
            raise ValueError(
                f"TrainingOptions.reject_rate must be in [0, 1) or None, got {self.reject_rate}"
            )
        if self.epochs < 1:
            raise ValueError(f"TrainingOptions.epochs must be >= 1, got {self.epochs}")
        if not 0.0 <= self.weight_averaging < 1.0:
            raise ValueError(
                f"TrainingOptions.weight_averaging must be in [0, 1), got {self.weight_averaging}"
            )
        if not 0.0 <= self.hard_negatives <= 1.0:
            raise ValueError(
                f"TrainingOptions.hard_negatives must be in [0, 1], got {self.hard_negatives}"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"TrainingOptions.label_smoothing must be in [0, 1), got {self.label_smoothing}"
            )
        if self.dropout_from_epoch < 0:
            raise ValueError(
                f"TrainingOptions.dropout_from_epoch must be >= 0, got {self.dropout_from_epoch}"
            )
        if self.batch_size < 1:
            raise ValueError(f"TrainingOptions.batch_size must be >= 1, got {self.batch_size}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"TrainingOptions.learning_rate must be a finite number > 0, got"
                f" {self.learning_rate}"
            )
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError("TrainingOptions.validation_fraction must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingOptions:
        data = dict(data)
        # files written before transition windows existed were trained without them
        # (and with those a window answered a gesture from half of it on)
        augment = {"transitions": 0.0, "onset": None, **data.get("augment", {})}
        data["augment"] = AugmentOptions(**augment)
        # ... and before weight averaging, without it
        data.setdefault("weight_averaging", 0.0)
        # ... and before hard negatives, with the background's weight shared evenly
        data.setdefault("hard_negatives", 0.0)
        return cls(**data)
