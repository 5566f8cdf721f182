"""Leave-one-subject-out: how well a recipe does on each person it has never seen.

With few people, one train/test split says little: which subject lands in the test set
decides the score. `leave_one_subject_out` trains the same recipe (the estimator's
parameters) once per subject on all the others and scores it on that subject, so each
person gets a score of their own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from poseact.core.errors import DatasetError
from poseact.data.dataset import Dataset
from poseact.train.evaluate import EvaluationReport, evaluate, report_from_clips

__all__ = ["SubjectScores", "leave_one_subject_out"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SubjectScores:
    """Scores of one recipe, each subject held out in turn.

    Attributes:
        subjects: the held-out subjects (groups), sorted.
        reports: one `EvaluationReport` per subject, in `subjects` order, of a model
            trained on every other subject.
    """

    subjects: tuple[str, ...]
    reports: tuple[EvaluationReport, ...]

    @property
    def accuracies(self) -> np.ndarray:
        """(S,) accuracy on each held-out subject."""
        return np.array([r.accuracy for r in self.reports], dtype=np.float64)

    @property
    def macro_f1s(self) -> np.ndarray:
        """(S,) macro F1 on each held-out subject."""
        return np.array([r.macro_f1 for r in self.reports], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": "leave-one-subject-out",
            "mean_accuracy": float(self.accuracies.mean()),
            "std_accuracy": float(self.accuracies.std()),
            "mean_macro_f1": float(self.macro_f1s.mean()),
            "per_subject": {
                s: {"accuracy": r.accuracy, "macro_f1": r.macro_f1, "num_clips": r.num_clips}
                for s, r in zip(self.subjects, self.reports)
            },
        }

    def pooled(self) -> EvaluationReport:
        """One report over every held-out clip (each scored by the model that did not see
        its subject): pooled scores, confusion matrix and wrong clips."""
        classes = tuple(sorted({c for r in self.reports for c in r.classes}))
        unknowns = sorted({r.unknown for r in self.reports if r.unknown is not None})
        first = self.reports[0] if self.reports else None
        return report_from_clips(
            classes,
            [clip for r in self.reports for clip in r.clips],
            unknown=unknowns[0] if unknowns else None,
            model=first.model if first else "",
            dataset=first.dataset if first else "",
            split="leave-one-subject-out",
            note=(
                f"leave-one-subject-out: each of {len(self.subjects)} subjects"
                f" ({', '.join(self.subjects)}) scored by a model trained on the others;"
                f" mean accuracy {self.accuracies.mean():.3f} ± {self.accuracies.std():.3f}"
            ),
        )

    def save(self, directory: str | os.PathLike, *, title: str = "") -> dict[str, Path]:
        """Write leave_one_subject_out.json (per-subject scores) and the pooled report
        (`EvaluationReport.save`: report.html with the per-subject table, the pooled
        confusion matrix and the wrong clips; report.json, confusion files).

        Returns:
            name → path written ("subjects_json" and those of `EvaluationReport.save`).
        """
        import json

        from poseact.core.atomic import atomic_write_text

        content = self.to_dict()
        paths = self.pooled().save(directory, title=title, subjects=content["per_subject"])
        paths["subjects_json"] = atomic_write_text(
            Path(directory) / "leave_one_subject_out.json", json.dumps(content, indent=1) + "\n"
        )
        return paths

    def summary(self) -> str:
        """One line per subject, then the mean and spread."""
        width = max(7, *(len(s) for s in self.subjects))
        lines = ["leave-one-subject-out (each subject scored by a model trained on the others):"]
        for subject, report in zip(self.subjects, self.reports):
            lines.append(
                f"  {subject:<{width}}  accuracy {report.accuracy:.3f}  macro F1"
                f" {report.macro_f1:.3f}  ({report.num_clips} clips)"
            )
        lines.append(
            f"mean over {len(self.subjects)} subjects: accuracy {self.accuracies.mean():.3f}"
            f" ± {self.accuracies.std():.3f}, macro F1 {self.macro_f1s.mean():.3f}"
        )
        return "\n".join(lines)


def leave_one_subject_out(
    estimator: Any,
    data: Dataset,
    *,
    on_subject: Callable[[str, EvaluationReport], None] | None = None,
) -> SubjectScores:
    """Train `estimator`'s recipe once per subject on the others; score it on that one.

    Args:
        estimator: a `GestureClassifier` (fitted or not); only its parameters are used
            (`get_params`), it is not changed.
        data: clips with their subjects in `groups`; at least two subjects, and some
            subject with more than one clip.
        on_subject: called with (subject, report) after each subject.

    Returns:
        The per-subject scores.

    Raises:
        DatasetError: fewer than two subjects, or every group holds one clip (clips,
            not people, would be held out).
    """
    subjects = sorted(set(data.groups))
    if len(subjects) < 2:
        raise DatasetError(
            f"leave-one-subject-out needs at least two subjects; {data.name or 'the dataset'}"
            f" has {len(subjects)}"
        )
    if len(subjects) == len(data):
        raise DatasetError(
            f"every group of {data.name or 'the dataset'} holds one clip ({len(data)} clips):"
            " no subjects are known (record with --subject, or pass --group-pattern)"
        )
    groups = np.array(data.groups)
    reports = []
    for subject in subjects:
        held = np.flatnonzero(groups == subject)
        rest = np.flatnonzero(groups != subject)
        model = type(estimator)(**estimator.get_params()).fit(data.subset(rest))
        report = evaluate(model, data.subset(held))
        logger.info("subject %s: accuracy %.3f", subject, report.accuracy)
        if on_subject is not None:
            on_subject(subject, report)
        reports.append(report)
    return SubjectScores(tuple(subjects), tuple(reports))
