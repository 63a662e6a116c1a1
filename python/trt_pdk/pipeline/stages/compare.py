"""compare: the rewritten graph against the PyTorch model on CPU, at min/middle/max shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB
from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.export import ExportResult
from trt_pdk.pipeline.stages.rewrite import RewriteResult


def dims_from_cli(items: list[str]) -> dict[str, list[int]]:
    """``["batch=1:8", "seq=4"]`` -> ``{"batch": [1, 8], "seq": [4, 4]}``."""
    from trt_pdk.onnx_stages.compare import parse_dims

    return {label: list(bounds) for label, bounds in parse_dims(items).items()}


@dataclass
class CompareOptions:
    dims: dict[str, list[int]] = option(
        factory=dict,
        flag="--dim",
        metavar="LABEL=MIN:MAX",
        help="range of a dynamic axis for the generated inputs (min, middle, max); repeatable "
        "(YAML: {label: [min, max]}; unlisted labels: 1..4)",
        from_cli=dims_from_cli,
    )
    seed: int = option(0, help="seed of the generated inputs")
    atol: float | None = option(None, help="absolute tolerance for every float output (default: per dtype)")
    rtol: float | None = option(None, help="relative tolerance for every float output (default: per dtype)")
    max_input_mib: float = option(
        DEFAULT_MAX_INPUT_MIB,
        metavar="MIB",
        help="refuse to generate inputs larger than this in total, before allocating them",
    )

    def problems(self) -> list[tuple[str, str]]:
        bad = {k: v for k, v in self.dims.items() if len(v) not in (1, 2) or not 0 <= v[0] <= v[-1]}
        out = [("dims", f"{bad}: each range is [MIN, MAX] with 0 <= MIN <= MAX.")] if bad else []
        if not self.max_input_mib > 0:
            out.append(("max_input_mib", f"must be > 0 MiB, got {self.max_input_mib}."))
        return out

    def tolerances(self) -> dict[str, tuple[float, float]] | None:
        """``{dtype: (atol, rtol)}`` when atol or rtol is set (the other keeps its per-dtype default)."""
        from trt_pdk.onnx_stages.compare import TOLERANCES

        if self.atol is None and self.rtol is None:
            return None
        return {
            k: (a if self.atol is None else self.atol, r if self.rtol is None else self.rtol)
            for k, (a, r) in TOLERANCES.items()
        }

    def compare_onnx(self, reference: str) -> object:
        from trt_pdk.onnx_stages.compare import CompareOnnx

        dims = {k: (int(v[0]), int(v[-1])) for k, v in self.dims.items()}
        return CompareOnnx(
            reference,
            dims=dims,
            tolerances=self.tolerances(),
            seed=self.seed,
            max_input_mib=self.max_input_mib,
        )


@dataclass(kw_only=True)
class CompareResult(StageResult):
    ok: bool
    engines: dict[str, str]
    points: int
    max_abs_err: float
    tolerances: list[str]
    report: str


def run(
    ctx: StageContext, options: CompareOptions, *, export: ExportResult, rewrite: RewriteResult
) -> CompareResult:
    report = options.compare_onnx(export.factory)(ctx.file(rewrite.model))
    outputs = [o for p in report.points for o in p["outputs"]]
    out = ctx.root / "compare"
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    result = CompareResult(
        ok=report.ok,
        engines=report.engines,
        points=len(report.points),
        max_abs_err=max((o["max_abs"] for o in outputs), default=0.0),
        tolerances=sorted({f"{o['dtype']}: atol {o['atol']:g}, rtol {o['rtol']:g}" for o in outputs}),
        report=ctx.rel(out / "compare.json"),
    )
    if not report.ok:
        result.status = "failed"
        result.reason = f"the rewritten graph differs from PyTorch: {report.text()}"
    return result
