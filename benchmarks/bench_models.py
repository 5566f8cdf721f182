"""Model size and accuracy of the float, float16 and int8 exports.

    python -m benchmarks.bench_models [--quick]

The benchmark GRU (poseact's default: 64 units) trained on the embedded dataset's
training subjects is exported three ways; each file (one network holding the window
and the single-step form as two signatures that share the weights, + metadata) is scored with LiteRT on the embedded dataset's held-out subjects (84 clips,
so one clip is 1.2 points) and, for a finer comparison, on 1,008 clips of 36 further
synthetic subjects. A 32-unit GRU is exported too, to show what a smaller model gives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import (
    QUANTIZATIONS,
    Report,
    embedded_split,
    exported_models,
    main_wrapper,
    trained_classifier,
)

TARGET_INT8_KB = 100.0
TARGET_FLOAT_KB = 250.0
TARGET_LOSS_POINTS = 1.0


def parts(path: Path) -> dict[str, int]:
    """Bytes of the network (both signatures) and of the appended archive."""
    from poseact.runtime.model_file import read_model_metadata

    data = path.read_bytes()
    network = int(read_model_metadata(path)["model_size"])
    return {"file": len(data), "network": network, "archive": len(data) - network}


def run(args) -> Report:
    from poseact.data.synthetic import generate_activities
    from poseact.deploy.export import export_tflite
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.train.classifier import GestureClassifier
    from poseact.train.options import ModelOptions, TrainingOptions

    quick = args.quick
    report = Report("models", "Model size and accuracy", quick)
    classifier = trained_classifier(args.work, quick)
    exports = exported_models(args.work, quick)
    train, test = embedded_split()
    extra = generate_activities(num_subjects=12 if quick else 36, clips_per_class=4, seed=3)
    labels, extra_labels = np.array(test.labels), np.array(extra.labels)
    x_test, x_extra = classifier.features(test), classifier.features(extra)
    print(f"models: GRU 64 units; {len(test)} held-out clips, {len(extra)} more", flush=True)
    keras_test = float(np.mean(classifier.predict(x_test) == labels))
    keras_extra = float(np.mean(classifier.predict(x_extra) == extra_labels))
    report.figure("keras_accuracy", keras_test, "", "Keras accuracy (held-out subjects)")
    report.figure("keras_accuracy_extra", keras_extra, "", "Keras accuracy (more subjects)")
    results, predictions = {}, {}
    for quantization in QUANTIZATIONS:
        path = Path(exports[quantization]["path"])
        with TFLiteGestureModel(path) as model:
            predicted = model.predict(x_test)
            predicted_extra = model.predict(x_extra)
        predictions[quantization] = predicted_extra
        result = {
            **parts(path),
            "accuracy": float(np.mean(predicted == labels)),
            "accuracy_extra": float(np.mean(predicted_extra == extra_labels)),
            "parity_max_abs_diff": exports[quantization]["max_abs_diff"],
            "parity_argmax_agreement": exports[quantization]["argmax_agreement"],
        }
        results[quantization] = result
        report.figures[quantization] = result
        print(
            f"  {quantization}: {result['file'] / 1024:.1f} KB (network"
            f" {result['network'] / 1024:.1f} KB, metadata {result['archive'] / 1024:.1f} KB),"
            " accuracy"
            f" {100 * result['accuracy']:.1f} % / {100 * result['accuracy_extra']:.1f} %",
            flush=True,
        )
    for quantization in QUANTIZATIONS:
        results[quantization]["agreement_with_float_extra"] = float(
            np.mean(predictions[quantization] == predictions["float"])
        )
    float_, int8 = results["float"], results["int8"]
    size_kb = int8["file"] / 1024
    report.check(
        "int8_size",
        "int8 model file (window + stream signatures + metadata)",
        size_kb,
        "KB",
        f"≤ {TARGET_INT8_KB:g} KB",
        size_kb <= TARGET_INT8_KB,
        f"float16 {results['float16']['file'] / 1024:.0f} KB; one network, the two forms"
        " sharing one copy of the weights (GRU/LSTM int8 is dynamic range)",
    )
    float_kb = float_["file"] / 1024
    report.check(
        "float_size",
        "float model file (window + stream signatures + metadata)",
        float_kb,
        "KB",
        f"≤ {TARGET_FLOAT_KB:g} KB",
        float_kb <= TARGET_FLOAT_KB,
        f"network {float_['network'] / 1024:.0f} KB",
    )
    loss = 100 * (float_["accuracy"] - int8["accuracy"])
    loss_extra = 100 * (float_["accuracy_extra"] - int8["accuracy_extra"])
    report.check(
        "int8_accuracy_loss",
        "accuracy loss int8 vs float (points, held-out subjects)",
        loss,
        "pts",
        f"≤ {TARGET_LOSS_POINTS:g} pt",
        loss <= TARGET_LOSS_POINTS,
        f"float {100 * float_['accuracy']:.1f} %, float16"
        f" {100 * results['float16']['accuracy']:.1f} %, int8 {100 * int8['accuracy']:.1f} %"
        f" on {len(test)} clips; on {len(extra)} more clips: loss {loss_extra:.2f} pts,"
        f" same label as float for {100 * int8['agreement_with_float_extra']:.1f} %",
    )

    # a smaller GRU, for scale
    small = GestureClassifier(
        model=ModelOptions(units=32),
        training=TrainingOptions(epochs=10, seed=0) if quick else TrainingOptions(seed=0),
    ).fit(train)
    small_results = {}
    for quantization in ("float", "int8"):
        path = Path(args.work) / f"gru32_{quantization}{'_quick' if quick else ''}.tflite"
        export_tflite(small, path, quantization=quantization, parity_data=test)
        with TFLiteGestureModel(path) as model:
            accuracy = float(np.mean(model.predict(x_extra) == extra_labels))
        small_results[quantization] = {**parts(path), "accuracy_extra": accuracy}
    report.figures["gru32"] = small_results
    report.check(
        "gru32_int8",
        "GRU 32 units, int8 file",
        small_results["int8"]["file"] / 1024,
        "KB",
        "—",
        None,
        f"accuracy {100 * small_results['int8']['accuracy_extra']:.1f} % (float"
        f" {100 * small_results['float']['accuracy_extra']:.1f} %, 64-unit float"
        f" {100 * float_['accuracy_extra']:.1f} %) on {len(extra)} clips",
    )
    return report


if __name__ == "__main__":
    raise SystemExit(main_wrapper(run, __doc__.splitlines()[0]))
