"""Open-set rejection: answer "unknown" for a movement unlike every clip the model knows.

A closed-set classifier always names one of its classes, even for a movement it was
never taught, and often with a high probability: the network only learned what tells
its classes apart. A `RejectionRule` asks another question: does this window look like
the known clips of the class the network named? Each window is summarized by a
descriptor, the median over time of each of its F model features and its (scaled)
median absolute deviation ((W, F) → (2F,); `DESCRIPTOR`), standardized by the
within-class spread of the gestures' training clips (not the background's: "everything
else" would make all gestures look alike).
The rule keeps some training clips of each class as references (all of them while they
fit `REFERENCE_BUDGET`, else a farthest-point choice: each next reference is the clip
farthest from those chosen, so a few of them cover the class's spread), each stored as
int8 numbers with a scale; a window whose
distance to the nearest reference of its best class is above that class's threshold is
answered `unknown`. The background class is never rejected (it already means "no
gesture").

Distances are Euclidean with each descriptor number's difference capped (`CAP`
spreads), so one feature gone wild cannot carry a known clip away by itself.

`calibrate_rejection` sets the thresholds for a target false-reject rate from the
distances of known clips of each class to the nearest reference of it that is not from
their own group (subject or recording), and of the validation clips to the nearest
reference: each class keeps its mean distance, and one tail for all classes is fitted
to the pooled ratios distance / class mean (an exponential tail beyond their upper
quartile; `pooled_thresholds`), so the threshold extrapolates beyond the few largest
distances of a class instead of being the largest one. So about that share of new
recordings of known gestures is answered `unknown`. `GestureClassifier.fit` runs it
after training (`TrainingOptions.reject_rate`). Measured against the former rule (a
per-class threshold on the top probability) on four real and synthetic sets, with one
class held out at a time: benchmarks/bench_stream.py and docs/streaming.md.

The rule is stored in the exported model (`poseact.json`, key "rejection") and applied
the same way by `TFLiteGestureModel.predict`, `Decider` / `StreamingRecognizer` (live,
over the last W feature rows) and the web page (`web_assets/poseact.js`). numpy only.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from poseact.core.errors import ModelFormatError

__all__ = [
    "UNKNOWN",
    "DESCRIPTOR",
    "REFERENCE_BUDGET",
    "RejectionRule",
    "calibrate_rejection",
    "describe",
    "extend_rejection",
]

logger = logging.getLogger(__name__)

#: The answer for a movement the model does not recognize.
UNKNOWN = "unknown"
RULE = "nearest_clip"
#: Reference descriptors kept in a model, in numbers (references × 2F). Each number is
#: stored as one byte (int8, with a float32 scale per reference; see `RejectionRule`), so
#: the references add at most about 8 KB to a model file, keeping the int8 default model
#: within 100 KB: with 6 gestures of pose landmarks, velocities, joint angles and the
#: path (2F = 424) 3 references per class, with fewer classes or features more (3 ASL
#: signs of pose landmarks: 6). Every class keeps at least `MIN_REFERENCES` (when it has
#: them).
REFERENCE_BUDGET = 8192
MIN_REFERENCES = 3
#: Added to each descriptor dimension's spread (features are standardized or in body
#: units), so a feature that never varied in training cannot divide by zero.
SCALE_FLOOR = 1e-3
#: A descriptor number counts at most this many spreads (`scale`) away from a
#: reference's: one feature gone wild (a tracking glitch, a hand lost for a few frames)
#: cannot carry a known clip beyond its class by itself, while a movement unlike the class
#: differs in many numbers. Measured (with means over time, 2026-12-06) on the
#: `bench_quality` sets and held-out ASL signs (docs/streaming.md): uncapped, single
#: known clips lay 5-7 times their class's mean
#: distance away (one clip of 90 is 1.1 points); capped at 4, known clips of every set
#: but one ASL clip per layout are kept at the default rate, and every held-out sign of
#: the benchmark is still refused (at 3, a held-out "hello" with the hands got through).
CAP = 4.0


#: The share of the pooled calibration ratios below the tail's start (`pooled_tail`): the
#: largest quarter sets the tail. Measured against the former robust log-normal fit of
#: all of them by recalibrating rules on the same trained networks (docs/streaming.md):
#: its factor ranged 1.6-5.1 over five trainings of one set (the reference choice
#: alone changing the ratios' shape), and two of them turned 5 and 8 % of the known
#: test clips away at a rate of 1 %; this one ranges 2.3-3.4 and turns none away.
TAIL_FROM = 0.75


#: How a window is summarized (`describe`): "median_mad", the median over time of each
#: feature and its median absolute deviation from it (times `MAD_TO_STD`, a standard
#: deviation for normal data), or "mean_std", the mean and the standard deviation over
#: time (rules calibrated before 2026-12-07). A few frames of a tracking glitch or of a
#: hand seen in passing move a mean and a standard deviation, not a median. Measured on
#: `bench_quality`'s real sets, each gesture held out of a training (docs/streaming.md):
#: the medians refuse 180 of 180 held-out ASL clips (the means 155) and 3,160 of 3,815
#: held-out fingertip tracks (the means 2,357), for the same known clips kept but two
#: fingertip tracks of 1,319.
DESCRIPTORS = ("median_mad", "mean_std")
DESCRIPTOR = "median_mad"
MAD_TO_STD = 1.4826


def describe(windows: np.ndarray, descriptor: str = DESCRIPTOR) -> np.ndarray:
    """(N, 2F) float64 descriptors of (N, W, F) feature windows: a centre over time of
    each feature (the median; the mean for "mean_std"), then a spread over time (the
    median absolute deviation from the median × `MAD_TO_STD`; the standard deviation)."""
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 3:
        raise ValueError(f"windows have shape {w.shape}, expected (N, W, F)")
    if descriptor == "mean_std":
        return np.concatenate([w.mean(axis=1), w.std(axis=1)], axis=1)
    if descriptor != "median_mad":
        raise ValueError(f"descriptor must be one of {list(DESCRIPTORS)}, got {descriptor!r}")
    median = _median_over_time(w)
    mad = _median_over_time(np.abs(w - median[:, None, :]))
    return np.concatenate([median, MAD_TO_STD * mad], axis=1)


def _median_over_time(w: np.ndarray) -> np.ndarray:
    """(N, F) medians of (N, W, F) over W, numpy's (the mean of the middle two for an
    even W), by one sort: 3-4 times faster than `np.median` on one live window."""
    ordered = np.sort(w, axis=1)
    n = w.shape[1]
    return 0.5 * (ordered[:, (n - 1) // 2] + ordered[:, n // 2])


def _nearest(queries: np.ndarray, references: np.ndarray, cap: float | None = None) -> np.ndarray:
    """(N, R) Euclidean distances between (N, D) and (R, D) rows; with `cap`, each
    number's difference counts at most `cap`: sqrt(sum(min(|q - r|, cap)²))."""
    if cap is not None:
        out = np.empty((len(queries), len(references)))
        for j, ref in enumerate(references):
            out[:, j] = np.sqrt(np.sum(np.minimum(np.abs(queries - ref), cap) ** 2, axis=1))
        return out
    sq = (
        np.sum(queries**2, axis=1)[:, None]
        + np.sum(references**2, axis=1)[None, :]
        - 2.0 * queries @ references.T
    )
    return np.sqrt(np.maximum(sq, 0.0))


