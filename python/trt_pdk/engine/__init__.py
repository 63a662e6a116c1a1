"""TensorRT stages: engine builds with the plugin libraries, FP16 from the graph, comparisons.

>>> from trt_pdk.engine import engine_from_onnx
>>> from trt_pdk.profiles import load_profiles
>>> build = engine_from_onnx("model.onnx", load_profiles("profiles.json"), "runs/m", precision="both")
>>> build(dry_run=True)      # trtexec lines only, works without TensorRT
>>> build()                  # fp32/model.plan (+ engine_io.json), fp16/..., manifest.json

Lower level, for one engine (plugin libraries loaded already) and running it:

>>> from trt_pdk.engine import EngineRunner, serialized_engine_from_onnx
>>> built = serialized_engine_from_onnx("model.onnx", profiles)   # .plan bytes, .io EngineIO
>>> EngineRunner(built.plan).run({"x": x_cuda}, profile=1)

``tensorrt`` is imported only when a build or comparison runs.
"""

from __future__ import annotations

from trt_pdk.engine._build import PRECISIONS, EngineBuildResult, engine_from_onnx
from trt_pdk.engine._compare import compare_precisions, error_stats
from trt_pdk.engine._fp16 import fp16_from_onnx, fp16_support
from trt_pdk.engine._runner import EngineRunner
from trt_pdk.engine._tensorrt import (
    SerializedEngine,
    require_tensorrt,
    running_tensorrt,
    serialized_engine_from_onnx,
)
from trt_pdk.engine._trtexec import trtexec_command
from trt_pdk.engine.io import EngineIO, engine_io_from_onnx

__all__ = [
    "PRECISIONS",
    "EngineBuildResult",
    "EngineIO",
    "EngineRunner",
    "SerializedEngine",
    "compare_precisions",
    "engine_from_onnx",
    "engine_io_from_onnx",
    "error_stats",
    "fp16_from_onnx",
    "fp16_support",
    "require_tensorrt",
    "running_tensorrt",
    "serialized_engine_from_onnx",
    "trtexec_command",
]
