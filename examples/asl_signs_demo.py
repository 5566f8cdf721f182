"""Second demo on real data: three ASL signs recorded with MediaPipe (pose + hands).

    python examples/asl_signs_demo.py                      # datasets/asl_signs/asl_signs.npz
    python examples/asl_signs_demo.py path/to/asl_signs.npz --output-dir asl-demo/

The recordings (MIT licence, see datasets/asl_signs/README.md) are 90 clips of 30
frames from one signer, MediaPipe Holistic pose and hands; `poseact.load_dataset` reads
them. The demo's models and report go to `--output-dir` (default: a new temporary
folder, printed at the end).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import poseact

ASL_SIGNS = Path(__file__).resolve().parents[1] / "datasets" / "asl_signs" / "asl_signs.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(ASL_SIGNS))
    parser.add_argument("--output-dir", default=None, help="default: a new temporary folder")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    out = args.output_dir or tempfile.mkdtemp(prefix="poseact-example-")

    result = poseact.run_demo(
        out,
        dataset=poseact.load_dataset(args.path),
        epochs=args.epochs,
        verbose=1,
        test_fraction=0.3,
    )
    print(result.summary())
    print(f"written to {out}")


if __name__ == "__main__":
    main()
