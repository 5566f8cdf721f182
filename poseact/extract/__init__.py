"""The extract stage: videos, images and cameras to MediaPipe landmarks (`LandmarkSequence`).

`mp` is the only module importing MediaPipe; `sources` reads frames, `extractor` runs the
landmarkers, `cache` and `batch` serve many videos.
"""
