"""The pipeline's stages: each calls the kit's own stage objects and writes into one folder.

A stage function takes the :class:`Context` and returns a JSON-able result. It may set
``status`` to ``"skipped"`` (with ``reason``: why, and how to enable) or ``"failed"``;
otherwise it succeeded. Paths in results are relative to the run folder, which is renamed
into place at the end.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.pipeline.config import PipelineConfig


@dataclass
class Context:
    """What the stages share: the config, the (temporary) run folder, results so far, the server."""

    cfg: PipelineConfig
    root: Path
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    server: Any = None

    def rel(self, path: Path) -> str:
        return str(Path(path).absolute().relative_to(self.root.absolute()))

    @property
    def model_name(self) -> str:
        return self.cfg.repository.model_name or self.cfg.name


@dataclass(frozen=True)
class Stage:
    """One step: its name, the config section and outside files in its cache key, its function."""

    name: str
    section: str | None
    run: Callable[[Context], dict[str, Any]]
    files: Callable[[PipelineConfig], list[Path]] = lambda cfg: []
    needs_server: bool = False


# --------------------------------------------------------------------------- ONNX stages


def _factory_files(cfg: PipelineConfig) -> list[Path]:
    module, _, _ = cfg.model.factory.rpartition(":")
    out = []
    if module.endswith(".py"):
        out.append(cfg.path(module))
    if cfg.model.checkpoint:
        out.append(cfg.path(cfg.model.checkpoint))
    return out


def _factory(cfg: PipelineConfig) -> str:
    module, _, attr = cfg.model.factory.rpartition(":")
    return f"{cfg.path(module)}:{attr}" if module.endswith(".py") else cfg.model.factory


def _export_stage(cfg: PipelineConfig, specs: Any) -> Any:
    from trt_pdk.onnx_stages.export import OnnxFromTorch

    m = cfg.model
    checkpoint = cfg.path(m.checkpoint) if m.checkpoint else None
    return OnnxFromTorch(_factory(cfg), checkpoint=checkpoint, opset=m.opset, dynamic=m.dynamic, specs=specs)


def run_export(ctx: Context) -> dict[str, Any]:
    out = ctx.root / "export"
    kit = _export_stage(ctx.cfg, None)(out / "model.onnx")
    # The plain path a user takes without the kit: dynamo with no plugin translations.
    plain = _export_stage(ctx.cfg, [])(out / "plain.onnx")
    return {
        "bucketize_nodes": {
            "plain": _nodes_from_source(out / "plain.onnx", "bucketize("),
            "kit": _nodes_from_source(out / "model.onnx", "bucketize("),
        },
        "model": ctx.rel(out / "model.onnx"),
        "plain": ctx.rel(out / "plain.onnx"),
        "nodes": kit["nodes"],
        "ops": kit["ops"],
        "plain_nodes": plain["nodes"],
        "plain_ops": plain["ops"],
        "opset": kit["opset"],
        "inputs": kit["inputs"],
        "outputs": kit["outputs"],
    }


def _nodes_from_source(path: Path, text: str) -> int:
    """Nodes whose PyTorch source line (dynamo's stack trace metadata) contains `text`."""
    import onnx

    count = 0
    for node in onnx.load(str(path), load_external_data=False).graph.node:
        trace = next((p.value for p in node.metadata_props if p.key == "pkg.torch.onnx.stack_trace"), "")
        lines = [x for x in trace.strip().splitlines() if x.strip()]
        count += bool(lines) and text in lines[-1]
    return count


def _check(ctx: Context, path: Path) -> dict[str, Any]:
    from trt_pdk.onnx_stages import CheckOnnx

    report = CheckOnnx(trt=ctx.cfg.check.trt)(path)
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


def run_check(ctx: Context) -> dict[str, Any]:
    exported = ctx.root / ctx.results["export"]["model"]
    plain = ctx.root / ctx.results["export"]["plain"]
    result = {"model": _check(ctx, exported), "plain": _check(ctx, plain)}
    out = ctx.root / "check"
    out.mkdir(parents=True, exist_ok=True)
    (out / "check.txt").write_text(result["model"]["text"] + "\n\n" + result["plain"]["text"] + "\n")
    if result["model"]["checker_error"] or result["model"]["shape_inference_error"]:
        result["status"] = "failed"
        result["reason"] = result["model"]["checker_error"] or result["model"]["shape_inference_error"]
    return result


def run_simplify(ctx: Context) -> dict[str, Any]:
    from trt_pdk.onnx_stages import SimplifyOnnx

    out = ctx.root / "simplify" / "model.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = SimplifyOnnx(ctx.cfg.simplify.shape_inference).run(
        ctx.root / ctx.results["export"]["model"], out
    )
    return {"model": ctx.rel(out), **result.as_dict()}


