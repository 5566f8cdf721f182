"""The end-to-end demo: embedded dataset → train → evaluate → export → run with LiteRT."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from poseact.data.dataset import Dataset
from poseact.deploy.export import ExportReport, export_tflite
from poseact.loading import load_dataset, load_default_dataset
from poseact.runtime.model import TFLiteGestureModel
from poseact.train.evaluate import EvaluationReport, evaluate
from poseact.train.options import ModelOptions, TrainingOptions
from poseact.train.workflow import train_and_evaluate

__all__ = ["DemoResult", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and measured.

    Attributes:
        dataset: one-line summary of the dataset used.
        train_clips, test_clips: clips on each side of the subject-wise split.
        test_subjects: groups held out for testing (empty for a stratified split of a
            dataset without subjects).
        keras_report: evaluation of the Keras model on the test subjects.
        exports: quantization → export report (size, parity).
        tflite_reports: quantization → evaluation of the exported model run by LiteRT.
        output_dir: where the model, exports and reports were written.
        training_seconds: wall time of `fit`.
        split: how the clips were split, in words.
    """

    dataset: str
    train_clips: int
    test_clips: int
    test_subjects: tuple[str, ...]
    keras_report: EvaluationReport
    exports: dict[str, ExportReport] = field(default_factory=dict)
    tflite_reports: dict[str, EvaluationReport] = field(default_factory=dict)
    output_dir: Path = Path(".")
    training_seconds: float = 0.0
    split: str = ""

    @property
    def _held_out(self) -> str:
        return "test subjects" if self.test_subjects else "test clips"

    def summary(self) -> str:
        lines = [
            f"dataset: {self.dataset}",
            self.split,
            f"training: {self.training_seconds:.1f} s",
            "",
            f"Keras model on the {self._held_out}:",
            self.keras_report.summary(),
            "",
            f"exported TFLite models, run with LiteRT on the {self._held_out}:",
        ]
        for q, export in self.exports.items():
            report = self.tflite_reports[q]
            lines.append(
                f"  {q:8s} {export.size_bytes / 1024:7.1f} KB  accuracy {report.accuracy:.3f}"
                f"  macro F1 {report.macro_f1:.3f}  parity max|Δp| {export.max_abs_diff:.1e},"
                f" argmax agreement {export.argmax_agreement:.1%}"
                f" {'ok' if export.parity_ok else 'FAILED'}"
            )
        lines.append(f"\noutputs in {self.output_dir}")
        return "\n".join(lines)


def run_demo(
    output_dir: str | os.PathLike = "demo-output",
    *,
    dataset: str | os.PathLike | Dataset | None = None,
    architecture: str = "gru",
    quantizations: tuple[str, ...] = ("float", "int8"),
    test_fraction: float = 0.25,
    seed: int = 0,
    epochs: int | None = None,
    verbose: int = 0,
) -> DemoResult:
    """Train, evaluate, export and run a model on the embedded (or a given) dataset.

    Args:
        output_dir: folder for model.poseact, gestures_<quantization>.tflite and reports.
        dataset: a Dataset, a dataset path, or None for the embedded synthetic one.
        architecture: "gru", "lstm", "frame_mlp" or "window_mlp".
        quantizations: exports to write and check.
        test_fraction: share of clips (whole subjects) held out for testing.
        seed: seed of the split and of training.
        epochs: maximum epochs (default: TrainingOptions' default).
        verbose: 1 shows a progress bar over epochs.
    """
    # checked first (epochs=0 is an error, not "the default"), before anything is written
    training = TrainingOptions(seed=seed, **({"epochs": epochs} if epochs is not None else {}))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if dataset is None:
        data = load_default_dataset()
    elif isinstance(dataset, Dataset):
        data = dataset
    else:
        data = load_dataset(dataset)
    run = train_and_evaluate(
        data,
        model=ModelOptions(architecture=architecture),
        training=training,
        test_fraction=test_fraction,
        seed=seed,
        output=out / "model.poseact",
        verbose=verbose,
    )
    classifier, train, test, keras_report = run.classifier, run.train, run.test, run.report
    keras_report.save(out / "report-keras")
    exports, tflite_reports = {}, {}
    for quantization in quantizations:
        path = out / f"gestures_{quantization}.tflite"
        exports[quantization] = export_tflite(
            classifier, path, quantization=quantization, parity_data=test
        )
        with TFLiteGestureModel(path) as exported:
            tflite_reports[quantization] = evaluate(exported, test)
        tflite_reports[quantization].save(out / f"report-tflite-{quantization}")
    return DemoResult(
        dataset=data.summary(),
        train_clips=len(train),
        test_clips=len(test),
        test_subjects=tuple(sorted(set(test.groups))) if run.by_subject else (),
        split=run.split,
        keras_report=keras_report,
        exports=exports,
        tflite_reports=tflite_reports,
        output_dir=out,
        training_seconds=classifier.training_seconds_,
    )
