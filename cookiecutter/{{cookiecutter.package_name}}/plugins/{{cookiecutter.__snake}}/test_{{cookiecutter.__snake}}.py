{%- set attrs = cookiecutter.attrs | pdk_attrs(cookiecutter.inputs, cookiecutter.outputs) -%}
{%- set numeric = attrs | selectattr("numeric") | list -%}
{%- set ins = cookiecutter.inputs | tensor_names("x") -%}
{%- set outs = cookiecutter.outputs | tensor_names("y") -%}
"""{{ cookiecutter.name }}'s own checks: formula, torch op, ONNX export, rewrite."""

from __future__ import annotations

import numpy as np
import pytest
from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec

SPEC = get_spec("{{ cookiecutter.name }}")
INPUTS = [t.name for t in SPEC.inputs]
# Attribute values other than the defaults; the numeric ones in formula order.
{%- set items = [] %}
{%- for a in attrs %}{% set _ = items.append('"' ~ a.name ~ '": ' ~ a.alt) %}{% endfor %}
{{ items | py_call("ATTRS = {", "}") }}
COEFFICIENTS = {name: value for name, value in ATTRS.items() if SPEC.attr(name).type != "string"}


def _formula(xs: list[np.ndarray], attrs: dict) -> list[np.ndarray]:
    """The op in float64 NumPy, written independently of the C++ and PyTorch code."""
    h = sum(x.astype(np.float64) for x in xs)
    values = [float(attrs[name]) for name in COEFFICIENTS]
    z = h * values[0] + sum(values[1:]) if values else h
    return [np.logaddexp(0.0, (j + 1) * z) for j in range({{ outs | length }})]


def test_cpu_reference_matches_float64_formula():
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal((3, 5, 7)).astype(np.float32) for _ in INPUTS]
    for attrs in (SPEC.resolve_attrs(), SPEC.resolve_attrs(ATTRS)):
        outputs = op_binding(SPEC).cpu(attrs, xs, ["float32"] * len(xs))
        for y, expected in zip(outputs, _formula(xs, attrs), strict=True):
            np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_empty_input_gives_empty_outputs():
    xs = [np.zeros((0, 4), np.float32) for _ in INPUTS]
    outputs = op_binding(SPEC).cpu({}, xs, ["float32"] * len(xs))
    assert [y.shape for y in outputs] == [(0, 4)] * {{ outs | length }}
{%- if ins | length > 1 %}


def test_inputs_of_different_shapes_are_rejected_clearly():
    xs = [np.zeros((2, 4), np.float32) for _ in INPUTS]
    xs[1] = np.zeros((2, 5), np.float32)
    with pytest.raises(ValueError, match="all inputs must have one shape"):
        op_binding(SPEC).cpu({}, xs, ["float32"] * len(xs))
{%- endif %}


def test_torch_op_runs_the_reference_on_cpu():
    torch = pytest.importorskip("torch")
    from trt_pdk.torch_ops import register

    op = register(SPEC)
    xs = [torch.randn(4, 6) for _ in INPUTS]
    got = op(*xs, **ATTRS)
    expected = SPEC.reference(*xs, **SPEC.resolve_attrs(ATTRS))
    torch.testing.assert_close(got, expected)


def _assert_node_attrs(node, expected: dict) -> None:
    """The plugin node's attributes equal `expected` (floats as the float32 they are stored as)."""
    from trt_pdk.onnx_stages.rewrite import attrs_of_plugin_node

    got = attrs_of_plugin_node(SPEC, node)
    for name, value in expected.items():
        if SPEC.attr(name).type == "float32":
            assert np.float32(got[name]) == np.float32(value), name
        else:
            assert got[name] == value, name


@pytest.mark.slow
def test_onnx_export_emits_one_plugin_node():
    torch = pytest.importorskip("torch")
    from trt_pdk.onnx_export import export, plugin_nodes
    from trt_pdk.torch_ops import register

    op = register(SPEC)

    class Model(torch.nn.Module):
        def forward(self, {{ ins | join(", ") }}):
            return op({{ ins | join(", ") }}, **ATTRS)

    program = export(Model(), tuple(torch.randn(2, 3) for _ in INPUTS), specs=[SPEC])
    (node,) = plugin_nodes(program.model_proto, [SPEC])
    assert (node.domain, node.op_type) == (SPEC.namespace, SPEC.name)
    _assert_node_attrs(node, SPEC.resolve_attrs(ATTRS))
{%- if outs | length == 1 %}


def _unfused_model(coefficients: dict):
    """Add the inputs, Mul/Add by constants, Softplus: what the rewrite replaces."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, h = [], INPUTS[0]
    for k, name in enumerate(INPUTS[1:], 1):
        nodes.append(helper.make_node("Add", [h, name], [f"h{k}"]))
        h = f"h{k}"
    z = h
    for k, name in enumerate(coefficients):
        nodes.append(helper.make_node("Mul" if k == 0 else "Add", [z, name], [f"z{k}"]))
        z = f"z{k}"
    nodes.append(helper.make_node("Softplus", [z], ["y"]))
    graph = helper.make_graph(
        nodes,
        "unfused",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 8]) for name in INPUTS],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
        [numpy_helper.from_array(np.array(v, np.float32), name) for name, v in coefficients.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


def test_rewrite_replaces_the_unfused_graph():
    from onnx.reference import ReferenceEvaluator
    from trt_pdk import onnx_cpu
    from trt_pdk.onnx_stages.rewrite import RewriteOnnx

    model = _unfused_model(COEFFICIENTS)
    rng = np.random.default_rng(3)
    feeds = {name: rng.standard_normal((2, 8)).astype(np.float32) for name in INPUTS}
    (expected,) = ReferenceEvaluator(model).run(None, feeds)
    result = RewriteOnnx(plugins=[SPEC.name], specs={SPEC.name: SPEC})(model)
    assert [r.plugin for r in result.replacements] == [SPEC.name], result.rejected
    (node,) = result.model.graph.node
    assert (node.domain, node.op_type) == (SPEC.namespace, SPEC.name)
    _assert_node_attrs(node, SPEC.resolve_attrs(COEFFICIENTS))
    (got,) = onnx_cpu.run(result.model, [SPEC], feeds)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_rewrite_matches_what_dynamo_exports():
    torch = pytest.importorskip("torch")
    from trt_pdk.onnx_stages.rewrite import RewriteOnnx

    class Unfused(torch.nn.Module):
        def forward(self, {{ ins | join(", ") }}):
            return SPEC.reference({{ ins | join(", ") }}, **ATTRS)

    program = torch.onnx.export(Unfused().eval(), tuple(torch.randn(2, 3) for _ in INPUTS), dynamo=True)
    result = RewriteOnnx(plugins=[SPEC.name], specs={SPEC.name: SPEC})(program.model_proto)
    assert [r.plugin for r in result.replacements] == [SPEC.name], result.rejected
    (node,) = [n for n in result.model.graph.node if n.op_type == SPEC.name]
    _assert_node_attrs(node, COEFFICIENTS)
{%- endif %}


@pytest.mark.tensorrt
def test_load_plugins_registers_the_creators():
    trt = pytest.importorskip("tensorrt")
    import trt_pdk

    trt_pdk.load_plugins()
    registry = trt.get_plugin_registry()
    for version in SPEC.versions:
        assert registry.get_creator(SPEC.name, version, SPEC.namespace) is not None
