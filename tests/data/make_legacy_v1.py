"""Export tiny legacy (two-model, v1) poseact files with the pre-issue-15 exporter."""
import sys, json
sys.path.insert(0, "/work/wt-speed/tests")
import numpy as np
from conftest import load_asl_signs
from poseact.classifier import GestureClassifier, ModelOptions, TrainingOptions
from poseact.export import export_tflite
from poseact.runtime import TFLiteGestureModel

ds = load_asl_signs("pose")
train, test = ds.split(0.3, seed=0)
clf = GestureClassifier(model=ModelOptions(architecture="gru", units=8), training=TrainingOptions(epochs=25, seed=0)).fit(train)
out = sys.argv[1]
r = export_tflite(clf, out, quantization="int8", parity_data=test)
print(r.summary())
m = TFLiteGestureModel(out)
x = m.features(test)
p = m.predict_proba(test)
st = m.stepper()
steps = np.stack([st.step(row) for row in x[0]])
print("acc", m.score(test), "stream lanes", m.metadata["stream"])
np.savez_compressed(out.replace(".tflite", "_outputs.npz"), window_probs=p, stream_probs=steps, sources=np.array([s.source for s in test.sequences]))
