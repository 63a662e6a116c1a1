"""Dynamo export of models using plugin ops: one plugin node, a registered schema, numbers."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from trt_pdk import onnx_cpu, onnx_export
from trt_pdk.errors import UserError
from trt_pdk.registry import get_spec

# torch.export's pytree pickling warns from copyreg (not ours to fix)
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")


class Block(torch.nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(d, d)
        self.weight = torch.nn.Parameter(torch.linspace(0.5, 1.5, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.ops.trt_pdk.rms_norm(x, self.weight, eps=1e-5)) + x


class Plain(torch.nn.Module):
    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.ops.trt_pdk.rms_norm(x, w)


@pytest.fixture(scope="module")
def spec():
    return get_spec("RMSNorm")


@pytest.fixture(scope="module")
def exported(spec):
    torch.manual_seed(0)
    model = Block(64)
    onnx_export.translation_table([spec])  # registers the torch op before the model is traced
    x = torch.randn(3, 5, 64)
    batch = torch.export.Dim("batch", min=1, max=64)
    program = onnx_export.export(model, (x,), specs=[spec], dynamic_shapes=({0: batch},))
    return model, program.model_proto


def test_export_gives_one_plugin_node(exported):
    _, model = exported
    nodes = [n for n in model.graph.node if n.op_type == "RMSNorm"]
    assert len(nodes) == 1
    node = nodes[0]
    assert node.domain == "trt_pdk"
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["plugin_version"] == b"2"
    assert attrs["plugin_namespace"] == b"trt_pdk"
    assert attrs["eps"] == pytest.approx(1e-5, rel=1e-6)
    assert set(attrs) == {"eps", "plugin_version", "plugin_namespace"}
    assert {(o.domain, o.version) for o in model.opset_import} >= {("", 18), ("trt_pdk", 1)}
    assert not [n for n in model.graph.node if n.op_type in ("ReduceMean", "Sqrt", "Rsqrt", "Pow")]


def test_exported_model_checks_and_infers_shapes(exported):
    _, model = exported
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    node = next(n for n in inferred.graph.node if n.op_type == "RMSNorm")
    info = {v.name: v for v in inferred.graph.value_info}
    out = info[node.output[0]].type.tensor_type
    assert out.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in out.shape.dim]
    assert dims[1:] == [5, 64]
    assert isinstance(dims[0], str)  # the dynamic batch symbol is carried through


def test_exported_model_runs_on_cpu_like_torch(exported, spec):
    model, proto = exported
    x = torch.randn(7, 5, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x).numpy()
    (got,) = onnx_cpu.run(proto, [spec], {proto.graph.input[0].name: x.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_translation_for_v2_plugin(spec):
    table = onnx_export.translation_table([spec], plugin_version="1")
    program = torch.onnx.export(
        Plain().eval(), (torch.randn(2, 8), torch.ones(8)), dynamo=True, custom_translation_table=table
    )
    (node,) = program.model_proto.graph.node
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["plugin_version"] == b"1"
    assert attrs["eps"] == pytest.approx(1e-6)


def test_unknown_plugin_version_is_a_user_error(spec):
    built = r"plugin versions 1 \(IPluginV2DynamicExt\), 2 \(IPluginV3\); version '3' \(unknown\) is not"
    with pytest.raises(UserError, match=built):
        onnx_export.translation_table([spec], plugin_version="3")


def test_register_schema_is_idempotent(spec):
    first = onnx_export.register_schema(spec)
    second = onnx_export.register_schema(spec)
    assert first.name == second.name == "RMSNorm"
    assert first.domain == "trt_pdk"
    assert set(first.attributes) == {"eps", "plugin_version", "plugin_namespace"}
    assert first.has_type_and_shape_inference_function


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_one_node_model_infers_dtype_and_symbolic_shape(spec, dtype):
    model = onnx_export.one_node_model(spec, [["rows", 3, 16], [16]], [dtype, dtype], {"eps": 0.5})
    assert model.ir_version == onnx_export.IR_VERSION
    out = model.graph.output[0].type.tensor_type
    assert out.elem_type == onnx_export.ONNX_DTYPES[dtype]
    assert [d.dim_param or d.dim_value for d in out.shape.dim] == ["rows", 3, 16]


def test_schema_inference_rejects_bad_attributes(spec):
    with pytest.raises(UserError, match=r"'eps' must be in \(0, 1\]"):
        onnx_export.one_node_model(spec, [[2, 4], [4]], ["float32", "float32"], {"eps": 3.0})
    model = onnx_export.one_node_model(spec, [[2, 4], [4]], ["float32", "float32"])
    for a in model.graph.node[0].attribute:
        if a.name == "eps":
            a.f = -1.0
    with pytest.raises(Exception, match="eps"):
        onnx.shape_inference.infer_shapes(model, strict_mode=True)


def test_one_node_model_runs_with_onnxruntime_ir_version(spec):
    ort = pytest.importorskip("onnxruntime")
    model = onnx_export.one_node_model(spec, [[2, 4], [4]], ["float32", "float32"])
    # onnxruntime knows no RMSNorm kernel, but it must accept the IR version and say so
    with pytest.raises(Exception, match="RMSNorm") as info:
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert "IR version" not in str(info.value)


class Bucketed(torch.nn.Module):
    def forward(self, x: torch.Tensor, boundaries: torch.Tensor) -> torch.Tensor:
        return torch.bucketize(x, boundaries, right=True)


@pytest.mark.parametrize("version", ["1", "2"])
def test_aten_bucketize_translation_emits_the_requested_plugin_version(version):
    bucketize = get_spec("Bucketize")
    x, boundaries = torch.randn(3, 4), torch.linspace(-1, 1, 5)
    program = onnx_export.export(Bucketed(), (x, boundaries), specs=[bucketize], plugin_version=version)
    (node,) = [n for n in program.model_proto.graph.node if n.op_type == "Bucketize"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["plugin_version"] == version.encode()
    assert attrs["right"] == 1
    feeds = {
        program.model_proto.graph.input[0].name: x.numpy(),
        program.model_proto.graph.input[1].name: boundaries.numpy(),
    }
    (y,) = onnx_cpu.run(program.model_proto, [bucketize], feeds)
    np.testing.assert_array_equal(y, Bucketed()(x, boundaries).numpy())