@dataclass(frozen=True, kw_only=True, eq=False)
class RejectionRule:
    """Per-class references and distance thresholds; beyond them the answer is `unknown`.

    Attributes:
        center: (D,) descriptor mean of the gestures' training clips (D = 2F; the
            background's clips are left out).
        scale: (D,) their within-class standard deviation (plus `SCALE_FLOOR`).
        references: label -> (n, D) standardized descriptors of known clips, float32,
            each row a multiple of its own scale (int8 in the file: `quantize`).
        thresholds: label -> largest distance to the nearest reference of that label
            that is still answered; a label without one is never rejected.
        unknown: the answer beyond the threshold.
        false_reject: the target share of known clips answered `unknown`, used at
            calibration.
        windows: how many known clips' distances the thresholds were calibrated on.
        cap: the most one descriptor number's difference counts in a distance
            (`CAP`); None: not capped (rules calibrated before the cap existed, 2026-12-06).
        descriptor: how a window is summarized (`DESCRIPTORS`; "mean_std" for rules
            calibrated before 2026-12-07).
        tail: each threshold / its class's mean calibration distance, one factor for
            all classes (`pooled_thresholds`): what a class taught later
            (`extend_rejection`) gets its threshold with. None: rules calibrated before
            2026-12-07.
    """

    center: np.ndarray
    scale: np.ndarray
    references: dict[str, np.ndarray] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    unknown: str = UNKNOWN
    false_reject: float = 0.05
    windows: int = 0
    cap: float | None = None
    descriptor: str = DESCRIPTOR
    tail: float | None = None

    def __post_init__(self) -> None:
        if self.descriptor not in DESCRIPTORS:
            raise ValueError(
                f"descriptor must be one of {list(DESCRIPTORS)}, got {self.descriptor!r}"
            )
        center = np.asarray(self.center, dtype=np.float32).reshape(-1)
        scale = np.asarray(self.scale, dtype=np.float32).reshape(-1)
        if center.shape != scale.shape or not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError(
                f"center {center.shape} and scale {scale.shape} must have one shape, the"
                " scale finite and positive"
            )
        references = {}
        for label, refs in self.references.items():
            refs = np.asarray(refs, dtype=np.float32)
            if refs.ndim != 2 or refs.shape[1] != center.shape[0] or len(refs) == 0:
                raise ValueError(
                    f"references of {label!r} have shape {refs.shape}, expected (n >= 1,"
                    f" {center.shape[0]})"
                )
            references[str(label)] = refs
        missing = sorted(set(self.thresholds) - set(references))
        if missing:
            raise ValueError(f"labels {missing} have a threshold but no references")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "references", references)
        # what distances are computed with, once (not per live row)
        object.__setattr__(
            self, "_references64", {k: v.astype(np.float64) for k, v in references.items()}
        )
        object.__setattr__(
            self, "thresholds", {str(k): float(v) for k, v in self.thresholds.items()}
        )
        if self.cap is not None:
            if not (math.isfinite(self.cap) and self.cap > 0):
                raise ValueError(f"cap must be a positive number, got {self.cap}")
            object.__setattr__(self, "cap", float(self.cap))
        if self.tail is not None:
            if not (math.isfinite(self.tail) and self.tail > 0):
                raise ValueError(f"tail must be a positive number, got {self.tail}")
            object.__setattr__(self, "tail", float(self.tail))

    @property
    def features(self) -> int:
        """F, the model features per frame the rule's descriptors are made of."""
        return self.center.shape[0] // 2

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RejectionRule):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def threshold(self, label: str) -> float:
        """The largest distance answered for `label` (inf for a label without one)."""
        return self.thresholds.get(label, math.inf)

    def distances(self, windows: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """(N, C) distance of each (N, W, F) window to the nearest reference of each
        class (0 for a class without references, such as the background)."""
        windows = np.asarray(windows)
        if windows.ndim == 2:
            windows = windows[None]
        if windows.ndim != 3 or windows.shape[2] != self.features:
            raise ValueError(
                f"windows have shape {windows.shape}, but the rejection rule was calibrated"
                f" on {self.features} features per frame"
            )
        queries = (describe(windows, self.descriptor) - self.center) / self.scale
        out = np.zeros((len(queries), len(classes)))
        for c, label in enumerate(classes):
            refs = self._references64.get(str(label))
            if refs is not None:
                out[:, c] = _nearest(queries, refs, self.cap).min(axis=1)
        return out

    def ratios(self, windows: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """(N, C) distance / threshold of each window for each class: above 1 that class
        is answered `unknown` (0 for a class without a threshold)."""
        limits = np.array([self.threshold(str(c)) for c in classes])
        return self.distances(windows, classes) / limits

    def accepts(self, label: str, ratio: float) -> bool:
        """True when `label`, at `ratio` (distance / threshold), is answered."""
        return label not in self.thresholds or ratio <= 1.0

    def apply(
        self,
        probabilities: np.ndarray,
        windows: np.ndarray,
        classes: Sequence[str],
        background: str | None = None,
    ) -> np.ndarray:
        """(N,) answers: the best class of (N, C) `probabilities`, or `unknown` where its
        (N, W, F) window lies beyond that class's threshold (the background is always
        answered)."""
        probabilities = np.asarray(probabilities)
        best = np.argmax(probabilities, axis=1)
        labels = np.array([str(c) for c in classes], dtype=object)[best]
        ratios = self.ratios(windows, classes)[np.arange(len(best)), best]
        rejected = (ratios > 1.0) & (labels != background)
        out = labels.astype(str).astype(object)
        out[rejected] = self.unknown
        return out.astype(str)

    def to_dict(self) -> dict[str, Any]:
        """The stored form (the "rejection" object of `poseact.json`): arrays as
        little-endian base64 (center and scale float32; references int8, each row with
        its float32 scale: value = code × scale)."""
        return {
            "rule": RULE,
            "descriptor": self.descriptor,
            "center": _encode(self.center, "<f4"),
            "scale": _encode(self.scale, "<f4"),
            "references": {k: _encode_int8(v) for k, v in self.references.items()},
            "thresholds": dict(self.thresholds),
            "unknown": self.unknown,
            "false_reject": self.false_reject,
            "windows": self.windows,
            "cap": self.cap,
            "tail": self.tail,
        }

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        classes: Sequence[str],
        background: str | None = None,
        features: int | None = None,
        where: str = "model",
    ) -> RejectionRule:
        """A rule from its stored form; raises ModelFormatError naming `where`.

        Args:
            data: the "rejection" object.
            classes: the model's labels (thresholds must name only these).
            background: the model's background (it cannot have a threshold).
            features: F of the model's windows, checked against the descriptors.
        """

        def fail(problem: str) -> ModelFormatError:
            return ModelFormatError(f"{where}: invalid poseact metadata: rejection {problem}")

        if not isinstance(data, dict):
            raise fail("must be null or an object")
        if data.get("rule") != RULE:
            raise fail(
                f"rule {data.get('rule')!r} is not supported (this poseact writes {RULE!r});"
                " train the model again with a reject rate to calibrate the current rule"
            )
        thresholds, references = data.get("thresholds"), data.get("references")
        if not isinstance(thresholds, dict) or not isinstance(references, dict):
            raise fail("needs 'thresholds' and 'references' objects")
        strangers = sorted((set(thresholds) | set(references)) - set(classes))
        if strangers:
            raise fail(f"names labels {strangers} that are not classes")
        if background is not None and background in thresholds:
            raise fail(f"cannot have a threshold for the background {background!r}")
        for label, value in thresholds.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise fail(f"threshold of {label!r} must be a positive number, got {value!r}")
        unknown = data.get("unknown", UNKNOWN)
        if not isinstance(unknown, str) or not unknown or unknown in classes:
            raise fail(f"answer {unknown!r} must be a string that is not a class")
        center = _decode(data.get("center"), "<f4", 1, fail, "center")
        dims = center.shape[0]
        scale = _decode(data.get("scale"), "<f4", 1, fail, "scale")
        refs = {
            str(k): _decode_references(v, fail, f"references of {k!r}")
            for k, v in references.items()
        }
        shapes = [scale.shape[0]] + [r.shape[1] for r in refs.values()]
        if dims % 2 or any(s != dims for s in shapes):
            raise fail(f"descriptors disagree in size: center {dims}, others {shapes}")
        if features is not None and dims != 2 * features:
            raise fail(
                f"descriptors have {dims} numbers, but the model's windows have {features}"
                f" features per frame ({2 * features} expected)"
            )
        cap = data.get("cap")  # absent or null: a rule from before the cap
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float)):
            raise fail(f"cap must be a positive number or null, got {cap!r}")
        descriptor = data.get("descriptor", "mean_std")  # checked by the constructor
        tail = data.get("tail")  # absent or null: a rule from before the tail was kept
        if tail is not None and (isinstance(tail, bool) or not isinstance(tail, int | float)):
            raise fail(f"tail must be a positive number or null, got {tail!r}")
        try:
            return cls(
                center=center,
                scale=scale,
                references=refs,
                thresholds=thresholds,
                unknown=unknown,
                false_reject=float(data.get("false_reject", math.nan)),
                windows=int(data.get("windows", 0)),
                cap=None if cap is None else float(cap),
                descriptor=descriptor,
                tail=None if tail is None else float(tail),
            )
        except ValueError as exc:
            raise fail(str(exc)) from None


