"""Evaluation: accuracy, per-class precision/recall/F1 and the confusion matrix.

Works with any fitted model that has `classes_` and `predict(sequences)`: a Keras
`GestureClassifier` or an exported `TFLiteGestureModel`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.atomic import atomic_path, atomic_write_text, write_error
from poseact.core.errors import UnknownLabelError, WriteError
from poseact.data.dataset import Dataset

__all__ = ["EvaluationReport", "evaluate"]


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """Scores of a model on a labelled dataset.

    Attributes:
        classes: class names, the order of every per-class array and of the matrix.
        accuracy: share of clips classified correctly.
        macro_f1: unweighted mean of the per-class F1 over classes with clips.
        precision, recall, f1: (C,) per-class scores (0 where undefined).
        support: (C,) clips per true class.
        confusion: (C, C) int counts; rows are true classes, columns predictions.
    """

    classes: tuple[str, ...]
    accuracy: float
    macro_f1: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    confusion: np.ndarray

    @property
    def num_clips(self) -> int:
        return int(self.support.sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "num_clips": self.num_clips,
            "classes": list(self.classes),
            "per_class": {
                c: {
                    "precision": float(self.precision[i]),
                    "recall": float(self.recall[i]),
                    "f1": float(self.f1[i]),
                    "support": int(self.support[i]),
                }
                for i, c in enumerate(self.classes)
            },
            "confusion": self.confusion.astype(int).tolist(),
        }

    def summary(self) -> str:
        """A plain-text table: per-class scores, then accuracy and macro F1."""
        width = max(8, *(len(c) for c in self.classes))
        lines = [f"{'class':<{width}}  precision  recall     f1  support"]
        for i, c in enumerate(self.classes):
            lines.append(
                f"{c:<{width}}  {self.precision[i]:9.3f}  {self.recall[i]:6.3f}"
                f"  {self.f1[i]:5.3f}  {int(self.support[i]):7d}"
            )
        lines.append(
            f"accuracy {self.accuracy:.3f}  macro F1 {self.macro_f1:.3f}  ({self.num_clips} clips)"
        )
        return "\n".join(lines)

    def save(self, directory: str | os.PathLike, *, title: str = "") -> dict[str, Path]:
        """Write report.json, confusion.csv and confusion.png into `directory`."""
        out = Path(directory)
        if out.exists() and not out.is_dir():
            raise WriteError(
                f"cannot write the report into {out}: it is a file, not a folder; nothing was"
                " saved there"
            )
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(out, exc) from exc
        paths = {
            "json": atomic_write_text(
                out / "report.json", json.dumps(self.to_dict(), indent=1) + "\n"
            ),
            "csv": atomic_write_text(out / "confusion.csv", self._confusion_csv()),
        }
        paths["png"] = self._plot(out / "confusion.png", title)
        return paths

    def _confusion_csv(self) -> str:
        """The confusion matrix as CSV (labels quoted when they hold commas or quotes)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["true\\predicted", *self.classes])
        for c, row in zip(self.classes, self.confusion):
            writer.writerow([c, *(int(v) for v in row)])
        return buffer.getvalue()

    def _plot(self, path: Path, title: str) -> Path:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        n = len(self.classes)
        fig = Figure(figsize=(1.6 + 0.7 * n, 1.2 + 0.6 * n), dpi=100)
        ax = fig.add_subplot()
        rows = self.confusion.sum(axis=1, keepdims=True)
        shares = np.divide(self.confusion, rows, out=np.zeros(self.confusion.shape), where=rows > 0)
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    str(int(self.confusion[i, j])),
                    ha="center",
                    va="center",
                    color="white" if shares[i, j] > 0.5 else "black",
                    fontsize=9,
                )
        ax.set_xticks(range(n), self.classes, rotation=45, ha="right")
        ax.set_yticks(range(n), self.classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title or f"accuracy {self.accuracy:.1%}, macro F1 {self.macro_f1:.3f}")
        fig.tight_layout()
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png")
        return path


def evaluate(model, data: Dataset, labels=None) -> EvaluationReport:
    """Score `model` on a `Dataset` (or on sequences `data` with `labels`).

    Args:
        model: fitted, with `classes_` and `predict(sequences) -> (N,) labels`.
        data: a `Dataset`, or a list of `LandmarkSequence` with `labels`.

    Raises:
        UnknownLabelError: a true label that the model does not know.
    """
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    if isinstance(data, Dataset):
        sequences, truth = data.sequences, list(data.labels)
        where = f"dataset {data.name}" if data.name else "the evaluation dataset"
    else:
        sequences, truth = list(data), [str(v) for v in labels]
        where = "the evaluation data"
    classes = tuple(str(c) for c in model.classes_)
    unknown = sorted(set(truth) - set(classes))
    if unknown:
        first = next(
            getattr(seq, "source", "") for seq, label in zip(sequences, truth) if label in unknown
        )
        raise UnknownLabelError(
            f"{where} has labels {unknown} that the model"
            f"{' ' + str(model.path) if getattr(model, 'path', None) else ''} does not know"
            f" (it knows {list(classes)}){'; e.g. ' + first if first else ''}"
        )
    predicted = [str(p) for p in model.predict(sequences)]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=list(classes), zero_division=0
    )
    present = [c for c in classes if c in set(truth)]
    return EvaluationReport(
        classes=classes,
        accuracy=float(np.mean(np.array(truth) == np.array(predicted))),
        macro_f1=float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        confusion=confusion_matrix(truth, predicted, labels=list(classes)),
    )
