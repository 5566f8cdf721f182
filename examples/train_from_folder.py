"""Train a gesture model from a folder of labelled clips.

    python examples/train_from_folder.py my_gestures/ --output model.poseact

`my_gestures/<label>/<clip>.mp4` (or .npz / .csv landmark files, e.g. from
`poseact record`). Videos are run through MediaPipe once and cached; the split keeps
each subject on one side when clip names start with the subject ("alice_01.mp4").
"""

from __future__ import annotations

import argparse

import poseact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--output", default="model.poseact")
    parser.add_argument("--layout", default="pose", choices=["pose", "hands", "pose+hands"])
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()

    data = poseact.Dataset.from_folder(
        args.folder,
        options=poseact.ExtractorOptions(layout=args.layout),
        group_pattern=r"^(?P<group>[^_]+)_",
    )
    print(data.summary())
    train, test = data.split(0.2, seed=0)
    classifier = poseact.GestureClassifier(
        normalizer=poseact.NormalizerSpec(layout=args.layout),
        training=poseact.TrainingOptions(epochs=args.epochs),
        verbose=1,
    ).fit(train)
    print(poseact.evaluate(classifier, test).summary())
    classifier.save(args.output)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
