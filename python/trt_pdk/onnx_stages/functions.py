"""ONNX model-local functions that let plain onnxruntime run plugin nodes on CPU.

Each plugin declares its op in standard ONNX ops (``PluginSpec.onnx_function``, in the
plugin's own folder); this module turns that body into a ``FunctionProto`` with the
plugin node's domain and op_type and attaches one per plugin op to a copy of a graph.
The graph keeps its plugin nodes: onnxruntime expands them through the functions (the
pipeline's Triton CPU model), while TensorRT reads the graph they were added to, which has
none.

A function is specialized on the attribute values and input count of its nodes; nodes of
one op that differ in either get one function per variant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import onnx
from onnx import helper

from trt_pdk.errors import UserError
from trt_pdk.plugin_nodes import attribute_values
from trt_pdk.spec import PluginSpec


def _num_inputs(node: onnx.NodeProto) -> int:
    names = list(node.input)
    while names and not names[-1]:  # trailing "" marks absent optional inputs
        names.pop()
    return len(names)


def function_proto(
    spec: PluginSpec,
    attrs: Mapping[str, Any],
    num_inputs: int,
    opset: int,
    attribute_names: Iterable[str] = (),
) -> onnx.FunctionProto:
    """The model-local function for `spec`'s nodes carrying `attrs` and `num_inputs` inputs.

    ``attribute_names`` are the attributes the nodes carry (declared so the nodes stay
    valid); the body itself is specialized on the resolved ``attrs``.
    """
    if spec.onnx_function is None:
        raise UserError(
            f"plugin {spec.namespace}::{spec.name} declares no ONNX body (PluginSpec.onnx_function), so "
            f"plain onnxruntime cannot run it; add one, leave it out of the rewrite or serve the engine."
        )
    spec.present_inputs(num_inputs)  # only trailing optional inputs may be left out
    resolved = spec.resolve_attrs(dict(attrs))
    inputs, outputs, nodes = spec.onnx_function(resolved, num_inputs)
    if len(inputs) != num_inputs or len(outputs) != len(spec.outputs):
        raise UserError(
            f"the ONNX body of {spec.name} has {len(inputs)} inputs/{len(outputs)} outputs, the node "
            f"{num_inputs}/{len(spec.outputs)}"
        )
    return helper.make_function(
        spec.namespace,
        spec.name,
        list(inputs),
        list(outputs),
        list(nodes),
        [helper.make_opsetid("", opset)],
        attributes=sorted(set(attribute_names)),
    )


def _default_opset(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    raise UserError("the model imports no default ONNX opset")


def with_cpu_functions(
    model: onnx.ModelProto, specs: Iterable[PluginSpec] | None = None
) -> tuple[onnx.ModelProto, list[str]]:
    """A copy of `model` with a local function per plugin op variant; returns it and the ops covered.

    A function body is specialized on attribute values and input count, so nodes of one
    op that differ in those (two RMSNorms with different eps) get one function each: the
    first keeps the op's name, later variants are named ``<op>__<k>`` and their nodes in
    the copy point at them. `specs` default to every discovered plugin. Raises UserError
    for a plugin node with no spec or no ONNX body.
    """
    if specs is None:
        from trt_pdk.registry import discover

        specs = discover().values()
    by_key = {(s.namespace, s.name): s for s in specs}
    opset = _default_opset(model)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    variants: dict[tuple[str, str], list[tuple[dict[str, Any], int]]] = {}
    names: dict[tuple[str, str, int], set[str]] = {}
    for node in out.graph.node:
        if node.domain in ("", "ai.onnx"):
            continue
        key = (node.domain, node.op_type)
        if key not in by_key:
            raise UserError(
                f"the model has a {node.domain}::{node.op_type} node but no discovered plugin of that "
                f"name (known: {', '.join(f'{d}::{n}' for d, n in sorted(by_key)) or 'none'}); leave it "
                f"out of the rewrite or serve the engine."
            )
        this = (by_key[key].resolve_attrs(attribute_values(node, reserved=False)), _num_inputs(node))
        seen = variants.setdefault(key, [])
        if this not in seen:
            seen.append(this)
        k = seen.index(this)
        names.setdefault((*key, k), set()).update(a.name for a in node.attribute)
        del node.input[this[1] :]  # onnxruntime binds "" to a formal: absent inputs are left out
        if k:
            node.op_type = f"{node.op_type}__{k}"
    # Bodies the model already carries for these ops (a served copy) are replaced, not doubled.
    bodies = {(d, f"{n}__{k}" if k else n) for (d, n), found in variants.items() for k in range(len(found))}
    kept = [f for f in out.functions if (f.domain, f.name) not in bodies]
    del out.functions[:]
    out.functions.extend(kept)
    covered = []
    for key, found in sorted(variants.items()):
        for k, (attrs, num_inputs) in enumerate(found):
            function = function_proto(by_key[key], attrs, num_inputs, opset, names[(*key, k)])
            if k:
                function.name = f"{key[1]}__{k}"
            out.functions.append(function)
        covered.append(f"{key[0]}::{key[1]}" + (f" ({len(found)} variants)" if len(found) > 1 else ""))
    return out, covered
