"""MaskedCompact in standard ONNX ops: the body of the model-local function that lets plain
onnxruntime run a MaskedCompact plugin node on CPU (the spec's ``onnx_function``).

``y = Gather(x, NonZero(mask), axis=0)`` (Gather, unlike Compress, takes bfloat16) and
``count`` = the number of kept rows as a 0-D int64 (from the index count's shape, so no
reduction over a possibly empty axis).
"""

from __future__ import annotations

from typing import Any


def onnx_function(attrs: dict[str, Any], num_inputs: int) -> tuple[list[str], list[str], list[Any]]:
    from onnx import TensorProto, helper

    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [0])
    nodes = [
        helper.make_node("Constant", [], ["axes"], value=axes),
        helper.make_node("NonZero", ["mask"], ["nz"]),  # [1, K]
        helper.make_node("Squeeze", ["nz", "axes"], ["rows"]),  # [K]
        helper.make_node("Gather", ["x", "rows"], ["y"], axis=0),
        helper.make_node("Shape", ["rows"], ["k"]),  # [1]
        helper.make_node("Squeeze", ["k", "axes"], ["count"]),
    ]
    return ["x", "mask"], ["y", "count"], nodes
