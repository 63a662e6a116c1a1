"""ONNX local functions that let plain onnxruntime run plugin nodes on CPU (private).

The rewritten graph keeps its plugin nodes; each plugin op gets a model-local function
(same domain and name) whose body is the op in standard ONNX ops. The Triton CPU model
runs that graph in onnxruntime; the engine stage reads the graph without the functions.

A function is specialized on the attribute values its nodes carry; nodes of one op with
different attribute values cannot share one function body and are reported as such.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import onnx
from onnx import TensorProto, helper

from trt_pdk.errors import UserError


def _const(name: str, value: float | list[int], dtype: int = TensorProto.FLOAT) -> onnx.NodeProto:
    dims = [] if isinstance(value, float) else [len(value)]
    vals = [value] if isinstance(value, float) else value
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name, dtype, dims, vals))


def _rms_norm(attrs: dict[str, Any]) -> tuple[list[str], list[str], list[onnx.NodeProto]]:
    eps = float(attrs.get("eps", 1e-6))
    nodes = [
        _const("two", 2.0),
        _const("eps", eps),
        _const("axes", [-1], TensorProto.INT64),
        helper.make_node("Pow", ["x", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq", "axes"], ["ms"], keepdims=1),
        helper.make_node("Add", ["ms", "eps"], ["ms_eps"]),
        helper.make_node("Sqrt", ["ms_eps"], ["rms"]),
        helper.make_node("Div", ["x", "rms"], ["xn"]),
        helper.make_node("Mul", ["xn", "weight"], ["y"]),
    ]
    return ["x", "weight"], ["y"], nodes


def _fused_bias_gelu(attrs: dict[str, Any]) -> tuple[list[str], list[str], list[onnx.NodeProto]]:
    nodes = [helper.make_node("Add", ["x", "bias"], ["h"]), _const("half", 0.5), _const("one", 1.0)]
    if attrs.get("approximate", "none") == "tanh":
        nodes += [
            _const("three", 3.0),
            _const("k0", 0.044715),
            _const("k1", (2.0 / 3.141592653589793) ** 0.5),
            helper.make_node("Pow", ["h", "three"], ["h3"]),
            helper.make_node("Mul", ["k0", "h3"], ["a"]),
            helper.make_node("Add", ["h", "a"], ["b"]),
            helper.make_node("Mul", ["k1", "b"], ["c"]),
            helper.make_node("Tanh", ["c"], ["t"]),
        ]
    else:
        nodes += [
            _const("sqrt2", 2.0**0.5),
            helper.make_node("Div", ["h", "sqrt2"], ["s"]),
            helper.make_node("Erf", ["s"], ["t"]),
        ]
    nodes += [
        helper.make_node("Add", ["t", "one"], ["t1"]),
        helper.make_node("Mul", ["half", "t1"], ["t2"]),
        helper.make_node("Mul", ["h", "t2"], ["y"]),
    ]
    return ["x", "bias"], ["y"], nodes


def _bucketize(attrs: dict[str, Any]) -> tuple[list[str], list[str], list[onnx.NodeProto]]:
    # index = number of boundaries below x (right=0) or at/below x (right=1).
    compare = "LessOrEqual" if int(attrs.get("right", 0)) else "Less"
    out = TensorProto.INT32 if attrs.get("out_dtype", "int64") == "int32" else TensorProto.INT64
    nodes = [
        _const("last", [-1], TensorProto.INT64),
        helper.make_node("Unsqueeze", ["x", "last"], ["xu"]),
        helper.make_node(compare, ["boundaries", "xu"], ["below"]),
        helper.make_node("Cast", ["below"], ["below_i"], to=TensorProto.INT64),
        helper.make_node("ReduceSum", ["below_i", "last"], ["count"], keepdims=0),
        helper.make_node("Cast", ["count"], ["y"], to=out),
    ]
    return ["x", "boundaries"], ["y"], nodes


BODIES: dict[str, Callable[[dict[str, Any]], tuple[list[str], list[str], list[onnx.NodeProto]]]] = {
    "RMSNorm": _rms_norm,
    "FusedBiasGelu": _fused_bias_gelu,
    "Bucketize": _bucketize,
}


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    out = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        out[a.name] = value.decode() if isinstance(value, bytes) else value
    return out


def with_cpu_functions(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """A copy of `model` with a local function per plugin op; returns it and the ops covered.

    Raises UserError for a plugin op with no CPU body here, or whose nodes disagree on
    attribute values.
    """
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for node in model.graph.node:
        if node.domain in ("", "ai.onnx"):
            continue
        attrs = {k: v for k, v in _attrs(node).items() if k not in ("plugin_version", "plugin_namespace")}
        key = (node.domain, node.op_type)
        if key in seen and seen[key] != attrs:
            raise UserError(
                f"{node.domain}::{node.op_type} nodes carry different attributes ({seen[key]} vs {attrs}); "
                f"the CPU serving model needs one function body per op. Give them the same attributes "
                f"or serve the engine instead."
            )
        seen[key] = attrs
    out = onnx.ModelProto()
    out.CopyFrom(model)
    names = []
    for (domain, op_type), attrs in sorted(seen.items()):
        if op_type not in BODIES:
            raise UserError(
                f"the CPU serving model has no ONNX body for plugin {domain}::{op_type} "
                f"(bodies exist for {', '.join(sorted(BODIES))}); leave it out of the rewrite or serve "
                f"the engine."
            )
        inputs, outputs, nodes = BODIES[op_type](attrs)
        declared = sorted({a.name for n in model.graph.node if n.op_type == op_type for a in n.attribute})
        out.functions.append(
            helper.make_function(
                domain,
                op_type,
                inputs,
                outputs,
                nodes,
                [helper.make_opsetid("", opset)],
                attributes=declared,
            )
        )
        names.append(f"{domain}::{op_type}")
    return out, names
