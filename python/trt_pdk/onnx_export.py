"""ONNX side of a plugin: its ``OpSchema``, the dynamo export translation, one-node graphs.

A plugin node is ``<domain=namespace>::<op_type=name>`` with the plugin's attributes plus
the string attributes ``plugin_version`` and ``plugin_namespace`` that TensorRT's ONNX
parser reads when it falls back to the plugin registry.

Example::

    from trt_pdk import onnx_export
    program = onnx_export.export(model, (x,))   # one RMSNorm node per torch.ops.trt_pdk.rms_norm call
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

import onnx
from onnx import TensorProto, helper

from trt_pdk.errors import UserError
from trt_pdk.plugin_nodes import DEFAULT_PLUGIN_VERSION, node_attributes, require_version
from trt_pdk.spec import PluginSpec

# onnxruntime 1.31 rejects onnx's newest IR version; 10 is read by every runtime we target.
IR_VERSION = 10
OPSET = 18

ONNX_DTYPES = {
    "float32": TensorProto.FLOAT,
    "float16": TensorProto.FLOAT16,
    "bfloat16": TensorProto.BFLOAT16,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "int8": TensorProto.INT8,
    "uint8": TensorProto.UINT8,
    "bool": TensorProto.BOOL,
}
DTYPE_NAMES = {v: k for k, v in ONNX_DTYPES.items()}
_TYPE_STRS = {
    "float32": "tensor(float)",
    "float16": "tensor(float16)",
    "bfloat16": "tensor(bfloat16)",
    "int32": "tensor(int32)",
    "int64": "tensor(int64)",
    "int8": "tensor(int8)",
    "uint8": "tensor(uint8)",
    "bool": "tensor(bool)",
}
_ATTR_TYPES = {"int32": int, "float32": float, "string": str}
# Symbolic dims are replaced by these values to run the integer shape rule; an output dim
# equal to one of them is the same symbol, any other value computed from them is unknown.
_SENTINEL_BASE = 7_919_000_000_000


def _attrs_from_node(spec: PluginSpec, ctx: Any) -> dict[str, Any]:
    values = {}
    for a in spec.attrs:
        proto = ctx.get_attribute(a.name)
        if proto is not None:
            value = helper.get_attribute_value(proto)
            values[a.name] = value.decode() if isinstance(value, bytes) else value
    return spec.resolve_attrs(values)


def _infer(spec: PluginSpec):
    """Type and shape inference through the native core's dtype and shape rules."""

    def infer(ctx: Any) -> None:
        from trt_pdk.native import op_binding

        binding = op_binding(spec)
        attrs = _attrs_from_node(spec, ctx)
        in_types = [ctx.get_input_type(i) for i in range(ctx.get_num_inputs())]
        while in_types and (in_types[-1] is None or not in_types[-1].HasField("tensor_type")):
            in_types.pop()  # absent trailing optional inputs ("")
        if any(t is None for t in in_types):
            return
        elem_types = [t.tensor_type.elem_type for t in in_types]
        if any(e == TensorProto.UNDEFINED for e in elem_types):
            return
        out_dtypes = binding.output_dtypes(attrs, [DTYPE_NAMES[e] for e in elem_types])
        shapes_known = all(t.tensor_type.HasField("shape") for t in in_types)
        out_shapes = None
        symbols: dict[int, Any] = {}
        if shapes_known:
            concrete = []
            for t in in_types:
                dims = []
                for d in t.tensor_type.shape.dim:
                    if d.HasField("dim_value"):
                        dims.append(d.dim_value)
                    else:
                        # One sentinel per symbol name, so equal symbols stay equal in the rule.
                        sentinel = next(
                            (k for k, v in symbols.items() if d.dim_param and v.dim_param == d.dim_param),
                            _SENTINEL_BASE + len(symbols),
                        )
                        symbols[sentinel] = d
                        dims.append(sentinel)
                concrete.append(dims)
            out_shapes = binding.output_shapes(attrs, concrete)
        for i, dtype in enumerate(out_dtypes):
            out = onnx.TypeProto()
            out.tensor_type.elem_type = ONNX_DTYPES[dtype]
            if out_shapes is not None:
                out.tensor_type.shape.SetInParent()  # a 0-D output still has a (dimensionless) shape
                shape = out.tensor_type.shape
                for value in out_shapes[i]:
                    dim = shape.dim.add()
                    if value in symbols:
                        dim.CopyFrom(symbols[value])
                    elif 0 <= value < _SENTINEL_BASE:
                        dim.dim_value = value
            ctx.set_output_type(i, out)

    return infer


