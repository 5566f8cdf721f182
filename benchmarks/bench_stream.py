"""Continuous recognition on real-motion streams, and gestures the model never saw.

    python -m benchmarks.bench_stream [--quick]

Streams (scored by `evaluate_stream` with the default live settings, `DecisionOptions()`,
and the default network, stats_pool, trained as `GestureClassifier()` trains it, each
setting in three trainings, seeds 0, 1 and 2, pooled):

- **fingertip** (the harder streams): the real index-fingertip tracks of
  ../shared/data/fingertip_tracks. The file's 16-frame rows slide one frame at a time
  over continuous recordings; joined back (`fingertip_runs`), they are 169 recordings of
  Stop, Clockwise and Counter Clockwise and 48 of "Move", free motion of the fingertip.
  Half of each class's recordings make a recorded session: its gestures cut into
  0.8-1.6 s pieces, each after 0.8-2.5 s of real "Move" motion, each piece continuing
  the path where the one before it ended; 1 s windows of its gestures (every 4 frames)
  and of the motion between them (every 8 frames, the background "Move") train the
  model. The other half's gestures, joined by the other half's motion the same way, are
  three test streams (one per seed: 63, 62 and 63 gestures, 1.8 min of motion each).
  Between gestures the fingertip moves faster than during them. Where the tracks'
  logger lost the finger it wrote the image's origin (`lost_frames`: 133 frames of the
  "Move" recordings, 13 of "Counter Clockwise"); those frames are untracked (NaN), in
  the session and the streams, as a camera shows no hand.
- **ASL**: the test split's signs of ../shared/data/asl_signs (real MediaPipe
  recordings), each with its own first and last frame held 0.2-0.5 s, one after
  another with real non-gesture motion between them: 1.5-3 s pieces of the second
  halves of ../shared/testdata/person_thumb_up.mp4 (a woman raising a thumb) and
  hand_open.mp4 (an open hand before a body); pose landmarks extracted here. The
  models are trained on the training split plus a background class "none" recorded
  the way a user would record it: windows of the first halves of those videos, and the
  training signs' rest frames held still.
- **synthetic**: the embedded dataset's activities of the held-out subjects, chained
  with their "idle" clips between them (idle is the model's background).
- **hands**, for context: the fingertip set carried by a real hand (`carried_hand`:
  the measured hand of `hand_paths` moved along each training clip, each at its own
  place in the image, and along each stream, no hand where the fingertip is untracked;
  hands layout), trained and scored as the fingertip set.

Each set is scored with the default decisions (checked against `TARGETS`: issue 26),
and for context on the same models: the rejection rule judging starts
(`DecisionOptions(reject_starts=True)`), a longer start confirmation (min_frames 8) and
the threshold swept from 0.4 to 0.9 (`sweep_stream`; the curve in sweep-NAME.png); the
fingertip streams are also scored with the fingertip out of view between gestures (a
hand that leaves the camera's view and comes back: nothing tracked from 0.3 s after a
gesture to 0.5 s before the next, where that leaves 0.8 s; `out_of_view`), and
with it coming back into view just as the next gesture begins; the
fingertip and ASL sets are also retrained with `TrainingOptions(hard_negatives=1.0)`
(off by default; docs/streaming.md, "Background that looks like a gesture"). Beside
event F1, latency and false alarms, the SHREC online measures (detection rate, false
positives per gesture, Jaccard index, delay in frames; docs/streaming.md).

Held out: one ASL sign left out at training (each in turn, three trainings each: seeds
0, 1, 2) and played to the default network, whose rejection rule is on by default
(`TrainingOptions.reject_rate` 0.01): >= 90 % of its clips answered "unknown" or
background, known-class accuracy within 1 point of the closed-set answers. The rule
(`poseact.runtime.rejection`: distance to the nearest known clip of the answered class)
is shown beside the former rule (a per-class threshold on the top probability,
calibrated at the same rate on the same networks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import SHARED, Report, embedded_split, main_wrapper

ASL = SHARED / "data" / "asl_signs" / "asl_signs.npz"
TESTDATA = SHARED / "testdata"
BACKGROUND = "none"
BLEND = 0.5  # seconds of transition between two clips of a stream
STRICT_NOTE = "min_frames 8"
HARD_NOTE = "retrained, hard_negatives 1.0"
AWAY_NOTE = "out of view between gestures"
BACK_NOTE = "out of view, back as the gesture begins"
HANDS_NOTE = "carried by a real hand, hands layout"
#: the targets of the default decisions per stream set (issue 26): event F1 at least,
#: false alarms per minute of background at most, median latency (s) at most; ASL and
#: synthetic: no worse than before (2026-12-06: 0.922 / 0.30, 0.961 / 0.49)
TARGETS = {"fingertip": (0.85, 1.0, 0.6), "asl": (0.92, 0.5, 0.6), "synthetic": (0.96, 0.5, 0.6)}
SEEDS = (1, 2)  # the default network is also trained with these seeds (pooled)
VIDEOS = ("person_thumb_up.mp4", "hand_open.mp4")
FINGERTIP = SHARED / "data" / "fingertip_tracks"
FT_MOVE = "Move"  # the fingertip tracks' free motion: their background
FT_SHORTEST, FT_LONGEST = 0.8, 1.6  # seconds of a gesture piece
FT_GAP = (0.8, 2.5)  # seconds of motion before each gesture of a fingertip stream


def load_asl(layout: str = "pose"):
    """The ASL recordings in `layout` ("pose" or "pose+hands"; not detected = NaN), 30 fps,
    as a 640x480 webcam's."""
    from dataclasses import replace

    from poseact.data.formats import read_holistic_npz

    data = read_holistic_npz(ASL, layout=layout)
    sequences = tuple(
        replace(s, image_size=(640, 480), source=f"asl_signs[{i}]")
        for i, s in enumerate(data.sequences)
    )
    return replace(data, sequences=sequences)


