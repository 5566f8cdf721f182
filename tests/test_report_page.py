"""Reports a person reads (issue 29, item 4), looked at in headless Chromium at 1280 px.

Real clips (the ASL signs shipped in datasets/, written as `poseact record` writes them
for three subjects) are trained on briefly through the CLI, so that some clips are
wrong; `train --report-dir` and `evaluate --leave-one-subject-out --report-dir` write
their pages. Each page is opened at 1280×800: the heading said once, the held-out
subjects named, the skeleton thumbnails wrapped inside the page (none cut off, each at
least 140 px wide), the per-subject table of the leave-one-subject-out page. `show`
frames a head-and-shoulders clip to its extent.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from cli_run import REPO_ROOT, SHARED, cli, ok
from cli_run import browser as find_browser

from poseact.testing import chromium_args

SUBJECTS = ("alice", "bob", "carol")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    import poseact

    root = tmp_path_factory.mktemp("reports")
    data = poseact.load_dataset(REPO_ROOT / "datasets" / "asl_signs" / "asl_signs.npz")
    folder = root / "signs"
    for i in range(0, len(data), 2):
        seq, label = data.sequences[i], data.labels[i]
        subject = SUBJECTS[i % len(SUBJECTS)]
        (folder / label).mkdir(parents=True, exist_ok=True)
        replace(seq, subject=subject).save(folder / label / f"{label}_{subject}_{i:03d}.npz")
    model = root / "m.poseact"
    train = cli(
        "-q", "train", folder, "-o", model, "--epochs", "1", "--units", "4",
        "--test-fraction", "0.34", "--report-dir", root / "train_report",
    )  # fmt: skip
    ok(train)
    loso = cli(
        "-q", "evaluate", model, folder, "--leave-one-subject-out",
        "--report-dir", root / "loso_report",
    )  # fmt: skip
    ok(loso)
    return {"root": root, "train": train, "loso": loso}


def _look_at(page_file: Path, screenshot: Path) -> dict:
    """Open a report at 1280×800; what a reader sees (sizes and places of its parts)."""
    chromium, sync_playwright = find_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=chromium_args()
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_file.as_uri())
            page.screenshot(path=str(screenshot), full_page=True)
            return page.evaluate(
                """() => {
                const box = (e) => { const r = e.getBoundingClientRect();
                  return {left: r.left, right: r.right, width: r.width, height: r.height}; };
                return {
                  scrollWidth: document.documentElement.scrollWidth,
                  text: document.body.innerText,
                  h1: [...document.querySelectorAll('h1')].map(e => e.innerText),
                  note: (document.querySelector('#split') || {}).innerText || '',
                  frames: [...document.querySelectorAll('img.frame')].map(e => ({
                    ...box(e), loaded: e.complete && e.naturalWidth > 0})),
                  clips: document.querySelectorAll('.clip').length,
                  matrices: [...document.querySelectorAll('img.matrix')].map(box),
                  subjects: [...document.querySelectorAll('#subjects tr')].slice(1)
                    .map(r => r.cells[0].innerText),
                };
              }"""
            )
        finally:
            browser.close()


def _assert_readable(seen: dict) -> None:
    assert seen["scrollWidth"] <= 1280, "the page is wider than the screen"
    assert len(seen["h1"]) == 1
    heading = seen["h1"][0]
    assert seen["text"].count(heading) == 1, "the heading is said more than once"
    assert seen["clips"] >= 1 and seen["frames"], "no wrong clip drawn"
    for frame in seen["frames"]:
        assert frame["loaded"] and frame["width"] >= 140, frame
        assert frame["left"] >= 0 and frame["right"] <= 1280, frame
    rows = {round(f["left"]) for f in seen["frames"]}
    assert len(rows) > 1
    for matrix in seen["matrices"]:
        assert matrix["right"] <= 1280 and matrix["width"] >= 200, matrix


def test_the_training_report_fits_a_laptop_and_names_the_held_out_subjects(reports):
    root = reports["root"]
    seen = _look_at(root / "train_report" / "report.html", root / "train.png")
    _assert_readable(seen)
    held = re.search(r"unseen subjects? \(([^)]*)\)", seen["note"])
    assert held, seen["note"]
    assert set(held.group(1).replace(" and ", ", ").split(", ")) <= set(SUBJECTS)
    assert (root / "train.png").stat().st_size > 10_000


def test_leave_one_subject_out_writes_a_report(reports):
    root = reports["root"]
    out = reports["loso"].stdout
    assert "report.html" in out and "leave_one_subject_out.json" in out
    seen = _look_at(root / "loso_report" / "report.html", root / "loso.png")
    _assert_readable(seen)
    assert seen["subjects"] == list(SUBJECTS)
    assert "pooled" in seen["text"]
    # the pooled matrix counts every clip once, each scored by the model that did not see it
    import json

    pooled = json.loads((root / "loso_report" / "report.json").read_text())
    assert pooled["num_clips"] == 45
    assert np.sum(pooled["confusion"]) == 45
    subjects = json.loads((root / "loso_report" / "leave_one_subject_out.json").read_text())
    assert sorted(subjects["per_subject"]) == list(SUBJECTS)


def test_show_frames_the_skeleton_to_its_extent(tmp_path):
    """A head-and-shoulders clip of the real video fills the rendered canvas."""
    import cv2

    clip = tmp_path / "clip.npz"
    ok(cli(
        "-q", "extract", SHARED / "testdata" / "person_thumb_up.mp4", "-o", clip,
        "--frame-step", "10", env={"POSEACT_CACHE_DIR": str(tmp_path / "cache")},
    ))  # fmt: skip
    out = tmp_path / "shown.mp4"
    ok(cli("show", clip, "-o", out))
    capture = cv2.VideoCapture(str(out))
    good, frame = capture.read()
    capture.release()
    assert good
    height, width = frame.shape[:2]
    assert max(height, width) == 640
    # the skeleton's pixels (drawn, not the background) span most of the canvas
    drawn = np.abs(frame.astype(int) - np.array([48, 48, 48])).sum(axis=2) > 60
    drawn[: height // 5, : width // 2] = False  # the status text
    ys, xs = np.nonzero(drawn)
    assert (xs.max() - xs.min()) > 0.6 * width or (ys.max() - ys.min()) > 0.6 * height