def run_rewrite(ctx: Context) -> dict[str, Any]:
    from trt_pdk.onnx_stages import RewriteOnnx

    out = ctx.root / "rewrite" / "model.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = RewriteOnnx(plugins=ctx.cfg.rewrite.plugins).run(
        ctx.root / ctx.results["simplify"]["model"], out
    )
    d = result.as_dict()
    (out.parent / "rewrite.json").write_text(json.dumps(d, indent=2, default=str) + "\n")
    import onnx

    model = onnx.load(str(out), load_external_data=False)
    plugin_nodes: dict[str, int] = {}
    for n in model.graph.node:
        if n.domain not in ("", "ai.onnx"):
            plugin_nodes[n.op_type] = plugin_nodes.get(n.op_type, 0) + 1
    return {
        "model": ctx.rel(out),
        "nodes_before": d["nodes_before"],
        "nodes_after": d["nodes_after"],
        "replacement_counts": d["replacement_counts"],
        "plugin_nodes": plugin_nodes,
        "rejected": d["rejected"][:10],
        "check": _check(ctx, out),
    }


def run_compare(ctx: Context) -> dict[str, Any]:
    from trt_pdk.onnx_stages.compare import CompareOnnx

    dims = {k: (int(v[0]), int(v[-1])) for k, v in ctx.cfg.compare.dims.items()}
    report = CompareOnnx(_factory(ctx.cfg), dims=dims, seed=ctx.cfg.compare.seed)(
        ctx.root / ctx.results["rewrite"]["model"]
    )
    outputs = [o for p in report.points for o in p["outputs"]]
    out = ctx.root / "compare"
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    result = {
        "ok": report.ok,
        "engines": report.engines,
        "points": len(report.points),
        "max_abs_err": max((o["max_abs"] for o in outputs), default=0.0),
        "tolerances": sorted({f"{o['dtype']}: atol {o['atol']:g}, rtol {o['rtol']:g}" for o in outputs}),
    }
    if not report.ok:
        result["status"] = "failed"
        result["reason"] = f"the rewritten graph differs from PyTorch: {report.text()}"
    return result


# --------------------------------------------------------------------------- TensorRT stages


def run_profiles(ctx: Context) -> dict[str, Any]:
    from trt_pdk.profiles import (
        load_traffic,
        model_dims_from_onnx,
        plot_plan,
        profiles_from_traffic,
        save_profiles,
    )

    p = ctx.cfg.profiles
    traffic = load_traffic(ctx.cfg.path(ctx.cfg.traffic))
    model = ctx.root / ctx.results["rewrite"]["model"]
    plan = profiles_from_traffic(
        traffic, p.k, cost_model=p.cost_model, model_dims=model_dims_from_onnx(model)
    )
    out = ctx.root / "profiles"
    save_profiles(plan, out / "profiles.json")
    plot = None
    if plan.axes:
        plot = ctx.rel(plot_plan(traffic, plan, out / "profiles.png"))
    return {
        "profiles": ctx.rel(out / "profiles.json"),
        "plot": plot,
        "k": plan.k,
        "cost_model": plan.cost_model,
        "cost": plan.cost,
        "single_profile_cost": plan.single_profile_cost,
        "coverage": plan.coverage,
        "method": plan.method,
        "requests": traffic.total,
        "distinct_shapes": len(traffic.shapes),
    }