def video_landmarks(name: str, layout: str = "pose"):
    from poseact.extract.options import ExtractorOptions
    from poseact.loading import load_sequence

    return load_sequence(TESTDATA / name, ExtractorOptions(layout=layout))


def _held(sequence, frame: int, seconds: float, rng, tag: str):
    """A clip of `sequence`'s frame held still for `seconds` (with sensor jitter)."""
    from poseact.core.sequence import LandmarkSequence

    detected = np.flatnonzero(np.isfinite(sequence.landmarks[..., 0]).any(axis=1))
    frame = int(detected[np.argmin(np.abs(detected - frame))])  # the nearest with a person
    n = int(seconds * 30)
    jitter = rng.normal(0.0, 0.002, (n, *sequence.landmarks.shape[1:])).astype(np.float32)
    return LandmarkSequence(
        timestamps=np.arange(n) / 30.0,
        landmarks=sequence.landmarks[frame][None] + jitter,
        visibility=np.repeat(sequence.visibility[frame][None], n, axis=0),
        layout=sequence.layout,
        image_size=sequence.image_size,
        source=f"{sequence.source}:{tag}",
    )


def background_clips(train, rng):
    """Background examples: 1.2 s windows of the first halves of both test videos (the
    streams play their second halves) and the training signs' rest frames, in the
    training clips' layout."""
    layout = train.sequences[0].layout
    clips = []
    for name in VIDEOS:
        motion = video_landmarks(name, layout)
        half = motion.duration / 2
        clips += [
            motion.between(start, start + 1.2).replace(source=f"{motion.source}:bg{k}")
            for k, start in enumerate(np.arange(0.0, half - 1.2, 0.3))
        ]
    clips = [c for c in clips if np.isfinite(c.landmarks).any() and len(c) > 10]
    for i, seq in enumerate(train.sequences[::2]):
        clips.append(_held(seq, 0, 1.2, rng, f"rest{i}a"))
        clips.append(_held(seq, len(seq) - 1, 1.2, rng, f"rest{i}b"))
    # the frames between recorded clips: moving from other motion to the rest posture
    # before a sign and back after it (a session's frames that are no sign)
    from poseact.train.streams import Segment, chain_segments

    for i, seq in enumerate(train.sequences[1::2]):
        motion = video_landmarks(VIDEOS[i % 2], layout)
        start = rng.uniform(0.0, motion.duration / 2 - 1.0)
        moving = Segment(sequence=motion, start=start, end=start + 1.0)
        rest = Segment(sequence=_held(seq, 0 if i % 4 < 2 else len(seq) - 1, 0.6, rng, "r"))
        pieces = [moving, rest] if i % 2 else [rest, moving]
        stream, _ = chain_segments(pieces, blend=BLEND, source=f"between{i}")
        clips.append(stream)
    return clips