def register_schema(spec: PluginSpec) -> onnx.defs.OpSchema:
    """Registers the ``OpSchema`` of `spec` once (re-registering raises in onnx); returns it."""
    if onnx.defs.has(spec.name, spec.namespace):
        return onnx.defs.get_schema(spec.name, 1, spec.namespace)
    OpSchema = onnx.defs.OpSchema  # noqa: N806
    constraints = []
    inputs = []
    outputs = []
    for kind, tensors, params in (("in", spec.inputs, inputs), ("out", spec.outputs, outputs)):
        for t in tensors:
            type_param = f"T_{kind}_{t.name}"
            constraints.append((type_param, [_TYPE_STRS[d] for d in t.dtypes], f"dtypes of {t.name}"))
            option = (
                OpSchema.FormalParameterOption.Optional
                if getattr(t, "optional", False)
                else OpSchema.FormalParameterOption.Single
            )
            params.append(OpSchema.FormalParameter(t.name, type_param, t.doc, param_option=option))
    attributes = [
        OpSchema.Attribute(
            a.name, helper.make_attribute(a.name, a.default), f"{a.doc} Range {a.range_text()}."
        )
        for a in spec.attrs
    ]
    attributes += [
        OpSchema.Attribute(
            "plugin_version",
            helper.make_attribute("plugin_version", DEFAULT_PLUGIN_VERSION),
            "TensorRT plugin version: 1 = IPluginV2DynamicExt, 2 = IPluginV3.",
        ),
        OpSchema.Attribute(
            "plugin_namespace",
            helper.make_attribute("plugin_namespace", spec.namespace),
            "TensorRT plugin namespace.",
        ),
    ]
    schema = OpSchema(
        spec.name,
        spec.namespace,
        1,
        spec.doc or f"trt-pdk plugin {spec.name}.",
        inputs=inputs,
        outputs=outputs,
        type_constraints=constraints,
        attributes=attributes,
    )
    schema.set_type_and_shape_inference_function(_infer(spec))
    onnx.defs.register_schema(schema)
    return onnx.defs.get_schema(spec.name, 1, spec.namespace)


