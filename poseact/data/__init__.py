"""The dataset stage: labelled clips (`Dataset`), file formats, augmentation, synthetic data."""
