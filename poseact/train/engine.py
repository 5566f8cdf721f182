"""The one training engine: augmented windows, class weights, the epoch loop with early stopping.

`poseact.train.core.train_core` (behind `GestureClassifier.fit`, `fine_tune` and `distill`)
trains through `train_network`."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from poseact.core.choices import STREAMING
from poseact.core.errors import DatasetError
from poseact.core.layouts import get_layout
from poseact.data.augment import DEFAULT_TRANSITIONS, augment_windows, random_speed
from poseact.data.dataset import Dataset
from poseact.normalize.normalizer import Normalizer
from poseact.normalize.path import carry_trail, moved_to, retrail, trail_lag
from poseact.normalize.spec import NormalizerSpec
from poseact.train.options import TrainingOptions

logger = logging.getLogger(__name__)

#: Epochs trained before the background's hard negatives are weighted
#: (`TrainingOptions.hard_negatives`): a network that has learned nothing yet finds
#: every background clip equally hard.
HARD_NEGATIVE_WARMUP = 5


# ---------------------------------------------------------------------- training data
class _TrainingWindows:
    """Batches of augmented windows: positions → augment → crop → features."""

    def __init__(
        self,
        positions: list[np.ndarray],
        targets: np.ndarray,
        weights: np.ndarray,
        normalizer: Normalizer,
        options: TrainingOptions,
        rng: np.random.Generator,
        background: int | None = None,
    ) -> None:
        self.positions = positions
        self.targets = targets
        self.weights = weights
        self.normalizer = normalizer
        self.options = options
        self.rng = rng
        self.background = background
        self._even_weights = weights  # `weights` before hard negatives reweight them
        self._scored: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # background clips a transition window can take its other frames from
        self._rests = [
            i
            for i, target in enumerate(targets)
            if background is not None and target == background and np.isfinite(positions[i]).any()
        ]

    def emphasize_hard_background(self, net, strength: float) -> None:
        """Hard negatives: share the background class's weight among its clips by how
        much `net`, as it is now, takes each for a gesture.

        A clip's hardness is 1 - the background probability of its hardest window
        (unaugmented, every W/2 frames); each clip's share of the class weight is its
        hardness over the mean hardness, mixed with the even share by `strength` (0:
        even, 1: in proportion). The class's total weight does not change."""
        if self.background is None or not strength:
            return
        rows, owner, x = self._background_windows()
        if not len(rows):
            return
        probs = np.concatenate(
            [np.asarray(net.predict_on_batch(x[a : a + 1024])) for a in range(0, len(x), 1024)]
        )
        hardness = np.zeros(len(rows))
        np.maximum.at(hardness, owner, 1.0 - probs[:, self.background])
        mean = float(hardness.mean())
        if mean < 1e-6:  # the network is sure of every background clip: keep the shares
            return
        weights = self.weights.copy()
        share = hardness / mean
        weights[rows] = self._even_weights[rows] * ((1.0 - strength) + strength * share)
        self.weights = weights

    def _background_windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, owner, x): the background clips' rows, and the features x of their
        unaugmented windows (every W/2 frames, and the last; one for "segments"
        sampling, which takes the whole clip whatever the start) with the index into
        `rows` of each window's clip. Built on the first call: they do not change in
        training."""
        if self._scored is None:
            rows = np.flatnonzero(self.targets == self.background)
            spec = self.normalizer.spec
            W = spec.window
            windows, owner = [], []
            for row, i in enumerate(rows):
                n = self.positions[i].shape[0]
                if spec.sampling == "segments":
                    starts = [0]
                else:
                    starts = sorted({*range(0, max(n - W, 0) + 1, max(1, W // 2)), max(n - W, 0)})
                windows += [self.normalizer.window(self.positions[i], start=s) for s in starts]
                owner += [row] * len(starts)
            x = self.normalizer.features(np.stack(windows)) if windows else np.empty(0)
            self._scored = (rows, np.asarray(owner, dtype=np.int64), x)
        return self._scored

    def epoch(self):
        """Yield (x, y, w) batches for one shuffled pass over the clips.

        Each clip is time-warped and cut to a window on its own (or joined with a
        background clip at a transition); the batch of windows is then augmented and
        turned into features at once (`augment_windows`, `Normalizer.features`). A
        window in which some rows show nobody and others someone weighs nothing
        (`partly_seen`)."""
        spec = self.normalizer.spec
        order = self.rng.permutation(len(self.positions))
        bs = self.options.batch_size
        aug = self.options.augment
        W = spec.window
        transitions = aug.transitions if self._rests else 0.0
        onset = None if aug.onset is None else aug.onset * spec.fps
        for begin in range(0, len(order), bs):
            idx = order[begin : begin + bs]
            targets = self.targets[idx]  # a copy (an index array): transitions relabel it
            windows = []
            for b, i in enumerate(idx):
                p = random_speed(self.positions[i], aug, self.rng)
                if (
                    transitions
                    and targets[b] != self.background
                    and self.rng.random() < transitions
                ):
                    # one body seen by one camera: the gesture (at its own speed) and a
                    # background clip joined, then augmented as one window
                    n = p.shape[0]
                    k = int(self.rng.integers(1, max(1, min(n, W - 1)) + 1))
                    rest = self.positions[self._rests[int(self.rng.integers(len(self._rests)))]]
                    joined = _transition(p, rest, k, W, self.rng, spec)
                    # the trailing means run on across the seam, as in a live stream
                    windows.append(retrail(joined, spec) if spec.path else joined)
                    if not holds_the_gesture(k, n, W, onset):
                        targets[b] = self.background
                    continue
                start = None
                if aug.partial and self.rng.random() < aug.partial:
                    # a gesture that has just begun: its first k frames, after its first
                    # frame held (`window` pads a short clip so)
                    k = int(self.rng.integers(W // 2, W))
                    p = p[: max(1, min(k, p.shape[0] - 1))]
                elif aug.random_crop and p.shape[0] > W:
                    start = int(self.rng.integers(0, p.shape[0] - W + 1))
                window = self.normalizer.window(p, start=start)
                if (
                    transitions
                    and spec.path
                    and targets[b] != self.background
                    and self.rng.random() < transitions
                ):
                    # live, the window's trailing means still carry the motion before
                    # the gesture: start them where a background clip's lag left them
                    rest = self.positions[self._rests[int(self.rng.integers(len(self._rests)))]]
                    lag = trail_lag(rest[int(self.rng.integers(rest.shape[0]))], spec)
                    window = carry_trail(window, lag, spec)
                windows.append(window)
            stacked = np.stack(windows)
            weights = np.where(partly_seen(stacked, spec), 0.0, self.weights[idx])
            batch = augment_windows(stacked, spec.layout, aug, self.rng)
            yield self.normalizer.features(batch), targets, weights.astype(np.float32)


def partly_seen(windows: np.ndarray, spec: NormalizerSpec) -> np.ndarray:
    """(B,) bool: which of the windows (B, W, K + 3R, C) have rows that show nobody (all
    the layout's points NaN) beside rows that show someone.

    Live, no gesture starts on such a window (`poseact.runtime.decider.settled`: a
    start needs every row its answer covers to show someone; someone back in view
    starts a new stream), so training on it teaches nothing the decisions use, and its
    rows of nobody are zeros, a stillness: measured on the fingertip streams with the
    tracks' lost frames untracked (bench_stream, three trainings; docs/streaming.md,
    "Lost is not still"), trained on as they are, event F1 0.836 ("Stop" taken for
    the background); weighing nothing, 0.936. A window of nobody throughout (an empty
    room, for the background) is trained on."""
    shown = np.isfinite(windows[:, :, : spec.num_points]).any(axis=(2, 3))
    return shown.any(axis=1) & ~shown.all(axis=1)


def holds_the_gesture(k: int, n: int, window: int, onset: float | None = None) -> bool:
    """Whether a window holding k frames of an n-frame gesture is that gesture: when it
    holds at least half of it, or half a window of it if the gesture is longer, or
    `onset` frames of it if that is less (`AugmentOptions.onset` · fps; None: no limit)."""
    need = min(n, window) / 2
    if onset is not None:
        need = min(need, onset)
    return k >= need


#: The kinds of parts a transition joins where they are, when the layout has no body
#: (`_transition`). A hand's path is measured in palm lengths, so a background clip
#: recorded elsewhere in the image than the gesture jumped there in W/6 frames by tens
#: of palms a frame, a motion no stream shows. Measured on the fingertip streams carried
#: by a real hand (bench_stream, three trainings of 60 passes at most, the default of
#: then; docs/streaming.md): with each clip at its own place, stream F1 0.558 and 1.62 false alarms per minute (41 % of the gestures
#: found) joined as recorded, 0.761 and 0.87 joined where the hands are; with the
#: clips where the recorded session left them, 0.000 (every window "Move") against
#: 0.765. A body's path is in torso lengths: joined so, the ASL streams fell (F1 0.956 →
#: 0.890, false alarms 0.30 → 1.22 per minute), so bodies, and hands beside a body,
#: join as recorded; so do parts without anchors (a fingertip track: F1 0.920 → 0.868,
#: latency 0.60 → 0.73 s).
JOINED_WHERE_THEY_ARE = ("hand",)


def _where_they_are(rest: np.ndarray, row: int, target: np.ndarray, spec) -> np.ndarray:
    """`rest` moved so that its hands are at frame `row` where they are in `target`, for a
    layout of hands without a body; else `rest` as it is."""
    kinds = {part.kind for part in get_layout(spec.layout).parts}
    if "body" in kinds or not kinds & set(JOINED_WHERE_THEY_ARE):
        return rest
    return moved_to(rest, row, target, spec, kinds=JOINED_WHERE_THEY_ARE)


def _transition(
    gesture: np.ndarray,
    rest: np.ndarray,
    k: int,
    window: int,
    rng: np.random.Generator,
    spec: NormalizerSpec | None = None,
) -> np.ndarray:
    """(W, K, C): `rest` frames, then the gesture's first k frames, or (half the time)
    its last k frames, then `rest` frames; the frames before the seam fade into the
    first frame after it over W/6 frames (a person moving from one to the other). With
    `spec` of a layout of hands without a body, the background goes on to the gesture's
    first frame, or from its last one, where the hands are, as one person's stream goes
    on (`moved_to`; `JOINED_WHERE_THEY_ARE`).
    """
    need = window - k
    if rest.shape[0] < need:
        rest = np.concatenate([rest, np.repeat(rest[-1:], need - rest.shape[0], axis=0)])
    offset = int(rng.integers(0, rest.shape[0] - need + 1))
    rest = rest[offset : offset + need]
    if rng.random() < 0.5:
        first, second = rest, gesture[:k]
        if spec is not None:
            first = _where_they_are(rest, -1, second[0], spec)
    else:
        first, second = gesture[-k:], rest
        if spec is not None:
            second = _where_they_are(rest, 0, first[-1], spec)
    out = np.concatenate([first, second], axis=0)
    seam = first.shape[0]
    fade = min(max(1, window // 6), seam)
    weights = (np.arange(1, fade + 1, dtype=np.float32) / (fade + 1))[:, None, None]
    out[seam - fade : seam] = (1 - weights) * out[seam - fade : seam] + weights * second[:1]
    return out


def _prefetch(batches, depth: int = 2):
    """Iterate `batches` from a thread that keeps up to `depth` batches ready.

    Augmenting the next batch (numpy) overlaps with Keras training on this one (TF
    releases the GIL), on another core. The batches and the order in which they draw
    random numbers are unchanged, so training gives the same result.
    """
    import queue
    import threading

    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(done)

    thread = threading.Thread(target=produce, name="poseact-batches", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _validation_batches(x_val, y_val) -> dict:
    """`evaluate` arguments for the validation windows (batches of 256), built once.

    With TensorFlow, a batched `tf.data.Dataset` made once: Keras builds one from numpy
    arrays on every `evaluate` call, which costs more than evaluating a few hundred
    windows. The batches, and so the figures, are the same.
    """
    if x_val is None:
        return {}
    import keras

    if keras.backend.backend() != "tensorflow":
        return {"x": x_val, "y": y_val, "batch_size": 256}
    import tensorflow as tf

    return {"x": tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)}


def check_training_data(data: Dataset, spec: NormalizerSpec, *, action: str, owner: str) -> None:
    """Raise DatasetError for an empty dataset or one whose layout differs from `spec`'s.

    `action` ("fit", "fine-tune", ...) and `owner` ("normalizer", "model", ...) name
    the operation and whose layout is expected, in the message.
    """
    if len(data) == 0:
        raise DatasetError(f"cannot {action} on an empty dataset")
    if data.layout != spec.layout:
        raise DatasetError(
            f"dataset layout {data.layout!r} differs from the {owner}'s {spec.layout!r}"
        )


def class_weights(targets: np.ndarray, num_classes: int) -> np.ndarray:
    """(N,) float32 sample weights, inverse to the frequency of each sample's class.

    A class with n of the N samples weighs N / (classes present · n), so that every
    present class contributes equally.
    """
    counts = np.bincount(targets, minlength=num_classes).astype(np.float64)
    present = max(int(np.count_nonzero(counts)), 1)
    per_class = np.where(counts > 0, len(targets) / (present * np.maximum(counts, 1)), 0.0)
    return per_class[targets].astype(np.float32)


def split_validation(data: Dataset, training: TrainingOptions, *, action: str):
    """(train, validation or None): `training.validation_fraction` of the groups held out.

    No validation set for fewer than 10 clips, a fraction of 0, or a split that is not
    possible (it is logged; training then runs without early stopping).
    """
    if training.validation_fraction <= 0 or len(data) < 10:
        return data, None
    try:
        return data.split(training.validation_fraction, seed=training.seed)
    except DatasetError as exc:
        logger.info("no validation split (%s); %s without early stopping", exc, action)
        return data, None


def with_transitions(training: TrainingOptions, architecture: str) -> TrainingOptions:
    """`training` with `AugmentOptions.transitions` decided for `architecture` when it is
    None: `DEFAULT_TRANSITIONS` for a network answered over whole windows, 0 for one
    with a stream model."""
    augment = training.augment
    if augment.transitions is not None:
        return training
    rate = 0.0 if architecture in STREAMING else DEFAULT_TRANSITIONS
    return dataclasses.replace(training, augment=dataclasses.replace(augment, transitions=rate))


def answer_onset(
    training: TrainingOptions, architecture: str, background: str | None
) -> float | None:
    """Seconds of a gesture a window of the trained network holds when it begins to
    answer it (`AugmentOptions.onset`), or None: half the window (trained without
    transition windows, or with the former rule). The live recognizer places events by
    it (`poseact.runtime.decider.answer_times`)."""
    augment = with_transitions(training, architecture).augment
    if background is None or not augment.transitions:
        return None
    return augment.onset


def training_windows(
    normalizer: Normalizer,
    positions: list[np.ndarray],
    targets: np.ndarray,
    training: TrainingOptions,
    rng: np.random.Generator,
    *,
    weights: np.ndarray | None = None,
    background: int | None = None,
) -> _TrainingWindows:
    """Augmented training batches over resampled clip `positions` (each (n, K, C)).

    Args:
        weights: (N,) sample weights; default: `class_weights` when
            `training.class_weights`, else ones.
        background: the target of the background class, or None; its clips give
            `AugmentOptions.transitions` windows their other frames.
    """
    if weights is None:
        num_classes = int(targets.max()) + 1 if len(targets) else 0
        weights = (
            class_weights(targets, num_classes)
            if training.class_weights
            else np.ones(len(targets), np.float32)
        )
    return _TrainingWindows(positions, targets, weights, normalizer, training, rng, background)


def classification_loss(num_classes: int, label_smoothing: float = 0.0):
    """The training loss on integer targets: sparse cross-entropy, with the targets
    smoothed (1 - s on the true class, s / C spread over all) when `label_smoothing` s > 0.

    Compile with it for training only: a trained network is recompiled with the plain
    loss (`finish_training`), so saved models need no custom object."""
    if not label_smoothing:
        return "sparse_categorical_crossentropy"
    import keras
    from keras import ops

    def smoothed_crossentropy(y_true, y_pred):
        targets = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), num_classes)
        targets = targets * (1.0 - label_smoothing) + label_smoothing / num_classes
        return keras.losses.categorical_crossentropy(targets, y_pred)

    return smoothed_crossentropy


def finish_training(net) -> None:
    """Recompile a trained network with the plain loss (what saved models carry)."""
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def _set_dropout(net, rates: dict[str, float] | None) -> dict[str, float]:
    """Set every Dropout layer's rate (0 when `rates` is None); returns the old rates.
    The next training step is retraced, so the new rates take effect."""
    import keras

    old = {}
    for layer in net.layers:
        if isinstance(layer, keras.layers.Dropout):
            old[layer.name] = layer.rate
            layer.rate = 0.0 if rates is None else rates[layer.name]
    net.make_train_function(force=True)
    return old


def train_network(
    net,
    windows,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    training: TrainingOptions,
    *,
    verbose: int = 0,
) -> dict[str, list[float]]:
    """The epoch loop: early stopping on validation loss, restoring the best weights.

    With `training.weight_averaging` d > 0, an exponential moving average of the
    weights is kept across epochs (after each epoch: average = d · average + (1 - d) ·
    weights); validation scores the averaged weights and they are what the network
    ends with (the best by validation loss, or the last without validation). Training
    itself goes on from each epoch's own weights.

    With `training.hard_negatives` > 0 and a background class, each epoch from
    `HARD_NEGATIVE_WARMUP` on first weights the background clips by how much the network
    takes them for a gesture (`_TrainingWindows.emphasize_hard_background`).

    With `training.dropout_from_epoch` > 0, the dropout layers are off until that
    epoch ("late dropout"); early stopping counts from then on only.

    Args:
        net: a compiled Keras model.
        windows: an object whose `epoch()` yields (x, y, sample_weight) batches.
        x_val, y_val: validation inputs and targets, or None (all epochs run).
        training: epochs, patience, weight averaging and late dropout.
        verbose: 1 shows a progress bar over epochs.

    Returns:
        The history: per-epoch "loss", "accuracy" (and "val_loss", "val_accuracy").
    """
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    if x_val is not None:
        history.update(val_loss=[], val_accuracy=[])
    best, best_weights, waited = np.inf, None, 0
    decay, average = training.weight_averaging, None
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=training.epochs, desc="training", unit="epoch")
    val_data = _validation_batches(x_val, y_val)
    late = training.dropout_from_epoch
    rates = _set_dropout(net, None) if late > 0 else None
    for epoch in range(training.epochs):
        if rates is not None and epoch == late:
            _set_dropout(net, rates)  # dropout on; the best so far is kept as a fallback
            waited = 0
        losses, accs, sizes = [], [], []
        if isinstance(windows, _TrainingWindows) and epoch >= HARD_NEGATIVE_WARMUP:
            windows.emphasize_hard_background(net, training.hard_negatives)
        batches = windows.epoch()
        if type(windows) is _TrainingWindows:  # numpy only: safe in a second thread
            batches = _prefetch(batches)
        for x, y, w in batches:
            loss, acc = net.train_on_batch(x, y, sample_weight=w, return_dict=False)
            losses.append(loss)
            accs.append(acc)
            sizes.append(len(y))
        history["loss"].append(float(np.average(losses, weights=sizes)))
        history["accuracy"].append(float(np.average(accs, weights=sizes)))
        status = {"loss": f"{history['loss'][-1]:.3f}"}
        own = None
        if decay > 0:
            own = net.get_weights()
            # a + (1 - d)(w - a): weights that did not move (a frozen encoder) stay exact
            average = (
                own
                if average is None
                else [a + (1.0 - decay) * (w - a) for a, w in zip(average, own)]
            )
        if x_val is not None:
            if own is not None:
                net.set_weights(average)  # score the averaged weights
            val_loss, val_acc = net.evaluate(**val_data, verbose=0)
            history["val_loss"].append(float(val_loss))
            history["val_accuracy"].append(float(val_acc))
            status.update(val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
            if val_loss < best - 1e-4:
                best, best_weights, waited = val_loss, net.get_weights(), 0
            else:
                waited += 1
            if own is not None:
                net.set_weights(own)  # training goes on from the epoch's own weights
        if bar is not None:
            bar.set_postfix(status)
            bar.update(1)
        if x_val is not None and waited >= training.patience and (rates is None or epoch >= late):
            break
    if bar is not None:
        bar.close()
    if rates is not None and training.epochs <= late:
        _set_dropout(net, rates)  # stopped before dropout came on: restore the rates
    if best_weights is not None:
        net.set_weights(best_weights)
    elif average is not None:
        net.set_weights(average)
    return history
