"""RMSNorm: ``y = x / sqrt(mean(x^2, last axis) + eps) * weight``, accumulated in fp32.

Installed as ``trt_pdk.plugins.rms_norm.spec``; registered through the ``trt_pdk.plugins``
entry point ``rms_norm = "trt_pdk.plugins.rms_norm.spec:SPEC"``.
"""

from __future__ import annotations

from trt_pdk.plugins.rms_norm.onnx_function import onnx_function
from trt_pdk.plugins.rms_norm.patterns import rms_norm_patterns
from trt_pdk.spec import Attr, Case, PluginSpec, ShapeRange, Tensor, Tolerance, TorchOp, dyn

FLOATS = ("float32", "float16", "bfloat16")
SHORT = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}


def reference(x, weight, *, eps: float = 1e-6):
    """The PyTorch reference: computes in fp32, returns the dtype of `x`."""
    import torch

    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.float()
    return y.to(x.dtype)


def fake(x, weight, *, eps: float = 1e-6):
    """Shapes only (torch.compile/export): y has the shape and dtype of x."""
    return x.new_empty(x.shape)


def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, x: ShapeRange, dtype: str, **attrs: float) -> None:
        d = x.max[-1]
        cases.append(Case(f"{name}_{SHORT[dtype]}", (x, ShapeRange.static((d,))), (dtype, dtype), attrs))

    for dtype in FLOATS:
        add("1d_d7", ShapeRange.static((7,)), dtype)
        add("2d_d64_rows0to16", dyn((0, 64), (16, 64), opt=(4, 64)), dtype)
        add("3d_d1024_rows1x0to3", dyn((1, 0, 1024), (4, 3, 1024), opt=(2, 2, 1024)), dtype)
        add("4d_d4096", dyn((1, 1, 1, 4096), (2, 3, 2, 4096), opt=(1, 2, 2, 4096)), dtype)
    add("2d_d1_rows0to4", dyn((0, 1), (4, 1)), "float32")
    add("2d_d1_rows1", ShapeRange.static((1, 1)), "float16")
    add("3d_d7_eps1e-2", dyn((1, 1, 7), (3, 5, 7)), "float32", eps=1e-2)
    add("2d_d64_eps1", dyn((1, 64), (8, 64)), "float32", eps=1.0)
    add("2d_d64_eps1e-5", dyn((1, 64), (8, 64)), "float16", eps=1e-5)
    add("2d_d1024_eps1e-12", dyn((0, 1024), (2, 1024)), "bfloat16", eps=1e-12)
    return cases


SPEC = PluginSpec(
    name="RMSNorm",
    namespace="trt_pdk",
    versions=("1", "2"),
    attrs=(
        Attr(
            "eps",
            "float32",
            1e-6,
            low=0.0,
            high=1.0,
            low_open=True,
            doc="added to the mean square before the root",
        ),
    ),
    inputs=(
        Tensor("x", FLOATS, doc="[..., D], normalized over the last axis"),
        Tensor("weight", FLOATS, doc="[D], the dtype of x"),
    ),
    outputs=(Tensor("y", FLOATS, doc="the shape and dtype of x"),),
    reference=reference,
    torch_op=TorchOp("rms_norm", fake=fake),
    cases=tuple(_cases()),
    tolerances={
        "float32": Tolerance(atol=1e-5, rtol=1e-5),
        "float16": Tolerance(atol=1e-3, rtol=1e-3),
        "bfloat16": Tolerance(atol=1e-2, rtol=1e-2),
    },
    replaces=(rms_norm_patterns,),
    onnx_function=onnx_function,
    doc="Root-mean-square normalization over the last axis with a learned scale.",
)
