"""check: onnx.checker, shape inference and TensorRT op coverage of both exports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.export import ExportResult


@dataclass
class CheckOptions:
    trt: str | None = option(
        None,
        help="TensorRT version whose ONNX parser coverage is checked, e.g. 10.16 or 11.1 "
        "(default: installed, else newest in the table)",
    )


@dataclass(kw_only=True)
class CheckResult(StageResult):
    """Attributes:
    trt: the TensorRT version checked against (the rewrite stage checks its output the same way).
    model / plain: the summaries of the kit's and the plain export (:func:`summary`).
    """

    trt: str | None
    model: dict[str, Any]
    plain: dict[str, Any]


def summary(trt: str | None, path: Path) -> dict[str, Any]:
    """The check of one model as plain data."""
    from trt_pdk.onnx_stages import CheckOnnx

    report = CheckOnnx(trt=trt)(path)
    d = report.as_dict()
    return {
        "ok": report.ok,
        "trt": report.trt,
        "table_certain": report.table_certain,
        "unsupported": [{"op_type": u["op_type"], "count": u["count"]} for u in d["unsupported"]],
        "missing_plugins": d["missing_plugins"],
        "plugins": {f"{p['domain']}::{p['op_type']}": p["count"] for p in d["plugins"]},
        "checker_error": d["checker_error"],
        "shape_inference_error": d["shape_inference_error"],
        "text": report.text(),
    }


def run(ctx: StageContext, options: CheckOptions, *, export: ExportResult) -> CheckResult:
    model = summary(options.trt, ctx.file(export.model))
    plain = summary(options.trt, ctx.file(export.plain))
    out = ctx.root / "check"
    out.mkdir(parents=True, exist_ok=True)
    (out / "check.txt").write_text(model["text"] + "\n\n" + plain["text"] + "\n")
    result = CheckResult(trt=options.trt, model=model, plain=plain)
    if model["checker_error"] or model["shape_inference_error"]:
        result.status = "failed"
        result.reason = model["checker_error"] or model["shape_inference_error"]
    return result
