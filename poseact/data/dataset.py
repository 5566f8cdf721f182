"""Labelled collections of landmark sequences, and splits that do not leak.

`Dataset` holds one `LandmarkSequence` per clip with its label and its group (the
subject or recording it came from). Clips of one group always land on the same side of
a split, so a test score measures people the model has never seen.

Folder layout read by `Dataset.from_folder`::

    root/<label>/<clip>.mp4|.avi|.mov|.mkv|.webm   videos: landmarks extracted (cached)
    root/<label>/<clip>.npz                        landmarks saved by LandmarkSequence.save
    root/<label>/<clip>.csv                        landmarks as CSV (see `read_landmark_csv`)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from poseact.core.archives import ArchiveLimitError, load_npz, special_file_problem
from poseact.core.atomic import atomic_path, is_temp_file
from poseact.core.choices import IMAGE_SUFFIXES
from poseact.core.errors import DatasetError, LandmarkFormatError, UnknownLabelError
from poseact.core.labels import label_problem, normalize_label, printable
from poseact.core.layouts import adopt_layout, get_layout, is_builtin_layout
from poseact.core.sequence import LandmarkSequence
from poseact.data.background import choose_background
from poseact.data.clip_csv import read_landmark_csv, write_landmark_csv

__all__ = [
    "Dataset",
    "VIDEO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "read_landmark_csv",
    "write_landmark_csv",
]

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
LANDMARK_SUFFIXES = (".npz", ".csv")
#: Every file a dataset folder's label folders may hold as a clip.
CLIP_SUFFIXES = VIDEO_SUFFIXES + LANDMARK_SUFFIXES + IMAGE_SUFFIXES
_DATASET_FORMAT = "poseact-dataset"
_DATASET_VERSION = 1


@dataclass(frozen=True, eq=False)
class Dataset:
    """Clips with labels and groups.

    Attributes:
        sequences: one `LandmarkSequence` per clip, all of the same layout.
        labels: (N,) label of each clip.
        groups: (N,) subject or recording of each clip; clips sharing a group are kept
            together by `split`. Defaults to one group per clip.
        classes: sorted class names; may list classes without clips (e.g. a background
            class known to a model).
        background: the "no gesture" class, if any (e.g. "none" or "idle").
    """

    sequences: tuple[LandmarkSequence, ...]
    labels: tuple[str, ...]
    groups: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    background: str | None = None
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        seqs = tuple(self.sequences)
        labels = tuple(normalize_label(str(label)) for label in self.labels)
        where = f" {self.name}" if self.name else ""
        if len(seqs) != len(labels):
            raise DatasetError(f"dataset{where} has {len(seqs)} sequences but {len(labels)} labels")
        for i, seq in enumerate(seqs):
            if not isinstance(seq, LandmarkSequence):
                raise DatasetError(
                    f"dataset{where}: item {i} is {type(seq).__name__}, expected LandmarkSequence"
                )
        layouts = sorted({seq.layout for seq in seqs})
        if len(layouts) > 1:
            examples = {}
            for i, seq in enumerate(seqs):
                examples.setdefault(seq.layout, seq.source or f"clip {i}")
            found = ", ".join(f"{examples[name]} is {name!r}" for name in layouts)
            raise DatasetError(
                f"dataset{where} mixes landmark layouts {layouts} (e.g. {found}); extract"
                " every clip with the same feature set"
            )
        groups = (
            tuple(str(g) for g in self.groups)
            if self.groups
            else tuple(f"clip{i}" for i in range(len(seqs)))
        )
        if len(groups) != len(seqs):
            raise DatasetError(f"dataset{where} has {len(seqs)} sequences but {len(groups)} groups")
        background = None if self.background is None else normalize_label(str(self.background))
        classes = tuple(sorted({normalize_label(str(c)) for c in self.classes} | set(labels)))
        if background is not None and background not in classes:
            classes = tuple(sorted(set(classes) | {background}))
        for label in classes:
            if not label.strip():
                raise DatasetError(f"dataset{where} has an empty label name")
            problem = label_problem(label)
            if problem:
                example = next(
                    (seq.source for seq, lab in zip(seqs, labels) if lab == label and seq.source),
                    None,
                )
                raise DatasetError(
                    f"dataset{where}: label {printable(label)!r} cannot be a class name"
                    f" ({problem}){f'; e.g. {printable(example)}' if example else ''}; rename it"
                )
        object.__setattr__(self, "sequences", seqs)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "background", background)

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def layout(self) -> str:
        """Landmark layout of the clips ("pose" if empty)."""
        return self.sequences[0].layout if self.sequences else "pose"

    @property
    def label_indices(self) -> np.ndarray:
        """(N,) int64 index of each clip's label in `classes`."""
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[label] for label in self.labels], dtype=np.int64)

    def class_counts(self) -> dict[str, int]:
        """Clips per class, in `classes` order (0 for classes without clips)."""
        counts = Counter(self.labels)
        return {c: counts.get(c, 0) for c in self.classes}

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """A new dataset with the clips at `indices`, keeping `classes` and `background`."""
        idx = [int(i) for i in np.asarray(indices, dtype=np.int64).reshape(-1)]
        return Dataset(
            sequences=tuple(self.sequences[i] for i in idx),
            labels=tuple(self.labels[i] for i in idx),
            groups=tuple(self.groups[i] for i in idx),
            classes=self.classes,
            background=self.background,
            name=self.name,
        )

    def check_labels(self, known: Sequence[str]) -> None:
        """Raise UnknownLabelError if a clip's label is not in `known`."""
        unknown = sorted(set(self.labels) - set(known))
        if unknown:
            raise UnknownLabelError(
                f"dataset{' ' + self.name if self.name else ''} has labels {unknown} that the"
                f" model does not know (it knows {list(known)})"
            )

    @property
    def groups_known(self) -> bool:
        """True when some group holds more than one clip: the groups say who (or which
        recording) each clip shows, so a split by group holds out whole people. False
        when every clip is its own group (no subjects known)."""
        return len(set(self.groups)) < len(self)

    def split_strategy(self, by: str = "auto") -> str:
        """What `split(by=by)` does: "group" (whole groups on each side) or "stratified"
        (clips split per class). See `split`."""
        if by == "auto":
            return "group" if 2 <= len(set(self.groups)) < len(self) else "stratified"
        return by

    def drop_undetected(self) -> tuple[Dataset, tuple[str, ...]]:
        """Leave out the clips in which nothing was detected in any frame.

        Clips of the background class are kept: "nobody there" is a valid example of
        "no gesture".

        Returns:
            (the dataset without those clips, their sources in dataset order).
        """
        keep, dropped = [], []
        for i, (seq, label) in enumerate(zip(self.sequences, self.labels)):
            if seq.detected.any() or label == self.background:
                keep.append(i)
            else:
                dropped.append(seq.source or f"clip {i}")
        return (self if not dropped else self.subset(keep)), tuple(dropped)

    def summary(self) -> str:
        """One line: clips, classes with counts, groups, layout."""
        counts = ", ".join(f"{c}={n}" for c, n in self.class_counts().items())
        return (
            f"{len(self)} clips, {len(self.classes)} classes ({counts}),"
            f" {len(set(self.groups))} groups, layout {self.layout!r}"
        )

    # ------------------------------------------------------------------ splitting
    def split(
        self, test_fraction: float = 0.2, *, seed: int = 0, by: str = "auto"
    ) -> tuple[Dataset, Dataset]:
        """Split into (train, test) without leaking groups.

        Args:
            test_fraction: share of clips for the test side, in (0, 1).
            seed: seed of the shuffle; the same seed gives the same split.
            by: "group" keeps each group on one side (subject-wise); "stratified"
                splits clips per class; "auto" uses groups when there are at least two
                and some group holds more than one clip, else stratified.

        Raises:
            DatasetError: too few clips or groups to split.
        """
        if not 0.0 < test_fraction < 1.0:
            raise DatasetError(f"test_fraction must be in (0, 1), got {test_fraction}")
        if len(self) < 2:
            raise DatasetError(f"cannot split a dataset of {len(self)} clip(s)")
        by = self.split_strategy(by)
        rng = np.random.default_rng(seed)
        if by == "group":
            test_idx = self._group_test_indices(test_fraction, rng)
        elif by == "stratified":
            test_idx = self._stratified_test_indices(test_fraction, rng)
        else:
            raise DatasetError(f"split by must be 'auto', 'group' or 'stratified', got {by!r}")
        mask = np.zeros(len(self), dtype=bool)
        mask[test_idx] = True
        return self.subset(np.flatnonzero(~mask)), self.subset(np.flatnonzero(mask))

    def _group_test_indices(self, fraction: float, rng: np.random.Generator) -> np.ndarray:
        """Clips of the groups whose total is closest to `fraction` of the clips (at
        least one group held out, at least one kept).

        Up to 16 groups every choice of groups is tried (the closest achievable; ties
        broken by the seed); with more, the groups are taken in a seeded order and each
        is held out if that brings the count closer to the target, which ends within
        one group of it.
        """
        names = sorted(set(self.groups))
        if len(names) < 2:
            raise DatasetError(
                f"cannot split by group: all {len(self)} clips belong to group {names[0]!r}"
            )
        groups = np.array(self.groups)
        sizes = np.array([int(np.sum(groups == name)) for name in names])
        target = fraction * len(self)
        if len(names) <= 16:
            masks = np.arange(1, 2 ** len(names) - 1)  # not none, not all
            chosen_bits = (masks[:, None] >> np.arange(len(names))) & 1
            miss = np.abs(chosen_bits @ sizes - target)
            best = np.flatnonzero(np.isclose(miss, miss.min()))
            pick = chosen_bits[best[rng.integers(len(best))]].astype(bool)
            chosen = [name for name, keep in zip(names, pick) if keep]
        else:
            chosen, count = [], 0
            for i in rng.permutation(len(names)):
                if len(chosen) == len(names) - 1:
                    break
                if not chosen or abs(count + sizes[i] - target) < abs(count - target):
                    chosen.append(names[i])
                    count += int(sizes[i])
        return np.flatnonzero(np.isin(groups, chosen))

    def _stratified_test_indices(self, fraction: float, rng: np.random.Generator) -> np.ndarray:
        labels = np.array(self.labels)
        picked: list[np.ndarray] = []
        for label in self.classes:
            idx = np.flatnonzero(labels == label)
            if len(idx) < 2:
                continue  # a class with one clip stays in training
            n_test = min(len(idx) - 1, max(1, int(round(fraction * len(idx)))))
            picked.append(rng.permutation(idx)[:n_test])
        if not picked:
            raise DatasetError("cannot split: every class has fewer than 2 clips")
        return np.sort(np.concatenate(picked))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        arrays: Sequence[np.ndarray],
        labels: Sequence[str],
        *,
        fps: float = 30.0,
        timestamps: Sequence[np.ndarray] | None = None,
        groups: Sequence[str] | None = None,
        layout: str = "pose",
        image_size: tuple[int, int] | None = None,
        background: str | None = None,
    ) -> Dataset:
        """Build a dataset from landmark arrays, each (T, K, 3) or (T, K, 4).

        Args:
            arrays: one array per clip (see `LandmarkSequence.from_array`).
            labels: one label per clip.
            fps: frame rate of clips without `timestamps`.
            timestamps: optional (T,) seconds per clip.
            groups: optional subject/recording per clip.
            layout: landmark layout of every clip.
        """
        if len(arrays) != len(labels):
            raise DatasetError(f"{len(arrays)} arrays but {len(labels)} labels")
        seqs = tuple(
            LandmarkSequence.from_array(
                a,
                fps=fps,
                timestamps=None if timestamps is None else timestamps[i],
                layout=layout,
                image_size=image_size,
                source=f"array {i}",
            )
            for i, a in enumerate(arrays)
        )
        return cls(seqs, tuple(labels), tuple(groups or ()), background=background)

    @classmethod
    def from_folder(
        cls,
        root: str | os.PathLike,
        *,
        options=None,
        cache=None,
        workers: int = 1,
        progress: bool = True,
        group_pattern: str | None = None,
        background: str | None = "auto",
    ) -> Dataset:
        """Load `root/<label>/<clip>.{mp4,avi,mov,npz,csv,jpg,png}`; videos go through
        the cache; photos (`IMAGE_SUFFIXES`, what MediaPipe Model Maker reads) are
        one-frame clips, each size-checked from its header before it is decoded.

        Args:
            root: dataset folder, one sub-folder per label.
            options: `ExtractorOptions` for videos (default: pose).
            cache: `LandmarkCache` (default: the user cache), or False for none.
            workers: processes extracting videos in parallel.
            progress: show a progress bar over extraction.
            group_pattern: regular expression whose group "group" (or first group)
                finds the subject/recording in a clip's file name, e.g.
                r"^(?P<group>[^_]+)_"; it wins over the subject stored in a clip
                (`LandmarkSequence.subject`, as `poseact record --subject` saves it).
                Clips with neither are each their own group.
            background: the "no gesture" label: "auto" (default) takes a label named
                "none" or "background" (`poseact.data.background`), as `poseact train`
                does; None: no background. Its videos may show nobody (they are kept
                as all-NaN clips, not refused).

        Raises:
            DatasetError: the folder is missing or holds no clips, `workers` < 1,
                `group_pattern` is not a regular expression with a group, or
                `background` names no label.
        """
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"dataset folder {root} does not exist")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise DatasetError(f"workers must be an int >= 1, got {workers!r}")
        pattern = _group_regex(group_pattern) if group_pattern else None
        files: list[tuple[str, Path]] = []
        for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            if label_dir.name.startswith("."):
                continue
            for path in sorted(label_dir.iterdir()):
                problem = special_file_problem(path)
                if problem and path.suffix.lower() in CLIP_SUFFIXES:
                    raise LandmarkFormatError(f"clip {path} {problem}")
                if not path.is_file() or is_temp_file(path) or path.name.startswith("."):
                    continue
                if path.suffix.lower() in CLIP_SUFFIXES:
                    files.append((label_dir.name, path))
        if not files:
            raise DatasetError(
                f"dataset folder {root} holds no clips; expected root/<label>/<clip>"
                f" with one of {CLIP_SUFFIXES}"
            )
        background = choose_background(background, sorted({label for label, _ in files}))
        videos = [p for _, p in files if p.suffix.lower() in VIDEO_SUFFIXES]
        extracted: dict[Path, LandmarkSequence] = {}
        photos = [(label, p) for label, p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        if photos:
            from poseact.extract.extractor import extract_images
            from poseact.extract.options import ExtractorOptions

            opts = options or ExtractorOptions()
            for quiet in (False, True):  # a background photo may show nobody
                batch = [p for label, p in photos if (label == background) == quiet]
                if batch:
                    batch_opts = (
                        dataclasses.replace(opts, require_detection=False) if quiet else opts
                    )
                    extracted.update(zip(batch, extract_images(batch, batch_opts)))
        if videos:
            from poseact.extract.batch import extract_many
            from poseact.extract.options import ExtractorOptions

            opts = options or ExtractorOptions()
            # a background clip may show nobody at all (an empty room is "no gesture")
            quiet = [p for label, p in files if label == background and p in set(videos)]
            others = [p for p in videos if p not in set(quiet)]
            for batch, batch_opts in (
                (others, opts),
                (quiet, dataclasses.replace(opts, require_detection=False)),
            ):
                if batch:
                    results = extract_many(
                        batch,
                        batch_opts,
                        **({} if cache is None else {"cache": cache}),
                        workers=workers,
                        progress=progress,
                    )
                    extracted.update(zip(batch, results))
        sequences, labels, groups = [], [], []
        for label, path in files:
            suffix = path.suffix.lower()
            if path in extracted:
                seq = extracted[path]
            elif suffix == ".npz":
                seq = LandmarkSequence.load(path)
            else:
                seq = read_landmark_csv(path)
            sequences.append(seq)
            labels.append(label)
            group = seq.subject or f"{label}/{path.stem}"
            if pattern is not None:
                match = pattern.search(path.stem)
                if match:
                    group = match.groupdict().get("group") or match.group(1)
            groups.append(group)
        return cls(
            tuple(sequences), tuple(labels), tuple(groups), background=background, name=str(root)
        )

    def to_folder(self, root: str | os.PathLike) -> list[Path]:
        """Write each clip as `root/<label>/<clip>.npz` (readable by `from_folder`).

        Clip names come from each sequence's source file name; clashes get a number.
        When the groups are known (`groups_known`), each clip's group is saved as its
        `subject`, so `from_folder(root)` finds the same groups without a pattern.
        Returns the written paths, in dataset order.

        Raises:
            DatasetError: a label cannot be a folder name (empty, ".", "..", a leading
                dot, which `from_folder` skips, or a path separator); nothing is written.
            WriteError: a clip cannot be written.
        """
        root = Path(root)
        for label in self.classes:
            problem = _folder_name_problem(label)
            if problem:
                name = f" {self.name}" if self.name else ""
                raise DatasetError(
                    f"cannot write dataset{name} to folders under {root}: label {label!r}"
                    f" is not a usable folder name ({problem})"
                )
        keep_groups = self.groups_known
        written: list[Path] = []
        taken: set[Path] = set()
        for i, (seq, label) in enumerate(zip(self.sequences, self.labels)):
            stem = Path(seq.source).stem if seq.source else f"clip{i:04d}"
            stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or f"clip{i:04d}"
            path = root / label / f"{stem}.npz"
            n = 1
            while path in taken:
                path = root / label / f"{stem}_{n}.npz"
                n += 1
            taken.add(path)
            if keep_groups and seq.subject != self.groups[i]:
                seq = seq.replace(subject=self.groups[i])
            written.append(seq.save(path))
        return written

    # ------------------------------------------------------------------ packed files
    def save(self, path: str | os.PathLike, *, precision: str = "float32") -> Path:
        """Write the whole dataset to one `.npz` file atomically.

        Args:
            path: destination file.
            precision: "float32" or "float16" for landmark storage (float16 halves the
                size; values are read back as float32).
        """
        if precision not in ("float32", "float16"):
            raise DatasetError(f"precision must be 'float32' or 'float16', got {precision!r}")
        if not self.sequences:
            raise DatasetError("cannot save an empty dataset")
        lengths = np.array([len(s) for s in self.sequences], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        sizes = np.array([s.image_size or (0, 0) for s in self.sequences], dtype=np.int64)
        header = {
            "format": _DATASET_FORMAT,
            "version": _DATASET_VERSION,
            "layout": self.layout,
            "classes": list(self.classes),
            "background": self.background,
            "name": self.name,
        }
        if not is_builtin_layout(self.layout):  # a fresh process reads it unregistered
            header["layout_definition"] = get_layout(self.layout).to_dict()
        landmarks = np.concatenate([s.landmarks for s in self.sequences])
        if precision == "float16":
            _check_float16(landmarks, "landmarks", offsets, self, path)
        arrays = {
            "header": np.array(json.dumps(header, sort_keys=True)),
            "offsets": offsets,
            "timestamps": np.concatenate([s.timestamps for s in self.sequences]),
            "landmarks": landmarks.astype(precision),
            "visibility": np.concatenate([s.visibility for s in self.sequences]).astype(precision),
            "labels": np.array(self.labels, dtype=str),
            "groups": np.array(self.groups, dtype=str),
            "image_sizes": sizes,
        }
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Dataset:
        """Read a dataset written by `save`.

        Raises:
            DatasetError: the file is missing or not a poseact dataset.
        """
        path = Path(path)
        try:
            data = load_npz(path)
            if "header" not in data and {"timestamps", "landmarks"} <= set(data):
                raise DatasetError(
                    f"{path} is a landmark clip, not a dataset: give the dataset's folder"
                    " (root/<label>/<clip>), or a file written by Dataset.save"
                )
            header = json.loads(str(data["header"]))
            if header.get("format") != _DATASET_FORMAT:
                raise DatasetError(f"{path} is not a poseact dataset file")
            if header.get("layout_definition") is not None:
                try:
                    adopt_layout(header["layout_definition"], str(path))
                except LandmarkFormatError as exc:
                    raise DatasetError(str(exc)) from None
            offsets = data["offsets"]
            timestamps = data["timestamps"]
            landmarks = data["landmarks"].astype(np.float32)
            visibility = data["visibility"].astype(np.float32)
            labels = [str(v) for v in data["labels"]]
            groups = [str(v) for v in data["groups"]]
            sizes = data["image_sizes"]
            if not all(isinstance(a, np.ndarray) for a in (offsets, timestamps, sizes)):
                raise DatasetError(f"{path}: damaged dataset file (a member is not an array)")
        except DatasetError:
            raise
        except ArchiveLimitError as exc:
            raise DatasetError(str(exc)) from None
        except FileNotFoundError:
            raise DatasetError(f"dataset file {path} does not exist") from None
        except PermissionError:
            raise DatasetError(f"cannot read dataset file {path}: permission denied") from None
        except Exception as exc:
            raise DatasetError(
                f"{path} is not a readable poseact dataset ({type(exc).__name__}: {exc})"
            ) from None
        n = len(labels)
        if (
            offsets.dtype.kind not in "iu"
            or sizes.dtype.kind not in "iu"
            or offsets.shape != (n + 1,)
            or len(groups) != n
            or sizes.shape != (n, 2)
            or offsets[0] != 0
            or np.any(np.diff(offsets) < 0)
            or offsets[-1] != len(timestamps)
        ):
            raise DatasetError(
                f"{path}: inconsistent dataset arrays ({n} labels, {len(groups)} groups,"
                f" offsets {offsets.shape}, image sizes {sizes.shape}, {len(timestamps)} frames);"
                " the file is damaged"
            )
        sequences = []
        for i in range(n):
            a, b = int(offsets[i]), int(offsets[i + 1])
            w, h = (int(v) for v in sizes[i])
            try:
                sequences.append(
                    LandmarkSequence(
                        timestamps=timestamps[a:b],
                        landmarks=landmarks[a:b],
                        visibility=visibility[a:b],
                        layout=str(header.get("layout")),
                        image_size=(w, h) if w > 0 else None,
                        source=f"{path}[{i}]",
                    )
                )
            except (LandmarkFormatError, TypeError, ValueError) as exc:
                raise DatasetError(f"{path}: clip {i} is invalid ({exc})") from None
        try:
            return cls(
                tuple(sequences),
                tuple(labels),
                tuple(groups),
                classes=tuple(str(c) for c in header.get("classes") or ()),
                background=header.get("background"),
                name=str(header.get("name") or path),
            )
        except DatasetError as exc:
            raise DatasetError(f"{path}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{path}: invalid dataset header ({exc})") from None


def _folder_name_problem(label: str) -> str | None:
    """Why `label` cannot be one folder of a dataset root, or None."""
    if not label.strip():
        return "empty"
    if label in (".", ".."):
        return "it names the root or its parent"
    if label.startswith("."):
        return "a leading dot hides the folder, and from_folder skips it"
    bad = sorted({c for c in label if c in ("/", "\\", "\0", os.sep, os.altsep or "/")})
    if bad:
        return f"it holds {', '.join(repr(c) for c in bad)}"
    return None


_FLOAT16_MAX = float(np.finfo(np.float16).max)  # 65504


def _check_float16(values: np.ndarray, what: str, offsets: np.ndarray, data: Dataset, path) -> None:
    """Refuse finite values that float16 cannot hold (they would be stored as inf)."""
    with np.errstate(invalid="ignore"):
        too_big = np.isfinite(values) & (np.abs(values) > _FLOAT16_MAX)
    if not too_big.any():
        return
    frame = int(np.flatnonzero(too_big.reshape(len(values), -1).any(axis=1))[0])
    clip = int(np.searchsorted(offsets, frame, side="right") - 1)
    value = float(values[too_big][0])
    source = data.sequences[clip].source or f"clip {clip}"
    raise DatasetError(
        f"cannot save {path} as float16: {what} of {source} hold {value:g}, beyond float16's"
        f" ±{_FLOAT16_MAX:g}; save with precision='float32'; nothing was written"
    )


def _group_regex(group_pattern: str) -> re.Pattern[str]:
    """Compile a group pattern; it must be valid and hold a group.

    Raises:
        DatasetError: not a regular expression, or one without a group.
    """
    try:
        pattern = re.compile(group_pattern)
    except re.error as exc:
        raise DatasetError(
            f"group pattern {group_pattern!r} is not a regular expression ({exc})"
        ) from None
    if pattern.groups == 0:
        raise DatasetError(
            f"group pattern {group_pattern!r} has no group: put the subject part of the clip"
            r" names in (?P<group>...), e.g. '(?P<group>s\d+)_'"
        )
    return pattern
