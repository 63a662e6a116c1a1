"""The execution layer: runners behind one interface, one bounded input generator and
one comparator with one tolerance and NaN rule.

compare, verify, engine compare, the op harness and perf all run models through here::

    from trt_pdk.execution import OnnxRuntimeRunner, compare_outputs, random_inputs

    runner = OnnxRuntimeRunner("rewritten.onnx")          # plugin nodes via their ONNX bodies
    feeds = random_inputs(runner.inputs, dims={"batch": 4}, seed=0)
    errors = compare_outputs(runner(feeds), reference(feeds))

Names are imported on first use, so ``trt_pdk.execution.limits`` (read by the CLI while
it builds its flags) costs no numpy; nothing here imports torch, onnxruntime or tensorrt
before a runner is made.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "TOLERANCES": "compare",
    "OutputError": "compare",
    "compare_arrays": "compare",
    "compare_outputs": "compare",
    "tolerance_for": "compare",
    "DEFAULT_MAX_INPUT_MIB": "limits",
    "MAX_INPUT_FLAG": "limits",
    "add_max_input_flag": "limits",
    "TensorInfo": "inputs",
    "check_input_bytes": "inputs",
    "concrete_shapes": "inputs",
    "dim_symbols": "inputs",
    "model_inputs": "inputs",
    "random_inputs": "inputs",
    "sweep_points": "inputs",
    "OnnxRuntimeRunner": "runners",
    "Runner": "runners",
    "TensorRTRunner": "runners",
    "TorchRunner": "runners",
    "TritonRunner": "runners",
    "onnxruntime_session": "sessions",
}
__all__ = [
    "DEFAULT_MAX_INPUT_MIB",
    "MAX_INPUT_FLAG",
    "TOLERANCES",
    "OnnxRuntimeRunner",
    "OutputError",
    "Runner",
    "TensorInfo",
    "TensorRTRunner",
    "TorchRunner",
    "TritonRunner",
    "add_max_input_flag",
    "check_input_bytes",
    "compare_arrays",
    "compare_outputs",
    "concrete_shapes",
    "dim_symbols",
    "model_inputs",
    "onnxruntime_session",
    "random_inputs",
    "sweep_points",
    "tolerance_for",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