def _encode(array: np.ndarray, dtype: str) -> dict[str, Any]:
    a = np.ascontiguousarray(array, dtype=dtype)
    return {
        "dtype": _NAMES[dtype],
        "shape": list(a.shape),
        "base64": base64.b64encode(a.tobytes()).decode("ascii"),
    }


def quantize(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, D) int8 codes and (n,) float32 scales of (n, D) rows: code = round(row /
    scale), scale = the row's largest magnitude / 127 (1 for a row of zeros)."""
    rows = np.asarray(rows, dtype=np.float64)
    scale = (np.abs(rows).max(axis=1) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    codes = np.clip(np.round(rows / scale[:, None].astype(np.float64)), -127, 127)
    return codes.astype(np.int8), scale


def dequantize(codes: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(n, D) float32 rows from `quantize`'s codes and scales."""
    return codes.astype(np.float32) * np.asarray(scale, np.float32)[:, None]


def _encode_int8(rows: np.ndarray) -> dict[str, Any]:
    codes, scale = quantize(rows)
    return {
        "dtype": "int8",
        "shape": list(codes.shape),
        "base64": base64.b64encode(codes.tobytes()).decode("ascii"),
        "scale": _encode(scale, "<f4"),
    }


def _decode_references(stored: Any, fail, what: str) -> np.ndarray:
    """(n, D) float32 references: int8 codes with per-row scales, or float16 (models
    exported before the cap existed, 2026-12-06)."""
    if isinstance(stored, dict) and stored.get("dtype") == "float16":
        return _decode(stored, "<f2", 2, fail, what).astype(np.float32)
    if not isinstance(stored, dict) or stored.get("dtype") != "int8":
        raise fail(f"{what} must be an object with dtype 'int8', shape, base64 and scale")
    codes = _decode(stored, "i1", 2, fail, what)
    scale = _decode(stored.get("scale"), "<f4", 1, fail, f"{what}: scale")
    if scale.shape[0] != codes.shape[0] or not np.all(scale > 0):
        raise fail(f"{what}: scale must hold one positive number per reference ({codes.shape[0]})")
    return dequantize(codes, scale)


_NAMES = {"<f4": "float32", "<f2": "float16", "i1": "int8"}


def _decode(stored: Any, dtype: str, ndim: int, fail, what: str) -> np.ndarray:
    name = _NAMES[dtype]
    if not isinstance(stored, dict) or stored.get("dtype") != name:
        raise fail(f"{what} must be an object with dtype {name!r}, shape and base64")
    shape = stored.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) != ndim
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise fail(f"{what} has shape {shape!r}, expected {ndim} positive sizes")
    try:
        raw = base64.b64decode(str(stored.get("base64", "")), validate=True)
    except ValueError:
        raise fail(f"{what} is not valid base64") from None
    array = np.frombuffer(raw, dtype=dtype)
    if array.size != math.prod(shape) or not np.all(np.isfinite(array)):
        raise fail(f"{what} holds {array.size} numbers (or some not finite), shape {shape}")
    return array.reshape(shape).copy()


def farthest_points(rows: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of `k` of (n, D) `rows` that cover them: the first chosen at random,
    each next the row farthest from those chosen (the greedy k-centre choice, within twice
    the smallest possible covering radius)."""
    chosen = [int(rng.integers(len(rows)))]
    nearest = _nearest(rows, rows[chosen]).min(axis=1)
    while len(chosen) < min(k, len(rows)):
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, _nearest(rows, rows[chosen[-1:]])[:, 0])
    return np.sort(np.array(chosen))


def _references(
    pool: np.ndarray,
    pool_groups: np.ndarray,
    queries: np.ndarray,
    query_groups: np.ndarray,
    per_class: int,
    rng: np.random.Generator,
    cap: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """One class's references and calibration distances.

    Returns:
        (r, D) float32 references: the (n, D) standardized `pool` rows (all of them up
        to `per_class`, else a farthest-point choice), as the file holds them (int8
        codes × scale); (m,) distances of the (m, D) `queries` to the nearest reference
        of another group (inf where there is none).
    """
    chosen = np.arange(len(pool))
    if len(pool) > per_class:
        chosen = farthest_points(pool, per_class, rng)
    refs = dequantize(*quantize(pool[chosen]))  # as the file will hold them
    d = _nearest(queries, refs.astype(np.float64), cap)  # as the rule will compute them
    d[query_groups[:, None] == pool_groups[chosen][None, :]] = np.inf  # other groups only
    return refs, d.min(axis=1)


def calibrate_rejection(
    windows: np.ndarray,
    targets: np.ndarray,
    classes: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    false_reject: float = 0.05,
    background: str | None = None,
    seed: int = 0,
    budget: int = REFERENCE_BUDGET,
    cap: float | None = CAP,
    descriptor: str = DESCRIPTOR,
) -> RejectionRule:
    """References and thresholds for a target false-reject rate.

    Args:
        windows: (N, W, F) model inputs of the training clips, one window each.
        targets: (N,) their class indices.
        classes: (C,) labels.
        groups: (N,) subject or recording of each clip (None: each clip its own). A
            clip is measured against references of other groups only, as a new
            recording would be.
        validation: optional (M, W, F) windows and (M,) targets of clips held out from
            training; measured against all references.
        false_reject: target share of known clips answered `unknown`, in [0, 1).
        background: the "no gesture" label: no references, never rejected.
        seed: which clip starts the farthest-point choice of references when a class
            has more than fit `budget`.
        budget: references × descriptor size kept in all (see `REFERENCE_BUDGET`).
        cap: the most one descriptor number's difference counts (`CAP`; None: plain
            Euclidean distances).
        descriptor: how each window is summarized (`DESCRIPTORS`).

    Returns:
        A `RejectionRule`. Class c's threshold is its clips' mean distance times one
        factor for all classes (`pooled_thresholds`); a class with fewer than two such
        distances (one clip, or one group and no validation clip) gets no threshold.

    Raises:
        ValueError: `false_reject` outside [0, 1), no windows, or shapes that disagree.
    """
    if not 0.0 <= false_reject < 1.0:
        raise ValueError(f"false_reject must be in [0, 1), got {false_reject}")
    targets = np.asarray(targets, dtype=np.int64)
    descriptors = describe(windows, descriptor)
    if len(descriptors) != len(targets) or len(targets) == 0:
        raise ValueError(
            f"calibrate_rejection needs windows and targets of one length >= 1, got"
            f" {len(descriptors)} and {len(targets)}"
        )
    if targets.min() < 0 or targets.max() >= len(classes):
        raise ValueError(f"targets must be class indices in [0, {len(classes)})")
    groups_ = np.array(
        [str(g) for g in groups] if groups is not None else [str(i) for i in range(len(targets))]
    )
    if len(groups_) != len(targets):
        raise ValueError(f"{len(groups_)} groups for {len(targets)} windows")
    known = [c for c in range(len(classes)) if classes[c] != background and np.any(targets == c)]
    # the gestures' own spread sets the scale: the background is "everything else" (an
    # empty room, someone walking by) and would make every gesture look alike
    gestures = np.isin(targets, known) if known else np.ones(len(targets), bool)
    center = descriptors[gestures].mean(axis=0)
    means = np.zeros((len(classes), descriptors.shape[1]))
    np.add.at(means, targets, descriptors)
    means /= np.maximum(np.bincount(targets, minlength=len(classes)), 1)[:, None]
    spread = (descriptors - means[targets])[gestures]
    scale = np.sqrt(np.mean(spread**2, axis=0)) + SCALE_FLOOR
    rule_center, rule_scale = center.astype(np.float32), scale.astype(np.float32)
    z = (descriptors - rule_center) / rule_scale
    val_z = val_y = None
    if validation is not None:
        val_z = (describe(validation[0], descriptor) - rule_center) / rule_scale
        val_y = np.asarray(validation[1], dtype=np.int64)

    per_class = max(MIN_REFERENCES, budget // max(1, len(known) * z.shape[1]))
    rng = np.random.default_rng(seed)
    references, calibration = {}, {}
    for c in known:
        members = np.flatnonzero(targets == c)
        refs, d = _references(
            z[members], groups_[members], z[members], groups_[members], per_class, rng, cap
        )
        if val_z is not None and np.any(val_y == c):
            d = np.concatenate(
                [d, _nearest(val_z[val_y == c], refs.astype(np.float64), cap).min(1)]
            )
        d = d[np.isfinite(d)]
        label = str(classes[c])
        references[label] = refs
        if len(d) < 2:
            logger.info("rejection: %r has too few clips to calibrate; never rejected", label)
            continue
        calibration[label] = d
    tail = pooled_tail(calibration, false_reject)
    return RejectionRule(
        center=rule_center,
        scale=rule_scale,
        references=references,
        thresholds=pooled_thresholds(calibration, false_reject),
        false_reject=float(false_reject),
        windows=int(sum(len(d) for d in calibration.values())),
        cap=cap,
        descriptor=descriptor,
        tail=tail,
    )


_RULE_GROUP = "poseact: the references of the rule before"


def extend_rejection(
    rule: RejectionRule,
    windows: np.ndarray,
    targets: np.ndarray,
    classes: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    background: str | None = None,
    seed: int = 0,
    budget: int = REFERENCE_BUDGET,
) -> RejectionRule:
    """The rule of a model taught new clips (`fine_tune`), built on the model's `rule`.

    Fine-tuning sees a few clips per label (the new ones, and 5 rehearsed ones of each
    old label): a rule calibrated on those alone estimates its standardization, its
    references and its tail from some 15 clips. Measured on the real ASL signs (each
    sign taught from 5 clips to a GRU that knew the other two, 3 splits): that rule
    turned away 23 of 236 known test clips, 10 times its rate; this one 5.

    Args:
        rule: the rule of the model before (calibrated with a `tail`).
        windows: (N, W, F) model inputs of the new clips, one window each.
        targets: (N,) their class indices.
        classes: (C,) the labels of the model after.
        groups: (N,) subject or recording of each clip (None: each clip its own).
        background: the "no gesture" label: no references, never rejected.
        seed: which clip starts a farthest-point choice of references.
        budget: references × descriptor size kept in all (`REFERENCE_BUDGET`).

    Returns:
        A `RejectionRule` with `rule`'s standardization, cap, tail and rate. A label
        without new clips keeps `rule`'s references and threshold of it; a label with
        new clips gets references from `rule`'s and the clips (the labels taught share
        what the kept ones leave of `budget`, at least `MIN_REFERENCES` each, and
        never fewer than they had), and as threshold the mean distance of its clips to
        the references of other groups times the tail (never below `rule`'s threshold
        of it; none with fewer than two distances). Labels not in `classes` are
        dropped.

    Raises:
        ValueError: `rule` has no tail, or shapes that disagree.
    """
    if rule.tail is None:
        raise ValueError("the rule has no tail (calibrated before 2026-12-07): calibrate anew")
    targets = np.asarray(targets, dtype=np.int64)
    z = (describe(windows, rule.descriptor) - rule.center) / rule.scale
    if len(z) != len(targets) or z.shape[1] != rule.center.shape[0]:
        raise ValueError(
            f"{len(z)} windows of {z.shape[1] // 2} features and {len(targets)} targets for a"
            f" rule of {rule.features} features"
        )
    groups_ = np.array(
        [str(g) for g in groups] if groups is not None else [str(i) for i in range(len(targets))]
    )
    labels = [str(c) for c in classes]
    taught = [c for c, label in enumerate(labels) if label != background and np.any(targets == c)]
    kept = [
        label
        for c, label in enumerate(labels)
        if label != background and c not in taught and label in rule.references
    ]
    # the references of the labels kept stay (their thresholds were calibrated with
    # them); the taught labels share what is left of the budget
    left = budget - sum(rule.references[label].size for label in kept)
    share = max(MIN_REFERENCES, left // max(1, len(taught) * z.shape[1]))
    references = {label: rule.references[label] for label in kept}
    thresholds = {label: rule.thresholds[label] for label in kept if label in rule.thresholds}
    rng = np.random.default_rng(seed)
    distances = 0
    for c in taught:
        label, members = labels[c], np.flatnonzero(targets == c)
        before = rule._references64.get(label, np.zeros((0, z.shape[1])))
        per_class = max(share, len(before))
        pool = np.concatenate([before, z[members]])
        # the rule's references come from the model's own training clips: another group
        pool_groups = np.concatenate([np.full(len(before), _RULE_GROUP), groups_[members]])
        references[label], d = _references(
            pool, pool_groups, z[members], groups_[members], per_class, rng, rule.cap
        )
        d = d[np.isfinite(d)]
        threshold = rule.thresholds.get(label)
        if len(d) >= 2:
            measured = max(float(np.mean(d)) * rule.tail, 1e-6)
            threshold = measured if threshold is None else max(threshold, measured)
            distances += len(d)
        if threshold is not None:
            thresholds[label] = threshold
    order = [label for label in labels if label in references]  # the classes' order
    return dataclasses.replace(
        rule,
        references={label: references[label] for label in order},
        thresholds={label: thresholds[label] for label in order if label in thresholds},
        windows=rule.windows + distances,
    )


def pooled_tail(distances: dict[str, np.ndarray], false_reject: float) -> float | None:
    """The one factor threshold / mean distance of every class (`pooled_thresholds`);
    None without distances."""
    if not distances:
        return None
    typical = {label: max(float(np.mean(d)), 1e-6) for label, d in distances.items()}
    ratios = np.concatenate([d / typical[label] for label, d in distances.items()])
    if false_reject <= 0.0:
        factor = float(ratios.max())
    elif false_reject >= 1.0 - TAIL_FROM:  # inside the measured ratios: no extrapolation
        factor = float(np.quantile(ratios, 1.0 - false_reject))
    else:
        start = float(np.quantile(ratios, TAIL_FROM))
        excess = ratios[ratios > start] - start
        mean_excess = float(excess.mean()) if len(excess) else 0.0
        factor = start + mean_excess * math.log((1.0 - TAIL_FROM) / false_reject)
    return max(factor, 1e-6)  # a positive factor (`RejectionRule.tail`)


def pooled_thresholds(distances: dict[str, np.ndarray], false_reject: float) -> dict[str, float]:
    """Per-class thresholds from calibration distances, one tail for all classes.

    A class has some 20-40 calibration distances: their 0.99 quantile is just the
    largest, which one odd training clip sets, and a new clip lies beyond the largest of
    n with probability 1/(n + 1) (4 % at n = 24), whatever the rate asked for. So each
    class keeps only its scale, the mean distance m_c, and the tail comes from all
    classes' distances pooled as ratios r = d / m_c. Beyond u, their `TAIL_FROM`
    quantile, the excesses r - u are taken as exponential (the peaks-over-threshold
    model: a generalized Pareto tail of shape 0) with their mean σ as scale, so the
    share beyond u + σ · ln((1 - `TAIL_FROM`) / `false_reject`) is `false_reject`; that
    is class c's threshold over m_c. Only the largest quarter shapes the tail, whatever
    the bulk looks like (a log-normal fitted to all of them, until 2026-12-07, put the
    threshold inside the calibration ratios when they had two modes). At rate 0 the
    factor is the largest ratio; at a rate of 1 - `TAIL_FROM` or more, the ratios'
    (1 - rate) quantile.

    Args:
        distances: label -> (n >= 2,) distances of known clips to the class's references.
        false_reject: the target share of known clips beyond the threshold, in [0, 1).

    Returns:
        label -> threshold (at least 1e-6).
    """
    factor = pooled_tail(distances, false_reject)
    if factor is None:
        return {}
    return {
        label: max(max(float(np.mean(d)), 1e-6) * factor, 1e-6) for label, d in distances.items()
    }