def with_background(data, clips):
    from poseact.data.dataset import Dataset

    return Dataset(
        data.sequences + tuple(clips),
        data.labels + (BACKGROUND,) * len(clips),
        background=BACKGROUND,
        name=data.name,
    )


def asl_streams(test, seeds):
    """(stream, annotations) per seed: test signs with the test videos' second halves
    (real motion the model never saw) between them."""
    from poseact.train.streams import Segment, chain_segments

    videos = [video_landmarks(name, test.sequences[0].layout) for name in VIDEOS]
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(test))
        segments = []
        for k, i in enumerate(order):
            motion = videos[k % len(videos)]
            length = rng.uniform(1.5, 3.0)
            start = rng.uniform(motion.duration / 2, motion.duration - length)
            segments.append(Segment(sequence=motion, start=start, end=start + length))
            segments.append(
                Segment(
                    sequence=test.sequences[i],
                    label=test.labels[i],
                    hold_before=rng.uniform(0.2, 0.5),
                    hold_after=rng.uniform(0.2, 0.5),
                )
            )
        segments.append(Segment(sequence=videos[0], start=videos[0].duration - 2.0))
        out.append(chain_segments(segments, blend=BLEND, source=f"asl-stream-{seed}"))
    return out


def synthetic_stream(test, seed):
    """Held-out subjects' activities, each followed by one of their idle clips."""
    from poseact.train.streams import Segment, chain_segments

    rng = np.random.default_rng(seed)
    idle = [s for s, label in zip(test.sequences, test.labels) if label == test.background]
    moves = [
        (s, label) for s, label in zip(test.sequences, test.labels) if label != test.background
    ]
    segments = []
    for k in rng.permutation(len(moves)):
        segments.append(Segment(sequence=idle[int(rng.integers(len(idle)))]))
        sequence, label = moves[k]
        segments.append(Segment(sequence=sequence, label=label))
    segments.append(Segment(sequence=idle[0]))
    return chain_segments(segments, source=f"synthetic-stream-{seed}")


# ---------------------------------------------------------------------- fingertip streams
def fingertip_runs() -> list[tuple[str, np.ndarray]]:
    """(label, (n, 2) positions) of each continuous recording of the fingertip tracks
    (`recording_tracks`: the file's 16-frame rows slide one frame at a time), NaN where
    the logger lost the finger (`lost_frames`: it wrote the image's origin)."""
    from poseact.data.hand_paths import lost_frames
    from poseact.data.point_history import read_point_history, recording_tracks

    runs = []
    for label, track in recording_tracks(read_point_history(FINGERTIP)):
        track = track.copy()
        track[lost_frames(track)] = np.nan
        runs.append((label, track))
    return runs


def split_runs(runs, rng):
    """Half of each class's recordings for training, the other half for the streams."""
    train, test = [], []
    for label in sorted({label for label, _ in runs}):
        own = [r for r in runs if r[0] == label]
        order = rng.permutation(len(own))
        half = len(own) // 2
        train += [own[i] for i in order[:half]]
        test += [own[i] for i in order[half:]]
    return train, test


