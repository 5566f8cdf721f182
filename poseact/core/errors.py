"""One exception hierarchy for everything poseact raises on bad input.

Every message names the file or argument at fault and, where there is one, what to do.
The CLI turns these into one-line messages and a non-zero exit code.
"""

from __future__ import annotations

__all__ = [
    "PoseactError",
    "VideoReadError",
    "NoPoseDetected",
    "LandmarkFormatError",
    "DatasetError",
    "UnknownLabelError",
    "ModelFormatError",
    "ModelAssetError",
    "WriteError",
    "OutputRefused",
]


class PoseactError(Exception):
    """Base class of every error poseact raises on bad input or a failed operation."""


class VideoReadError(PoseactError):
    """A video or image could not be read: missing, empty, corrupt or not a video."""


class NoPoseDetected(PoseactError):
    """MediaPipe found no person (or no hand) in any frame of an input."""


class LandmarkFormatError(PoseactError, ValueError):
    """Landmark arrays or files with the wrong shape, layout, values or timestamps."""


class DatasetError(PoseactError, ValueError):
    """A dataset that cannot be used: empty, too few clips, mixed layouts, bad labels."""


class UnknownLabelError(DatasetError):
    """A label that the model or dataset does not know."""


class ModelFormatError(PoseactError):
    """A model file that is not a poseact model, is corrupt, or does not fit the input."""


class ModelAssetError(PoseactError):
    """A MediaPipe model bundle (.task) that cannot be found, downloaded or verified."""


class WriteError(PoseactError, OSError):
    """A file could not be written (disk full, file too large, no permission).

    Raised by every poseact write; nothing is left under the file's name, and a file
    that was there before is unchanged. `errno` is the operating system's error number.
    """


class OutputRefused(WriteError):
    """An output poseact will not write: one of the command's inputs, a device node, a
    FIFO or other non-regular file, a folder where a file goes, or a user's own file
    in an output folder (see `poseact.core.atomic.check_output`). Nothing was written.
    """
