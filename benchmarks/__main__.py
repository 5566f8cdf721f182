"""Run poseact's benchmarks and write the summary table.

    python -m benchmarks [--quick] [--only NAME ...] [--summary-only] [--update-readme]

Runs each benchmark (extraction, cache, live, classifier, training, models) in its
own Python process, one after the other, so that none disturbs another and each starts
from a clean state. Each prints what it measured and writes
`benchmarks/results/NAME.json`; then `benchmarks/results/summary.md` and
`summary.json` list every figure beside its target, whether it is met, and why not;
`--update-readme` copies the table into README.md (between its benchmark markers).
The browser benchmark (`benchmarks/bench_web.py`, run on its own) joins the summary
when `benchmarks/results/web.json` exists.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, RESULTS, format_value, machine_info

BENCHMARKS = (
    "extraction",
    "cache",
    "live",
    "classifier",
    "training",
    "models",
    "stream",
    "quality",
    "people",
)


def run_one(name: str, quick: bool, work: Path) -> tuple[bool, float]:
    """Run `benchmarks.bench_NAME` in a subprocess; (succeeded, seconds)."""
    command = [sys.executable, "-m", f"benchmarks.bench_{name}", "--work", str(work)]
    if quick:
        command.append("--quick")
    print(f"\n=== {name} ===", flush=True)
    start = time.perf_counter()
    env = {**os.environ, "POSEACT_BENCH_WORK": str(work), "PYTHONUNBUFFERED": "1"}
    returncode = subprocess.call(command, cwd=REPO, env=env)
    seconds = time.perf_counter() - start
    if returncode != 0:
        print(f"=== {name} FAILED (exit code {returncode}) ===", flush=True)
    return returncode == 0, seconds


def _web_rows(data: dict) -> list[dict]:
    """Summary rows from bench_web.py's own JSON layout."""
    if isinstance(data.get("checks"), list):
        return data["checks"]
    rows = []
    target = data.get("target_fps")
    for entry in data.get("summary", []):
        mode = entry.get("mode", "?")
        fps = entry.get("fps_median")
        if fps is not None:
            rows.append(
                {
                    "id": f"web.{mode}.fps",
                    "what": f"browser ({mode}): camera frames/s processed (median)",
                    "measured": fps,
                    "unit": "frames/s",
                    "target": f"≥ {target:g}" if target else "—",
                    "met": (fps >= target) if target else None,
                    "note": (
                        f"MediaPipe {entry.get('detect_ms_median', float('nan')):.0f} ms/frame,"
                        f" poseact {entry.get('poseact_ms_per_frame_median', float('nan')):.2f}"
                        f" ms/frame; load average {entry.get('load_average_median', 0):.1f}"
                    ),
                }
            )
    return rows


def collect(names: tuple[str, ...], failed: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """(benchmark result dicts, summary rows) from benchmarks/results/*.json."""
    results, rows = [], []
    for name in names:
        path = RESULTS / f"{name}.json"
        if name in failed or not path.is_file():
            rows.append(
                {
                    "benchmark": name,
                    "id": f"{name}.run",
                    "what": "benchmark run",
                    "measured": None,
                    "unit": "",
                    "target": "runs",
                    "met": False,
                    "note": failed.get(name, "no result file; run it"),
                }
            )
            continue
        data = json.loads(path.read_text())
        results.append(data)
        label = f"{name} (quick)" if data.get("quick") else name
        for check in data.get("checks", []):
            rows.append({"benchmark": label, **check})
    web = RESULTS / "web.json"
    if web.is_file():
        try:
            data = json.loads(web.read_text())
            web_rows = _web_rows(data)
        except (ValueError, TypeError, AttributeError) as exc:
            web_rows = [
                {
                    "id": "web.read",
                    "what": "web.json",
                    "measured": None,
                    "unit": "",
                    "target": "readable",
                    "met": False,
                    "note": f"cannot read web.json: {exc}",
                }
            ]
            data = {}
        results.append({"name": "web", "date": data.get("date"), "figures": data})
        rows += [{"benchmark": "web", **row} for row in web_rows]
    return results, rows


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_summary(results: list[dict], rows: list[dict], quick: bool) -> tuple[Path, Path]:
    machine = machine_info()
    loads = [
        f"{r['name']} {r['load_average']['start']:.1f}–{r['load_average']['end']:.1f}"
        for r in results
        if "load_average" in r
    ]
    dates = sorted(r["date"] for r in results if r.get("date"))
    lines = [
        "# poseact benchmarks",
        "",
        f"`python -m benchmarks{' --quick' if quick else ''}` on {machine['processor']}"
        f" ({machine['cpus']} CPUs), Python {machine['python']}, MediaPipe"
        f" {machine.get('mediapipe', '?')}, TensorFlow"
        f" {machine.get('tensorflow-cpu') or machine.get('tensorflow', '?')}, LiteRT"
        f" {machine.get('ai-edge-litert', '?')}; measured {dates[0] if dates else '?'}"
        f" to {dates[-1] if dates else '?'}.",
        "",
        "| benchmark | figure | measured | target | met | notes |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = {True: "✅ met", False: "❌ not met", None: "—"}[row.get("met")]
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    row["benchmark"],
                    row["what"],
                    format_value(row.get("measured"), row.get("unit", "")),
                    row.get("target", "—"),
                    met,
                    row.get("note", ""),
                )
            )
            + " |"
        )
    lines += [
        "",
        "Load average (1 min) at the start and end of each benchmark: "
        + ", ".join(loads)
        + f" (on {machine['cpus']} CPUs; above about half the CPU count, other work was"
        " running and the figures are pessimistic). Every benchmark's raw figures are in"
        " `benchmarks/results/NAME.json`.",
        "",
    ]
    markdown = RESULTS / "summary.md"
    markdown.write_text("\n".join(lines))
    summary = RESULTS / "summary.json"
    summary.write_text(
        json.dumps({"quick": quick, "machine": machine, "rows": rows, "results": results}, indent=1)
        + "\n"
    )
    return markdown, summary


README_START, README_END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def update_readme(markdown: Path) -> bool:
    """Put the summary (without its title) between README.md's benchmark markers."""
    readme = REPO / "README.md"
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        print(f"README.md has no {README_START} ... {README_END} markers; not updated")
        return False
    body = markdown.read_text().split("\n", 2)[2].strip()  # drop "# poseact benchmarks"
    readme.write_text(text[: start + len(README_START)] + "\n" + body + "\n" + text[end:])
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller inputs and fewer repeats (minutes, not a target run)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only these ({', '.join(BENCHMARKS)}); the summary keeps"
        " the other benchmarks' last results",
    )
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="run nothing: rebuild summary.md / summary.json from the results",
    )
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="copy the summary table into README.md, between its benchmark markers",
    )
    parser.add_argument(
        "--work", type=Path, help="folder for generated clips and models (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed: dict[str, str] = {}
    if not args.summary_only:
        names = tuple(args.only) if args.only else BENCHMARKS
        with tempfile.TemporaryDirectory(prefix="poseact-bench-") as tmp:
            work = args.work or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            for name in names:
                ok, seconds = run_one(name, args.quick, work)
                if not ok:
                    failed[name] = f"the benchmark failed after {seconds:.0f} s (see its output)"
    results, rows = collect(BENCHMARKS, failed)
    quick = args.quick or any(r.get("quick") for r in results)
    markdown, summary = write_summary(results, rows, quick)
    print()
    print(markdown.read_text())
    print(f"wrote {markdown.relative_to(REPO)} and {summary.relative_to(REPO)}")
    if args.update_readme and update_readme(markdown):
        print("updated the table in README.md")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
