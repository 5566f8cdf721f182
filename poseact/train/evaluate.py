"""Evaluation: accuracy, per-class precision/recall/F1, the confusion matrix, and the
clips that were wrong.

Works with any fitted model that has `classes_`, `predict(sequences)` and
`predict_proba(sequences)`: a Keras `GestureClassifier` or an exported
`TFLiteGestureModel`. `EvaluationReport.save` writes the report as JSON, CSV, two
confusion pictures and one HTML page (see `poseact.train.report_pages`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.atomic import atomic_dir
from poseact.core.errors import UnknownLabelError, WriteError
from poseact.core.labels import csv_cell
from poseact.data.dataset import Dataset

__all__ = ["ClipResult", "EvaluationReport", "evaluate"]


@dataclass(frozen=True, eq=False)
class ClipResult:
    """The model's answer on one clip.

    Attributes:
        file: where the clip came from (its file, or `dataset[i]`).
        true: its label.
        predicted: the model's answer.
        confidence: the model's probability of its answer, in [0, 1]; None for a model
            without `predict_proba`.
        group: the clip's subject or recording ("" if unknown).
        sequence: the clip itself (for pictures; not saved).
    """

    file: str
    true: str
    predicted: str
    confidence: float | None
    group: str = ""
    sequence: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "true": self.true,
            "predicted": self.predicted,
            "confidence": None if self.confidence is None else round(float(self.confidence), 4),
            **({"group": self.group} if self.group else {}),
        }


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """Scores of a model on a labelled dataset.

    Attributes:
        classes: class names, the order of every per-class array and of the matrix.
        accuracy: share of clips classified correctly.
        macro_f1: unweighted mean of the per-class F1 over classes with clips.
        precision, recall, f1: (C,) per-class scores (0 where undefined).
        support: (C,) clips per true class.
        confusion: (C, C) int counts, or (C, C + 1) when the model can answer
            `unknown` (a rejection rule): rows are true classes, columns predictions
            (`columns`), the last one "unknown" then.
        clips: the answer on every clip, in dataset order.
        model: the model's name (its file), for titles.
        dataset: the dataset's name (its folder or file), for titles.
        split: what the clips were, e.g. "held-out subjects bob" or "held-out clips
            (no subjects known)"; "" if not said.
        note: the split said in full (which subjects were held out, by name), shown
            under the report page's heading; "" if not said.
        unknown: the answer of a model's rejection rule ("unknown"), the confusion
            matrix's last column; None for a model that always names a class.
        yardstick: the random-forest yardstick's accuracy on the same clips
            (`poseact.train.yardstick`), or None when not measured.
        notes: one-line warnings about the score (`yardstick_note`), shown with it.
    """

    classes: tuple[str, ...]
    accuracy: float
    macro_f1: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    confusion: np.ndarray
    clips: tuple[ClipResult, ...] = ()
    model: str = ""
    dataset: str = ""
    split: str = ""
    note: str = ""
    unknown: str | None = None
    yardstick: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The confusion matrix's columns: `classes`, then `unknown` if there is one."""
        return self.classes + (() if self.unknown is None else (self.unknown,))

    @property
    def num_clips(self) -> int:
        return int(self.support.sum())

    @property
    def misclassified(self) -> tuple[ClipResult, ...]:
        """The clips whose answer was not their label, in dataset order."""
        return tuple(c for c in self.clips if c.predicted != c.true)

    @property
    def title(self) -> str:
        """ "<model> on <dataset> (<split>): accuracy ..., macro F1 ..." (what was measured)."""
        what = " on ".join(part for part in (self.model, self.dataset) if part)
        if self.split:
            what = f"{what} ({self.split})" if what else self.split
        scores = (
            f"accuracy {self.accuracy:.3f}, macro F1 {self.macro_f1:.3f}, {self.num_clips} clips"
        )
        return f"{what}: {scores}" if what else scores

    @property
    def heading(self) -> str:
        """ "<model> on <dataset>": what was evaluated (the report page's heading)."""
        what = " on ".join(part for part in (self.model, self.dataset) if part)
        return what or "Evaluation"

    def describe_clips(self) -> str:
        """The note under the page's heading: `note`, else the subjects of the clips."""
        if self.note:
            return self.note
        groups = sorted({c.group for c in self.clips if c.group})
        if groups:
            noun = "subject" if len(groups) == 1 else "subjects"
            return f"{self.num_clips} clips of {len(groups)} {noun}: {', '.join(groups)}"
        return self.split

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "split": self.split,
            "note": self.note,
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
            "confusion_columns": list(self.columns),
            "misclassified": [c.to_dict() for c in self.misclassified],
            **({} if self.yardstick is None else {"yardstick_accuracy": self.yardstick}),
            **({"notes": list(self.notes)} if self.notes else {}),
        }

    def confusion_text(self) -> str:
        """The confusion matrix as a plain-text table (rows true, columns predicted)."""
        names = list(self.classes)
        width = max(len("true/predicted"), *(len(c) for c in names))
        cell = max(5, *(len(c) for c in self.columns))
        head = "true/predicted"
        lines = [f"{head:<{width}}  " + " ".join(f"{c:>{cell}}" for c in self.columns)]
        for c, row in zip(names, self.confusion):
            lines.append(f"{c:<{width}}  " + " ".join(f"{int(v):>{cell}}" for v in row))
        return "\n".join(lines)

    def summary(self) -> str:
        """A plain-text report: per-class scores, accuracy and macro F1 (and the
        yardstick's accuracy when measured), the confusion matrix, and how many clips
        were wrong."""
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
        if self.yardstick is not None:
            lines.append(
                f"yardstick (random forest on clip statistics): accuracy {self.yardstick:.3f}"
            )
        lines += [
            "",
            "confusion matrix (rows: true class, columns: predicted):",
            self.confusion_text(),
        ]
        if self.clips:
            wrong = len(self.misclassified)
            lines.append(f"{wrong} of {len(self.clips)} clips misclassified")
        lines += list(self.notes)
        return "\n".join(lines)

    def save(
        self,
        directory: str | os.PathLike,
        *,
        title: str = "",
        subjects: dict[str, dict[str, Any]] | None = None,
        force: bool = False,
    ) -> dict[str, Path]:
        """Write the report into `directory`, as a unit (`core.atomic.atomic_dir`).

        Files: report.json (scores, matrix, misclassified clips), confusion.csv,
        confusion.png (counts), confusion_normalized.png (shares of each true class)
        and report.html (one self-contained page with the pictures and a skeleton
        strip of each misclassified clip).

        Args:
            directory: the folder (created if needed).
            title: the page's heading; default `self.heading` (the scores follow it,
                the note under it names the held-out subjects).
            subjects: per-subject scores for a leave-one-subject-out page
                (`SubjectScores.to_dict()["per_subject"]`), or None.
            force: replace files of the same names that poseact did not write.

        Returns:
            name ("json", "csv", "png", "normalized_png", "html") → path written.

        Raises:
            OutputRefused: `directory` is a file, or holds a user's file of one of
                those names (without `force`).
            WriteError: the disk is full (nothing of the new report is published).
        """
        from poseact.train.report_pages import (
            MAX_STRIPS,
            confusion_png,
            report_html,
            skeleton_frame_pngs,
        )

        out = Path(directory)
        if out.exists() and not out.is_dir():
            raise WriteError(
                f"cannot write the report into {out}: it is a file, not a folder; nothing was"
                " saved there"
            )
        title = title or self.heading
        counts = confusion_png(self.confusion, self.columns, "clips", normalized=False)
        shares = confusion_png(
            self.confusion, self.columns, "share of each true class", normalized=True
        )
        content = self.to_dict()
        strips = {
            i: skeleton_frame_pngs(clip.sequence)
            for i, clip in enumerate(self.misclassified[:MAX_STRIPS])
            if clip.sequence is not None
        }
        page = report_html(
            content,
            [counts, shares],
            strips,
            title=title,
            note=" ".join(part for part in (self.describe_clips(), *self.notes) if part),
            subjects=subjects,
        )
        files = {
            "json": ("report.json", (json.dumps(content, indent=1) + "\n").encode()),
            "csv": ("confusion.csv", self._confusion_csv().encode()),
            "png": ("confusion.png", counts),
            "normalized_png": ("confusion_normalized.png", shares),
            "html": ("report.html", page.encode()),
        }
        # the five files are one report: written together into a temporary folder and
        # published as a unit (an older report is replaced whole, or not at all)
        with atomic_dir(out, force=force) as tmp:
            for name, data in files.values():
                (tmp / name).write_bytes(data)
        paths = {key: out / name for key, (name, _) in files.items()}
        return paths

    def _confusion_csv(self) -> str:
        """The confusion matrix as CSV (labels quoted when they hold commas or quotes)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["true\\predicted", *(csv_cell(c) for c in self.columns)])
        for c, row in zip(self.classes, self.confusion):
            writer.writerow([csv_cell(c), *(int(v) for v in row)])
        return buffer.getvalue()


def evaluate(
    model, data: Dataset, labels=None, *, model_name: str = "", split: str = ""
) -> EvaluationReport:
    """Score `model` on a `Dataset` (or on sequences `data` with `labels`).

    Args:
        model: fitted, with `classes_`, `predict(sequences) -> (N,) labels` and
            `predict_proba(sequences) -> (N, C)`.
        data: a `Dataset`, or a list of `LandmarkSequence` with `labels`.
        labels: the true labels when `data` is a list of sequences.
        model_name: the model's name in titles; default its file name, if it has one.
        split: what the clips are (e.g. "held-out subjects bob"), for titles.

    Raises:
        UnknownLabelError: a true label that the model does not know.
    """

    if isinstance(data, Dataset):
        sequences, truth = data.sequences, list(data.labels)
        where = f"dataset {data.name}" if data.name else "the evaluation dataset"
        groups = list(data.groups) if data.groups_known else [""] * len(truth)
        dataset_name = Path(data.name).name if data.name else ""
    else:
        sequences, truth = list(data), [str(v) for v in labels]
        where = "the evaluation data"
        groups, dataset_name = [""] * len(truth), ""
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
    if hasattr(model, "predict_with_proba"):  # one pass of the network
        answers, probabilities = model.predict_with_proba(sequences)
        probabilities = np.asarray(probabilities, dtype=np.float64)
    else:
        answers = model.predict(sequences)
        probabilities = (
            np.asarray(model.predict_proba(sequences), dtype=np.float64)
            if hasattr(model, "predict_proba")
            else None
        )
    predicted = [str(p) for p in answers]
    column = {c: i for i, c in enumerate(classes)}
    rule = getattr(model, "rejection_", getattr(model, "rejection", None))
    unknown_label = None if rule is None else str(rule.unknown)
    if unknown_label is None and set(predicted) - set(classes):
        unknown_label = sorted(set(predicted) - set(classes))[0]

    def confidence(i: int) -> float | None:
        if probabilities is None:
            return None
        row = probabilities[i]
        return float(row[column[predicted[i]]] if predicted[i] in column else row.max())

    clips = tuple(
        ClipResult(
            file=str(getattr(seq, "source", "") or f"clip {i}"),
            true=truth[i],
            predicted=predicted[i],
            confidence=confidence(i),
            group=groups[i],
            sequence=seq if hasattr(seq, "landmarks") else None,
        )
        for i, seq in enumerate(sequences)
    )
    path = getattr(model, "path", None)
    return report_from_clips(
        classes,
        clips,
        unknown=unknown_label,
        model=model_name or (Path(path).name if path else ""),
        dataset=dataset_name,
        split=split,
    )


def report_from_clips(
    classes: Sequence[str],
    clips: Sequence[ClipResult],
    *,
    unknown: str | None = None,
    model: str = "",
    dataset: str = "",
    split: str = "",
    note: str = "",
) -> EvaluationReport:
    """The scores of answers already given: per-class precision, recall, F1, accuracy,
    macro F1 (over the classes with clips) and the confusion matrix (with an `unknown`
    column when given), e.g. the clips of several reports pooled.

    Args:
        classes: (C,) the model's classes.
        clips: each clip's true label and answer.
        unknown: the rejection rule's answer, or None.
        model, dataset, split, note: as `EvaluationReport` says.
    """
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    classes = tuple(str(c) for c in classes)
    truth = [c.true for c in clips]
    predicted = [c.predicted for c in clips]
    columns = list(classes) + ([] if unknown is None else [unknown])
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=list(classes), zero_division=0
    )
    present = [c for c in classes if c in set(truth)]
    return EvaluationReport(
        classes=classes,
        accuracy=float(np.mean(np.array(truth) == np.array(predicted))) if clips else 0.0,
        macro_f1=float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        confusion=confusion_matrix(truth, predicted, labels=columns)[: len(classes)],
        clips=tuple(clips),
        model=model,
        dataset=dataset,
        split=split,
        note=note,
        unknown=unknown,
    )
