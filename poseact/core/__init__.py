"""The ground every stage stands on: errors, atomic writes, layouts, `LandmarkSequence`."""
