"""RMSNorm's own checks, beyond the generic harness: fp32 accumulation, the formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec
from trt_pdk.testing.harness import from_numpy, to_numpy

SPEC = get_spec("RMSNorm")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_squares_that_overflow_fp16_are_accumulated_in_fp32(dtype):
    # 300^2 = 90000 > 65504: accumulating in the input dtype would give inf and y = 0.
    torch_dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    x = torch.full((2, 4096), 300.0, dtype=torch_dtype)
    x[1] = -300.0
    w = torch.linspace(0.5, 2.0, 4096).to(torch_dtype)
    expected = (torch.sign(x.float()) * w.float()).to(torch_dtype)
    binding = op_binding(SPEC)
    (cpu,) = binding.cpu({"eps": 1e-6}, [to_numpy(x), to_numpy(w)], [dtype, dtype])
    cpu = from_numpy(cpu, dtype)
    ref = SPEC.reference(x, w, eps=1e-6)
    for y in (cpu, ref):
        assert torch.isfinite(y.float()).all()
        torch.testing.assert_close(y.float(), expected.float(), rtol=1e-2, atol=1e-2)


def test_cpu_reference_matches_float64_numpy_formula():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 3, 7)).astype(np.float32)
    w = rng.standard_normal(7).astype(np.float32)
    for eps in (1e-12, 1e-6, 0.1, 1.0):
        (y,) = op_binding(SPEC).cpu({"eps": eps}, [x, w], ["float32", "float32"])
        x64 = x.astype(np.float64)
        expected = x64 / np.sqrt((x64**2).mean(-1, keepdims=True) + np.float32(eps)) * w
        np.testing.assert_allclose(y, expected, rtol=2e-6, atol=1e-6)


def test_zero_input_gives_zero_not_nan():
    x = np.zeros((3, 64), np.float32)
    (y,) = op_binding(SPEC).cpu({"eps": 1e-6}, [x, np.ones(64, np.float32)], ["float32", "float32"])
    assert np.all(y == 0)


def test_weight_of_wrong_length_is_rejected_clearly():
    binding = op_binding(SPEC)
    with pytest.raises(ValueError, match="weight has 5 elements but the last axis of x has 4"):
        binding.cpu({}, [np.ones((2, 4), np.float32), np.ones(5, np.float32)], ["float32", "float32"])
    with pytest.raises(ValueError, match="weight must have the dtype of x"):
        binding.check_inputs({}, [[2, 4], [4]], ["float32", "float16"])
