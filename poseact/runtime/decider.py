"""Decisions: per-frame probabilities become gesture events (smoothing, threshold, hysteresis)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from poseact.core.choices import SMOOTHINGS
from poseact.runtime.rejection import RejectionRule

#: The decision threshold when neither `DecisionOptions.threshold` nor the model names one.
DEFAULT_THRESHOLD = 0.6

#: No change pending. Not None: None is a real candidate ("no gesture"), and a change
#: to it must record where it began (where the gesture before it ends).
_NO_CHANGE = object()


# ---------------------------------------------------------------------- decisions
@dataclass(frozen=True, kw_only=True)
class DecisionOptions:
    """How per-frame probabilities become gesture events.

    Attributes:
        smoothing: "ema" (exponential moving average) or "majority" (vote over the
            last `majority_frames` argmaxes; confidence is the mean probability).
        ema_alpha: weight of the newest frame in the EMA, in (0, 1]; 1 (the default):
            the network's answers as they come, which `evidence` sums.
        majority_frames: frames in the majority vote.
        threshold: minimum smoothed confidence to start a non-background label; a
            gesture going on lasts while it stays the best label (its probability
            may dip below the threshold in the middle of a sign). Unset: the
            threshold stored in the model (`poseact export --threshold`), else 0.6.
        min_frames: frames a new label must persist before it is accepted (hysteresis).
        evidence: what a start must gather before it is accepted: the confidence's
            excess over the threshold, summed over the frames since the label rose
            above it (a cumulative sum, as in a CUSUM change detector). A sure answer
            (1.0 at threshold 0.6) starts after 3 frames, a hesitant one (0.7) after
            10, one that barely clears the threshold hardly ever: measured on the
            fingertip streams, false alarms 2.19 → 1.12 per minute at the same median
            latency (docs/streaming.md). 0: `min_frames` alone.
        cooldown: seconds after an event ends during which the same label cannot fire.
        reject_starts: let the model's rejection rule judge starts: a label whose
            window lies beyond its class's threshold is answered "unknown" and cannot
            start. Off by default: the rule judges a window as a whole clip, so it lets
            a gesture start only once the window holds most of it (measured median
            latency 0.43 → 0.80 s on the ASL streams, 0.47 → 1.58 s with the synthetic
            set's 2.1 s window), for fewer false alarms (docs/streaming.md).
    """

    smoothing: str = "ema"
    ema_alpha: float = 1.0
    majority_frames: int = 5
    threshold: float | None = None
    min_frames: int = 3
    evidence: float = 1.0
    cooldown: float = 0.5
    reject_starts: bool = False

    def __post_init__(self) -> None:
        if self.smoothing not in SMOOTHINGS:
            raise ValueError(f"DecisionOptions.smoothing must be one of {SMOOTHINGS}")
        if not 0.0 < self.ema_alpha <= 1.0:
            raise ValueError("DecisionOptions.ema_alpha must be in (0, 1]")
        if self.majority_frames < 1 or self.min_frames < 1:
            raise ValueError("DecisionOptions frame counts must be >= 1")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError("DecisionOptions.threshold must be in [0, 1]")
        if self.cooldown < 0:
            raise ValueError("DecisionOptions.cooldown must be >= 0 seconds")
        if not 0.0 <= self.evidence < float("inf"):
            raise ValueError("DecisionOptions.evidence must be a number >= 0")


def taught_rows(context: float, fps: float, onset: float | None = None) -> float:
    """Rows of a gesture a window of `context` rows holds when it begins to answer it,
    by its training's rule: half the window, or `onset` seconds of rows if that is less
    (`AugmentOptions.onset`, the model's `onset`; `holds_the_gesture`)."""
    return context / 2 if onset is None else min(context / 2, onset * fps)


def settled(
    context: int, window: int, fps: float, onset: float | None = None, seen: int | None = None
) -> bool:
    """Whether an answer over the last `context` rows may start a gesture: it covers
    at least the rows a gesture fills before a `window`-row model answers it
    (`taught_rows`), and the camera showed someone in every one of them.

    A stream's first answers cover fewer rows; the rest of their window is the first
    row held still (`RowWindow`), which the camera never showed, and a still hand is
    itself a gesture to some models (measured on the fingertip streams: 8 of 39 false
    alarms of six trainings were "Stop" in a stream's first 0.1 s). A row that showed
    nobody (`StreamingFeaturizer.rows_seen`: the hand or person out of view) is all
    zeros, a stillness no model was taught: with the fingertip out of view between
    gestures, six trainings raised 18.6 false alarms a minute, nearly all "Stop".

    Args:
        context: rows the answer covers.
        window, fps, onset: the model's (`taught_rows`).
        seen: rows in a row, up to the answer's last, that showed someone; None: all.
    """
    return context >= taught_rows(window, fps, onset) and (seen is None or seen >= context)


def answer_times(
    now: float,
    context: int,
    fps: float,
    onset: float | None = None,
    placement: np.ndarray | None = None,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Where a gesture is placed by an answer over the last `context` rows up to `now`.

    A window answers a gesture once it holds h of its rows, h = `context` / 2, or
    `onset` seconds of rows if that is less (`AugmentOptions.onset`, the model's
    `onset`), and lets go when it holds fewer than h of its last rows. So a gesture
    that begins on this answer began h rows ago, and one that ends on it ended
    `context` - h rows ago. With h = `context` / 2 both are the centre of the rows.
    A model's `placement` measures both counts per class (a fingertip held still is
    answered only once the window is nearly all still, and let go as soon as motion
    enters it); each is at most `context`.

    Args:
        now: the newest row's time, seconds.
        context: rows the answer covers (`FrameClassifier.context`).
        fps: the model's row rate.
        onset: the model's onset, seconds, or None (half the context).
        placement: (C, 2) seconds of each class's gesture the window holds when the
            answer begins and when it lets go (`placement_table`; NaN: by `onset`), or
            None.

    Returns:
        (start, end): where a gesture starting on this answer starts, and where one
        ending on it ends, seconds (`Decider.update`'s `at` and `end_at`); with
        `placement`, (C,) arrays of them, one per class.
    """
    rows = taught_rows(context, fps, onset)
    if placement is None:
        return now - (rows - 0.5) / fps, now - (context - rows - 0.5) / fps
    held = np.where(np.isnan(placement), rows, np.minimum(placement * fps, context))
    return now - (held[:, 0] - 0.5) / fps, now - (context - held[:, 1] - 0.5) / fps


def placement_table(placement, classes: Sequence[str]) -> np.ndarray | None:
    """(C, 2) float64 seconds per class in `classes` order from a model's `placement`
    (label → (start hold, end hold)); NaN for classes it does not name; None for None."""
    if placement is None:
        return None
    return np.array(
        [placement.get(str(c), (np.nan, np.nan)) for c in classes], dtype=np.float64
    ).reshape(len(classes), 2)


def _of(times, index: int) -> float:
    """A time from `answer_times`: the one given, or the class's of (C,) times."""
    return float(times[index]) if np.ndim(times) else float(times)


@dataclass(frozen=True)
class GestureEvent:
    """A recognized gesture: `label` from `start` to `end` (seconds, stream time).

    A classifier's answer is about the frames it saw, so `start` and `end` are placed
    among those frames (`Decider.update`'s `at` and `end_at`, `answer_times`): a
    gesture answered by a one-second window is reported about half a second after it
    began, and its `start` says when it began. `end` is None while the gesture is still going on (the
    "started" event). `confidence` is the highest smoothed probability seen during the
    event. `person` is the track id of who made the gesture when several people are
    followed (`PeopleRecognizer`), None for one person.
    """

    label: str
    start: float
    end: float | None
    confidence: float
    person: int | None = None


class Decider:
    """Smoothing, threshold, hysteresis and cooldown: probabilities in, events out.

    The JavaScript page runs the same rules (`web_assets/poseact.js`, `Decider`);
    `tests/vectors/decider.json` holds cases both are checked against.

    Args:
        classes: labels in probability order.
        background: the "no gesture" label (never an event), or None.
        options: `DecisionOptions`.
        rejection: the model's `RejectionRule`, or None. With
            `DecisionOptions.reject_starts` (else the rule is not used), a smoothed best
            label whose window lies beyond its class's threshold (the `ratios` given to
            `update` above 1) is answered `rejection.unknown` and never starts an event. The
            rule judges starts only: a window that has slid onto part of a gesture is
            unlike its whole clips, so the rule lets a gesture through a few rows
            after the network named it, and its event starts where the network's
            answer began; once going on, the event lasts while the network answers it.
        threshold: the model's stored threshold, used when `options.threshold` is
            None (None: `DEFAULT_THRESHOLD`).

    Attributes:
        threshold: the threshold in use.
        label: the smoothed best label of the last frame (even below threshold;
            `rejection.unknown` when the rejection rule refuses it).
        confidence: its smoothed probability.
        probabilities: (C,) the smoothed probabilities of the last frame.
    """

    def __init__(
        self,
        classes: Sequence[str],
        background: str | None = None,
        options: DecisionOptions | None = None,
        rejection: RejectionRule | None = None,
        threshold: float | None = None,
    ) -> None:
        self.classes = tuple(str(c) for c in classes)
        self._index = {c: i for i, c in enumerate(self.classes)}
        self.background = background
        self.options = options or DecisionOptions()
        self.rejection = rejection if self.options.reject_starts else None
        self.threshold = next(
            t for t in (self.options.threshold, threshold, DEFAULT_THRESHOLD) if t is not None
        )
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far."""
        self._smoothed: np.ndarray | None = None
        self._votes: deque[int] = deque(maxlen=self.options.majority_frames)
        self._recent: deque[np.ndarray] = deque(maxlen=self.options.majority_frames)
        self._candidate: str | None | object = _NO_CHANGE
        self._candidate_count = 0
        self._candidate_evidence = 0.0
        self._candidate_start = 0.0
        self._candidate_end = 0.0
        self._answer: str | None = None
        self._answer_start = 0.0
        self._current: str | None = None
        self._current_start = 0.0
        self._current_peak = 0.0
        self._last_end: dict[str, float] = {}
        self.label: str | None = None
        self.confidence: float = 0.0
        self.probabilities: np.ndarray = np.zeros(len(self.classes), np.float32)

    def _smooth(self, probs: np.ndarray) -> tuple[int, float]:
        opts = self.options
        if opts.smoothing == "ema":
            if self._smoothed is None:
                self._smoothed = probs.copy()
            else:
                self._smoothed = opts.ema_alpha * probs + (1 - opts.ema_alpha) * self._smoothed
            self.probabilities = self._smoothed
            best = int(np.argmax(self._smoothed))
            return best, float(self._smoothed[best])
        self._votes.append(int(np.argmax(probs)))
        self._recent.append(probs)
        counts = np.bincount(np.array(self._votes), minlength=len(probs))
        best = int(np.argmax(counts))
        mean = np.mean(np.stack(self._recent), axis=0)
        self.probabilities = mean
        return best, float(mean[best])

    def update(
        self,
        probs: np.ndarray,
        now: float,
        at: float | None = None,
        ratios: np.ndarray | None = None,
        end_at: float | None = None,
        may_start: bool = True,
        resumed_after: float | None = None,
        shown: bool = True,
    ) -> list[GestureEvent]:
        """Take one frame's (C,) probabilities at `now` seconds; the events it causes.

        Args:
            probs: (C,) class probabilities.
            now: when the answer is given, seconds (the cooldown counts in it).
            at: the time the answer is about, seconds: where a gesture that begins
                on it began, among the frames the classifier saw (`answer_times`;
                `StreamingRecognizer` passes it), or (C,) such times, one per class
                (a model's `placement`). None: `now`.
            ratios: (C,) `RejectionRule.ratios` of the current window (distance /
                threshold per class), or None (nothing is rejected).
            end_at: where a gesture that ends on this answer ended, seconds
                (`answer_times`), or (C,) such times, one per class. None: `at`.
            may_start: False when the answer cannot start a gesture: it covers fewer
                rows than a gesture fills before it is answered (`settled`), so part
                of its window is padding the stream never showed. It can still end or
                continue one.
            resumed_after: set on the first answer of a stream that started over after
                a gap longer than a window (`StreamingFeaturizer.breaks`): the time of
                the last frame before the gap. A gesture going on ended there, and the
                answer is decided as a new stream's first (`restart`).
            shown: False when the answer's newest row showed nobody (a person or hand
                out of view longer than the featurizer holds a point, whose rows are
                all zeros): a gesture going on ends there as if the network had
                stopped answering it, and nothing starts.
        """
        restarted = [] if resumed_after is None else self.restart(resumed_after)
        return restarted + self._update(probs, now, at, ratios, end_at, may_start, shown)

    def restart(self, at: float) -> list[GestureEvent]:
        """End the stream at `at` seconds (`finish`) and start a new one (`reset`): the
        events that closes."""
        events = self.finish(at)
        self.reset()
        return events

    def _update(self, probs, now, at, ratios, end_at, may_start, shown=True) -> list[GestureEvent]:
        best, confidence = self._smooth(np.asarray(probs, dtype=np.float32))
        ratio = 0.0 if ratios is None else float(ratios[best])
        now = float(now)
        at = now if at is None else at
        end_at = at if end_at is None else end_at
        # a start is placed by the answered class, an end by the class going on
        ending = self._index.get(self._current, best)  # no gesture going on: best
        return self._decide(
            self.classes[best],
            confidence,
            ratio,
            now,
            _of(at, best),
            _of(end_at, ending),
            may_start,
            shown,
        )

    def _decide(
        self,
        label: str,
        confidence: float,
        ratio: float,
        now: float,
        at: float,
        end_at: float,
        may_start: bool,
        shown: bool = True,
    ) -> list[GestureEvent]:
        opts = self.options
        # a gesture starts above the threshold and lasts while it is the best label,
        # both only while someone is in view
        going_on = self._current is not None and label == self._current
        started = confidence >= self.threshold and may_start
        accepted = label if shown and (started or going_on) else None
        judged = accepted != self.background
        if not judged:
            accepted = None
        if accepted != self._answer:  # the network's answer, before the rule
            self._answer, self._answer_start = accepted, at
        if (
            judged
            and self.rejection is not None
            and label != self._current  # the rule judges a start; the network, the rest
            and not self.rejection.accepts(label, ratio)
        ):
            label, accepted = self.rejection.unknown, None
        self.label, self.confidence = label, confidence
        events: list[GestureEvent] = []
        if accepted == self._current:
            self._candidate, self._candidate_count = _NO_CHANGE, 0
            if accepted is not None:
                self._current_peak = max(self._current_peak, confidence)
            return events
        if accepted != self._candidate:
            self._candidate, self._candidate_count = accepted, 0
            self._candidate_evidence = 0.0
            self._candidate_start, self._candidate_end = at, end_at
            if self.rejection is not None and accepted is not None and accepted == self._answer:
                # the rule let the network's answer through late (a window that holds
                # part of a gesture is unlike its whole clips): it began where the
                # network's answer did
                self._candidate_start = self._answer_start
        self._candidate_count += 1
        if accepted is not None:  # a start gathers evidence; an end needs none
            self._candidate_evidence += confidence - self.threshold
        if self._candidate_count < opts.min_frames or (
            accepted is not None and self._candidate_evidence < opts.evidence
        ):
            return events
        if self._current is not None:
            # The gesture ended where the change began (the new candidate's first
            # frame), so consecutive events never overlap (its end_at is at most its
            # at); the cooldown counts from now.
            end = max(self._candidate_end, self._current_start)
            events.append(GestureEvent(self._current, self._current_start, end, self._current_peak))
            self._last_end[self._current] = now
        self._current = None
        if accepted is not None:
            last = self._last_end.get(accepted)
            if last is not None and now - last < opts.cooldown:
                return events
            self._current, self._current_start = accepted, self._candidate_start
            self._current_peak = confidence
            events.append(GestureEvent(accepted, self._candidate_start, None, confidence))
        self._candidate, self._candidate_count = _NO_CHANGE, 0
        return events

    def finish(self, now: float) -> list[GestureEvent]:
        """End the stream at `now`: closes a gesture still going on (it ends at `now`)."""
        if self._current is None:
            return []
        event = GestureEvent(self._current, self._current_start, float(now), self._current_peak)
        self._last_end[self._current] = float(now)
        self._current = None
        return [event]
