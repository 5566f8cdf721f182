"""The code in README.md and docs/*.md runs, and what the docs name exists.

Every ```python block runs in a fresh interpreter in a folder holding what the docs
assume (my_gestures/, my_new_gesture/, clip.mp4, recording.mp4, truth.csv,
gestures.poseact, gestures.tflite: real clips, a real video, a real trained model),
with trainings cut to 2 epochs. A block that cannot run here is marked in the markdown
on the line before it, with the reason:

    <!-- docs-test: skip reads a camera (its imports are checked) -->

and its imports still run, so a renamed module breaks this test, not a user.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, TESTDATA_DIR

pytestmark = pytest.mark.slow

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!-- docs-test: skip (.+?) -->\s*$")

#: Trainings as the docs write them, with at most 2 epochs (the code path unchanged).
PRELUDE = """
import poseact.train.options as _options
_check = _options.TrainingOptions.__post_init__
def _few_epochs(self):
    _check(self)
    object.__setattr__(self, "epochs", min(self.epochs, 2))
_options.TrainingOptions.__post_init__ = _few_epochs
"""


def _blocks() -> list[tuple[str, str, str | None]]:
    """(id "file:line", code, skip reason or None) of every Python block."""
    found = []
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.strip() != "```python":
                continue
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            skip = SKIP.search(lines[i - 1]) if i else None
            name = f"{doc.relative_to(REPO_ROOT)}:{i + 2}"
            found.append((name, "\n".join(lines[i + 1 : end]), skip and skip.group(1)))
    return found


BLOCKS = _blocks()


def _run(code: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "POSEACT_CACHE_DIR": str(cwd / ".cache"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def workspace(synthetic_subjects, tmp_path_factory) -> Path:
    """A folder with the files the docs' code reads."""
    import numpy as np

    from poseact.data.dataset import Dataset
    from poseact.deploy.export import export_tflite
    from poseact.extract.sources import VideoFileSource
    from poseact.extract.video import write_video
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    root = tmp_path_factory.mktemp("docs")
    data = synthetic_subjects
    data.to_folder(root / "my_gestures")
    claps = [i for i, label in enumerate(data.labels) if label == "clap"][:5]
    new = data.subset(claps)
    Dataset(new.sequences, ("new_gesture",) * len(new), new.groups).to_folder(
        root / "my_new_gesture"
    )
    model = GestureClassifier(model=ModelOptions(units=16), training=TrainingOptions(epochs=2)).fit(
        data
    )
    model.save(root / "gestures.poseact")
    export_tflite(model, root / "gestures.tflite")
    with VideoFileSource(TESTDATA_DIR / "person_thumb_up.mp4") as video:  # a real person
        frames = [rgb for _, (_, rgb) in zip(range(40), video)]
    write_video(root / "clip.mp4", np.stack(frames), 25.0)
    write_video(root / "recording.mp4", np.stack(frames), 25.0)
    (root / "truth.csv").write_text("start_s,end_s,label\n0.2,1.2,wave\n")
    return root


@pytest.mark.parametrize(
    "code", [pytest.param(code, id=name) for name, code, skip in BLOCKS if skip is None]
)
def test_a_docs_block_runs(code, workspace):
    proc = _run(PRELUDE + code, workspace)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_imports_of_blocks_that_cannot_run_here():
    """Blocks marked skip (a camera, a cluster) still import only what exists."""
    skipped = [(name, code, why) for name, code, why in BLOCKS if why is not None]
    assert skipped, "no block is marked skip: remove this test's exception"
    imports = []
    for _name, code, _ in skipped:
        tree = ast.parse(code)
        imports += [
            ast.unparse(node)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset == 0
        ]
    proc = _run("\n".join(imports), REPO_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attribute in parts[i:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def test_the_modules_names_and_files_the_docs_name_exist():
    """`poseact.x.y` names resolve, and repository paths and links point to files."""
    missing = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for name in sorted(set(re.findall(r"\bposeact(?:\.[A-Za-z_]\w*)+", text))):
            if name.endswith((".json", ".js", ".py")) or _resolves(name):
                continue
            missing.append(f"{doc.name}: {name}")
        paths = re.findall(
            r"(?<![\w/.-])((?:poseact|tests|benchmarks|examples|datasets|docs)/[\w./-]*\w)", text
        )
        links = re.findall(r"\]\(([^)#:]+)\)", text)
        for path in paths:
            installed = "node_modules" in path  # npm installs it (.ci/web-deps.sh)
            if "NAME" not in path and not installed and not (REPO_ROOT / path).exists():
                missing.append(f"{doc.name}: {path}")
        for link in links:
            if not (doc.parent / link).exists():
                missing.append(f"{doc.name}: link {link}")
    assert not missing, missing