def track_pieces(runs, rng, shortest: float = FT_SHORTEST, longest: float = FT_LONGEST):
    """The recordings cut into consecutive pieces of `shortest`..`longest` seconds (a
    remainder shorter than `shortest` joins the piece before it; a recording shorter
    than `shortest` is left out)."""
    pieces = []
    for label, track in runs:
        start, n = 0, len(track)
        while n - start >= shortest * 30:
            length = int(rng.uniform(shortest, longest) * 30)
            if n - start - length < shortest * 30:
                length = n - start
            pieces.append((label, track[start : start + length]))
            start += length
    return pieces


def fingertip_session(gestures, moves, rng, source: str):
    """A stream of the gesture pieces in random order, each after `FT_GAP` seconds of
    in-between motion drawn from the "Move" recordings (pieces of them one after
    another, from a random place)."""
    from poseact.train.streams import chain_tracks

    pieces = []
    for k in rng.permutation(len(gestures)):
        need = int(rng.uniform(*FT_GAP) * 30)
        while need > 0:
            _, track = moves[int(rng.integers(len(moves)))]
            start = int(rng.integers(0, max(1, len(track) - need)))
            piece = track[start : start + need]
            pieces.append((None, piece))
            need -= len(piece)
        pieces.append(gestures[k])
    _, track = moves[0]
    pieces.append((None, track))
    return chain_tracks(pieces, source=source)


def fingertip_data(seeds):
    """(training Dataset, [(stream, annotations)] per seed): half of the recordings of
    each class become a recorded session (the gestures and the real motion between
    them); 1 s windows of its gestures (every 4 frames; a shorter gesture whole) are the
    gesture clips, 1 s windows of the motion between them (every 8 frames) the
    background "Move"; the other half's gestures, joined by
    the other half's "Move" recordings, are the streams."""
    from poseact.data.dataset import Dataset

    rng = np.random.default_rng(0)
    train, test = split_runs(fingertip_runs(), rng)
    moves = [r for r in train if r[0] == FT_MOVE]
    session, truth = fingertip_session(
        track_pieces([r for r in train if r[0] != FT_MOVE], rng), moves, rng, "fingertip-session"
    )
    clips, labels, groups = [], [], []
    busy = np.zeros(len(session), bool)
    for k, a in enumerate(truth):
        first, last = int(round(a.start * 30)), int(round(a.end * 30))
        busy[first : last + 1] = True
        for start in range(first, max(first, last - 29) + 1, 4):
            clips.append(session.between(start / 30, min(start + 29, last) / 30 + 1e-6))
            labels.append(a.label)
            groups.append(f"gesture{k}")
    for start in range(0, len(session) - 30, 8):
        if not busy[start : start + 30].any():
            clips.append(session.between(start / 30, (start + 29) / 30 + 1e-6))
            labels.append(FT_MOVE)
            groups.append(f"motion{int(busy[:start].sum())}")  # the gap it lies in
    clips = [c.replace(source=f"fingertip-session:{i}") for i, c in enumerate(clips)]
    # the windows of one gesture (or one gap) are a group: a split keeps them together
    data = Dataset(
        tuple(clips), tuple(labels), tuple(groups), background=FT_MOVE, name="fingertip-session"
    )
    test_moves = [r for r in test if r[0] == FT_MOVE]
    gestures = [r for r in test if r[0] != FT_MOVE]
    streams = []
    for seed in seeds:
        srng = np.random.default_rng(100 + seed)
        streams.append(
            fingertip_session(
                track_pieces(gestures, srng), test_moves, srng, f"fingertip-stream-{seed}"
            )
        )
    return data, streams


def out_of_view(stream, truth, after: float = 0.3, before: float = 0.5, shortest: float = 0.8):
    """The stream with its fingertip out of view between gestures, as a hand leaves the
    camera's view and comes back: nothing tracked (NaN, visibility 0) from `after`
    seconds past each gesture's end (and the stream's start) to `before` seconds before
    the next gesture's start, where that leaves at least `shortest` seconds."""
    import dataclasses

    times = np.asarray(stream.timestamps)
    landmarks, visibility = np.array(stream.landmarks), np.array(stream.visibility)
    ends = [float(times[0])] + [a.end for a in truth]
    starts = [a.start for a in truth] + [float(times[-1])]
    for end, start in zip(ends, starts):
        if start - before - (end + after) >= shortest:
            away = (times >= end + after) & (times <= start - before)
            landmarks[away], visibility[away] = np.nan, 0.0
    return dataclasses.replace(stream, landmarks=landmarks, visibility=visibility)


