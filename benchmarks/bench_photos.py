"""Photos as training data: the photo default against the motion default and the
random-forest yardstick, on real photos (issue 29, item 8).

    python -m benchmarks.bench_photos

Photos: frames of ../shared/testdata's videos (an open hand; a woman holding a thumb
up), "hands" layout, MediaPipe IMAGE mode. Training: 9 + 8 frames (the CLI test's
folder); test: 49 other frames of the same videos, and the two stand-alone photos of
other people's hands (hand_open.jpg, hand_thumb_up.jpg), where the probability of the
right class is reported. Seeds 0-2. Methods: poseact's photo default (`default_spec`:
a one-frame window, no velocities, no paths), the motion default it replaces for
photos (`NormalizerSpec(layout="hands")`: window chosen from the clips, velocities and
paths, all zero on a photo), and the yardstick (`ClipStatisticsClassifier`).

Writes benchmarks/results/photos.json. Runs on its own (not in `python -m benchmarks`).
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import SHARED, Report, parse_args

VIDEOS = {
    "open": ("hand_open.mp4", set(range(5, 200, 24)), set(range(0, 202, 7))),
    "thumb_up": ("person_thumb_up.mp4", set(range(115, 195, 10)), set(range(112, 195, 4))),
}
PHOTOS = {"open": "hand_open.jpg", "thumb_up": "hand_thumb_up.jpg"}


def _frames(video: str, picks: set[int]) -> list[np.ndarray]:
    import cv2

    capture, out, i = cv2.VideoCapture(str(SHARED / "testdata" / video)), [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if i in picks:
            out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        i += 1
    capture.release()
    return out


def main(argv=None) -> None:
    from poseact import Dataset, ExtractorOptions, GestureClassifier, NormalizerSpec
    from poseact.extract.extractor import extract_images
    from poseact.train.options import TrainingOptions
    from poseact.train.yardstick import ClipStatisticsClassifier

    args = parse_args(__doc__, argv)
    report = Report("photos", "Photos as training data", args.quick)
    options = ExtractorOptions(layout="hands", require_detection=False)
    train, test, test_labels = [], [], []
    for label, (video, picks, others) in VIDEOS.items():
        train += [(label, s) for s in extract_images(_frames(video, picks), options)]
        held = extract_images(_frames(video, others - picks), options)
        test += held
        test_labels += [label] * len(held)
    photos = extract_images([SHARED / "testdata" / p for p in PHOTOS.values()], options)
    data = Dataset(tuple(s for _, s in train), tuple(label for label, _ in train))
    held_out = Dataset(tuple(test), tuple(test_labels))
    methods = {
        "photo_default": lambda seed: GestureClassifier(
            training=TrainingOptions(seed=seed, validation_fraction=0.0)
        ),
        "motion_default": lambda seed: GestureClassifier(
            normalizer=NormalizerSpec(layout="hands"),
            training=TrainingOptions(seed=seed, validation_fraction=0.0),
        ),
        "yardstick": lambda seed: ClipStatisticsClassifier(seed=seed),
    }
    print(f"{len(data)} training photos, {len(held_out)} held-out frames, 2 other photos")
    print(f"{'method':16} {'accuracy':>9} {'known':>7} {'p(open)':>8} {'p(thumb_up)':>12}")
    for name, make in methods.items():
        rows = []
        for seed in (0, 1, 2):
            model = make(seed).fit(data)
            classes = list(model.classes_)
            proba = model.predict_proba(held_out)
            accuracy = float(np.mean(np.array(classes)[proba.argmax(1)] == np.array(test_labels)))
            known = (  # the yardstick has no "unknown"
                float(np.mean([a != "unknown" for a in model.predict(held_out)]))
                if name != "yardstick"
                else float("nan")
            )
            photo = model.predict_proba(Dataset(tuple(photos), tuple(PHOTOS)))
            rows.append(
                [accuracy, known, *(photo[i, classes.index(c)] for i, c in enumerate(PHOTOS))]
            )
        mean = np.mean(rows, axis=0)
        known = "n/a" if np.isnan(mean[1]) else f"{mean[1]:.3f}"
        print(f"{name:16} {mean[0]:9.3f} {known:>7} {mean[2]:8.2f} {mean[3]:12.2f}")
        report.figures[name] = {
            "accuracy": mean[0], "answered_known": None if np.isnan(mean[1]) else mean[1],
            "p_open_other_photo": mean[2], "p_thumb_up_other_photo": mean[3],
            "per_seed": np.round(rows, 4).tolist(),
        }  # fmt: skip
    report.write()


if __name__ == "__main__":
    main()
