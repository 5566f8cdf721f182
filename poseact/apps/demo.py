"""The end-to-end demo: embedded dataset → train → evaluate → export → run with LiteRT.

`run_demo()` uses the embedded synthetic dataset; `run_demo(dataset="asl_signs")` or
`"fingertip_tracks"` one of the real datasets shipped in the repository's `datasets/`
(see `SHIPPED_DATASETS`), and says what that dataset can and cannot show.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from poseact.core.errors import DatasetError
from poseact.data.dataset import Dataset
from poseact.deploy.export import ExportReport, export_tflite
from poseact.loading import load_dataset, load_default_dataset
from poseact.runtime.model import TFLiteGestureModel
from poseact.train.evaluate import EvaluationReport, evaluate
from poseact.train.options import ModelOptions, TrainingOptions
from poseact.train.workflow import train_and_evaluate

__all__ = ["DemoResult", "SHIPPED_DATASETS", "ShippedDataset", "run_demo", "shipped_dataset_path"]


@dataclass(frozen=True)
class ShippedDataset:
    """A real dataset shipped in `datasets/`, with what it can and cannot show.

    Attributes:
        name: its name, as `poseact demo --dataset NAME` takes it.
        path: the file or folder, relative to the repository root.
        read: reads `path` into a `Dataset`.
        group_noun: what a group of it is ("subject", "recording"); "" when it has none.
        can: what a score on it shows.
        cannot: what it does not show.
    """

    name: str
    path: str
    read: Callable[[Path], Dataset]
    group_noun: str
    can: str
    cannot: str


def _read_asl(path: Path) -> Dataset:
    from poseact.data.formats import read_holistic_npz

    return read_holistic_npz(path, layout="pose+hands")


def _read_fingertips(path: Path) -> Dataset:
    from poseact.data.point_history import read_point_history

    return read_point_history(path)


#: The real datasets in the repository's `datasets/` folder (see datasets/README.md).
SHIPPED_DATASETS: dict[str, ShippedDataset] = {
    "asl_signs": ShippedDataset(
        name="asl_signs",
        path="datasets/asl_signs/asl_signs.npz",
        read=_read_asl,
        group_noun="",
        can="real MediaPipe Holistic landmarks (pose + hands) of 3 ASL signs, 90 clips: the"
        " pipeline works on what a real webcam and MediaPipe produce",
        cannot="generalisation to people: it is one signer, so the test clips are new"
        " repetitions by the same person, not a new person",
    ),
    "fingertip_tracks": ShippedDataset(
        name="fingertip_tracks",
        path="datasets/fingertip_tracks",
        read=_read_fingertips,
        group_noun="recording",
        can="real index-fingertip tracks of 4 finger gestures (a non-MediaPipe layout: one"
        " point); whole recordings are held out, so near-copies of a test track are never"
        " in training",
        cannot="generalisation to people: subjects were not recorded and it is probably one person",
    ),
}


def shipped_dataset_path(name: str) -> Path:
    """Where the shipped dataset `name` is: the repository's `datasets/` folder.

    Raises:
        DatasetError: an unknown name, or poseact does not run from a checkout holding
            the dataset (the real datasets ship with the repository, not the package).
    """
    if name not in SHIPPED_DATASETS:
        raise DatasetError(
            f"unknown shipped dataset {name!r}; expected one of {sorted(SHIPPED_DATASETS)}"
        )
    path = Path(__file__).resolve().parents[2] / SHIPPED_DATASETS[name].path
    if not path.exists():
        raise DatasetError(
            f"{name} is not at {path}: the real datasets ship with the poseact repository"
            " (git clone it), not with the installed package"
        )
    return path


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
        notes: lines printed under the dataset: what it can and cannot show.
        group_noun: what a held-out group is ("subject", "recording").
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
    notes: tuple[str, ...] = ()
    group_noun: str = "subject"

    @property
    def _held_out(self) -> str:
        if self.test_subjects:
            return f"held-out {self.group_noun}s"
        return "held-out clips"

    def summary(self) -> str:
        lines = [
            f"dataset: {self.dataset}",
            *self.notes,
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
    architecture: str | None = None,
    quantizations: tuple[str, ...] = ("float", "int8"),
    test_fraction: float = 0.25,
    seed: int = 0,
    epochs: int | None = None,
    verbose: int = 0,
) -> DemoResult:
    """Train, evaluate, export and run a model on the embedded (or a given) dataset.

    Args:
        output_dir: folder for model.poseact, gestures_<quantization>.tflite and reports.
        dataset: a Dataset, a dataset path, the name of a real dataset shipped in
            `datasets/` (a key of `SHIPPED_DATASETS`), or None for the embedded one.
        architecture: one of `MODEL_ARCHITECTURES` ("auto": the best of a few
            candidates, as `ModelOptions` says); None: `ModelOptions`' default.
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
    notes: tuple[str, ...] = ()
    group_noun = "subject"
    if dataset is None:
        data = load_default_dataset()
    elif isinstance(dataset, Dataset):
        data = dataset
    elif isinstance(dataset, str) and dataset in SHIPPED_DATASETS:
        shipped = SHIPPED_DATASETS[dataset]
        data = shipped.read(shipped_dataset_path(dataset))
        group_noun = shipped.group_noun or group_noun
        notes = (f"what it can show: {shipped.can}", f"what it cannot show: {shipped.cannot}")
    else:
        data = load_dataset(dataset)
    run = train_and_evaluate(
        data,
        model=ModelOptions() if architecture is None else ModelOptions(architecture=architecture),
        training=training,
        test_fraction=test_fraction,
        seed=seed,
        output=out / "model.poseact",
        verbose=verbose,
        group_noun=group_noun,
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
            tflite_reports[quantization] = evaluate(exported, test, split=keras_report.split)
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
        notes=notes,
        group_noun=group_noun,
    )
