"""Train a gesture model from a folder of labelled clips.

    poseact record thumb_up none -o my_gestures --subject alice
    python examples/train_from_folder.py my_gestures/ --output-dir my_model/

`my_gestures/<label>/<clip>` holds videos (.mp4, ...) or landmark files (.npz / .csv),
e.g. from `poseact record`. Videos are run through MediaPipe once and cached. Each
clip's subject is read from the clip itself (`record --subject` stores it), so the
test side holds whole subjects the model never saw; give `--group-pattern` only for
videos whose names carry the subject. The model is written to `--output-dir` (default:
a new temporary folder, printed at the end).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import poseact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--output-dir", default=None, help="default: a new temporary folder")
    parser.add_argument("--layout", default="pose", choices=["pose", "hands", "pose+hands"])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument(
        "--group-pattern",
        default=None,
        help='a regular expression with a group "group" that finds the subject in a clip'
        ' name, e.g. "^(?P<group>[^_]+)_" for alice_01.mp4 (default: the subject stored'
        " in each clip)",
    )
    args = parser.parse_args()
    out = Path(args.output_dir or tempfile.mkdtemp(prefix="poseact-example-"))

    data = poseact.Dataset.from_folder(
        args.folder,
        options=poseact.ExtractorOptions(layout=args.layout),
        group_pattern=args.group_pattern,
    )
    print(data.summary())
    train, test = data.split(0.2, seed=0)  # whole subjects on each side when known
    held_out = sorted(set(test.groups)) if data.split_strategy() == "group" else []
    if held_out:
        print(f"test subjects (never seen in training): {', '.join(held_out)}")
    missing = sorted(set(data.classes) - set(test.labels))
    if missing:
        print(f"warning: the test side holds no clip of {missing}; its scores leave them out")
    classifier = poseact.GestureClassifier(
        normalizer=poseact.NormalizerSpec(layout=args.layout),
        training=poseact.TrainingOptions(epochs=args.epochs),
        verbose=1,
    ).fit(train)
    print(poseact.evaluate(classifier, test).summary())
    path = classifier.save(out / "model.poseact")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
