"""What `poseact compare` measured: per-run results, summaries and the Markdown/JSON report."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# ---------------------------------------------------------------------- results
#: The `ConfigSummary.architecture` of the classical yardstick's rows.
YARDSTICK = "random_forest"


@dataclass(frozen=True)
class RunResult:
    """One training: a configuration on one seed's split."""

    dataset: str
    architecture: str
    inputs: str
    seed: int
    accuracy: float
    macro_f1: float
    parameters: int
    training_seconds: float
    epochs: int


@dataclass(frozen=True)
class ConfigSummary:
    """A configuration over all seeds (mean and standard deviation) plus its export."""

    dataset: str
    architecture: str
    inputs: str
    seeds: int
    accuracy: float
    accuracy_std: float
    macro_f1: float
    macro_f1_std: float
    parameters: int
    tflite_bytes: int
    streaming: bool
    sequence_ms: float
    frame_ms: float
    training_seconds: float
    training_seconds_std: float


@dataclass(frozen=True)
class FewShotResult:
    """Few-shot study: one method at one number of clips per new label, over seeds."""

    dataset: str
    method: str
    clips_per_label: int
    new_accuracy: float
    new_accuracy_std: float
    old_accuracy: float
    old_accuracy_std: float
    accuracy: float
    accuracy_std: float
    training_seconds: float


@dataclass(frozen=True)
class DistillResult:
    """Distillation study: one model role over seeds."""

    dataset: str
    role: str
    architecture: str
    units: int
    accuracy: float
    accuracy_std: float
    macro_f1: float
    macro_f1_std: float
    parameters: int
    tflite_bytes: int


