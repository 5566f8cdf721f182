"""Export a trained model to TFLite (float, float16, int8) and check it against Keras.

python examples/export_model.py model.poseact --quantization int8
"""

from __future__ import annotations

import argparse

import poseact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a .poseact file from GestureClassifier.save")
    parser.add_argument("--quantization", default="float", choices=["float", "float16", "int8"])
    parser.add_argument("--output", default=None)
    args = parser.parse_args()

    classifier = poseact.GestureClassifier.load(args.model)
    output = args.output or f"gestures_{args.quantization}.tflite"
    report = poseact.export_tflite(classifier, output, quantization=args.quantization)
    print(report.summary())
    print("labels:", poseact.read_model_metadata(output)["classes"])


if __name__ == "__main__":
    main()
