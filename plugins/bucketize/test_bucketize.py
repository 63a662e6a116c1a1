"""Bucketize's own checks: sorted boundaries of many lengths against torch.bucketize,
NaN/inf/ties, the sortedness check, export of plain ``torch.bucketize`` to one node, the
CUDA kernel (shared-memory and global paths), and a quick attribute-decoder fuzz."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec
from trt_pdk.testing.harness import to_numpy

# torch.export inside torch 2.13 still uses the deprecated LeafSpec check.
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

SPEC = get_spec("Bucketize")
MODULE = sys.modules[SPEC.reference.__module__]
TORCH = {"float32": torch.float32, "float16": torch.float16, "int32": torch.int32}


def _data(dtype: str, n: int, nb: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if dtype == "int32":
        x = torch.randint(-50, 50, (n,), generator=g, dtype=torch.int32)
        b = torch.randint(-40, 40, (nb,), generator=g, dtype=torch.int32).sort().values
    else:
        x = (torch.randn(n, generator=g) * 3).to(TORCH[dtype])
        b = (torch.randn(nb, generator=g) * 3).round(decimals=1).to(TORCH[dtype]).sort().values
        x[: min(n, nb)] = b[: min(n, nb)]  # exact ties exercise `right`
    return x, b


def _cpu(x: torch.Tensor, b: torch.Tensor, dtype: str, **attrs) -> np.ndarray:
    (y,) = op_binding(SPEC).cpu(SPEC.resolve_attrs(attrs), [to_numpy(x), to_numpy(b)], [dtype, dtype])
    return y


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
@pytest.mark.parametrize("nb", [0, 1, 2, 7, 64, 1000, 13000])
@pytest.mark.parametrize("right", [0, 1])
def test_cpu_matches_torch_bucketize_on_sorted_boundaries(dtype, nb, right):
    x, b = _data(dtype, 777, nb, seed=nb + right)
    for out_dtype in ("int64", "int32"):
        y = _cpu(x, b, dtype, right=right, out_dtype=out_dtype)
        expected = torch.bucketize(x, b, right=bool(right), out_int32=out_dtype == "int32")
        assert y.dtype == np.dtype(out_dtype)
        np.testing.assert_array_equal(y, expected.numpy())


def test_nan_and_inf_land_where_torch_puts_them():
    b = torch.tensor([-1.0, 0.0, 0.0, 2.0])
    x = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 2.0])
    for right in (0, 1):
        np.testing.assert_array_equal(
            _cpu(x, b, "float32", right=right), torch.bucketize(x, b, right=bool(right)).numpy()
        )


def test_generic_input_generator_gives_sorted_boundaries():
    g = torch.Generator().manual_seed(0)
    for dtype in ("float32", "float16", "int32"):
        b = MODULE.sorted_boundaries((50,), dtype, g)
        assert b.dtype == TORCH[dtype] and bool((b[1:] >= b[:-1]).all())


def test_unsorted_boundaries_are_rejected_with_the_index():
    x = torch.zeros(3)
    with pytest.raises(ValueError, match=r"must be sorted.*boundaries\[2\] < boundaries\[1\]"):
        _cpu(x, torch.tensor([0.0, 2.0, 1.0]), "float32")


@pytest.mark.parametrize(
    ("attrs", "field"), [({"right": 3}, "'right'"), ({"out_dtype": "float32"}, "'out_dtype'")]
)
def test_bad_attributes_name_the_field(attrs, field):
    with pytest.raises(ValueError, match=field):
        op_binding(SPEC).validate(attrs)


def test_boundaries_must_be_1d_and_of_the_dtype_of_x():
    binding = op_binding(SPEC)
    with pytest.raises(ValueError, match="boundaries must be 1-D"):
        binding.check_inputs({}, [[4], [2, 2]], ["float32", "float32"])
    with pytest.raises(ValueError, match="dtype of x"):
        binding.check_inputs({}, [[4], [2]], ["float32", "float16"])


class _PlainBucketize(torch.nn.Module):
    def __init__(self, right: bool, out_int32: bool) -> None:
        super().__init__()
        self.right, self.out_int32 = right, out_int32
        self.register_buffer("boundaries", torch.tensor([-1.0, 0.0, 0.5, 2.0]))

    def forward(self, x):
        return torch.bucketize(x * 2, self.boundaries, right=self.right, out_int32=self.out_int32) + 1


@pytest.mark.parametrize(("right", "out_int32"), [(False, False), (True, True)])
def test_plain_torch_bucketize_exports_to_one_plugin_node_and_runs_on_cpu(right, out_int32):
    from trt_pdk import onnx_cpu, onnx_export

    model = _PlainBucketize(right, out_int32).eval()
    x = torch.randn(3, 5)
    proto = onnx_export.export(model, (x,), specs=[SPEC]).model_proto  # plain aten op, no kit op
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Bucketize") == 1 and "Loop" not in ops and len(ops) <= 4, ops
    node = next(n for n in proto.graph.node if n.op_type == "Bucketize")
    assert node.domain == "trt_pdk"
    attrs = {a.name: a for a in node.attribute}
    assert attrs["right"].i == int(right) and attrs["out_dtype"].s.decode() == (
        "int32" if out_int32 else "int64"
    )
    assert attrs["plugin_version"].s == b"2" and attrs["plugin_namespace"].s == b"trt_pdk"
    (y,) = onnx_cpu.run(proto, [SPEC], {proto.graph.input[0].name: x.numpy()})
    np.testing.assert_array_equal(y, model(x).numpy())


def test_the_kits_torch_op_exports_to_one_plugin_node():
    from trt_pdk import onnx_export, torch_ops

    op = torch_ops.register(SPEC)

    class M(torch.nn.Module):
        def forward(self, x, b):
            return op(x, b, right=1, out_dtype="int32")

    program = onnx_export.export(M(), (torch.randn(4, 3), torch.tensor([0.0, 1.0])), specs=[SPEC])
    assert [n.op_type for n in program.model_proto.graph.node] == ["Bucketize"]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
@pytest.mark.parametrize("nb", [0, 5, 1000, 20000])  # 20000 fp32 keys do not fit in 48 KiB: global path
def test_cuda_kernel_matches_torch(dtype, nb):
    binding = op_binding(SPEC)
    if not hasattr(binding, "cuda") or not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU and trt_pdk built with CUDA")
    from trt_pdk.torch_ops import run_native_cuda

    x, b = _data(dtype, 100_003, nb, seed=nb)
    for right in (0, 1):
        for out_dtype in ("int64", "int32"):
            attrs = SPEC.resolve_attrs({"right": right, "out_dtype": out_dtype})
            (y,) = run_native_cuda(SPEC, binding, [x.cuda(), b.cuda()], attrs)
            expected = torch.bucketize(x, b, right=bool(right), out_int32=out_dtype == "int32")
            torch.testing.assert_close(y.cpu(), expected, rtol=0, atol=0)


@pytest.mark.cuda
@pytest.mark.parametrize("nb", [10, 20000])
def test_cuda_kernel_marks_unsorted_boundaries_with_minus_one(nb):
    binding = op_binding(SPEC)
    if not hasattr(binding, "cuda") or not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU and trt_pdk built with CUDA")
    from trt_pdk.torch_ops import run_native_cuda

    b = torch.arange(nb, dtype=torch.float32)
    b[nb // 2] = -5.0
    (y,) = run_native_cuda(SPEC, binding, [torch.randn(5000).cuda(), b.cuda()], SPEC.resolve_attrs({}))
    assert bool((y == -1).all())


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=96), base=st.sampled_from([{}, {"right": 1}, {"right": 1, "out_dtype": "int32"}])
)
def test_quick_fuzz_of_the_attribute_decoder(data, base):
    binding = op_binding(SPEC)
    valid = binding.serialize(base)
    for candidate in (data, valid[: len(data) % (len(valid) + 1)] + data, valid[:-1] + data[:1]):
        try:
            attrs = binding.deserialize(candidate)
        except ValueError:
            continue
        assert binding.serialize(attrs) == candidate
