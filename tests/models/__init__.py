"""Small PyTorch models used by the ONNX-stage tests (each has a ``make()`` factory)."""
