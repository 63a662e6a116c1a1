"""ONNX stages: export (``from_torch``), check (validate), simplify, rewrite, compare on CPU.

Each stage is configured up front and called later, so the CLI, the tests and the
pipeline compose the same objects::

    from trt_pdk.onnx_stages import CheckOnnx, RewriteOnnx, SimplifyOnnx

    SimplifyOnnx().run("model.onnx", "simple.onnx")
    RewriteOnnx(plugins=["RMSNorm:2"]).run("simple.onnx", "plugins.onnx")
    report = CheckOnnx(trt="10.16")("plugins.onnx")

Importing this package imports neither torch nor tensorrt.
"""

from __future__ import annotations

from trt_pdk.onnx_stages._model import load_onnx, save_onnx
from trt_pdk.onnx_stages.check import CheckOnnx, CheckReport
from trt_pdk.onnx_stages.coverage import CoverageTable
from trt_pdk.onnx_stages.rewrite import RewriteOnnx, RewriteResult
from trt_pdk.onnx_stages.simplify import SimplifyOnnx, SimplifyResult
from trt_pdk.patterns import Capture, Const, Op, Pattern

__all__ = [
    "Capture",
    "CheckOnnx",
    "CheckReport",
    "Const",
    "CoverageTable",
    "Op",
    "Pattern",
    "RewriteOnnx",
    "RewriteResult",
    "SimplifyOnnx",
    "SimplifyResult",
    "load_onnx",
    "save_onnx",
]
