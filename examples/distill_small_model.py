"""Distill a large model into a small one for phones: GRU 128 teacher → GRU 32 student.

    python examples/distill_small_model.py                  # the embedded dataset
    python examples/distill_small_model.py datasets/asl_signs/asl_signs.npz

The student learns from the teacher's softened probabilities (temperature T) beside
the true labels (Hinton et al., 2015): the teacher's "this wave looks a bit like a
clap" is extra signal a small model trained on hard labels alone never sees. The
script compares the distilled student with the same student trained from scratch,
in accuracy and in exported TFLite size. The student's `.tflite` goes to `--output`
(default: a new temporary folder, printed).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import poseact


def load(path: str | None) -> poseact.Dataset:
    if path is None:
        return poseact.load_default_dataset()
    try:
        return poseact.load_dataset(path)
    except poseact.DatasetError:
        return poseact.read_public_dataset(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=None, help="default: the embedded dataset")
    parser.add_argument("--teacher-units", type=int, default=128)
    parser.add_argument("--student-units", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--output", default=None, help="default: in a new temporary folder")
    args = parser.parse_args()
    output = args.output or str(
        Path(tempfile.mkdtemp(prefix="poseact-example-")) / "student.tflite"
    )

    data = load(args.data)
    train, test = data.split(0.25, seed=0)  # subject-wise when the data has subjects
    print(f"train: {train.summary()}\ntest:  {test.summary()}")
    training = poseact.TrainingOptions(epochs=args.epochs, seed=0)
    student = poseact.ModelOptions(architecture="gru", units=args.student_units)

    teacher = poseact.GestureClassifier(
        model=poseact.ModelOptions(architecture="gru", units=args.teacher_units),
        training=training,
    ).fit(train)
    distilled = poseact.distill(
        teacher,
        train,
        student=student,
        training=training,
        options=poseact.DistillOptions(temperature=args.temperature),
    )
    scratch = poseact.GestureClassifier(model=student, training=training).fit(train)

    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'model':<28} {'accuracy':>8} {'macro F1':>8} {'params':>8} {'TFLite KB':>9}")
        for name, model, path in (
            (f"teacher GRU {args.teacher_units}", teacher, Path(tmp) / "teacher.tflite"),
            (f"distilled student GRU {args.student_units}", distilled, Path(output)),
            (f"scratch student GRU {args.student_units}", scratch, Path(tmp) / "scratch.tflite"),
        ):
            scores = poseact.evaluate(model, test)
            report = poseact.export_tflite(model, path, parity_data=test)
            print(
                f"{name:<28} {scores.accuracy:8.3f} {scores.macro_f1:8.3f}"
                f" {model.model_.count_params():8d} {report.size_bytes / 1024:9.1f}"
            )
    print(f"student exported to {output}")


if __name__ == "__main__":
    main()
