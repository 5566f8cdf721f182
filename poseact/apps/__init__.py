"""Applications on top of the library: the recorder, the live recognizer, drawing, the demo."""
