"""`poseact compare`: the model zoo measured on the same data, with the same protocol.

For each dataset, each seed draws a train/test split (subject-wise when the dataset
has subjects, else stratified by class) and every architecture × input stream is
trained on it with the same options, then scored on the test clips (accuracy, macro F1).
Each configuration is exported once to float TFLite for its size and its LiteRT
latency (one thread): per sequence (one window) and per frame (one step of a live
`StreamingRecognizer`: one batched step-model invoke for streaming models, a whole
window otherwise). Optional studies reuse the protocol:

- few-shot (`fewshot`): a GRU trained without some labels learns them from 5, 10, 20
  clips each, fine-tuned (head only, or the whole network) vs trained from scratch on
  the same clips;
- distillation (`distill`): a small GRU student trained from a larger GRU teacher's
  soft targets vs the same student trained from scratch.

`ComparisonReport.to_markdown()` writes the tables of docs/comparison.md;
`ComparisonReport.load_json(path).to_markdown()` re-renders a saved run.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from poseact.apps.compare_report import (
    YARDSTICK,
    ComparisonReport,
    ConfigSummary,
    DistillResult,
    FewShotResult,
    RunResult,
    _mean_std,
)
from poseact.core.errors import DatasetError
from poseact.data.dataset import Dataset
from poseact.normalize.normalizer import GridCache

__all__ = [
    "ZOO",
    "CompareOptions",
    "compare_models",
    "load_comparison_dataset",
]

logger = logging.getLogger(__name__)

#: The architectures compared by default ("window_mlp" is "early_fusion" by its old name).
ZOO = (
    "stats_pool",
    "gru",
    "lstm",
    "frame_mlp",
    "late_fusion",
    "early_fusion",
    "tcn",
    "transformer",
)


@dataclass(frozen=True, kw_only=True)
class CompareOptions:
    """What to compare and how.

    Attributes:
        architectures: architectures to train (see `poseact.classifier.ARCHITECTURES`).
        inputs: input streams compared. "both" (the default stream) is trained on every
            architecture; the others on `stream_architectures` only.
        yardstick: also score the classical yardstick on the same splits (a random
            forest on per-clip statistics, `poseact.train.yardstick`).
        stream_architectures: architectures also trained on the other input streams;
            None trains every architecture on every stream (the full grid, about 1.75×
            the default run's time).
        seeds: number of seeds (0, 1, ...); each seed is one split and one training.
        units: width of every model (`ModelOptions.units`).
        epochs: maximum epochs per training (early stopping on a validation subset).
        patience: early-stopping patience, epochs.
        test_fraction: share of the clips (or subjects) held out for testing.
        latency_repeats: timed invocations per latency figure (the median is kept).
        fewshot: run the few-shot study on the first dataset.
        fewshot_sizes: clips per new label in the few-shot study.
        fewshot_labels: labels learned later in the few-shot study; default: the last
            two non-background classes.
        fewshot_epochs: epochs of fine-tuning and of few-shot training from scratch.
        distill: run the distillation study on every dataset.
        teacher_units, student_units: GRU widths of the distillation study.
    """

    architectures: tuple[str, ...] = ZOO
    inputs: tuple[str, ...] = ("positions", "velocities", "both", "two_branch")
    stream_architectures: tuple[str, ...] | None = ("gru", "tcn", "frame_mlp")
    seeds: int = 3
    units: int = 64
    epochs: int = 20
    patience: int = 6
    test_fraction: float = 0.25
    latency_repeats: int = 30
    yardstick: bool = True
    fewshot: bool = False
    fewshot_sizes: tuple[int, ...] = (5, 10, 20)
    fewshot_labels: tuple[str, ...] = ()
    fewshot_epochs: int = 60
    distill: bool = False
    teacher_units: int = 128
    student_units: int = 32

    def __post_init__(self) -> None:
        from poseact.core.choices import ARCHITECTURES, INPUT_STREAMS

        unknown = [a for a in self.architectures if a not in ARCHITECTURES]
        if unknown or not self.architectures:
            raise ValueError(f"unknown architectures {unknown}; expected some of {ARCHITECTURES}")
        unknown = [i for i in self.inputs if i not in INPUT_STREAMS]
        if unknown or not self.inputs:
            raise ValueError(f"unknown input streams {unknown}; expected some of {INPUT_STREAMS}")
        if self.seeds < 1:
            raise ValueError(f"CompareOptions.seeds must be >= 1, got {self.seeds}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError("CompareOptions.test_fraction must be in (0, 1)")
        if any(n < 1 for n in self.fewshot_sizes):
            raise ValueError("CompareOptions.fewshot_sizes must be >= 1")

    def configurations(self) -> list[tuple[str, str]]:
        """(architecture, inputs) pairs to train, architecture-major."""
        streams = self.stream_architectures
        full = streams is None or "both" not in self.inputs
        return [
            (a, i)
            for a in self.architectures
            for i in self.inputs
            if full or i == "both" or a in streams
        ]

    @classmethod
    def quick(cls, **changes) -> CompareOptions:
        """A seconds-long smoke run (tests, trying the command): tiny models, 2 seeds."""
        base = cls(
            architectures=("gru", "tcn"),
            inputs=("both", "two_branch"),
            seeds=2,
            units=8,
            epochs=2,
            patience=2,
            latency_repeats=3,
            fewshot_sizes=(5,),
            fewshot_epochs=3,
            teacher_units=16,
            student_units=8,
        )
        return replace(base, **changes)


# ---------------------------------------------------------------------- helpers
def _split(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset, str]:
    subjects = len(set(data.groups))
    if 2 <= subjects < len(data):
        train, test = data.split(fraction, seed=seed, by="group")
        how = f"subject-wise, {len(set(test.groups))} of {subjects} subjects held out per seed"
    else:
        train, test = data.split(fraction, seed=seed, by="stratified")
        how = "stratified by class (the dataset has no subject ids), per seed"
    return train, test, how


def _latency(path: Path, window: np.ndarray, repeats: int) -> tuple[float, float]:
    """(ms per window, ms per live frame): medians over `repeats` timed calls."""
    from poseact.runtime.model import TFLiteGestureModel

    with TFLiteGestureModel(path, num_threads=1) as model:
        model.predict_window(window)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            model.predict_window(window)
            times.append(time.perf_counter() - t)
        stepper = model.stepper()
        for row in window:  # warm up, and fill the window stepper
            stepper.step(row)
        steps = []
        for i in range(repeats):
            row = window[i % len(window)]
            t = time.perf_counter()
            stepper.step(row)
            steps.append(time.perf_counter() - t)
    return 1000 * float(np.median(times)), 1000 * float(np.median(steps))


def load_comparison_dataset(source: str, **converter_options) -> tuple[str, Dataset]:
    """(name, Dataset) for "embedded", a poseact dataset, or a public-format path."""
    from poseact.loading import detect_format, load_dataset, load_default_dataset

    if source in ("embedded", "default", "synthetic"):
        return "embedded synthetic activities", load_default_dataset()
    path = Path(source)
    if path.is_dir() and detect_format(path) == "folder":
        converter_options.setdefault("progress", False)
    data = load_dataset(path, **converter_options)
    return (data.name and Path(data.name).stem) or path.stem, data


# ---------------------------------------------------------------------- the zoo
def _train(train, spec, architecture, inputs, units, options, seed, cache):
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    return GestureClassifier(
        normalizer=spec,
        model=ModelOptions(architecture=architecture, units=units, inputs=inputs),
        training=TrainingOptions(epochs=options.epochs, patience=options.patience, seed=seed),
    ).fit(train, cache=cache)


def _compare_zoo(name, data, options, report, tmp, on_run, cache) -> None:
    from poseact.deploy.export import export_tflite
    from poseact.normalize.spec import NormalizerSpec
    from poseact.train.evaluate import evaluate

    spec = NormalizerSpec(layout=data.layout)
    configs = options.configurations()
    exports: dict[tuple[str, str], tuple[int, bool, float, float]] = {}
    runs: dict[tuple[str, str], list[RunResult]] = {c: [] for c in configs}
    for seed in range(options.seeds):
        train, test, how = _split(data, options.test_fraction, seed)
        report.datasets[name]["split"] = how
        for architecture, inputs in configs:
            clf = _train(train, spec, architecture, inputs, options.units, options, seed, cache)
            scores = evaluate(clf, test)
            run = RunResult(
                dataset=name,
                architecture=architecture,
                inputs=inputs,
                seed=seed,
                accuracy=scores.accuracy,
                macro_f1=scores.macro_f1,
                parameters=int(clf.model_.count_params()),
                training_seconds=float(clf.training_seconds_),
                epochs=len(clf.history_["loss"]),
            )
            runs[(architecture, inputs)].append(run)
            report.runs.append(run)
            if (architecture, inputs) not in exports:
                path = Path(tmp) / f"{architecture}_{inputs}.tflite"
                exported = export_tflite(clf, path, parity_data=test)
                if not exported.parity_ok:
                    logger.warning("%s/%s: %s", architecture, inputs, exported.summary())
                window = clf.features(test.sequences[:1])[0]
                latency = _latency(path, window, options.latency_repeats)
                exports[(architecture, inputs)] = (
                    exported.size_bytes,
                    exported.streaming,
                    *latency,
                )
                path.unlink()
            if hasattr(os, "getloadavg"):  # how busy the machine was: timings depend on it
                report.settings.setdefault("load_average", []).append(os.getloadavg()[0])
            if on_run is not None:
                on_run(run)
        if options.yardstick:
            forest = _yardstick_run(name, train, test, seed, cache)
            runs.setdefault((YARDSTICK, "statistics"), []).append(forest)
            report.runs.append(forest)
            if on_run is not None:
                on_run(forest)
            exports[(YARDSTICK, "statistics")] = (0, False, float("nan"), float("nan"))
    for (architecture, inputs), results in runs.items():
        size, streaming, sequence_ms, frame_ms = exports[(architecture, inputs)]
        acc = _mean_std(r.accuracy for r in results)
        f1 = _mean_std(r.macro_f1 for r in results)
        seconds = _mean_std(r.training_seconds for r in results)
        report.configs.append(
            ConfigSummary(
                dataset=name,
                architecture=architecture,
                inputs=inputs,
                seeds=len(results),
                accuracy=acc[0],
                accuracy_std=acc[1],
                macro_f1=f1[0],
                macro_f1_std=f1[1],
                parameters=results[0].parameters,
                tflite_bytes=size,
                streaming=streaming,
                sequence_ms=sequence_ms,
                frame_ms=frame_ms,
                training_seconds=seconds[0],
                training_seconds_std=seconds[1],
            )
        )


def _yardstick_run(name, train, test, seed, cache) -> RunResult:
    """The random-forest yardstick on one seed's split, scored like the networks."""
    from sklearn.metrics import f1_score

    from poseact.train.yardstick import ClipStatisticsClassifier

    start = time.perf_counter()
    forest = ClipStatisticsClassifier(seed=seed).fit(train, cache=cache)
    seconds = time.perf_counter() - start
    predicted = forest.predict(test)
    truth = np.array(test.labels)
    return RunResult(
        dataset=name,
        architecture=YARDSTICK,
        inputs="statistics",
        seed=seed,
        accuracy=float(np.mean(predicted == truth)),
        macro_f1=float(f1_score(truth, predicted, average="macro")),
        parameters=int(sum(tree.tree_.node_count for tree in forest.model_.estimators_)),
        training_seconds=seconds,
        epochs=0,
    )


# ---------------------------------------------------------------------- few-shot study
def _by_labels(data: Dataset, labels, background=None) -> Dataset:
    keep = [i for i, label in enumerate(data.labels) if label in set(labels)]
    part = data.subset(keep)
    return Dataset(part.sequences, part.labels, part.groups, background=background)


def _fewshot_labels(data: Dataset, options: CompareOptions) -> tuple[str, ...]:
    if options.fewshot_labels:
        missing = sorted(set(options.fewshot_labels) - set(data.labels))
        if missing:
            raise DatasetError(f"few-shot labels {missing} are not in the dataset")
        return tuple(options.fewshot_labels)
    candidates = [c for c in data.classes if c != data.background]
    if len(candidates) < 3:
        raise DatasetError("the few-shot study needs at least 3 non-background classes")
    return tuple(candidates[-2:])


def _compare_fewshot(name, data, options, report, cache) -> None:
    from poseact.train.classifier import GestureClassifier
    from poseact.train.fewshot import FineTuneOptions, fine_tune
    from poseact.train.options import ModelOptions, TrainingOptions
    from poseact.train.rehearsal import MEMORY_PER_CLASS

    spec_labels = _fewshot_labels(data, options)
    old_labels = [c for c in data.classes if c not in spec_labels]
    report.settings["fewshot"] = {
        "dataset": name,
        "labels": list(spec_labels),
        "rehearsal_per_class": MEMORY_PER_CLASS,
        "epochs": options.fewshot_epochs,
    }
    model = ModelOptions(architecture="gru", units=options.units)
    results: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
    for seed in range(options.seeds):
        train, test, _ = _split(data, options.test_fraction, seed)
        rng = np.random.default_rng([seed, 11])
        old_train = _by_labels(train, old_labels, data.background)
        base = GestureClassifier(
            model=model,
            training=TrainingOptions(epochs=options.epochs, patience=options.patience, seed=seed),
        ).fit(old_train, cache=cache)
        # the rehearsed old clips: a few per old label, the same for every method
        old_idx = []
        for label in old_labels:
            idx = np.flatnonzero(np.array(old_train.labels) == label)
            old_idx += list(rng.permutation(idx)[:MEMORY_PER_CLASS])
        rehearsal = old_train.subset(old_idx)
        truth = np.array(test.labels)
        is_new = np.isin(truth, spec_labels)
        for n in options.fewshot_sizes:
            new_idx = []
            for label in spec_labels:
                idx = np.flatnonzero(np.array(train.labels) == label)
                if len(idx) < n:
                    raise DatasetError(f"few-shot study: only {len(idx)} {label!r} clips, need {n}")
                new_idx += list(rng.permutation(idx)[:n])
            new = _by_labels(train.subset(new_idx), spec_labels)
            tuning = TrainingOptions(
                epochs=options.fewshot_epochs,
                batch_size=16,
                learning_rate=1e-3,
                validation_fraction=0.0,
                seed=seed,
            )
            whole = FineTuneOptions(training=tuning, train_encoder=True)
            head = FineTuneOptions(
                training=replace(tuning, learning_rate=3e-3), train_encoder=False
            )
            scratch_data = Dataset(
                new.sequences + rehearsal.sequences,
                new.labels + rehearsal.labels,
                background=data.background,
            )
            for method in ("fine-tune head", "fine-tune all", "from scratch"):
                if method == "from scratch":
                    clf = GestureClassifier(
                        model=model,
                        training=TrainingOptions(
                            epochs=options.fewshot_epochs, validation_fraction=0.0, seed=seed
                        ),
                    ).fit(scratch_data, cache=cache)
                else:
                    tune = head if method == "fine-tune head" else whole
                    clf = fine_tune(base, new, rehearsal=rehearsal, options=tune)
                predicted = clf.predict(test)
                hits = predicted == truth
                results.setdefault((method, n), []).append(
                    (
                        float(hits[is_new].mean()),
                        float(hits[~is_new].mean()),
                        float(hits.mean()),
                        float(clf.training_seconds_),
                    )
                )
                logger.info("few-shot seed %d, n=%d, %s: %.3f", seed, n, method, hits.mean())
    for (method, n), values in results.items():
        a = np.array(values)
        report.fewshot.append(
            FewShotResult(
                name,
                method,
                n,
                *_mean_std(a[:, 0]),
                *_mean_std(a[:, 1]),
                *_mean_std(a[:, 2]),
                float(a[:, 3].mean()),
            )
        )


# ---------------------------------------------------------------------- distillation
def _compare_distill(name, data, options, report, tmp, cache) -> None:
    from poseact.deploy.export import export_tflite
    from poseact.train.classifier import GestureClassifier
    from poseact.train.evaluate import evaluate
    from poseact.train.fewshot import DistillOptions, distill
    from poseact.train.options import ModelOptions, TrainingOptions

    kd = DistillOptions()
    report.settings["distill"] = {"temperature": kd.temperature, "alpha": kd.alpha}
    teacher_model = ModelOptions(architecture="gru", units=options.teacher_units)
    student_model = ModelOptions(architecture="gru", units=options.student_units)
    scores: dict[str, list[tuple[float, float]]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for seed in range(options.seeds):
        train, test, _ = _split(data, options.test_fraction, seed)
        training = TrainingOptions(epochs=options.epochs, patience=options.patience, seed=seed)
        teacher = GestureClassifier(model=teacher_model, training=training).fit(train, cache=cache)
        models = {
            "teacher": teacher,
            "distilled student": distill(
                teacher, train, student=student_model, training=training, options=kd
            ),
            "student from scratch": GestureClassifier(model=student_model, training=training).fit(
                train, cache=cache
            ),
        }
        for role, clf in models.items():
            r = evaluate(clf, test)
            scores.setdefault(role, []).append((r.accuracy, r.macro_f1))
            if role not in sizes:
                path = Path(tmp) / f"distill_{role.replace(' ', '_')}.tflite"
                exported = export_tflite(clf, path, parity_data=test)
                sizes[role] = (int(clf.model_.count_params()), exported.size_bytes)
                path.unlink()
    for role, values in scores.items():
        a = np.array(values)
        units = options.teacher_units if role == "teacher" else options.student_units
        report.distillation.append(
            DistillResult(
                name, role, "gru", units, *_mean_std(a[:, 0]), *_mean_std(a[:, 1]), *sizes[role]
            )
        )


# ---------------------------------------------------------------------- entry point
def compare_models(
    datasets: Dataset | Mapping[str, Dataset],
    options: CompareOptions | None = None,
    *,
    command: str = "poseact.compare.compare_models(...)",
    on_run: Callable[[RunResult], None] | None = None,
) -> ComparisonReport:
    """Train, score, export and time every configuration on every dataset.

    Args:
        datasets: one `Dataset` or {name: Dataset}; the first one also hosts the
            few-shot study.
        options: `CompareOptions` (default: the full zoo × input streams, 3 seeds).
        command: how the comparison was started, written into the report.
        on_run: called with each `RunResult` as soon as it is measured (progress).

    Returns:
        A `ComparisonReport`; `to_markdown()` renders docs/comparison.md.

    Raises:
        DatasetError: a dataset too small to split, or few-shot labels it lacks.
    """
    import poseact

    options = options or CompareOptions()
    if isinstance(datasets, Dataset):
        datasets = {datasets.name or "dataset": datasets}
    started = time.perf_counter()
    report = ComparisonReport(
        settings={
            **asdict(options),
            "command": command,
            "poseact_version": poseact.__version__,
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        }
    )
    # each clip's normalized grid is computed once for all the trainings of a spec
    cache = GridCache()
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in datasets.items():
            report.datasets[name] = {"summary": data.summary(), "split": ""}
            logger.info("comparing on %s: %s", name, data.summary())
            begin = time.perf_counter()
            _compare_zoo(name, data, options, report, tmp, on_run, cache)
            report.datasets[name]["seconds"] = time.perf_counter() - begin
        first = next(iter(datasets))
        if options.fewshot:
            begin = time.perf_counter()
            _compare_fewshot(first, datasets[first], options, report, cache)
            report.settings["fewshot"]["seconds"] = time.perf_counter() - begin
        if options.distill:
            begin = time.perf_counter()
            for name, data in datasets.items():
                _compare_distill(name, data, options, report, tmp, cache)
            report.settings["distill"]["seconds"] = time.perf_counter() - begin
    report.seconds = time.perf_counter() - started
    return report
