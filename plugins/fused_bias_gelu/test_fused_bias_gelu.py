"""FusedBiasGelu's own checks: the input-count message, the formulas against float64,
shape/dtype errors, the ONNX rewrite of the exported decompositions (with and without the
bias Add, both approximations), the CUDA kernel, the torch op with and without the bias,
and a quick decoder fuzz. The bias-less cases themselves (bias is ``Tensor(optional=True)``)
run in the generic harness with every other case."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec

# torch.export inside torch 2.13 still uses the deprecated LeafSpec check.
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

SPEC = get_spec("FusedBiasGelu")
MODULE = sys.modules[SPEC.reference.__module__]
TORCH = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
TOL = {"float32": 1e-5, "float16": 1e-3, "bfloat16": 1e-2}


def test_the_bias_is_optional_and_zero_or_three_inputs_are_rejected():
    assert SPEC.num_optional_inputs == 1 and any(c.num_inputs == 1 for c in SPEC.cases)
    binding = op_binding(SPEC)
    for shapes in ([], [[4], [4], [4]]):
        with pytest.raises(ValueError, match="takes 1 or 2 inputs"):
            binding.output_shapes({}, shapes)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_fp32_formula_against_float64(approximate):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((64, 33)) * 4).astype(np.float32)
    b = rng.standard_normal(33).astype(np.float32)
    (y,) = op_binding(SPEC).cpu({"approximate": approximate}, [x, b], ["float32", "float32"])
    h = (x + b).astype(np.float32).astype(np.float64)
    if approximate == "none":
        expected = 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    else:
        expected = 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
    np.testing.assert_allclose(y, expected, rtol=2e-6, atol=2e-6)


def test_bias_of_wrong_length_or_dtype_is_rejected_clearly():
    binding = op_binding(SPEC)
    with pytest.raises(ValueError, match="bias has 5 elements but the last axis of x has 4"):
        binding.cpu({}, [np.zeros((2, 4), np.float32), np.zeros(5, np.float32)], ["float32", "float32"])
    with pytest.raises(ValueError, match="bias must have the dtype of x"):
        binding.check_inputs({}, [[2, 4], [4]], ["float32", "float16"])
    with pytest.raises(ValueError, match="'approximate'"):
        binding.validate({"approximate": "fast"})


class _BiasGelu(torch.nn.Module):
    def __init__(self, approximate: str, bias: bool) -> None:
        super().__init__()
        self.approximate = approximate
        self.bias = torch.nn.Parameter(torch.randn(16)) if bias else None
        self.proj = torch.nn.Linear(16, 16, bias=False)

    def forward(self, x):
        h = self.proj(x)
        if self.bias is not None:
            h = h + self.bias
        return torch.nn.functional.gelu(h, approximate=self.approximate)


@pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript-based ONNX:DeprecationWarning")
@pytest.mark.parametrize("exporter", ["dynamo", "legacy"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("bias", [True, False])
def test_rewrite_replaces_exported_gelu_and_runs_on_cpu(tmp_path, exporter, approximate, bias):
    import onnx

    from trt_pdk import onnx_cpu
    from trt_pdk.onnx_stages.rewrite import RewriteOnnx

    torch.manual_seed(0)
    model = _BiasGelu(approximate, bias).eval()
    x = torch.randn(3, 16)
    path = tmp_path / "m.onnx"
    if exporter == "dynamo":
        torch.onnx.export(model, (x,), dynamo=True, opset_version=18).save(str(path))
    else:
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17)
    proto = onnx.load(str(path))
    result = RewriteOnnx(["FusedBiasGelu"])(proto)
    plugin = [n for n in proto.graph.node if n.op_type == "FusedBiasGelu"]
    assert len(plugin) == 1, [n.op_type for n in proto.graph.node]
    assert len(plugin[0].input) == (2 if bias else 1)
    approx = {a.name: a for a in plugin[0].attribute}["approximate"].s.decode()
    assert approx == approximate
    assert not {"Erf", "Tanh"} & {n.op_type for n in proto.graph.node}, result
    (y,) = onnx_cpu.run(proto, [SPEC], {proto.graph.input[0].name: x.numpy()})
    np.testing.assert_allclose(y, model(x).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("d", [1, 7, 64, 4096])
def test_cuda_kernel_with_and_without_bias(dtype, approximate, d):
    binding = op_binding(SPEC)
    if not hasattr(binding, "cuda") or not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU and trt_pdk built with CUDA")
    from trt_pdk.torch_ops import run_native_cuda

    x = torch.randn(513, d, dtype=TORCH[dtype], device="cuda")
    b = torch.randn(d, dtype=TORCH[dtype], device="cuda")
    attrs = {"approximate": approximate}
    (y,) = run_native_cuda(SPEC, binding, [x, b], attrs)
    torch.testing.assert_close(y, SPEC.reference(x, b, **attrs), rtol=TOL[dtype], atol=TOL[dtype])
    (y1,) = run_native_cuda(SPEC, binding, [x[:, 1:] if d > 1 else x], attrs)  # unaligned, no bias
    torch.testing.assert_close(
        y1, SPEC.reference(x[:, 1:] if d > 1 else x, **attrs), rtol=TOL[dtype], atol=TOL[dtype]
    )


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=96), base=st.sampled_from([{}, {"approximate": "tanh"}]))
def test_quick_fuzz_of_the_attribute_decoder(data, base):
    binding = op_binding(SPEC)
    valid = binding.serialize(base)
    for candidate in (data, valid[: len(data) % (len(valid) + 1)] + data, valid[:-2] + data[:2]):
        try:
            attrs = binding.deserialize(candidate)
        except ValueError:
            continue
        assert binding.serialize(attrs) == candidate


def test_the_kits_torch_op_exports_to_one_plugin_node_and_runs_on_cpu():
    from trt_pdk import onnx_cpu, onnx_export, torch_ops

    op = torch_ops.register(SPEC)

    class M(torch.nn.Module):
        def forward(self, x, b):
            return op(x * 2, b, approximate="tanh")

    x, b = torch.randn(4, 8), torch.randn(8)
    proto = onnx_export.export(M(), (x, b), specs=[SPEC]).model_proto
    assert [n.op_type for n in proto.graph.node].count("FusedBiasGelu") == 1
    feeds = {proto.graph.input[0].name: x.numpy(), proto.graph.input[1].name: b.numpy()}
    (y,) = onnx_cpu.run(proto, [SPEC], feeds)
    np.testing.assert_allclose(y, M()(x, b).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("call", ["omitted", "none"])
def test_the_kits_torch_op_without_bias_exports_to_a_one_input_node(call):
    from trt_pdk import onnx_cpu, onnx_export, torch_ops

    op = torch_ops.register(SPEC)

    class M(torch.nn.Module):
        def forward(self, x):
            if call == "none":
                return op(x * 2, None, approximate="tanh")
            return op(x * 2, approximate="tanh")

    x = torch.randn(4, 8)
    expected = torch.nn.functional.gelu(x * 2, approximate="tanh")
    torch.testing.assert_close(M()(x), expected)
    proto = onnx_export.export(M(), (x,), specs=[SPEC]).model_proto
    (node,) = [n for n in proto.graph.node if n.op_type == "FusedBiasGelu"]
    assert len([i for i in node.input if i]) == 1
    (y,) = onnx_cpu.run(proto, [SPEC], {proto.graph.input[0].name: x.numpy()})
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-5, atol=1e-5)
