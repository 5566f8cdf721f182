"""The train stage: options, networks, the training engine, `GestureClassifier`, evaluation."""
