"""Second demo on real data: three ASL signs recorded with MediaPipe (pose + hands).

    python examples/asl_signs_demo.py ../shared/data/asl_signs/asl_signs.npz

The recordings (MIT licence, see that folder's README) are 90 clips of 30 frames from
one signer: `pose` (90, 30, 33, 4), `hands` (90, 30, 2, 21, 3), zeros = not detected.
"""

from __future__ import annotations

import argparse

import numpy as np

import poseact


def load_asl_signs(path: str) -> poseact.Dataset:
    data = np.load(path)
    pose, hands = data["pose"], data["hands"]
    pose_xyz = np.where(np.all(pose == 0, -1, keepdims=True), np.nan, pose[..., :3])
    hand_xyz = np.where(np.all(hands == 0, (-1, -2), keepdims=True), np.nan, hands)
    n, t = pose.shape[:2]
    points = np.concatenate([pose_xyz, hand_xyz.reshape(n, t, 42, 3)], axis=2)
    visibility = np.concatenate(
        [pose[..., 3], np.repeat(np.isfinite(hand_xyz[..., 0, 0]), 21, -1)], axis=2
    )
    arrays = np.concatenate([points, np.nan_to_num(visibility)[..., None]], axis=-1)
    labels = [str(data["classes"][i]) for i in data["labels"]]
    return poseact.Dataset.from_arrays(
        list(arrays), labels, fps=30.0, layout="pose+hands", image_size=(640, 480)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="../shared/data/asl_signs/asl_signs.npz")
    parser.add_argument("--output-dir", default="asl-demo-output")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    result = poseact.run_demo(
        args.output_dir,
        dataset=load_asl_signs(args.path),
        epochs=args.epochs,
        verbose=1,
        test_fraction=0.3,
    )
    print(result.summary())


if __name__ == "__main__":
    main()
