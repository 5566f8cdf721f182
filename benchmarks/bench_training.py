"""Training time: 2,000 sequences × 30-frame windows on the CPU, GRU vs LSTM.

    python -m benchmarks.bench_training [--quick]

2,000 SYNTHETIC clips (`generate_activities`, 72 subjects × 7 classes × 4 clips, the
first 2,000) train poseact's default classifier (`GestureClassifier()`: 64 units,
30-frame windows at 30 fps, default `TrainingOptions`: up to 60 epochs, early stopping
on a 15 % validation split, augmentation) once as a GRU and once as an LSTM, the same
seed for both. Wall time is `training_seconds_` (the whole `fit`: normalizing,
augmenting, Keras); accuracy is measured on 336 clips of 12 other synthetic subjects.
`--quick` trains 500 clips for at most 8 epochs (no target check).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Report, Stopwatch, busy_note, main_wrapper

TARGET_SECONDS = 60.0
SEQUENCES = 2000


def run(args) -> Report:
    from poseact.data.synthetic import generate_activities
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    quick = args.quick
    report = Report("training", "Training time", quick)
    count = 500 if quick else SEQUENCES
    subjects = -(-count // 28)  # 7 classes × 4 clips per subject
    start = time.perf_counter()
    data = generate_activities(num_subjects=subjects, clips_per_class=4, seed=1)
    data = data.subset(np.arange(count))
    test = generate_activities(num_subjects=12, clips_per_class=4, seed=2)
    report.figure("generate_s", time.perf_counter() - start, "s", "generating the clips")
    report.figure("sequences", len(data), "", "training sequences")
    print(f"training: {len(data)} sequences, windows of 30 frames, CPU", flush=True)
    training = TrainingOptions(epochs=8, seed=0) if quick else TrainingOptions(seed=0)
    results = {}
    for architecture in ("gru", "lstm"):
        classifier = GestureClassifier(
            model=ModelOptions(architecture=architecture), training=training
        )
        with Stopwatch() as watch:
            classifier.fit(data)
        epochs = len(classifier.history_["loss"])
        result = {
            "seconds": classifier.training_seconds_,
            "cpu_seconds": watch.cpu,
            "epochs": epochs,
            "seconds_per_epoch": classifier.training_seconds_ / epochs,
            "test_accuracy": classifier.score(test),
            "parameters": int(classifier.model_.count_params()),
        }
        results[architecture] = result
        report.figures[architecture] = result
        print(
            f"  {architecture}: {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} s CPU),"
            f" {epochs} epochs, {result['seconds_per_epoch']:.2f} s/epoch, test accuracy"
            f" {result['test_accuracy']:.3f}, {result['parameters']} parameters",
            flush=True,
        )
    gru, lstm = results["gru"], results["lstm"]
    note = busy_note(report)
    report.check(
        "gru_seconds",
        f"train {len(data)} sequences (GRU, default options)",
        gru["seconds"],
        "s",
        f"< {TARGET_SECONDS:g} s" + (" (2,000 sequences)" if quick else ""),
        None if quick else gru["seconds"] < TARGET_SECONDS,
        f"{gru['epochs']} epochs (early stopping), {gru['seconds_per_epoch']:.2f} s/epoch,"
        f" {gru['cpu_seconds']:.0f} s CPU"
        + ("" if quick or gru["seconds"] < TARGET_SECONDS or not note else f"; {note}"),
    )
    report.check(
        "gru_vs_lstm_epoch",
        "LSTM / GRU time per epoch",
        lstm["seconds_per_epoch"] / gru["seconds_per_epoch"],
        "×",
        "— (GRU expected faster)",
        None,
        f"GRU {gru['seconds_per_epoch']:.2f} s/epoch, LSTM {lstm['seconds_per_epoch']:.2f}"
        f" s/epoch; whole fit GRU {gru['seconds']:.0f} s ({gru['epochs']} epochs), LSTM"
        f" {lstm['seconds']:.0f} s ({lstm['epochs']} epochs)",
    )
    report.check(
        "gru_vs_lstm_accuracy",
        "test accuracy GRU − LSTM (points)",
        100 * (gru["test_accuracy"] - lstm["test_accuracy"]),
        "pts",
        "— (similar expected)",
        None,
        f"GRU {100 * gru['test_accuracy']:.1f} %, LSTM {100 * lstm['test_accuracy']:.1f} %"
        " on 336 clips of 12 unseen synthetic subjects",
    )
    return report


if __name__ == "__main__":
    raise SystemExit(main_wrapper(run, __doc__.splitlines()[0]))
