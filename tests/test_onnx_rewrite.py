"""`trt-pdk rewrite`: declared patterns on real exports, plugin torch-op nodes, reports, numbers."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from trt_pdk import onnx_cpu
from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.onnx_stages import Const, Op, Pattern, RewriteOnnx
from trt_pdk.onnx_stages.rewrite import rewrite_model, rules_from_specs
from trt_pdk.plugins.rms_norm.patterns import rms_norm_patterns
from trt_pdk.registry import get_spec

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")
MODELS = Path(__file__).parent / "models"


class RMS(torch.nn.Module):
    def __init__(self, d: int = 16, eps: float = 1e-5) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(0.5, 1.5, d))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.w


class BiasGelu(torch.nn.Module):
    def __init__(self, approximate: str) -> None:
        super().__init__()
        self.b = torch.nn.Parameter(torch.linspace(-1, 1, 16))
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(x + self.b, approximate=self.approximate)


def export(module, args, path: Path, *, legacy: bool = False, opset: int = 18) -> onnx.ModelProto:
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if legacy:
            torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, input_names=["x"])
        else:
            torch.onnx.export(
                module, args, str(path), dynamo=True, opset_version=opset, dynamic_shapes=({0: "batch"},)
            )
    return onnx.load(str(path))


@pytest.fixture(scope="module")
def spec():
    return get_spec("RMSNorm")


def rms_rules(spec, version="2"):
    return rules_from_specs({"RMSNorm": spec}, [f"RMSNorm:{version}"])


def run_cpu(model, spec, feeds):
    return onnx_cpu.run(model, [spec], feeds)


@pytest.mark.parametrize(
    ("dtype", "legacy", "opset", "pattern", "removed"),
    [
        (torch.float32, False, 18, "rms_norm/pow-axes-input-reciprocal", 7),
        (torch.float16, False, 18, "rms_norm/pow-axes-input-reciprocal", 9),  # with both Casts
        (torch.float32, True, 17, "rms_norm/pow-axes-attr-div", 8),  # a no-op Cast to float
        (torch.float16, True, 17, "rms_norm/pow-axes-attr-div", 9),
    ],
)
def test_rms_norm_patterns_on_real_exports(tmp_path, spec, dtype, legacy, opset, pattern, removed):  # noqa: PLR0917
    module = RMS().to(dtype)
    x = torch.randn(3, 5, 16).to(dtype)
    model = export(module, (x,), tmp_path / "m.onnx", legacy=legacy, opset=opset)
    output = model.graph.output[0].name
    out_type = onnx.ValueInfoProto()
    out_type.CopyFrom(model.graph.output[0])
    result = rewrite_model(model, rms_rules(spec))
    assert [(r.pattern, len(r.nodes_removed), r.output) for r in result.replacements] == [
        (pattern, removed, output)
    ]
    (node,) = [n for n in model.graph.node if n.domain == "trt_pdk"]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["eps"] == pytest.approx(1e-5)
    assert attrs["plugin_version"] == b"2" and attrs["plugin_namespace"] == b"trt_pdk"
    assert [n.op_type for n in model.graph.node] == ["RMSNorm"]
    assert model.graph.output[0] == out_type  # same name, dtype and symbolic shape
    assert len(model.graph.initializer) == 1  # the weight; the constants went with their nodes
    assert {o.domain: o.version for o in model.opset_import}["trt_pdk"] == 1
    onnx.checker.check_model(model, full_check=True)
    expected = module(x).detach().float().numpy()
    (got,) = run_cpu(model, spec, {node.input[0]: x.numpy()})
    tol = 1e-5 if dtype == torch.float32 else 2e-3
    np.testing.assert_allclose(got.astype(np.float32), expected, atol=tol, rtol=tol)


def test_onnx_rms_normalization_opset23(tmp_path, spec):
    model = export(
        torch.nn.Sequential(torch.nn.RMSNorm(16, eps=1e-6)),
        (torch.randn(2, 16),),
        tmp_path / "m.onnx",
        opset=23,
    )
    assert [n.op_type for n in model.graph.node] == ["RMSNormalization"]
    result = rewrite_model(model, rms_rules(spec, "1"))
    assert result.replacements[0].pattern == "rms_norm/onnx-RMSNormalization"
    attrs = {a.name: helper.get_attribute_value(a) for a in model.graph.node[0].attribute}
    assert attrs["plugin_version"] == b"1" and attrs["eps"] == pytest.approx(1e-6)


def test_tiny_transformer_block(tmp_path, spec):
    from trt_pdk.onnx_stages.from_torch import OnnxFromTorch, module_from_factory

    path = tmp_path / "block.onnx"
    OnnxFromTorch(f"{MODELS / 'tiny_transformer.py'}:make", dynamic=["x:0=batch", "x:1=seq"])(path)
    out = tmp_path / "block_rw.onnx"
    result = RewriteOnnx(plugins=["RMSNorm"], specs={"RMSNorm": spec}).run(path, out)
    assert len(result.replacements) == 2
    eps = sorted(
        helper.get_attribute_value(a)
        for n in onnx.load(str(out)).graph.node
        if n.op_type == "RMSNorm"
        for a in n.attribute
        if a.name == "eps"
    )
    assert eps == pytest.approx([1e-6, 1e-5])
    assert result.nodes_before - result.nodes_after == 12  # 2 x (7 removed - 1 added)
    module, _ = module_from_factory(f"{MODELS / 'tiny_transformer.py'}:make")
    x = torch.randn(3, 4, 32)
    (got,) = run_cpu(onnx.load(str(out)), spec, {"x": x.numpy()})
    np.testing.assert_allclose(got, module(x).detach().numpy(), atol=1e-5, rtol=1e-4)


def test_match_is_rejected_when_an_intermediate_is_used_elsewhere(spec):
    x, w = "x", "w"
    nodes = [
        helper.make_node("Pow", [x, "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq", "axes"], ["ms"], keepdims=1),
        helper.make_node("Add", ["ms", "eps"], ["me"]),
        helper.make_node("Sqrt", ["me"], ["rms"]),
        helper.make_node("Reciprocal", ["rms"], ["inv"]),
        helper.make_node("Mul", [x, "inv"], ["xn"]),
        helper.make_node("Mul", ["xn", w], ["y"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([2.0], np.float32), "two"),
        numpy_helper.from_array(np.array([-1], np.int64), "axes"),
        numpy_helper.from_array(np.array([1e-6], np.float32), "eps"),
        numpy_helper.from_array(np.ones(4, np.float32), w),
    ]
    inputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [2, 4])]
    out_y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])
    out_ms = helper.make_tensor_value_info("ms", TensorProto.FLOAT, [2, 1])
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, [out_y, out_ms], inits))
    result = rewrite_model(model, rms_rules(spec))
    assert result.replacements == []
    assert "'ms' is also used outside the pattern" in result.rejected[0]["why"]
    # reducing another axis is not RMSNorm
    model.graph.output.pop()
    model.graph.initializer[1].CopyFrom(numpy_helper.from_array(np.array([0], np.int64), "axes"))
    result = rewrite_model(model, rms_rules(spec))
    assert result.replacements == [] and "axis 0, not the last one (rank 2)" in result.rejected[0]["why"]


@pytest.mark.parametrize(
    ("approximate", "legacy", "opset", "pattern"),
    [
        ("none", False, 18, "gelu_bias/dynamo-erf"),
        ("tanh", False, 18, "gelu_bias/dynamo-tanh"),
        ("none", True, 17, "gelu_bias/legacy-erf"),
        ("tanh", True, 17, "gelu_bias/legacy-tanh"),
        ("tanh", False, 20, "gelu_bias/onnx-Gelu-tanh"),
    ],
)
def test_bias_gelu_patterns_from_a_declaring_spec(tmp_path, approximate, legacy, opset, pattern):
    model = export(
        BiasGelu(approximate), (torch.randn(2, 16),), tmp_path / "g.onnx", legacy=legacy, opset=opset
    )
    result = rewrite_model(model, rules_from_specs({"FusedBiasGelu": get_spec("FusedBiasGelu")}))
    assert [r.pattern for r in result.replacements] == [pattern]
    (node,) = model.graph.node
    assert node.op_type == "FusedBiasGelu"
    assert {a.name: helper.get_attribute_value(a) for a in node.attribute}[
        "approximate"
    ] == approximate.encode()


def test_plugin_torch_op_nodes_get_version_and_namespace(tmp_path, spec, capsys):
    from trt_pdk.onnx_stages.from_torch import OnnxFromTorch

    src, dst = tmp_path / "p.onnx", tmp_path / "p_rw.onnx"
    OnnxFromTorch(f"{MODELS / 'plugin_op.py'}:make")(src)
    assert main(["rewrite", str(src), "-o", str(dst), "--plugin", "RMSNorm:1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["replacement_counts"] == {"trt_pdk::RMSNorm node": 1}
    (node,) = [n for n in onnx.load(str(dst)).graph.node if n.op_type == "RMSNorm"]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs == {"eps": pytest.approx(1e-5), "plugin_version": b"1", "plugin_namespace": b"trt_pdk"}


def test_unknown_plugin_or_version_is_a_user_error(spec):
    with pytest.raises(UserError, match="unknown plugin 'Nope'"):
        rules_from_specs({"RMSNorm": spec}, ["Nope"])
    with pytest.raises(UserError, match=r"version '3' \(unknown\) is not built"):
        rules_from_specs({"RMSNorm": spec}, ["RMSNorm:3"])
    with pytest.raises(UserError, match="IPluginV2DynamicExt"):
        rules_from_specs({"MaskedCompact": get_spec("MaskedCompact")}, ["MaskedCompact:1"])


def test_failed_rewrite_leaves_no_output(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    out = tmp_path / "out.onnx"
    assert main(["rewrite", str(bad), "-o", str(out)]) == 2
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx"]
    assert "not a readable ONNX model" in capsys.readouterr().err


def test_pattern_language_variants_and_validation():
    p = Pattern(
        "p",
        nodes=(
            Op("Cast", ("x",), "xf", optional=True),
            Op("Neg", ("xf",), "n"),
            Op("Mul", ("n", Const(2.0)), "y"),
        ),
        inputs=("x",),
    )
    variants = p.variants()
    assert [[op.op_type for op in v.nodes] for v in variants] == [["Cast", "Neg", "Mul"], ["Neg", "Mul"]]
    assert variants[1].nodes[0].inputs == ("x",)
    with pytest.raises(ValueError, match="produced twice"):
        Pattern("q", nodes=(Op("Neg", ("x",), "y"), Op("Neg", ("y",), "y")), inputs=("x",))
    assert len(rms_norm_patterns()) == 9 and sum(len(p.variants()) for p in rms_norm_patterns()) == 33


def _chain(blocks: int) -> onnx.ModelProto:
    nodes, inits = (
        [],
        [
            numpy_helper.from_array(np.array([2.0], np.float32), "two"),
            numpy_helper.from_array(np.array([-1], np.int64), "axes"),
            numpy_helper.from_array(np.array([1e-6], np.float32), "eps"),
            numpy_helper.from_array(np.ones(4, np.float32), "w"),
        ],
    )
    x = "x"
    for b in range(blocks):
        p = f"b{b}_"
        nodes += [
            helper.make_node("Pow", [x, "two"], [p + "sq"]),
            helper.make_node("ReduceMean", [p + "sq", "axes"], [p + "ms"]),
            helper.make_node("Add", [p + "ms", "eps"], [p + "me"]),
            helper.make_node("Sqrt", [p + "me"], [p + "rms"]),
            helper.make_node("Reciprocal", [p + "rms"], [p + "inv"]),
            helper.make_node("Mul", [x, p + "inv"], [p + "xn"]),
            helper.make_node("Mul", [p + "xn", "w"], [p + "y"]),
            helper.make_node("Relu", [p + "y"], [p + "r"]),
            helper.make_node("Mul", [p + "r", p + "r"], [p + "sq2"]),
            helper.make_node("Add", [p + "sq2", x], [p + "out"]),
        ]
        x = p + "out"
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [2, 4])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


def test_rewrite_time_grows_linearly(spec):
    rules = rms_rules(spec)
    timings = []
    for blocks in (300, 1500):
        best = float("inf")
        for _ in range(3):  # the best of three: other jobs share the machine
            model = _chain(blocks)
            t0 = time.perf_counter()
            result = rewrite_model(model, rules)
            best = min(best, time.perf_counter() - t0)
        timings.append(best)
        assert len(result.replacements) == blocks
        assert len(model.graph.node) == 4 * blocks
    assert timings[1] < 12 * timings[0], timings  # 5x the nodes: linear is ~5x, quadratic 25x


def test_plugin_local_functions_are_stripped(spec):
    model = _chain(1)
    body = [helper.make_node("Identity", ["x"], ["y"])]
    model.functions.append(
        helper.make_function(
            "trt_pdk", "RMSNorm", ["x", "weight"], ["y"], body, [helper.make_opsetid("", 18)]
        )
    )
    model.functions.append(
        helper.make_function("acme", "Keep", ["x"], ["y"], body, [helper.make_opsetid("", 18)])
    )
    result = rewrite_model(model, rms_rules(spec))
    assert result.functions_removed == 1
    assert [(f.domain, f.name) for f in model.functions] == [("acme", "Keep")]