def translation(spec: PluginSpec, plugin_version: str = DEFAULT_PLUGIN_VERSION):
    """A plain Python function emitting the plugin node, for ``custom_translation_table``.

    Its signature mirrors the torch op (inputs, then attributes with annotations and
    defaults) so the exporter maps the op's arguments by name.
    """
    import onnxscript

    register_schema(spec)
    require_version(spec, plugin_version)
    opset = onnxscript.values.Opset(spec.namespace, 1)
    n_in = len(spec.inputs)
    names = [a.name for a in spec.attrs]

    def translate(*args: Any, **kwargs: Any) -> Any:
        tensors = list(args[:n_in])
        for t in spec.inputs[len(tensors) :]:
            tensors.append(kwargs.pop(t.name, None))
        while tensors and tensors[-1] is None and spec.inputs[len(tensors) - 1].optional:
            tensors.pop()  # an absent optional input is left out of the node
        spec.present_inputs(len(tensors))
        attrs = dict(zip(names, args[n_in:], strict=False))
        attrs.update(kwargs)
        attrs = spec.resolve_attrs(attrs)
        return getattr(opset, spec.name)(
            *tensors, **attrs, plugin_version=plugin_version, plugin_namespace=spec.namespace
        )

    params = [
        inspect.Parameter(t.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
        if t.optional
        else inspect.Parameter(t.name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for t in spec.inputs
    ]
    params += [
        inspect.Parameter(
            a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=a.default, annotation=_ATTR_TYPES[a.type]
        )
        for a in spec.attrs
    ]
    translate.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    translate.__annotations__ = {a.name: _ATTR_TYPES[a.type] for a in spec.attrs}
    translate.__name__ = translate.__qualname__ = f"{spec.torch_op.name}_to_{spec.name}"
    return translate


def translation_table(
    specs: Iterable[PluginSpec] | None = None, plugin_version: str = DEFAULT_PLUGIN_VERSION
) -> dict[Any, Any]:
    """``{torch op overload: translation}`` for ``torch.onnx.export(custom_translation_table=...)``.

    Args:
        specs: plugins to translate; default: every discovered plugin.
        plugin_version: ``"2"`` (IPluginV3, default) or ``"1"`` (IPluginV2DynamicExt) where built.
    """
    from trt_pdk import torch_ops

    if specs is None:
        from trt_pdk.registry import discover

        specs = list(discover().values())
    table = {}
    for spec in specs:
        packet = torch_ops.register(spec)
        table[packet.default] = translation(spec, plugin_version)
        if spec.aten_translations is not None:  # standard ops that export to this plugin's node
            table.update(_aten_translations(spec, plugin_version))
    return table


def _aten_translations(spec: PluginSpec, plugin_version: str) -> Any:
    """``spec.aten_translations(plugin_version)``; a callable taking no argument is called bare."""
    func = spec.aten_translations
    try:
        takes_version = bool(inspect.signature(func).parameters)
    except (TypeError, ValueError):  # no signature to read (a builtin): pass the version
        takes_version = True
    if not takes_version:
        return func()
    require_version(spec, plugin_version)
    return func(plugin_version)


def export(
    model: Any,
    args: tuple[Any, ...],
    path: str | None = None,
    *,
    specs: Iterable[PluginSpec] | None = None,
    plugin_version: str = DEFAULT_PLUGIN_VERSION,
    dynamic_shapes: Any = None,
    **kwargs: Any,
) -> Any:
    """Exports `model` with dynamo, turning every plugin torch op into one plugin node.

    Calls ``model.eval()`` first (dynamo ignores ``training=``). Returns the ONNXProgram;
    with `path` it is also saved there. Extra keyword arguments go to ``torch.onnx.export``.
    """
    import torch

    if isinstance(model, torch.nn.Module):
        model.eval()
    table = translation_table(specs, plugin_version)
    program = torch.onnx.export(
        model,
        args,
        dynamo=True,
        custom_translation_table=table,
        dynamic_shapes=dynamic_shapes,
        opset_version=kwargs.pop("opset_version", OPSET),
        **kwargs,
    )
    if path is not None:
        program.save(path)
    return program


def one_node_model(
    spec: PluginSpec,
    input_shapes: Sequence[Sequence[int | str | None]],
    input_dtypes: Sequence[str],
    attrs: dict[str, Any] | None = None,
    plugin_version: str = DEFAULT_PLUGIN_VERSION,
) -> onnx.ModelProto:
    """A model with one plugin node; dims may be ints or symbol names (dynamic).

    One shape and dtype per input present: fewer than the spec's inputs leave out trailing
    optional ones (the node has fewer inputs). Output types and shapes come from the
    schema's inference (the native shape rule).
    """
    register_schema(spec)
    if len(input_shapes) != len(input_dtypes):
        raise UserError(f"{spec.name}: {len(input_shapes)} input shapes but {len(input_dtypes)} dtypes")
    present = spec.present_inputs(len(input_dtypes))
    inputs = [
        helper.make_tensor_value_info(t.name, ONNX_DTYPES[d], list(s))
        for t, d, s in zip(present, input_dtypes, input_shapes, strict=True)
    ]
    outputs = [helper.make_empty_tensor_value_info(t.name) for t in spec.outputs]
    node = helper.make_node(
        spec.name,
        [t.name for t in present],
        [t.name for t in spec.outputs],
        name=f"{spec.name}_0",
        domain=spec.namespace,
        **node_attributes(spec, attrs, plugin_version),
    )
    graph = helper.make_graph([node], f"{spec.name}_one_node", inputs, outputs)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(spec.namespace, 1)],
        ir_version=IR_VERSION,
        producer_name="trt-pdk",
    )
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    del model.graph.output[:]
    model.graph.output.extend(inferred.graph.output)
    onnx.checker.check_model(model, full_check=True)
    return model


def plugin_nodes(model: onnx.ModelProto, specs: Iterable[PluginSpec]) -> list[onnx.NodeProto]:
    """The nodes of `model` (top graph) that are plugin nodes of `specs`."""
    keys = {(s.namespace, s.name) for s in specs}
    return [n for n in model.graph.node if (n.domain, n.op_type) in keys]
