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


# ---- torch.compile and torch.export of every op, through its shapes-only fake -----------

# One model input set per op, the dims that vary, and two sizes for them (the second after
# compiling or exporting with the first). Rows vary; feature sizes stay (the ops need them).
DYNAMIC = {
    "RMSNorm": (lambda n: (torch.randn(n, 3, 16), torch.randn(16)), {0: "rows"}, (None,)),
    "FusedBiasGelu": (lambda n: (torch.randn(n, 8), torch.randn(8)), {0: "rows"}, (None,)),
    "Bucketize": (lambda n: (torch.randn(n, 5), torch.linspace(-2, 2, 9)), {0: "rows"}, (None,)),
    "MaskedCompact": (
        lambda n: (torch.randn(n, 4), torch.arange(n) % 3 == 0),
        {0: "rows"},
        ({0: "rows"},),
    ),
}


def _module(spec):
    op = torch_ops.register(spec)

    class Model(torch.nn.Module):  # every op here takes two tensors
        def forward(self, a, b):
            return op(a, b)

    return Model()


def _dynamic_shapes(name):
    _, first, rest = DYNAMIC[name]
    dims = {}

    def resolve(axes):
        if axes is None:
            return None
        return {axis: dims.setdefault(label, torch.export.Dim(label)) for axis, label in axes.items()}

    return (resolve(first), *(resolve(a) for a in rest))


def _outputs(y):
    return list(y) if isinstance(y, tuple | list) else [y]


@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_export_traces_the_op_through_its_fake_only(name, monkeypatch):
    spec = get_spec(name)
    model, make = _module(spec), DYNAMIC[name][0]

    def no_reference(*args, **kwargs):
        raise AssertionError("the fake ran the reference")

    with monkeypatch.context() as patch:  # export runs the fake only, never the CPU kernel
        patch.setattr(torch_ops, "run_reference", no_reference)
        program = torch.export.export(model, make(6), dynamic_shapes=_dynamic_shapes(name))
    (node,) = [
        n for n in program.graph.nodes if n.op == "call_function" and spec.torch_op.name in str(n.target)
    ]
    rows = node.meta["val"][0].shape[0] if len(spec.outputs) > 1 else node.meta["val"].shape[0]
    assert isinstance(rows, torch.SymInt), "the row count must stay symbolic"
    for n in (6, 11):
        xs = make(n)
        for got, expected in zip(_outputs(program.module()(*xs)), _outputs(model(*xs)), strict=True):
            torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_compile_fullgraph_runs_the_op(name):
    spec = get_spec(name)
    model, make = _module(spec), DYNAMIC[name][0]
    torch._dynamo.reset()
    # fullgraph: a graph break is an error. aot_eager traces through the fakes as inductor
    # does, without inductor's C++ compile (a minute here); the data-dependent size of
    # MaskedCompact needs no capture_dynamic_output_shape_ops for a custom op.
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager", dynamic=True)
    for n in (6, 11):
        xs = make(n)
        for got, expected in zip(_outputs(compiled(*xs)), _outputs(model(*xs)), strict=True):
            torch.testing.assert_close(got, expected)


def test_an_op_without_fake_registers_and_says_what_to_write_when_traced():
    import dataclasses

    from trt_pdk.errors import UserError
    from trt_pdk.spec import TorchOp

    spec = dataclasses.replace(get_spec("RMSNorm"), torch_op=TorchOp("rms_norm_without_fake"))
    op = torch_ops.register(spec)
    x, w = torch.randn(2, 4), torch.randn(4)
    torch.testing.assert_close(op(x, w), spec.reference(x, w))  # eager runs the reference

    class Model(torch.nn.Module):
        def forward(self, a, b):
            return op(a, b)

    with pytest.raises(UserError, match=r"has no `fake`.*new_empty"):
        torch.export.export(Model(), (x, w))
