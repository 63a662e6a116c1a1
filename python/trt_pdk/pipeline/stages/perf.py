"""perf: replay the traffic log against the served model; bucketing and a serving-config search.

The options are the pipeline's ``perf:`` section; :func:`trt_pdk.triton.perf_report.options_from_section`
turns them into the serving side's ``PerfOptions`` (:mod:`trt_pdk.triton.perf_options`), from which
``trt-pdk perf`` takes its flags (``tests/test_options.py`` checks their shared defaults agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trt_pdk.errors import UserError
from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB
from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.profiles import ProfilesResult
from trt_pdk.pipeline.stages.repository import RepositoryResult
from trt_pdk.pipeline.stages.serve import ServeResult


def _sizes(text: str) -> list[int]:
    import argparse

    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of batch sizes") from None


@dataclass
class PerfOptions:
    concurrency: list[int] = option(
        factory=lambda: [1, 4, 16], form="comma", help="closed-loop client counts (comma list)"
    )
    target_concurrency: int = option(16, help="where baseline and tuned are compared (and tuning decides)")
    duration: float = option(2.0, help="least seconds measured per candidate config")
    warmup: float = option(1.0, help="seconds discarded per level")
    protocol: str = option("grpc", choices=("grpc", "http"), help="client protocol")
    rates: list[float] = option(
        factory=list, flag="--rate", form="comma", help="open-loop Poisson rates, requests/s (comma list)"
    )
    request_batch: int = option(1, help="batch size of each request")
    tune: bool = option(True, help="tune batching one step at a time (--no-tune: baseline only)")
    instance_counts: list[int] = option(
        factory=lambda: [2], form="comma", help="instance counts the tuning tries (comma list)"
    )
    intra_op_threads: list[int] = option(
        factory=lambda: [1, 2],
        form="comma",
        help="onnxruntime threads per instance the tuning tries, for the kit's python model (comma list)",
    )
    preferred_batch_sizes: list[list[int]] = option(
        factory=lambda: [[4, 8, 16]],
        flag="--preferred-batch-sizes",
        parse=_sizes,
        metavar="N,N,...",
        help="preferred batch sizes the tuning tries; repeatable, one comma list each",
    )
    max_queue_delays_us: list[int] = option(
        factory=list, form="comma", help="batcher queue delays the tuning tries, microseconds (comma list)"
    )
    min_gain: float = option(
        0.10, help="the quick search also expands configs within this fraction of the best throughput"
    )
    max_input_mib: float = option(
        DEFAULT_MAX_INPUT_MIB,
        metavar="MIB",
        help="refuse to generate request tensors (one request) or bucketing's check inputs larger than "
        "this, before allocating them",
    )
    p99_slack: float = option(
        0.10,
        help="how much worse than the best so far p99 may get in a kept step (never worse than baseline)",
    )

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.duration <= 0:
            out.append(("duration", f"must be > 0 seconds, got {self.duration}."))
        if self.warmup < 0:
            out.append(("warmup", f"must be >= 0 seconds, got {self.warmup}."))
        if not self.concurrency or min(self.concurrency) < 1:
            out.append(("concurrency", f"must list client counts >= 1: {self.concurrency}."))
        if self.protocol not in ("grpc", "http"):
            out.append(("protocol", f"must be grpc or http, got {self.protocol!r}."))
        if any(r <= 0 for r in self.rates):
            out.append(("rates", f"must list rates > 0 requests/s: {self.rates}."))
        if not self.max_input_mib > 0:
            out.append(("max_input_mib", f"must be > 0 MiB, got {self.max_input_mib}."))
        if self.request_batch < 1:
            out.append(("request_batch", "must be >= 1."))
        for name in ("min_gain", "p99_slack"):
            if getattr(self, name) < 0:
                out.append((name, f"must be >= 0, got {getattr(self, name)}."))
        if not self.intra_op_threads or min(self.intra_op_threads) < 1:
            out.append(("intra_op_threads", f"must list thread counts >= 1: {self.intra_op_threads}."))
        if any(d < 0 for d in self.max_queue_delays_us):
            out.append(
                ("max_queue_delays_us", f"must list delays >= 0 microseconds: {self.max_queue_delays_us}.")
            )
        return out


@dataclass(kw_only=True)
class PerfResult(StageResult):
    """What :func:`trt_pdk.triton.perf_report.stage_result` keeps of the serving search.

    Attributes:
        baseline / tuned: the rows of the baseline and the tuned config; bands: per traffic
        band; candidates: every config tried; perf_json: the full report; tuned_config:
        the winner's model config (config.pbtxt text), for a deployment to take over.
    """

    baseline: dict[str, Any]
    tuned: dict[str, Any]
    bands: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    search: Any
    recheck: Any
    open_loop: dict[str, Any]
    bucketing: dict[str, Any]
    traffic: Any
    summary: dict[str, Any]
    machine: dict[str, Any]
    seconds: float
    perf_json: str
    tuned_config: str = ""


def run(
    ctx: StageContext,
    options: PerfOptions,
    *,
    repository: RepositoryResult,
    profiles: ProfilesResult,
    serve: ServeResult,
) -> PerfResult:
    """Replays the traffic log (bands from the planned profiles) against the served model."""
    from trt_pdk.profiles import load_profiles
    from trt_pdk.triton.perf import TUNED_CONFIG, ServingTraffic, run_perf
    from trt_pdk.triton.perf_report import options_from_section, stage_result
    from trt_pdk.triton.server import explain_log, pid_alive

    state = serve.state(ctx)
    traffic = ServingTraffic(ctx.sources["traffic"], load_profiles(ctx.file(profiles.profiles)))
    try:
        report = run_perf(
            ctx.file(repository.deployment),
            repository.model,
            ctx.root / "perf",
            traffic,
            options_from_section(options),
            state=state,
            onnx_model=ctx.file(repository.cpu_model),
        )
    except Exception as exc:
        if pid_alive(state.pid):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UserError(
            f"the Triton server (PID {state.pid}) died during perf ({type(exc).__name__}: {first}). "
            f"{explain_log(state.log)}"
        ) from None
    if not pid_alive(state.pid):
        raise UserError(f"the Triton server (PID {state.pid}) died during perf. {explain_log(state.log)}")
    return PerfResult.from_json(
        {
            **stage_result(report),
            "perf_json": ctx.rel(ctx.root / "perf" / "perf.json"),
            "tuned_config": ctx.rel(ctx.root / "perf" / TUNED_CONFIG),
        }
    )
