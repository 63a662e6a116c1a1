"""FP16 from the graph (TensorRT 11 has no precision flags): our own ONNX pass.

Float32 tensors become float16, except around ops that cannot run in fp16: a trt_pdk plugin
whose spec lists no fp16 dtype combination, an ONNX op whose schema does not accept
float16, or an op the user keeps in fp32. Casts are inserted at the region boundaries, and
the model's inputs and outputs stay float32 so callers and Triton configs do not change.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PLUGIN_DOMAIN = "trt_pdk"
_F32, _F16 = TensorProto.FLOAT, TensorProto.FLOAT16


def _plugin_supports_fp16(op_type: str) -> bool | None:
    """True/False from the plugin's native spec; None when the op is unknown to this install."""
    try:
        from trt_pdk.native import native_module

        ops = native_module().ops
    except Exception:
        return None
    if op_type not in ops:
        return None
    combos = [list(c) for c in ops[op_type].supported_dtypes({})]
    fp32 = [c for c in combos if "float32" in c]
    as_fp16 = [["float16" if d == "float32" else d for d in c] for c in fp32]
    return any(c in combos for c in as_fp16)


def fp16_support(model: onnx.ModelProto) -> dict[str, bool | None]:
    """For each plugin op type in the graph: does it support fp16 (None: unknown plugin)?"""
    types = sorted({n.op_type for n in model.graph.node if n.domain == PLUGIN_DOMAIN})
    return {t: _plugin_supports_fp16(t) for t in types}


def _schema_accepts_fp16(node: onnx.NodeProto, opset: int) -> bool:
    try:
        schema = onnx.defs.get_schema(node.op_type, opset, node.domain or "")
    except onnx.defs.SchemaError:
        return False
    float_constraints = [tc for tc in schema.type_constraints if "tensor(float)" in tc.allowed_type_strs]
    return all("tensor(float16)" in tc.allowed_type_strs for tc in float_constraints)


def _output_float_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor that shape inference (or the graph) knows."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:
        inferred = model
    g = inferred.graph
    types = {}
    for vi in [*g.input, *g.output, *g.value_info]:
        if vi.type.tensor_type.elem_type:
            types[vi.name] = vi.type.tensor_type.elem_type
    for init in g.initializer:
        types[init.name] = init.data_type
    return types


def fp16_from_onnx(
    model: onnx.ModelProto, keep_fp32: Iterable[str] = ()
) -> tuple[onnx.ModelProto, list[str]]:
    """Converts a float32 graph to float16 with casts kept around ops that lack fp16.

    Args:
        model: The (rewritten) ONNX model; it is not modified.
        keep_fp32: Op types to keep in float32 (plugins without fp16 are kept automatically).

    Returns:
        (the fp16 model, names of the nodes kept in fp32 with the reason for each).
    """
    keep_fp32 = set(keep_fp32)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 18)
    types = _output_float_types(model)
    plugin_fp16 = fp16_support(model)
    g = model.graph
    inits = {i.name: i for i in g.initializer}

    new_nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = [i for i in g.initializer]
    # Which version of a float tensor exists under which name.
    as16: dict[str, str] = {}
    as32: dict[str, str] = {}
    taken = (
        {n for node in g.node for n in [*node.input, *node.output]} | set(inits) | {i.name for i in g.input}
    )

    def fresh(base: str) -> str:
        name, i = base, 0
        while name in taken:
            i += 1
            name = f"{base}_{i}"
        taken.add(name)
        return name

    def get16(t: str) -> str:
        if t in as16:
            return as16[t]
        if t in inits and inits[t].data_type == _F32:
            arr = numpy_helper.to_array(inits[t]).astype(np.float16)
            name = fresh(f"{t}__fp16")
            new_inits.append(numpy_helper.from_array(arr, name))
        else:
            name = fresh(f"{t}__fp16")
            new_nodes.append(helper.make_node("Cast", [as32.get(t, t)], [name], to=_F16, name=f"{name}_cast"))
        as16[t] = name
        return name

    def get32(t: str) -> str:
        if t in as32:
            return as32[t]
        name = fresh(f"{t}__fp32")
        new_nodes.append(helper.make_node("Cast", [as16[t]], [name], to=_F32, name=f"{name}_cast"))
        as32[t] = name
        return name

    for vi in g.input:
        if vi.name not in inits and vi.type.tensor_type.elem_type == _F32:
            as32[vi.name] = vi.name
    for name, init in inits.items():
        if init.data_type == _F32:
            as32[name] = name

    kept: list[str] = []
    for original in g.node:
        node = original
        float_in = [t for t in node.input if t and (t in as32 or t in as16)]
        if node.domain == PLUGIN_DOMAIN:
            ok = plugin_fp16.get(node.op_type)
            why = None if ok else ("plugin without fp16" if ok is False else "plugin unknown to this install")
        elif node.op_type in keep_fp32:
            why = "kept in fp32 by request"
        elif node.op_type == "Cast":
            why = None
        else:
            why = None if _schema_accepts_fp16(node, opset) else "ONNX schema has no float16"
        node = onnx.NodeProto.FromString(original.SerializeToString())
        if why is None and float_in:
            for idx, t in enumerate(node.input):
                if t in as32 or t in as16:
                    node.input[idx] = get16(t)
            if node.op_type == "Cast":
                for a in node.attribute:
                    if a.name == "to" and a.i == _F32:
                        a.i = _F16
            for a in node.attribute:  # float constants (Constant, ConstantOfShape)
                if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == _F32:
                    a.t.CopyFrom(
                        numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name)
                    )
            for t in node.output:
                if t and types.get(t, _F32) == _F32:
                    as16[t] = t
        else:
            if why is not None and float_in:
                kept.append(f"{node.name or node.op_type} ({node.op_type}: {why})")
            for idx, t in enumerate(node.input):
                if t in as16 and t not in as32:
                    node.input[idx] = get32(t)
                elif t in as32:
                    node.input[idx] = as32[t]
            for t in node.output:
                if (t and types.get(t) == _F32) or (t and t not in types and float_in):
                    as32[t] = t
        # Constant/Cast producing floats with no float inputs (e.g. Constant)
        if node.op_type in ("Constant", "ConstantOfShape") and why is None:
            for t in node.output:
                if types.get(t, _F32) == _F32:
                    as16[t] = t
                    as32.pop(t, None)
        new_nodes.append(node)

    # Graph outputs keep float32: a producer writing fp16 is renamed and cast back.
    renames: dict[str, str] = {}
    for out in g.output:
        if out.name in as16 and as16[out.name] == out.name and out.type.tensor_type.elem_type == _F32:
            renames[out.name] = fresh(f"{out.name}__fp16")
    if renames:
        for n in new_nodes:
            for idx, t in enumerate(n.input):
                if t in renames:
                    n.input[idx] = renames[t]
            for idx, t in enumerate(n.output):
                if t in renames:
                    n.output[idx] = renames[t]
        for old, new in renames.items():
            new_nodes.append(helper.make_node("Cast", [new], [old], to=_F32, name=f"{old}_to_fp32"))

    used = {t for n in new_nodes for t in n.input}
    out_model = onnx.ModelProto.FromString(model.SerializeToString())
    del out_model.graph.node[:]
    out_model.graph.node.extend(new_nodes)
    del out_model.graph.initializer[:]
    out_model.graph.initializer.extend(
        i for i in new_inits if i.name in used or i.name in {x.name for x in g.input}
    )
    del out_model.graph.value_info[:]
    return out_model, kept
