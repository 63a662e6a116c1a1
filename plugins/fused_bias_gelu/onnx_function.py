"""FusedBiasGelu in standard ONNX ops: the body of the model-local function that lets
plain onnxruntime run a FusedBiasGelu plugin node on CPU (the spec's ``onnx_function``).

``gelu(x + bias)`` (or ``gelu(x)`` for the one-input node), exact (erf) or tanh; the
bias add happens in the dtype of x like the reference, the GELU in float32, and the
result is cast back to the dtype of x.
"""

from __future__ import annotations

import math
from typing import Any


def onnx_function(attrs: dict[str, Any], num_inputs: int) -> tuple[list[str], list[str], list[Any]]:
    from onnx import TensorProto, helper

    def const(name: str, value: float) -> Any:
        tensor = helper.make_tensor(name, TensorProto.FLOAT, [], [value])
        return helper.make_node("Constant", [], [name], value=tensor)

    inputs = ["x", "bias"][:num_inputs]
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT)]
    if num_inputs == 2:
        # Round the sum to the dtype of x, as the reference's `x + bias` does.
        nodes += [
            helper.make_node("Cast", ["bias"], ["bf"], to=TensorProto.FLOAT),
            helper.make_node("Add", ["xf", "bf"], ["sum"]),
            helper.make_node("CastLike", ["sum", "x"], ["sum_x"]),
            helper.make_node("Cast", ["sum_x"], ["h"], to=TensorProto.FLOAT),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["xf"], ["h"]))
    nodes += [const("half", 0.5), const("one", 1.0)]
    if attrs["approximate"] == "tanh":
        nodes += [
            const("three", 3.0),
            const("k0", 0.044715),
            const("k1", math.sqrt(2.0 / math.pi)),
            helper.make_node("Pow", ["h", "three"], ["h3"]),
            helper.make_node("Mul", ["k0", "h3"], ["a"]),
            helper.make_node("Add", ["h", "a"], ["b"]),
            helper.make_node("Mul", ["k1", "b"], ["c"]),
            helper.make_node("Tanh", ["c"], ["t"]),
        ]
    else:
        nodes += [
            const("sqrt2", math.sqrt(2.0)),
            helper.make_node("Div", ["h", "sqrt2"], ["s"]),
            helper.make_node("Erf", ["s"], ["t"]),
        ]
    nodes += [
        helper.make_node("Add", ["t", "one"], ["t1"]),
        helper.make_node("Mul", ["half", "t1"], ["t2"]),
        helper.make_node("Mul", ["h", "t2"], ["yf"]),
        helper.make_node("CastLike", ["yf", "x"], ["y"]),
    ]
    return inputs, ["y"], nodes
