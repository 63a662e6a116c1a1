"""FusedBiasGelu: ``y = gelu(x + bias)`` (approximate none/tanh) in one pass; bias optional.

The ONNX rewrite replaces the decomposed forms dynamo and the legacy exporter emit for
both approximations, with the bias Add (two-input plugin node) and without it (one input:
``y = gelu(x)``). Patterns are data (``replaces``) for the rewrite engine.

Installed as ``trt_pdk.plugins.fused_bias_gelu.spec``; entry point
``fused_bias_gelu = "trt_pdk.plugins.fused_bias_gelu.spec:SPEC"``.
"""

from __future__ import annotations

from trt_pdk.plugins.fused_bias_gelu.onnx_function import onnx_function
from trt_pdk.plugins.fused_bias_gelu.patterns import patterns
from trt_pdk.spec import Attr, Case, PluginSpec, ShapeRange, Tensor, Tolerance, TorchOp, dyn

FLOATS = ("float32", "float16", "bfloat16")
SHORT = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}


def reference(x, bias=None, *, approximate: str = "none"):
    """The PyTorch reference: the unfused ``gelu(x + bias)`` in the dtype of x."""
    import torch

    h = x if bias is None else x + bias
    return torch.nn.functional.gelu(h, approximate=approximate)


def fake(x, bias=None, *, approximate: str = "none"):
    """Shapes only (torch.compile/export): y has the shape and dtype of x."""
    return x.new_empty(x.shape)


def _cases() -> list[Case]:
    cases: list[Case] = []
    for dtype in FLOATS:
        for approximate in ("none", "tanh"):
            name = f"{SHORT[dtype]}_{approximate}"

            def add(label: str, x: ShapeRange, d: str = dtype, a: str = approximate, n: str = name) -> None:
                cases.append(
                    Case(f"{label}_{n}", (x, ShapeRange.static((x.max[-1],))), (d, d), {"approximate": a})
                )

            add("2d_d64_rows0to16", dyn((0, 64), (16, 64), opt=(4, 64)))
            add("3d_d1024", dyn((1, 1, 1024), (2, 3, 1024)))
            # Without the optional bias: one input, y = gelu(x).
            cases.append(
                Case(
                    f"nobias_2d_d7_rows0to5_{name}",
                    (dyn((0, 7), (5, 7)),),
                    (dtype,),
                    {"approximate": approximate},
                )
            )
            cases.append(
                Case(
                    f"nobias_3d_d1024_{name}",
                    (dyn((1, 1, 1024), (2, 3, 1024)),),
                    (dtype,),
                    {"approximate": approximate},
                )
            )
        cases.append(Case(f"1d_d7_{SHORT[dtype]}", ((7,), (7,)), (dtype, dtype), {"approximate": "none"}))
    cases.append(Case("2d_d1_rows0to5_fp32", (dyn((0, 1), (5, 1)), (1,)), ("float32", "float32")))
    cases.append(
        Case(
            "3d_d3_odd_fp16_tanh",
            (dyn((1, 1, 3), (3, 5, 3)), (3,)),
            ("float16", "float16"),
            {"approximate": "tanh"},
        )
    )
    cases.append(Case("2d_d0_fp32", (dyn((0, 0), (4, 0)), (0,)), ("float32", "float32")))
    cases.append(Case("nobias_1d_d0to1_fp32", (dyn((0,), (1,)),), ("float32",)))
    return cases


SPEC = PluginSpec(
    name="FusedBiasGelu",
    namespace="trt_pdk",
    versions=("1", "2"),
    attrs=(
        Attr(
            "approximate",
            "string",
            "none",
            choices=("none", "tanh"),
            doc="GELU formula: none = exact (erf), tanh = tanh approximation",
        ),
    ),
    inputs=(
        Tensor("x", FLOATS, doc="[..., D]"),
        Tensor("bias", FLOATS, doc="[D], the dtype of x; optional (absent: y = gelu(x))", optional=True),
    ),
    outputs=(Tensor("y", FLOATS, doc="the shape and dtype of x"),),
    reference=reference,
    torch_op=TorchOp("fused_bias_gelu", fake=fake),
    cases=tuple(_cases()),
    tolerances={
        "float32": Tolerance(atol=1e-5, rtol=1e-5),
        "float16": Tolerance(atol=1e-3, rtol=1e-3),
        "bfloat16": Tolerance(atol=1e-2, rtol=1e-2),
    },
    replaces=(patterns,),
    onnx_function=onnx_function,
    doc="GELU of x plus a bias in one pass (bias optional), exact or tanh-approximated.",
)