def hand_data(data, streams):
    """The fingertip set carried by a real hand (`carried_hand`, hands layout): each
    training clip at its own place in the image; the frames where the logger lost the
    finger (NaN, `fingertip_runs`) show no hand."""
    import dataclasses

    from poseact.data.hand_paths import carried_hand

    def hand_on(sequence, seed):
        return carried_hand(sequence, seed=seed, lost=np.zeros(len(sequence), bool))

    clips = tuple(hand_on(clip, i) for i, clip in enumerate(data.sequences))
    carried = [(hand_on(stream, 100 + k), truth) for k, (stream, truth) in enumerate(streams)]
    return dataclasses.replace(data, sequences=clips, name="hand-session"), carried


def train_and_export(data, path: Path, epochs: int, seed: int = 0, **training):
    """Train the default network (`GestureClassifier()` with `epochs` and `seed`: with a
    background class its training cuts transition windows, and it calibrates the
    default rejection rule) and export it as a float .tflite. `training`: other
    `TrainingOptions` fields than the defaults."""
    from poseact.deploy.export import export_tflite
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import TrainingOptions

    options = TrainingOptions(epochs=epochs, seed=seed, **training)
    clf = GestureClassifier(training=options).fit(data)
    export_tflite(clf, path, quantization="float")
    return clf


def train_setting(data, work: Path, stem: str, epochs: int, quick: bool, **training):
    """The model files of one setting, each trained on `data` (`train_and_export`;
    `training`: other `TrainingOptions` fields): seed 0's, and without `quick` those of
    `SEEDS` too."""
    seeds = (0,) if quick else (0, *SEEDS)
    models = [
        work / (f"{stem}.tflite" if seed == 0 else f"{stem}_seed{seed}.tflite") for seed in seeds
    ]
    for seed, model in zip(seeds, models):
        train_and_export(data, model, epochs, seed=seed, **training)
    return models


def stream_runs(model_path: Path, streams, options=None):
    """`evaluate_stream` of a model on each (stream, annotations)."""
    from poseact.train.stream_eval import evaluate_stream

    return [evaluate_stream(model_path, s, truth, options=options) for s, truth in streams]


def shrec_note(p) -> str:
    return (
        f"SHREC: detection rate {p.detection_rate:.3f} (start inside, up to {p.early:g} s"
        f" early), {p.false_positives_per_gesture:.3f} false positives per gesture, Jaccard"
        f" {p.jaccard:.2f}, delay {p.delay:.1f} frames"
    )


