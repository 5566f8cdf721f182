"""Teach a trained model a new gesture from a few clips, keeping the gestures it knows.

    python examples/fine_tune_new_gesture.py              # datasets/asl_signs/asl_signs.npz
    python examples/fine_tune_new_gesture.py signs.npz --new iloveyou --clips 5

1. Train a GRU on every sign except `--new` (standing in for the model you shipped).
2. Record (here: pick) `--clips` clips of the new sign.
3. `poseact.fine_tune(model, new_clips)`: training starts from the trained GRU, the softmax
   head grows a column for the new sign (the old signs' weights are kept), and it
   rehearses the few clips per old sign that `fit` stored in the model
   (`model.rehearsal_`), so the old signs are not forgotten. Pass
   `rehearsal=<Dataset of old clips>` if you have more of them, and
   `FineTuneOptions(train_encoder=False)` to train the new head only.
4. Save and export the result like any other model.

The input may be any dataset poseact reads: a holistic `.npz` like the one above, an
`<action>/<sequence>/<frame>.npy` folder, a landmark CSV, or a poseact dataset. The
model goes to `--output-dir` (default: a new temporary folder, printed).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

import poseact

ASL_SIGNS = Path(__file__).resolve().parents[1] / "datasets" / "asl_signs" / "asl_signs.npz"


def load(path: str) -> poseact.Dataset:
    try:
        return poseact.load_dataset(path)
    except poseact.DatasetError:
        return poseact.read_public_dataset(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ASL_SIGNS))
    parser.add_argument("--new", default="iloveyou", help="the label learned later")
    parser.add_argument("--clips", type=int, default=5, help="clips of the new label")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the first training")
    parser.add_argument("--tune-epochs", type=int, default=60, help="epochs of fine-tuning")
    parser.add_argument("--units", type=int, default=64, help="GRU width")
    parser.add_argument("--output-dir", default=None, help="default: a new temporary folder")
    args = parser.parse_args()
    out = Path(args.output_dir or tempfile.mkdtemp(prefix="poseact-example-"))

    data = load(args.data)
    train, test = data.split(0.3, seed=0)
    old = [i for i, label in enumerate(train.labels) if label != args.new]
    new = [i for i, label in enumerate(train.labels) if label == args.new][: args.clips]
    if len(new) < args.clips:
        parser.error(f"only {len(new)} training clips of {args.new!r}")

    # 1. the model as shipped: it has never seen the new label
    old_train = train.subset(old)
    old_train = poseact.Dataset(old_train.sequences, old_train.labels, old_train.groups)
    model = poseact.GestureClassifier(
        model=poseact.ModelOptions(architecture="gru", units=args.units),
        training=poseact.TrainingOptions(epochs=args.epochs, seed=0),
    ).fit(old_train)
    print(f"trained on {old_train.summary()}")
    print(f"it keeps {len(model.rehearsal_)} windows for rehearsal")

    # 2.-3. a few clips of the new label, and fine-tuning
    new_clips = train.subset(new)
    new_clips = poseact.Dataset(new_clips.sequences, new_clips.labels, new_clips.groups)
    tuning = replace(poseact.FineTuneOptions().training, epochs=args.tune_epochs, seed=0)
    tuned = poseact.fine_tune(model, new_clips, options=poseact.FineTuneOptions(training=tuning))
    print(f"fine-tuned on {len(new_clips)} clips in {tuned.training_seconds_:.1f} s")
    print(f"labels: {model.classes_.tolist()} -> {tuned.classes_.tolist()}")

    truth = np.array(test.labels)
    predicted = tuned.predict(test)
    is_new = truth == args.new
    print(f"accuracy on {args.new!r}: {np.mean(predicted[is_new] == truth[is_new]):.3f}")
    print(f"accuracy on the old labels: {np.mean(predicted[~is_new] == truth[~is_new]):.3f}")
    print(poseact.evaluate(tuned, test).summary())

    # 4. a model like any other
    path = tuned.save(out / "fine_tuned.poseact")
    report = poseact.export_tflite(tuned, Path(path).with_suffix(".tflite"), parity_data=test)
    print(f"saved {path}; {report.summary()}")


if __name__ == "__main__":
    main()
