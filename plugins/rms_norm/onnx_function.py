"""RMSNorm in standard ONNX ops: the body of the model-local function that lets plain
onnxruntime run an RMSNorm plugin node on CPU (the spec's ``onnx_function``).

Computes in float32 like the reference and casts back to the dtype of x.
"""

from __future__ import annotations

from typing import Any


def onnx_function(attrs: dict[str, Any], num_inputs: int) -> tuple[list[str], list[str], list[Any]]:
    from onnx import TensorProto, helper

    def const(name: str, value: Any, dtype: int = TensorProto.FLOAT, dims: list[int] | None = None) -> Any:
        values = value if isinstance(value, list) else [value]
        tensor = helper.make_tensor(name, dtype, dims if dims is not None else [], values)
        return helper.make_node("Constant", [], [name], value=tensor)

    nodes = [
        const("two", 2.0),
        const("eps", float(attrs["eps"])),
        const("axes", [-1], TensorProto.INT64, [1]),
        helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["weight"], ["wf"], to=TensorProto.FLOAT),
        helper.make_node("Pow", ["xf", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq", "axes"], ["ms"], keepdims=1),
        helper.make_node("Add", ["ms", "eps"], ["ms_eps"]),
        helper.make_node("Sqrt", ["ms_eps"], ["rms"]),
        helper.make_node("Div", ["xf", "rms"], ["xn"]),
        helper.make_node("Mul", ["xn", "wf"], ["yf"]),
        helper.make_node("CastLike", ["yf", "x"], ["y"]),
    ]
    return ["x", "weight"], ["y"], nodes