def run_engine(ctx: Context) -> dict[str, Any]:
    from trt_pdk.engine import engine_from_onnx, running_tensorrt
    from trt_pdk.profiles import load_profiles

    e = ctx.cfg.engine
    out = ctx.root / "engine"
    out.mkdir(parents=True, exist_ok=True)
    # The model sits beside the scripts so their trtexec lines stay valid wherever the run folder goes.
    model = out / "model.onnx"
    shutil.copy2(ctx.root / ctx.results["rewrite"]["model"], model)
    stage = engine_from_onnx(
        model,
        load_profiles(ctx.root / ctx.results["profiles"]["profiles"]),
        out,
        precision=e.precision,
        workspace_mib=e.workspace_mib,
        tensorrt_major=e.tensorrt_major,
    )
    messages: list[str] = []
    absent = running_tensorrt() is None
    result = stage(dry_run=absent, log=messages.append)
    scripts = [ctx.rel(out / s) for s in result.trtexec_scripts]
    line = _first_trtexec_line(out / result.trtexec_scripts[0]) if result.trtexec_scripts else ""
    d = {"trtexec_scripts": scripts, "trtexec": line, "log": messages, "engines": result.engines}
    if absent:
        d["status"] = "skipped"
        d["reason"] = (
            f"TensorRT absent (`import tensorrt` fails here); here is the trtexec line ({scripts[0]}): {line}"
        )
    return d


def _first_trtexec_line(script: Path) -> str:
    text = script.read_text(encoding="utf-8").replace("\\\n", " ")
    line = next((x for x in text.splitlines() if x.startswith("trtexec")), "")
    return " ".join(line.split())


# --------------------------------------------------------------------------- Triton stages


def run_repository(ctx: Context) -> dict[str, Any]:
    import onnx

    from trt_pdk.onnx_stages import save_onnx
    from trt_pdk.onnx_stages.functions import with_cpu_functions
    from trt_pdk.triton.config import BatchingOptions
    from trt_pdk.triton.repository import RepositoryFromOnnx

    r = ctx.cfg.repository
    out = ctx.root / "repository"
    out.mkdir(parents=True, exist_ok=True)
    model, functions = with_cpu_functions(onnx.load(str(ctx.root / ctx.results["rewrite"]["model"])))
    cpu = save_onnx(model, out / "cpu.onnx")
    batching = BatchingOptions(max_batch_size=r.max_batch_size, instance_count=r.instance_count)
    written = RepositoryFromOnnx(cpu, out / "deploy", ctx.model_name, batching=batching)()
    return {
        "cpu_model": ctx.rel(cpu),
        "functions": functions,
        "deployment": ctx.rel(out / "deploy"),
        "model": written.name,
        "version": written.version,
        "config": ctx.rel(written.config),
    }


def run_serve(ctx: Context) -> dict[str, Any]:
    from trt_pdk.triton.server import TritonServer

    s = ctx.cfg.serve
    server = TritonServer(
        ctx.root / ctx.results["repository"]["deployment"],
        ctx.root / "serve",
        models=[ctx.model_name],
        http_port=s.http_port,
        grpc_port=s.grpc_port,
        metrics_port=s.metrics_port,
        ready_timeout=s.ready_timeout,
    )
    ctx.server = server
    state = server.start()
    return {"log": ctx.rel(Path(state.log)), "pid": state.pid, "address": "127.0.0.1"}