def score_streams(report: Report, name: str, models, streams, work: Path, options=None, what=""):
    """Score models (one training each) on streams, pooled. The default decisions (no
    `what`) are checked against `TARGETS[name]`; other settings (`what` says which) are
    context. The SHREC measures are reported beside."""
    from poseact.train.stream_eval import EventReport

    per_model = [stream_runs(model, streams, options) for model in models]
    per_model[0][0].save(work / f"stream-{name}{'-' + what if what else ''}")
    each = [EventReport.pooled([r.report for r in runs]) for runs in per_model]
    pooled = EventReport.pooled([r.report for runs in per_model for r in runs])
    key = name + ("_" + "".join(c if c.isalnum() else "_" for c in what) if what else "")
    seeds = ""
    if len(models) > 1:
        seeds = "; per training seed: " + ", ".join(
            f"{p.f1:.2f} ({p.latency_median:.2f} s, {p.false_alarms_per_minute:.1f}/min)"
            for p in each
        )
        report.figures[f"{key}_per_seed"] = [p.to_dict() for p in each]
    report.figures[f"{key}_stream"] = pooled.to_dict()  # everything, in the JSON only
    if what:  # another setting than the defaults: figures for context
        report.check(
            f"{key}_event_f1",
            f"{name} stream ({what}): event F1",
            pooled.f1,
            "",
            "—",
            None,
            f"median latency {pooled.latency_median:.2f} s, {pooled.false_alarms_per_minute:.2f}"
            f" false alarms/min; P {pooled.precision:.2f} R {pooled.recall:.2f}; "
            + shrec_note(pooled)
            + seeds,
        )
        return pooled
    print(pooled.summary())
    f1, alarms, latency = TARGETS[name]
    minutes = pooled.duration / 60
    note = (
        f"{pooled.num_true} true events in {minutes:.1f} min ({len(streams)} streams ×"
        f" {len(models)} trainings); P {pooled.precision:.2f} R {pooled.recall:.2f};"
        f" {pooled.missed} missed, {pooled.mislabelled} mislabelled, {pooled.misaligned}"
        f" misaligned, {pooled.duplicates} duplicate" + seeds
    )
    report.check(
        f"{name}_event_f1",
        f"{name} stream: event F1",
        pooled.f1,
        "",
        f">= {f1}",
        bool(pooled.f1 >= f1),
        note,
    )
    report.check(
        f"{name}_latency_median",
        f"{name} stream: median latency from the true start",
        pooled.latency_median,
        "s",
        f"<= {latency} s",
        # a latency is a difference of frame times: 18 frames at 30 fps is 0.6 s, though
        # the float difference may exceed 0.6 by 1e-14 (compared to the microsecond)
        bool(round(pooled.latency_median, 6) <= latency),
        f"90th percentile {pooled.latency_p90:.2f} s",
    )
    report.check(
        f"{name}_false_alarms",
        f"{name} stream: false alarms per minute of background",
        pooled.false_alarms_per_minute,
        "/min",
        f"<= {alarms}",
        bool(pooled.false_alarms_per_minute <= alarms),
        f"{pooled.false_alarms} in {pooled.background_seconds / 60:.1f} min",
    )
    report.check(
        f"{name}_shrec_detection_rate",
        f"{name} stream: SHREC detection rate",
        pooled.detection_rate,
        "",
        "—",
        None,
        shrec_note(pooled),
    )
    return pooled


def sweep_streams(report: Report, name: str, models, streams, work: Path):
    """The default decisions at thresholds 0.4..0.9 (`sweep_stream`), pooled over the
    models and streams: printed, in the JSON, and drawn (`sweep-NAME.png`)."""
    from poseact.train.stream_eval import EventReport, StreamSweep, sweep_stream

    thresholds = tuple(round(t, 2) for t in np.arange(0.4, 0.91, 0.1))
    runs = [
        sweep_stream(model, s, truth, thresholds=thresholds)
        for model in models
        for s, truth in streams
    ]
    pooled = StreamSweep(
        thresholds=thresholds,
        reports=tuple(
            EventReport.pooled([run.reports[k] for run in runs]) for k in range(len(thresholds))
        ),
        current=runs[0].current,
        source=f"{name} streams, {len(models)} trainings",
    )
    print(pooled.summary())
    pooled.plot(work / f"sweep-{name}.png")
    report.figures[f"{name}_sweep"] = [
        {
            "threshold": t,
            "f1": r.f1,
            "false_alarms_per_minute": r.false_alarms_per_minute,
            "latency_median_s": r.latency_median,
            "detection_rate": r.detection_rate,
            "false_positives_per_gesture": r.false_positives_per_gesture,
        }
        for t, r in zip(pooled.thresholds, pooled.reports)
    ]
    report.check(
        f"{name}_sweep",
        f"{name} stream: event F1 over the threshold (F1 / false alarms per min / latency s)",
        pooled.reports[thresholds.index(0.6)].f1,
        "",
        "—",
        None,
        "; ".join(
            f"{t:.1f}: {r.f1:.3f} / {r.false_alarms_per_minute:.2f} / {r.latency_median:.2f}"
            for t, r in zip(pooled.thresholds, pooled.reports)
        ),
    )
    return pooled


