"""Bucketize: ``torch.bucketize(x, boundaries, right=..., out_int32=...)`` as one plugin node.

ONNX has no equivalent: dynamo decomposes ``torch.bucketize`` into an unrolled binary
search of ~90 standard nodes. :func:`aten_translations` gives the export translation of the aten
op itself (``aten::bucketize.Tensor``), so a model calling plain ``torch.bucketize``
exports to one ``Bucketize`` node, like a model calling ``torch.ops.trt_pdk.bucketize``.

Installed as ``trt_pdk.plugins.bucketize.spec``; entry point
``bucketize = "trt_pdk.plugins.bucketize.spec:SPEC"``.
"""

from __future__ import annotations

from typing import Any

from trt_pdk.plugins.bucketize.onnx_function import onnx_function
from trt_pdk.spec import Attr, Case, ExportedGraphs, PluginSpec, ShapeRange, Tensor, Tolerance, TorchOp, dyn

VALUES = ("float32", "float16", "int32")
INDICES = ("int64", "int32")
SHORT = {"float32": "fp32", "float16": "fp16", "int32": "i32"}


def reference(x, boundaries, *, right: int = 0, out_dtype: str = "int64"):
    """The PyTorch reference: ``torch.bucketize`` itself."""
    import torch

    return torch.bucketize(x, boundaries, right=bool(right), out_int32=out_dtype == "int32")


def fake(x, boundaries, *, right: int = 0, out_dtype: str = "int64"):
    """Shapes only (torch.compile/export): y has the shape of x, the dtype `out_dtype`."""
    from trt_pdk.torch_ops import TORCH_DTYPES

    return x.new_empty(x.shape, dtype=TORCH_DTYPES[out_dtype])


def sorted_boundaries(shape: tuple[int, ...], dtype: str, generator: Any) -> Any:
    """Input generator for `boundaries`: sorted, with repeated values (ties test `right`)."""
    import torch

    from trt_pdk.torch_ops import TORCH_DTYPES

    values = torch.randint(-6, 7, shape, generator=generator).float() / 2
    return values.sort().values.to(TORCH_DTYPES[dtype])


def aten_bucketize_translation(plugin_version: str) -> Any:
    """Translation of ``aten::bucketize.Tensor`` emitting a Bucketize node of `plugin_version`."""
    if plugin_version not in SPEC.versions:
        raise ValueError(f"Bucketize has plugin versions {list(SPEC.versions)}, not {plugin_version!r}")

    def aten_bucketize(self: Any, boundaries: Any, out_int32: bool = False, right: bool = False) -> Any:
        import onnxscript

        from trt_pdk.onnx_export import register_schema

        register_schema(SPEC)
        opset = onnxscript.values.Opset(SPEC.namespace, 1)
        return opset.Bucketize(
            self,
            boundaries,
            right=int(bool(right)),
            out_dtype="int32" if out_int32 else "int64",
            plugin_version=plugin_version,
            plugin_namespace=SPEC.namespace,
        )

    return aten_bucketize


def aten_translations(plugin_version: str = "2") -> dict[Any, Any]:
    """``{aten overload: translation}`` to merge into the export's ``custom_translation_table``;
    the node carries `plugin_version` (``"2"`` IPluginV3, ``"1"`` IPluginV2DynamicExt)."""
    import torch

    return {torch.ops.aten.bucketize.Tensor: aten_bucketize_translation(plugin_version)}


def _cases() -> list[Case]:
    # Boundaries come from `sorted_boundaries` (the `boundaries` input's generator).
    cases: list[Case] = []
    for dtype in VALUES:
        for right in (0, 1):
            for out in INDICES:
                name = f"{SHORT[dtype]}_right{right}_{out}"
                cases.append(
                    Case(
                        f"3d_b0to64_{name}",
                        (dyn((0, 1, 5), (4, 3, 5), opt=(2, 2, 5)), dyn((0,), (64,), opt=(16,))),
                        (dtype, dtype),
                        {"right": right, "out_dtype": out},
                    )
                )
        cases.append(
            Case(f"1d_b7_{SHORT[dtype]}", (dyn((0,), (9,)), ShapeRange.static((7,))), (dtype, dtype))
        )
        cases.append(Case(f"0d_b1_{SHORT[dtype]}", ((), (1,)), (dtype, dtype), {"right": 1}))
    cases.append(
        Case("2d_b1000_fp32", (dyn((1, 1), (64, 33)), ShapeRange.static((1000,))), ("float32", "float32"))
    )
    cases.append(
        Case(
            "2d_b13000_fp16",
            (ShapeRange.static((8, 129)), ShapeRange.static((13000,))),
            ("float16", "float16"),
        )
    )
    return cases


def report_note(graphs: ExportedGraphs) -> tuple[str, str] | None:
    """The pipeline report's note: what the plain export made of ``torch.bucketize``, and the kit."""
    plain = graphs.nodes_from_source(graphs.plain, "bucketize(")
    if not plain and not graphs.plugin_nodes:
        return None  # the model does not call it
    if graphs.plugin_nodes:
        after = f"torch.bucketize: {graphs.plugin_nodes} Bucketize plugin node" + "s" * (
            graphs.plugin_nodes > 1
        )
    else:
        after = f"torch.bucketize: {graphs.nodes_from_source(graphs.kit, 'bucketize(')} nodes"
    return (f"torch.bucketize unrolled into {plain} nodes", after)


SPEC = PluginSpec(
    name="Bucketize",
    namespace="trt_pdk",
    versions=("1", "2"),
    attrs=(
        Attr(
            "right",
            "int32",
            0,
            low=0,
            high=1,
            doc="0: boundaries[i-1] < x <= boundaries[i]; 1: boundaries[i-1] <= x < boundaries[i]",
        ),
        Attr(
            "out_dtype",
            "string",
            "int64",
            choices=("int64", "int32"),
            doc="dtype of the indices (torch's out_int32=True is int32)",
        ),
    ),
    inputs=(
        Tensor("x", VALUES, doc="any shape (0-D and empty included)"),
        Tensor(
            "boundaries",
            VALUES,
            doc="[B], sorted non-decreasing, the dtype of x",
            generator=sorted_boundaries,
        ),
    ),
    outputs=(Tensor("y", INDICES, doc="the shape of x; dtype from out_dtype"),),
    reference=reference,
    torch_op=TorchOp("bucketize", fake=fake),
    cases=tuple(_cases()),
    tolerances={"int64": Tolerance(atol=0.0, rtol=0.0), "int32": Tolerance(atol=0.0, rtol=0.0)},
    replaces=(),
    aten_translations=aten_translations,
    onnx_function=onnx_function,
    report_note=report_note,
    doc="Bucket index of each element of x in sorted 1-D boundaries, like torch.bucketize.",
)