def _inputs(ctx: Context, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Inputs of the served model: the traffic's most common shape with batch `batch`."""
    import onnx

    model = onnx.load(str(ctx.root / ctx.results["repository"]["cpu_model"]), load_external_data=False)
    from trt_pdk.profiles import load_traffic

    traffic = load_traffic(ctx.cfg.path(ctx.cfg.traffic))
    top = traffic.shapes[int(np.argmax(traffic.counts))]
    rng = np.random.default_rng(seed)
    inits = {i.name for i in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        if vi.name not in traffic.inputs:
            raise UserError(
                f"{ctx.cfg.path(ctx.cfg.traffic)} has no shapes for the model input {vi.name!r} (it has "
                f"{', '.join(traffic.inputs)}); log the shapes of every input."
            )
        shape = [batch, *top[traffic.inputs.index(vi.name)][1:]]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        if np.issubdtype(dtype, np.floating):
            feeds[vi.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[vi.name] = rng.integers(0, 4, shape).astype(dtype)
    return feeds


def _torch_reference(ctx: Context) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    import onnx
    import torch

    from trt_pdk.onnx_stages.export import module_from_factory

    checkpoint = ctx.cfg.path(ctx.cfg.model.checkpoint) if ctx.cfg.model.checkpoint else None
    module, _ = module_from_factory(_factory(ctx.cfg), checkpoint)
    model = onnx.load(str(ctx.root / ctx.results["repository"]["cpu_model"]), load_external_data=False)
    names = [o.name for o in model.graph.output]

    def reference(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with torch.no_grad():
            out = module(*(torch.from_numpy(np.ascontiguousarray(v)) for v in feeds.values()))
        flat = list(out) if isinstance(out, list | tuple) else [out]
        return {n: o.detach().numpy() for n, o in zip(names, flat, strict=True)}

    return reference


def run_verify(ctx: Context) -> dict[str, Any]:
    from trt_pdk.triton.verify import VerifyServing

    v = ctx.cfg.verify
    inputs = _inputs(ctx, v.batch, v.seed)
    result = VerifyServing(
        ctx.server.state, ctx.model_name, inputs, _torch_reference(ctx), atol=v.atol, rtol=v.rtol
    )()
    result["inputs"] = {k: list(a.shape) for k, a in inputs.items()}
    result["reference"] = "PyTorch (the factory's module)"
    if not result["passed"]:
        result["status"] = "failed"
        result["reason"] = (
            f"the served answer differs from PyTorch by {result['max_abs_err']:.3g} (tolerance atol "
            f"{v.atol:g} + rtol {v.rtol:g}·|ref|); per output: {result['outputs']}"
        )
    return result


def run_perf(ctx: Context) -> dict[str, Any]:
    from trt_pdk.profiles import load_profiles
    from trt_pdk.triton.perf import ServingTraffic, run_perf
    from trt_pdk.triton.perf_report import options_from_section, stage_result
    from trt_pdk.triton.server import explain_log, pid_alive

    state = ctx.server.state
    traffic = ServingTraffic(
        ctx.cfg.path(ctx.cfg.traffic), load_profiles(ctx.root / ctx.results["profiles"]["profiles"])
    )
    try:
        report = run_perf(
            ctx.root / ctx.results["repository"]["deployment"],
            ctx.model_name,
            ctx.root / "perf",
            traffic,
            options_from_section(ctx.cfg.perf),
            state=state,
            onnx_model=ctx.root / ctx.results["repository"]["cpu_model"],
        )
    except Exception as exc:
        if pid_alive(state.pid):
            raise
        raise UserError(
            f"the Triton server (PID {state.pid}) died during perf ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}). {explain_log(state.log)}"
        ) from None
    if not pid_alive(state.pid):
        raise UserError(f"the Triton server (PID {state.pid}) died during perf. {explain_log(state.log)}")
    return {**stage_result(report), "perf_json": ctx.rel(ctx.root / "perf" / "perf.json")}


# --------------------------------------------------------------------------- deployment


def run_deploy(ctx: Context) -> dict[str, Any]:
    """The TensorRT deployment and Kubernetes manifests beside the CPU run (``deploy/``)."""
    from dataclasses import replace

    from trt_pdk.deploy import deployment_from_run

    options = ctx.cfg.deploy
    if options.precision is None:
        options = replace(options, precision=ctx.cfg.engine.precision)
    result = deployment_from_run(ctx.root, options, model_name=ctx.model_name)
    return result.to_dict(relative_to=ctx.root)


STAGES: tuple[Stage, ...] = (
    Stage("export", "model", run_export, _factory_files),
    Stage("check", "check", run_check),
    Stage("simplify", "simplify", run_simplify),
    Stage("rewrite", "rewrite", run_rewrite),
    Stage("compare", "compare", run_compare),
    Stage("profiles", "profiles", run_profiles, lambda cfg: [cfg.path(cfg.traffic)]),
    Stage("engine", "engine", run_engine),
    Stage("repository", "repository", run_repository),
    Stage("serve", "serve", run_serve, needs_server=True),
    Stage("verify", "verify", run_verify, needs_server=True),
    Stage("perf", "perf", run_perf, needs_server=True),
    Stage("deploy", "deploy", run_deploy),
)