def probability_yardstick(clf, data, rate: float, *windows: np.ndarray) -> list[np.ndarray]:
    """(N,) answers of the former rule (poseact until 2026-12-06) for each (N, W, F)
    window array, for comparison: "unknown" where the top probability is below its
    class's threshold, the `rate` quantile of the probability the validation clips of
    that class get, each clip scored as is and in 8 draws of the training augmentation
    (the background is never rejected). The thresholds are calibrated once."""
    from poseact.data.augment import augment_windows, random_speed
    from poseact.train.engine import split_validation

    training = clf.training
    _, val = split_validation(data, training, action="calibration")
    normalizer, spec = clf.normalizer_, clf.normalizer_.spec
    rng = np.random.default_rng([training.seed, 12])
    clean, drawn = [], []
    for sequence in val.sequences:
        positions = normalizer.resampled(sequence)
        clean.append(normalizer.window(positions))
        for _ in range(8):
            p = random_speed(positions, training.augment, rng)
            start = None
            if p.shape[0] > spec.window:
                start = int(rng.integers(0, p.shape[0] - spec.window + 1))
            drawn.append(normalizer.window(p, start=start))
    calibration = np.concatenate(
        [np.stack(clean), augment_windows(np.stack(drawn), spec.layout, training.augment, rng)]
    )
    targets = np.concatenate([val.label_indices, np.repeat(val.label_indices, 8)])
    own = clf.predict_proba(normalizer.features(calibration))[np.arange(len(targets)), targets]
    limits = np.array(
        [
            np.quantile(own[targets == c], rate)
            if label != data.background and np.any(targets == c)
            else 0.0
            for c, label in enumerate(clf.classes_)
        ]
    )
    out = []
    for x in windows:
        probs = clf.predict_proba(x)
        best = probs.argmax(axis=1)
        answers = clf.classes_[best].astype(object)
        answers[probs.max(axis=1) < limits[best]] = "unknown"
        out.append(answers.astype(str))
    return out


def held_out(report: Report, data, work: Path, epochs: int, rng, name: str = "heldout"):
    """Each ASL sign left out in turn, three trainings each (seeds 0, 1, 2); the share of
    its clips answered unknown/background and the known-class accuracy drop, beside the
    former rule (a threshold on the top probability) on the same networks.
    The pose layout is checked against the targets; another layout is context."""
    from poseact.data.dataset import Dataset
    from poseact.train.options import TrainingOptions

    rate = TrainingOptions().reject_rate  # the default rule
    rejected, drops, yard_rejected, yard_drops, per_sign = [], [], [], [], []
    for sign in sorted(set(data.labels)):
        keep = [i for i, label in enumerate(data.labels) if label != sign]
        known = Dataset(tuple(data.sequences[i] for i in keep), tuple(data.labels[i] for i in keep))
        train, test = known.split(0.3, seed=0)
        full = with_background(train, background_clips(train, rng))
        held = [s for s, label in zip(data.sequences, data.labels) if label == sign]
        truth = np.array(test.labels)
        signs = []
        for seed in (0, *SEEDS):
            clf = train_and_export(
                full, work / f"{name}_without_{sign}_seed{seed}.tflite", epochs, seed=seed
            )
            x_held, x_test = clf.features(held), clf.features(test)
            closed = float(np.mean(clf.predict(x_test, reject=False) == truth))
            share = float(np.mean(np.isin(clf.predict(x_held), ("unknown", BACKGROUND))))
            drop = closed - float(np.mean(clf.predict(x_test) == truth))
            yard_held, yard_test = probability_yardstick(clf, full, rate, x_held, x_test)
            rejected.append(share)
            drops.append(drop)
            signs.append(share)
            yard_rejected.append(float(np.mean(np.isin(yard_held, ("unknown", BACKGROUND)))))
            yard_drops.append(closed - float(np.mean(yard_test == truth)))
            print(
                f"  without {sign}, seed {seed}: {share:.0%} of its clips rejected"
                f" (probability rule {yard_rejected[-1]:.0%}); known accuracy {closed:.3f}"
                f" closed-set, drop {100 * drop:.1f} points (probability rule"
                f" {100 * yard_drops[-1]:.1f})"
            )
        per_sign.append(f"{sign} {np.mean(signs):.0%}")
    layout = data.sequences[0].layout
    context = layout != "pose"
    report.check(
        f"{name}_rejected",
        f"held-out ASL sign answered unknown/background ({layout}, 3 trainings)",
        100 * float(np.mean(rejected)),
        "%",
        "—" if context else ">= 90 %",
        None if context else bool(np.mean(rejected) >= 0.9),
        "per sign: " + ", ".join(per_sign) + f"; the former rule (top probability) on the"
        f" same networks: {100 * np.mean(yard_rejected):.1f} %",
    )
    report.check(
        f"{name}_accuracy_drop",
        f"known-class accuracy drop with rejection ({layout}, 3 trainings)",
        100 * float(np.mean(drops)),
        "points",
        "—" if context else "<= 1",
        None if context else bool(np.mean(drops) <= 0.01),
        "per training: "
        + ", ".join(f"{100 * d:.1f}" for d in drops)
        + f"; the former rule: {100 * np.mean(yard_drops):.1f} points",
    )


