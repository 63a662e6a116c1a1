"""The torch.library op of each plugin: schema, eager numbers, fake implementation."""

from __future__ import annotations

import pytest
import torch

from trt_pdk import torch_ops
from trt_pdk.registry import discover, get_spec


def test_schema_is_generated_from_the_spec():
    assert (
        torch_ops.schema(get_spec("RMSNorm"))
        == "rms_norm(Tensor x, Tensor weight, float eps=1e-06) -> Tensor"
    )


def test_every_plugin_registers_its_op():
    ops = torch_ops.register_all(list(discover().values()))
    assert ops["RMSNorm"] is torch.ops.trt_pdk.rms_norm
    assert torch_ops.op("RMSNorm") is torch.ops.trt_pdk.rms_norm


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_eager_cpu_matches_float64_formula(dtype):
    op = torch_ops.op("RMSNorm")
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 6, 32, generator=g).to(dtype)
    w = torch.randn(32, generator=g).to(dtype)
    y = op(x, w, eps=1e-3)
    x64, w64 = x.double(), w.double()
    expected = x64 / torch.sqrt(x64.pow(2).mean(-1, keepdim=True) + 1e-3) * w64
    assert y.dtype == dtype and y.shape == x.shape
    tol = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(y.double(), expected, rtol=tol, atol=tol)


def test_default_eps_is_the_spec_default():
    op = torch_ops.op("RMSNorm")
    x = torch.full((1, 4), 1e-3)
    w = torch.ones(4)
    expected = 1e-3 / (1e-6 + 1e-6) ** 0.5
    torch.testing.assert_close(op(x, w), torch.full((1, 4), expected), rtol=1e-5, atol=0)


def test_fake_implementation_traces_dynamic_shapes():
    torch_ops.op("RMSNorm")

    class M(torch.nn.Module):
        def forward(self, x, w):
            return torch.ops.trt_pdk.rms_norm(x, w, eps=1e-4)

    x, w = torch.randn(3, 8, dtype=torch.float16), torch.randn(8, dtype=torch.float16)
    ep = torch.export.export(M(), (x, w), dynamic_shapes=({0: torch.export.Dim("rows")}, None))
    (out,) = next(n for n in ep.graph.nodes if n.op == "output").args[0]
    meta = out.meta["val"]
    assert meta.dtype == torch.float16
    assert isinstance(meta.shape[0], torch.SymInt)
    assert meta.shape[1] == 8
    torch.testing.assert_close(ep.module()(x, w), M()(x, w))
