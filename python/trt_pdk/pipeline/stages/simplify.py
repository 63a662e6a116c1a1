"""simplify: constant folding and dead-code removal (onnxslim); plugin nodes untouched."""

from __future__ import annotations

from dataclasses import dataclass

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.export import ExportResult


@dataclass
class SimplifyOptions:
    shape_inference: bool = option(True, help="run onnxslim's shape inference between passes")


@dataclass(kw_only=True)
class SimplifyResult(StageResult):
    model: str
    nodes_before: int
    nodes_after: int
    bytes_before: int
    bytes_after: int
    ops_removed: dict[str, int]
    ops_added: dict[str, int]
    tool: str


def run(ctx: StageContext, options: SimplifyOptions, *, export: ExportResult) -> SimplifyResult:
    from trt_pdk.onnx_stages import SimplifyOnnx

    out = ctx.root / "simplify" / "model.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = SimplifyOnnx(options.shape_inference).run(ctx.file(export.model), out)
    return SimplifyResult.from_json({"model": ctx.rel(out), **result.as_dict()})
