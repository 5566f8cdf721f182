"""The normalize stage: landmarks → body-centred, scale-free, fixed-rate feature windows.

Plain numpy only (the runtime and the ports follow it): `spec` holds the settings,
`normalizer` the offline path (whole clips), `streaming` the live one (frame by frame).
"""

from poseact.normalize.normalizer import Normalizer, normalize_frames
from poseact.normalize.spec import NormalizerSpec
from poseact.normalize.streaming import StreamingFeaturizer

__all__ = ["NormalizerSpec", "Normalizer", "StreamingFeaturizer", "normalize_frames"]