def _mean_std(values) -> tuple[float, float]:
    a = np.asarray(list(values), dtype=np.float64)
    if a.size == 0:
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def _pm(mean: float, std: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


@dataclass
class ComparisonReport:
    """Everything `compare_models` measured, and how."""

    settings: dict[str, Any]
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[RunResult] = field(default_factory=list)
    configs: list[ConfigSummary] = field(default_factory=list)
    fewshot: list[FewShotResult] = field(default_factory=list)
    distillation: list[DistillResult] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "datasets": self.datasets,
            "runs": [asdict(r) for r in self.runs],
            "configs": [asdict(c) for c in self.configs],
            "fewshot": [asdict(r) for r in self.fewshot],
            "distillation": [asdict(r) for r in self.distillation],
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComparisonReport:
        """Rebuild a report from `to_dict` output (e.g. to re-render its Markdown)."""
        return cls(
            settings=data["settings"],
            datasets=data["datasets"],
            runs=[RunResult(**r) for r in data["runs"]],
            configs=[ConfigSummary(**c) for c in data["configs"]],
            fewshot=[FewShotResult(**r) for r in data.get("fewshot", [])],
            distillation=[DistillResult(**r) for r in data.get("distillation", [])],
            seconds=data.get("seconds", 0.0),
        )

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> ComparisonReport:
        """Read a report written by `save_json`.

        Raises:
            PoseactError: the file is unreadable or not a comparison report (naming it).
        """
        from poseact.core.errors import PoseactError

        try:
            report = cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
            report.to_markdown()  # every field the Markdown needs is there
        except OSError as exc:
            raise PoseactError(f"cannot read comparison report {path} ({exc.strerror})") from None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            problem = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise PoseactError(
                f"{path} is not a comparison report written by `poseact compare --json`"
                f" ({type(exc).__name__}: {problem.splitlines()[0] if problem else ''})"
            ) from None
        return report

    def save_json(self, path: str | os.PathLike) -> Path:
        from poseact.core.atomic import atomic_write_text

        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    def save_markdown(self, path: str | os.PathLike) -> Path:
        from poseact.core.atomic import atomic_write_text

        return atomic_write_text(path, self.to_markdown())

    def best(self, dataset: str) -> ConfigSummary:
        """The most accurate network on `dataset` (ties: fewer parameters)."""
        rows = [c for c in self.configs if c.dataset == dataset and c.architecture != YARDSTICK]
        return max(rows, key=lambda c: (round(c.accuracy, 6), -c.parameters))

    def to_markdown(self) -> str:
        """The report as Markdown (docs/comparison.md)."""
        s = self.settings
        load = s.get("load_average") or []
        busy = (
            f"; 1-minute load average {min(load):.1f}-{max(load):.1f} while it ran" if load else ""
        )
        lines = [
            "# Model comparison",
            "",
            f"Generated by `{s['command']}` (poseact {s['poseact_version']}, {s['date']},"
            f" {s['machine']}{busy}; {self.seconds / 60:.1f} minutes in all). Regenerate"
            " with the same command; numbers move a little from machine to machine (latency"
            " and training time most, and with other jobs on the machine).",
            "",
            f"Protocol: every model has {s['units']} units and is trained for at most"
            f" {s['epochs']} epochs (early stopping, patience {s['patience']}) with the"
            " default augmentation and normalizer (30 fps, 30-frame windows); mean ± std over"
            f" {s['seeds']} seeds, each seed a different train/test split"
            f" ({s['test_fraction']:.0%} held out) and initialization. Latency: LiteRT, one"
            " thread, float model, median of"
            f" {s['latency_repeats']} runs; *per sequence* classifies one window, *per frame*"
            " is one step of the live `StreamingRecognizer` (one step-model invoke, both lanes"
            " batched, for the streaming models GRU, LSTM and TCN; one whole window for the"
            " others). Size: the"
            " exported float `.tflite` (metadata and streaming model included).",
            "",
        ]
        streams = s.get("stream_architectures")
        others = [i for i in s["inputs"] if i != "both"]
        if others and "both" in s["inputs"] and streams is not None:
            lines += [
                "Input streams (`ModelOptions.inputs`): every architecture reads `both`"
                " (positions and velocities concatenated); "
                + ", ".join(streams)
                + " also read "
                + ", ".join(f"`{i}`" for i in others)
                + " (`--full-grid` trains every architecture on every stream).",
                "",
            ]
        for name, info in self.datasets.items():
            rows = [c for c in self.configs if c.dataset == name]
            if not rows:
                continue
            lines += [
                f"## {name}",
                "",
                f"{info['summary']}. Split: {info['split']}. This table took"
                f" {info.get('seconds', 0.0) / 60:.1f} minutes.",
                "",
            ]
            lines += [
                "| model | inputs | accuracy | macro F1 | parameters | TFLite KB"
                " | ms / sequence | ms / frame | training s |",
                "|---|---|---|---|---:|---:|---:|---:|---:|",
            ]
            for c in sorted(rows, key=lambda c: (-c.accuracy, c.parameters)):
                if c.architecture == YARDSTICK:
                    lines.append(
                        f"| {YARDSTICK} (yardstick) | clip statistics"
                        f" | {_pm(c.accuracy, c.accuracy_std)} | {_pm(c.macro_f1, c.macro_f1_std)}"
                        f" | {c.parameters:,} nodes | — | — | — |"
                        f" {_pm(c.training_seconds, c.training_seconds_std, 1)} |"
                    )
                    continue
                lines.append(
                    f"| {c.architecture} | {c.inputs} | {_pm(c.accuracy, c.accuracy_std)}"
                    f" | {_pm(c.macro_f1, c.macro_f1_std)} | {c.parameters:,}"
                    f" | {c.tflite_bytes / 1024:.1f} | {c.sequence_ms:.3f} | {c.frame_ms:.3f}"
                    f" | {_pm(c.training_seconds, c.training_seconds_std, 1)} |"
                )
            lines += ["", *self._highlights(name), ""]
        if self.fewshot:
            lines += self._fewshot_markdown()
        if self.distillation:
            lines += self._distill_markdown()
        return "\n".join(lines).rstrip() + "\n"

    def _highlights(self, dataset: str) -> list[str]:
        rows = [c for c in self.configs if c.dataset == dataset and c.architecture != YARDSTICK]
        best = self.best(dataset)
        yardstick = [
            c for c in self.configs if c.dataset == dataset and c.architecture == YARDSTICK
        ]
        good = [c for c in rows if c.accuracy >= best.accuracy - 0.02]
        small = min(good, key=lambda c: c.tflite_bytes)
        fast = min(good, key=lambda c: c.frame_ms)
        out = [
            f"- Most accurate: **{best.architecture} / {best.inputs}**,"
            f" {_pm(best.accuracy, best.accuracy_std)}.",
            f"- Smallest within 2 points of it: **{small.architecture} / {small.inputs}**,"
            f" {small.tflite_bytes / 1024:.1f} KB ({_pm(small.accuracy, small.accuracy_std)}).",
            f"- Cheapest per live frame within 2 points: **{fast.architecture} /"
            f" {fast.inputs}**, {fast.frame_ms:.3f} ms per frame.",
        ]
        kinds = {c.inputs for c in rows}
        every = sorted(
            a
            for a in {c.architecture for c in rows}
            if {c.inputs for c in rows if c.architecture == a} == kinds
        )
        if len(kinds) > 1 and every:
            streams = {
                k: _mean_std(c.accuracy for c in rows if c.inputs == k and c.architecture in every)[
                    0
                ]
                for k in kinds
            }
            ranked = sorted(streams.items(), key=lambda item: -item[1])
            text = ", ".join(f"{k} {v:.3f}" for k, v in ranked)
            out.append(f"- Mean accuracy by input stream (over {', '.join(every)}): {text}.")
        if yardstick:
            y = yardstick[0]
            out.append(
                f"- Yardstick (random forest on per-clip statistics): {_pm(y.accuracy, y.accuracy_std)};"
                f" the best network is {100 * (best.accuracy - y.accuracy):+.1f} points from it."
            )
        return out

    def _fewshot_markdown(self) -> list[str]:
        info = self.settings.get("fewshot", {})
        lines = [
            "## Teaching new gestures from a few clips",
            "",
            f"On {info.get('dataset')}: a GRU ({self.settings['units']} units) is trained"
            f" without the labels {', '.join(info.get('labels', []))} on the training"
            " subjects; then it learns them from *n* clips each (drawn from the training"
            f" subjects), rehearsing {info.get('rehearsal_per_class')} stored clips of each"
            f" old label; {info.get('epochs')} epochs. *fine-tune all* (the default of"
            " `poseact.fine_tune`): the whole network, starting from the trained one,"
            " at learning rate 1e-3, with a new softmax head keeping the old labels' weights;"
            " *fine-tune head*: the same with the encoder frozen (learning rate 3e-3); *from"
            " scratch*: the same architecture trained on exactly the"
            " same clips (new and rehearsed). Test: the held-out subjects, all labels"
            f" ({info.get('seconds', 0.0) / 60:.1f} minutes).",
            "",
            "| n clips / new label | method | new labels accuracy | old labels accuracy"
            " | all labels accuracy | training s |",
            "|---:|---|---|---|---|---:|",
        ]
        for r in sorted(self.fewshot, key=lambda r: (r.clips_per_label, r.method)):
            lines.append(
                f"| {r.clips_per_label} | {r.method} | {_pm(r.new_accuracy, r.new_accuracy_std)}"
                f" | {_pm(r.old_accuracy, r.old_accuracy_std)} | {_pm(r.accuracy, r.accuracy_std)}"
                f" | {r.training_seconds:.1f} |"
            )
        return [*lines, ""]

    def _distill_markdown(self) -> list[str]:
        info = self.settings.get("distill", {})
        lines = [
            "## Knowledge distillation",
            "",
            f"Teacher: GRU {self.settings.get('teacher_units')} units; student: GRU"
            f" {self.settings.get('student_units')} units trained on the teacher's soft targets"
            f" (temperature {info.get('temperature')}, alpha {info.get('alpha')} on the true"
            " labels) vs the same student trained from scratch; same splits and epochs"
            f" ({info.get('seconds', 0.0) / 60:.1f} minutes).",
            "",
            "| dataset | model | accuracy | macro F1 | parameters | TFLite KB |",
            "|---|---|---|---|---:|---:|",
        ]
        for r in self.distillation:
            lines.append(
                f"| {r.dataset} | {r.role} ({r.architecture} {r.units})"
                f" | {_pm(r.accuracy, r.accuracy_std)} | {_pm(r.macro_f1, r.macro_f1_std)}"
                f" | {r.parameters:,} | {r.tflite_bytes / 1024:.1f} |"
            )
        return [*lines, ""]
