"""The deploy stage: the self-describing `.tflite` export and the browser page."""
