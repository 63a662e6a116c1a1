"""MaskedCompact's own checks: x[mask] and K against torch, the mask-length check, no
V2 version anywhere, export of the kit's torch op (data-dependent shape) to one node that
runs on CPU, the CUDA kernel, and a quick decoder fuzz."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec
from trt_pdk.testing.harness import from_numpy, to_numpy

# torch.export inside torch 2.13 still uses the deprecated LeafSpec check.
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

SPEC = get_spec("MaskedCompact")


@pytest.mark.parametrize("rows", [0, 1, 255, 256, 257, 1000])
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64"])
def test_cpu_matches_boolean_indexing(rows, density, dtype):
    g = torch.Generator().manual_seed(rows)
    x = torch.randn(rows, 3, 5, generator=g).to(
        {"float32": torch.float32, "bfloat16": torch.bfloat16, "int64": torch.int64}[dtype]
    )
    mask = torch.rand(rows, generator=g) < density
    y, count = op_binding(SPEC).cpu({}, [to_numpy(x), to_numpy(mask)], [dtype, "bool"])
    assert count.shape == () and count.dtype == np.int64 and int(count) == int(mask.sum())
    torch.testing.assert_close(from_numpy(y, dtype), x[mask], rtol=0, atol=0)


def test_shape_rule_marks_the_data_dependent_dim():
    assert op_binding(SPEC).output_shapes({}, [[300, 16], [300]]) == [[-1, 16], []]


def test_mask_of_the_wrong_length_is_rejected_clearly():
    binding = op_binding(SPEC)
    with pytest.raises(ValueError, match="mask has 4 elements but x has 5 rows"):
        binding.cpu({}, [np.zeros((5, 2), np.float32), np.ones(4, bool)], ["float32", "bool"])
    with pytest.raises(ValueError, match="mask must be 1-D"):
        binding.check_inputs({}, [[5, 2], [5, 1]], ["float32", "bool"])


def test_there_is_no_v2_version_and_the_spec_says_why():
    import sys

    from trt_pdk.native import library_info, plugin_libraries

    assert SPEC.versions == ("2",) and SPEC.interfaces == ("IPluginV3",)
    assert not op_binding(SPEC).has_v2 and op_binding(SPEC).num_size_tensor_outputs == 1
    assert "IPluginV2DynamicExt cannot" in sys.modules[SPEC.reference.__module__].NO_V2_REASON
    for path in plugin_libraries().values():
        (entry,) = [p for p in library_info(path)["plugins"] if p["name"] == "MaskedCompact"]
        assert entry["interfaces"] == ["IPluginV3"] and entry["versions"] == ["2"]


def test_the_kits_torch_op_exports_to_one_node_with_a_data_dependent_shape():
    from trt_pdk import onnx_cpu, onnx_export, torch_ops

    op = torch_ops.register(SPEC)

    class M(torch.nn.Module):
        def forward(self, x, scores):
            y, k = op(x * 2, scores > 0)
            return y + 1, k

    x, scores = torch.randn(10, 4), torch.randn(10)
    program = onnx_export.export(M(), (x, scores), specs=[SPEC])
    proto = program.model_proto
    nodes = [n for n in proto.graph.node if n.op_type == "MaskedCompact"]
    assert len(nodes) == 1 and len(nodes[0].output) == 2
    feeds = {proto.graph.input[0].name: x.numpy(), proto.graph.input[1].name: scores.numpy()}
    y, k = onnx_cpu.run(proto, [SPEC], feeds)
    expected_y, expected_k = M()(x, scores)
    np.testing.assert_array_equal(y, expected_y.numpy())
    assert int(k) == int(expected_k)


@pytest.mark.cuda
@pytest.mark.parametrize("shape", [(0, 4), (1, 1), (1000, 1), (5000, 3), (70000, 64), (300, 4097)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64])
def test_cuda_kernel_matches_boolean_indexing(shape, dtype):
    binding = op_binding(SPEC)
    if not hasattr(binding, "cuda") or not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU and trt_pdk built with CUDA")
    from trt_pdk.torch_ops import TORCH_DTYPES, dtype_name

    x = torch.randn(shape).to(dtype).cuda()
    mask = (torch.rand(shape[0]) < 0.37).cuda()
    n = shape[0]
    y = torch.empty_like(x)  # upper bound: N rows
    count = torch.empty((), dtype=torch.int64, device="cuda")
    ws = int(binding.workspace_size({}, [list(shape), [n]], [dtype_name(dtype), "bool"]))
    workspace = torch.empty(max(ws, 1), dtype=torch.uint8, device="cuda")
    binding.cuda(
        {},
        [x.data_ptr(), mask.data_ptr()],
        [list(shape), [n]],
        [dtype_name(dtype), "bool"],
        [y.data_ptr(), count.data_ptr()],
        [list(shape), []],
        workspace.data_ptr(),
        torch.cuda.current_stream().cuda_stream,
    )
    torch.cuda.synchronize()
    k = int(count)
    assert TORCH_DTYPES[dtype_name(dtype)] == dtype and k == int(mask.sum())
    torch.testing.assert_close(y[:k], x[mask], rtol=0, atol=0)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=64))
def test_quick_fuzz_of_the_attribute_decoder(data):
    binding = op_binding(SPEC)
    valid = binding.serialize({})
    for candidate in (data, valid + data[:1], valid[: len(data) % (len(valid) + 1)]):
        try:
            attrs = binding.deserialize(candidate)
        except ValueError:
            continue
        assert attrs == {} and candidate == valid
