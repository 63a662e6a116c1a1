"""engine: TensorRT engines from the rewritten graph and the profiles, or their trtexec lines."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.profiles import ProfilesResult
from trt_pdk.pipeline.stages.rewrite import RewriteResult


@dataclass
class EngineOptions:
    precision: str = option("fp32", choices=("fp32", "fp16", "both"), help="engine precision")
    workspace_mib: int | None = option(None, help="builder workspace limit in MiB (default: TensorRT's)")
    optimization_level: int | None = option(None, help="builder optimization level 0-5")
    tensorrt_major: int | None = option(
        None,
        choices=(10, 11),
        help="when TensorRT is absent: write lines for this major (default: 10 and 11)",
    )
    keep_fp32: list[str] = option(
        factory=list,
        flag="--keep-fp32",
        metavar="OP_TYPE",
        help="op type kept fp32 in fp16 graphs; repeatable",
    )

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.precision not in ("fp32", "fp16", "both"):
            out.append(("precision", f"must be fp32/fp16/both: {self.precision!r}."))
        if self.optimization_level is not None and not 0 <= self.optimization_level <= 5:
            out.append(("optimization_level", f"must be 0..5, got {self.optimization_level}."))
        if self.tensorrt_major not in (None, 10, 11):
            out.append(("tensorrt_major", f"must be 10 or 11, got {self.tensorrt_major}."))
        return out

    def engine_from_onnx(self, model: Path, profiles: list, out: Path, timing_cache: Path | None = None):
        from trt_pdk.engine import engine_from_onnx

        return engine_from_onnx(
            model,
            profiles,
            out,
            precision=self.precision,
            workspace_mib=self.workspace_mib,
            optimization_level=self.optimization_level,
            timing_cache=timing_cache,
            tensorrt_major=self.tensorrt_major,
            keep_fp32=tuple(self.keep_fp32),
        )


@dataclass(kw_only=True)
class EngineResult(StageResult):
    """Attributes:
    engines: ``{precision: plan file}``; trtexec_scripts: the trtexec lines as scripts.
    """

    model: str
    precision: str
    trtexec_scripts: list[str]
    trtexec: str
    log: list[str]
    engines: dict[str, str]


def run(
    ctx: StageContext, options: EngineOptions, *, rewrite: RewriteResult, profiles: ProfilesResult
) -> EngineResult:
    from trt_pdk.engine import running_tensorrt
    from trt_pdk.profiles import load_profiles

    out = ctx.root / "engine"
    out.mkdir(parents=True, exist_ok=True)
    # The model sits beside the scripts so their trtexec lines stay valid wherever the run folder goes.
    model = out / "model.onnx"
    shutil.copy2(ctx.file(rewrite.model), model)
    stage = options.engine_from_onnx(model, load_profiles(ctx.file(profiles.profiles)), out)
    messages: list[str] = []
    absent = running_tensorrt() is None
    built = stage(dry_run=absent, log=messages.append)
    scripts = [ctx.rel(out / s) for s in built.trtexec_scripts]
    line = first_trtexec_line(out / built.trtexec_scripts[0]) if built.trtexec_scripts else ""
    engines = {k: ctx.rel(out / v) for k, v in built.engines.items()}
    result = EngineResult(
        model=ctx.rel(model),
        precision=options.precision,
        trtexec_scripts=scripts,
        trtexec=line,
        log=messages,
        engines=engines,
    )
    if absent:
        result.status = "skipped"
        result.reason = (
            f"TensorRT absent (`import tensorrt` fails here); here is the trtexec line ({scripts[0]}): {line}"
        )
    return result


def first_trtexec_line(script: Path) -> str:
    text = script.read_text(encoding="utf-8").replace("\\\n", " ")
    line = next((x for x in text.splitlines() if x.startswith("trtexec")), "")
    return " ".join(line.split())
