"""Write legacy_v1.tflite and legacy_v1_outputs.npz with the version 1 exporter.

Run from a checkout of commit c34bb1f (the flat module layout, before issue 15):

    PYTHONPATH=. python tests/data/make_legacy_v1.py tests/data/legacy_v1.tflite
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for conftest

from conftest import load_asl_signs  # noqa: E402
from poseact.classifier import GestureClassifier, ModelOptions, TrainingOptions  # noqa: E402
from poseact.export import export_tflite  # noqa: E402

from poseact.runtime import TFLiteGestureModel  # noqa: E402

train, test = load_asl_signs("pose").split(0.3, seed=0)
clf = GestureClassifier(
    model=ModelOptions(architecture="gru", units=8), training=TrainingOptions(epochs=25, seed=0)
).fit(train)
out = sys.argv[1]
print(export_tflite(clf, out, quantization="int8", parity_data=test).summary())
model = TFLiteGestureModel(out)
stepper = model.stepper()
np.savez_compressed(
    out.replace(".tflite", "_outputs.npz"),
    window_probs=model.predict_proba(test),
    stream_probs=np.stack([stepper.step(row) for row in model.features(test)[0]]),
    sources=np.array([s.source for s in test.sequences]),
)
