"""Run an exported model with LiteRT only (no TensorFlow): offline and streaming.

    pip install ai-edge-litert numpy   # plus poseact itself
    python examples/run_tflite.py gestures.tflite clip.npz

The landmark file can come from `poseact extract video.mp4 -o clip.npz`, or from your
own tracker as a LandmarkSequence. The same code runs on a Raspberry Pi.
"""

from __future__ import annotations

import argparse

from poseact.core.sequence import LandmarkSequence
from poseact.runtime.decider import DecisionOptions
from poseact.runtime.model import TFLiteGestureModel
from poseact.runtime.recognizer import StreamingRecognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("landmarks", help="a .npz written by LandmarkSequence.save")
    args = parser.parse_args()

    model = TFLiteGestureModel(args.model)
    sequence = LandmarkSequence.load(args.landmarks)

    # Offline: the whole clip, normalized and windowed as the model was trained.
    probabilities = model.predict_proba([sequence])[0]
    for label, p in sorted(zip(model.classes_, probabilities), key=lambda x: -x[1]):
        print(f"{label:>16s} {p:.3f}")

    # Streaming: frame by frame, as from a camera; events when a gesture starts/ends.
    recognizer = StreamingRecognizer(model, DecisionOptions(threshold=0.5))
    frames = zip(sequence.timestamps, sequence.landmarks, sequence.visibility)
    for event in recognizer.run(frames, image_size=sequence.image_size):
        state = "started" if event.end is None else f"ended at {event.end:.2f}s"
        print(f"{event.label} {state} (from {event.start:.2f}s, confidence {event.confidence:.2f})")


if __name__ == "__main__":
    main()
