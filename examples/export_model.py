"""Export a trained model to TFLite (float, float16, int8) and check it against Keras.

    python examples/export_model.py model.poseact --quantization int8 --output gestures.tflite

Without `--output` the `.tflite` goes to a new temporary folder (printed).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import poseact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a .poseact file from GestureClassifier.save")
    parser.add_argument("--quantization", default="float", choices=["float", "float16", "int8"])
    parser.add_argument("--output", default=None, help="default: in a new temporary folder")
    args = parser.parse_args()

    classifier = poseact.GestureClassifier.load(args.model)
    output = args.output or str(
        Path(tempfile.mkdtemp(prefix="poseact-example-")) / f"gestures_{args.quantization}.tflite"
    )
    report = poseact.export_tflite(classifier, output, quantization=args.quantization)
    print(report.summary())
    print("labels:", poseact.read_model_metadata(output)["classes"])
    print(f"written to {output}")


if __name__ == "__main__":
    main()
