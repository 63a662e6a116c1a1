"""Facts about this machine for the manifest: each is None when it cannot be known here."""

from __future__ import annotations

import ctypes
from typing import Any


def _cuda_driver() -> str | None:
    try:
        lib = ctypes.CDLL("libcuda.so.1")
        v = ctypes.c_int()
        if lib.cuDriverGetVersion(ctypes.byref(v)) == 0:
            return f"{v.value // 1000}.{(v.value % 1000) // 10}"
    except (OSError, AttributeError):
        pass
    return None


def environment_facts() -> dict[str, Any]:
    """``tensorrt, cuda_runtime, cuda_driver, gpu{name, compute_capability}, torch, onnx, onnxruntime``."""
    facts: dict[str, Any] = {
        "tensorrt": None,
        "cuda_runtime": None,
        "cuda_driver": _cuda_driver(),
        "gpu": None,
    }
    try:
        import tensorrt

        facts["tensorrt"] = str(tensorrt.__version__)
    except Exception:
        pass
    for mod in ("torch", "onnx", "onnxruntime"):
        try:
            facts[mod] = str(__import__(mod).__version__)
        except Exception:
            facts[mod] = None
    try:
        import torch

        facts["cuda_runtime"] = torch.version.cuda
        if torch.cuda.is_available():
            major, minor = torch.cuda.get_device_capability(0)
            facts["gpu"] = {"name": torch.cuda.get_device_name(0), "compute_capability": f"{major}.{minor}"}
    except Exception:
        pass
    return facts
