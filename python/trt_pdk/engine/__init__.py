"""TensorRT stages: engine builds with the plugin libraries, FP16 from the graph, comparisons.

>>> from trt_pdk.engine import engine_from_onnx
>>> from trt_pdk.profiles import load_profiles
>>> build = engine_from_onnx("model.onnx", load_profiles("profiles.json"), "runs/m", precision="both")
>>> build(dry_run=True)      # trtexec lines only, works without TensorRT
>>> build()                  # fp32/model.plan, fp16/model.plan, manifest.json

``tensorrt`` is imported only when a build or comparison runs.
"""

from __future__ import annotations

from trt_pdk.engine._build import PRECISIONS, EngineBuildResult, build_serialized_engine, engine_from_onnx
from trt_pdk.engine._compare import compare_precisions, error_stats
from trt_pdk.engine._fp16 import fp16_from_onnx, fp16_support
from trt_pdk.engine._trtexec import trtexec_command

__all__ = [
    "PRECISIONS",
    "EngineBuildResult",
    "build_serialized_engine",
    "compare_precisions",
    "engine_from_onnx",
    "error_stats",
    "fp16_from_onnx",
    "fp16_support",
    "trtexec_command",
]
