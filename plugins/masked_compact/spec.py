"""MaskedCompact: the rows of x where mask is true, ``x[mask]``, and their number K.

A data-dependent output shape: ``y`` is ``[K, ...]`` and ``count`` (0-D int64) is a
TensorRT size tensor. Only an IPluginV3 can declare that, so the spec has version "2"
only: IPluginV2DynamicExt has no size tensors and its output dimensions must follow
from input dimensions, so no V2 version exists and no V2 creator is registered.

Installed as ``trt_pdk.plugins.masked_compact.spec``; entry point
``masked_compact = "trt_pdk.plugins.masked_compact.spec:SPEC"``.
"""

from __future__ import annotations

from trt_pdk.plugins.masked_compact.onnx_function import onnx_function
from trt_pdk.spec import Case, PluginSpec, ShapeRange, Tensor, Tolerance, TorchOp, dyn

VALUES = ("float32", "float16", "bfloat16", "int32", "int64")
SHORT = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "int32": "i32", "int64": "i64"}
NO_V2_REASON = (
    "IPluginV2DynamicExt cannot express a data-dependent output shape (no size tensors), "
    "so MaskedCompact exists only as IPluginV3 (version 2)"
)


def reference(x, mask):
    """The PyTorch reference: ``x[mask]`` and ``K`` as a 0-D int64 tensor."""
    import torch

    y = x[mask]
    return y, torch.tensor(y.shape[0], dtype=torch.int64)


def fake(x, mask):
    """Shapes only (torch.compile/export): K is a new unbacked symbol
    (``ctx.new_dynamic_size()``, 0 <= K <= N); count is 0-D int64."""
    import torch

    k = torch.library.get_ctx().new_dynamic_size()
    torch._check(k <= x.shape[0])
    return x.new_empty((k, *x.shape[1:])), torch.empty((), dtype=torch.int64, device=x.device)


def _cases() -> list[Case]:
    cases: list[Case] = []
    for dtype in VALUES:
        cases.append(
            Case(
                f"2d_d16_rows0to300_{SHORT[dtype]}",
                (dyn((0, 16), (300, 16), opt=(64, 16)), dyn((0,), (300,), opt=(64,))),
                (dtype, "bool"),
            )
        )
    cases.append(Case("1d_rows1_fp32", ((1,), (1,)), ("float32", "bool")))
    cases.append(
        Case("3d_rows0to9_d3x5_fp16", (dyn((0, 3, 5), (9, 3, 5)), dyn((0,), (9,))), ("float16", "bool"))
    )
    cases.append(Case("2d_d1_rows513_i32", ((513, 1), (513,)), ("int32", "bool"), seed=3))
    cases.append(Case("2d_d0_rows4_fp32", ((4, 0), (4,)), ("float32", "bool")))
    cases.append(Case("2d_d4096_rows8_bf16", (ShapeRange.static((8, 4096)), (8,)), ("bfloat16", "bool")))
    return cases


SPEC = PluginSpec(
    name="MaskedCompact",
    namespace="trt_pdk",
    versions=("2",),
    attrs=(),
    inputs=(
        Tensor("x", VALUES, doc="[N, ...], rank >= 1"),
        Tensor("mask", ("bool",), doc="[N]; rows where it is true are kept"),
    ),
    outputs=(
        Tensor("y", VALUES, doc="[K, ...], the kept rows in order, the dtype of x"),
        Tensor("count", ("int64",), doc="0-D int64 = K (a TensorRT size tensor)"),
    ),
    reference=reference,
    torch_op=TorchOp("masked_compact", fake=fake),
    cases=tuple(_cases()),
    tolerances={d: Tolerance(atol=0.0, rtol=0.0) for d in VALUES},
    onnx_function=onnx_function,
    doc="Rows of x where mask is true, plus their count K (data-dependent shape; IPluginV3 only).",
)
