"""The usual training run in one call: split → fit → save → evaluate.

`poseact train` and `poseact demo` both go through `train_and_evaluate`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from poseact.core.errors import DatasetError
from poseact.data.dataset import Dataset
from poseact.normalize.spec import NormalizerSpec
from poseact.train.classifier import GestureClassifier
from poseact.train.evaluate import EvaluationReport, evaluate
from poseact.train.options import ModelOptions, TrainingOptions

__all__ = ["TrainingRun", "describe_split", "train_and_evaluate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingRun:
    """What `train_and_evaluate` did.

    Attributes:
        classifier: the fitted model.
        train: the training clips.
        test: the held-out clips, or None (test_fraction 0).
        split: how the clips were split, in words (e.g. "by subject: 3 of 12 held out").
        by_subject: True when whole subjects (groups) were held out.
        report: the evaluation on `test`, or None; it holds the yardstick's accuracy
            on the same clips and a note when the yardstick clearly beats the network
            (`poseact.train.yardstick.yardstick_note`).
        saved: where the model was saved, or None.
    """

    classifier: GestureClassifier
    train: Dataset
    test: Dataset | None
    split: str
    by_subject: bool
    report: EvaluationReport | None
    saved: Path | None


def summarize_names(names, shown: int = 10) -> str:
    """'a, b, c' for a few names; the first `shown` and '… and N more' for many (10,000
    subjects would otherwise print 24 KB)."""
    names = sorted(set(names))
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])}, … and {len(names) - shown} more"


def describe_split(
    data: Dataset, test: Dataset | None, by_subject: bool, *, group_noun: str = "subject"
) -> str:
    """A one-line description of a split, saying whether it measures people or clips.

    Args:
        data: all clips.
        test: the held-out clips, or None.
        by_subject: whole groups were held out.
        group_noun: what a group is, e.g. "subject" or "recording".
    """
    if test is None:
        return f"no test split: all {len(data)} clips train the model"
    if by_subject:
        held = sorted(set(test.groups))
        return (
            f"split by {group_noun}: {len(data) - len(test)} training clips, {len(test)} test"
            f" clips from {len(held)} unseen {group_noun}{'' if len(held) == 1 else 's'}"
            f" ({summarize_names(held)})"
        )
    return (
        f"stratified split of clips (no subjects known, so the scores measure clips, not"
        f" people): {len(data) - len(test)} training clips, {len(test)} test clips"
    )


def train_and_evaluate(
    data: Dataset,
    *,
    normalizer: NormalizerSpec | None = None,
    model: ModelOptions | None = None,
    training: TrainingOptions | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    output: str | os.PathLike | None = None,
    verbose: int = 0,
    group_noun: str = "subject",
    yardstick: bool = True,
) -> TrainingRun:
    """Split `data` (whole subjects when it has them), fit, save and evaluate.

    Args:
        data: the labelled clips.
        normalizer, model, training: the classifier's options (None: defaults).
        test_fraction: share held out for testing; 0 trains on everything.
        seed: seed of the split.
        output: save the fitted classifier here (a `.poseact` file), or None.
        verbose: 1 shows a progress bar over epochs.
        group_noun: what a group of `data` is ("subject", "recording"), for the words.
        yardstick: also fit the random-forest yardstick on the training clips and
            score it on the held-out ones (a few seconds), to say when it clearly
            beats the network and why that may be.

    Raises:
        DatasetError: the data cannot be split or trained on.
    """
    test = None
    by_subject = False
    train = data
    if test_fraction:
        by_subject = data.split_strategy() == "group"
        try:
            train, test = data.split(
                test_fraction, seed=seed, by="group" if by_subject else "stratified"
            )
        except DatasetError as exc:
            raise DatasetError(
                f"{exc}; to train on every clip without a test split, use test_fraction=0"
                " (--test-fraction 0)"
            ) from None
    classifier = GestureClassifier(
        normalizer=normalizer, model=model, training=training, verbose=verbose
    ).fit(train)
    saved = classifier.save(output) if output is not None else None
    split = describe_split(data, test, by_subject, group_noun=group_noun)
    report = (
        dataclasses.replace(
            evaluate(
                classifier,
                test,
                model_name=Path(output).name if output is not None else "",
                split=split.split(":")[0],
            ),
            note=split,  # the held-out subjects by name, under the page's heading
        )
        if test is not None and len(test)
        else None
    )
    if report is not None and yardstick:
        report = _with_yardstick(report, classifier, train, test)
    return TrainingRun(
        classifier=classifier,
        train=train,
        test=test,
        split=split,
        by_subject=by_subject,
        report=report,
        saved=saved,
    )


def _with_yardstick(report, classifier, train: Dataset, test: Dataset):
    """`report` with the yardstick's held-out accuracy and, when it clearly beats the
    network, the one-line note (logged too)."""
    import dataclasses

    import numpy as np

    from poseact.train.yardstick import ClipStatisticsClassifier, yardstick_note

    forest = ClipStatisticsClassifier().fit(train)
    accuracy = forest.score(test)
    counts = np.unique(np.array(train.labels), return_counts=True)[1]
    note = yardstick_note(
        report.accuracy,
        accuracy,
        report.num_clips,
        spec=classifier.normalizer_spec_,
        per_class=int(counts.min()),
        median_duration=float(np.median([s.duration for s in train.sequences])),
    )
    if note:
        logger.info("%s", note)
    return dataclasses.replace(report, yardstick=accuracy, notes=(note,) if note else ())
