"""Bucketize in standard ONNX ops: the body of the model-local function that lets plain
onnxruntime run a Bucketize plugin node on CPU (the spec's ``onnx_function``).

The index of x is the number of boundaries below x (``right=0``) or at or below x
(``right=1``). Values compare as float64, exact for every input dtype of the op. The
count is a 2-D MatMul of the comparisons with ones: onnxruntime's ReduceSum mis-shapes
empty inputs. The boundaries get a NaN appended (every comparison with it is false) so the
summed axis is never empty.
"""

from __future__ import annotations

import math
from typing import Any


def onnx_function(attrs: dict[str, Any], num_inputs: int) -> tuple[list[str], list[str], list[Any]]:
    from onnx import TensorProto, helper

    compare = "LessOrEqual" if int(attrs["right"]) else "Less"
    out = TensorProto.INT32 if attrs["out_dtype"] == "int32" else TensorProto.INT64

    def i64(name: str, value: int) -> Any:
        return helper.make_tensor(name, TensorProto.INT64, [1], [value])

    last = i64("last", -1)
    nan = helper.make_tensor("nan", TensorProto.DOUBLE, [1], [math.nan])
    one = helper.make_tensor("one", TensorProto.DOUBLE, [1], [1.0])
    nodes = [
        helper.make_node("Constant", [], ["last"], value=last),
        helper.make_node("Constant", [], ["nan"], value=nan),
        helper.make_node("Constant", [], ["minus1"], value=i64("m1", -1)),
        helper.make_node("Constant", [], ["one_i"], value=i64("o1", 1)),
        helper.make_node("Cast", ["x"], ["xd"], to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["boundaries"], ["b64"], to=TensorProto.DOUBLE),
        helper.make_node("Concat", ["b64", "nan"], ["bd"], axis=0),
        helper.make_node("Unsqueeze", ["xd", "last"], ["xu"]),
        helper.make_node(compare, ["bd", "xu"], ["below"]),
        helper.make_node("Cast", ["below"], ["below_d"], to=TensorProto.DOUBLE),
        # [M, B+1] @ [B+1, 1] -> [M, 1] -> the shape of x (M = x.numel(), possibly 0).
        helper.make_node("Shape", ["bd"], ["nb"]),
        helper.make_node("Concat", ["minus1", "nb"], ["flat"], axis=0),
        helper.make_node("Reshape", ["below_d", "flat"], ["below_2d"]),
        helper.make_node("Concat", ["nb", "one_i"], ["ones_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["ones_shape"], ["ones"], value=one),
        helper.make_node("MatMul", ["below_2d", "ones"], ["count_2d"]),
        helper.make_node("Shape", ["x"], ["x_shape"]),
        helper.make_node("Reshape", ["count_2d", "x_shape"], ["count"], allowzero=1),
        helper.make_node("Cast", ["count"], ["y"], to=out),
    ]
    return ["x", "boundaries"], ["y"], nodes