def run(args) -> Report:
    from poseact.runtime.decider import DecisionOptions
    from poseact.train.options import TrainingOptions

    quick = args.quick
    report = Report("stream", "Continuous recognition and unknown gestures", quick)
    epochs = 10 if quick else 40
    work = Path(args.work)
    rng = np.random.default_rng(0)
    stream_seeds = (0,) if quick else (0, 1, 2)

    data = load_asl()
    train, test = data.split(0.3, seed=0)
    asl_train = with_background(train, background_clips(train, rng))
    finger_train, finger_streams = fingertip_data(stream_seeds)
    strain, stest = embedded_split()
    sets = (
        # the harder streams: real free motion between gestures
        ("fingertip", finger_train, finger_streams, 15 if quick else TrainingOptions().epochs),
        ("asl", asl_train, asl_streams(test, stream_seeds), epochs),
        ("synthetic", strain, [synthetic_stream(stest, 0)], 10 if quick else 30),
    )
    for name, data_, streams, n in sets:
        models = train_setting(data_, work, f"{name}_stream", n, quick)
        score_streams(report, name, models, streams, work)
        # for context, on the same models: the rule judging starts, a longer start
        # confirmation, and the threshold swept
        options = DecisionOptions(reject_starts=True)
        score_streams(report, name, models, streams, work, options, "reject_starts")
        options = DecisionOptions(min_frames=8)
        score_streams(report, name, models, streams, work, options, STRICT_NOTE)
        sweep_streams(report, name, models, streams, work)
        if name == "fingertip":
            # the same streams with the fingertip away between gestures
            away = [(out_of_view(stream, truth), truth) for stream, truth in streams]
            score_streams(report, name, models, away, work, None, AWAY_NOTE)
            back = [(out_of_view(stream, truth, before=0.0), truth) for stream, truth in streams]
            score_streams(report, name, models, back, work, None, BACK_NOTE)
            # the same sets carried by a real hand (hands layout)
            hands, carried = hand_data(data_, streams)
            models = train_setting(hands, work, "hands_stream", n, quick)
            score_streams(report, name, models, carried, work, None, HANDS_NOTE)
        if name in ("fingertip", "asl"):
            # retrained with hard negatives (off by default: it helps the fingertip
            # streams' background of real motion and costs the ASL streams;
            # docs/streaming.md)
            models = train_setting(data_, work, f"{name}_stream_hard", n, quick, hard_negatives=1.0)
            score_streams(report, name, models, streams, work, None, HARD_NOTE)

    held_out(report, data, work, epochs, rng)
    return report


if __name__ == "__main__":
    raise SystemExit(main_wrapper(run, __doc__.splitlines()[0]))
