"""The run's report: ``report.json`` (the contract checks read), ``report.md``, ``report.html``.

``report.json``::

    {"stages": {"<stage>": {"status": "ok|skipped|failed", "seconds": s, "reason": "..."}},
     "verify": {"passed": bool, "protocols": ["http", "grpc"], "max_abs_err": x},
     "perf": {"baseline": {"config", "dynamic_batching", "instance_count", "intra_op_threads", "bucketing",
                           "concurrency", "throughput_rps", "p50_ms", "p95_ms", "p99_ms",
                           "failed", "distinct_shapes", "avg_batch"},
              "tuned": {...same keys...},
              "bands": [{"name", "share", "baseline": {"throughput_rps", "p99_ms", ...},
                         "tuned": {...}, "speedup"}],
              "candidates": [...], "search", "recheck", "open_loop", "bucketing", ...},
     "versions": {...the lock...},
     "before_after": [{"aspect", "before", "after"}], "plots": [...]}

Every number is measured in this run (or reused from the run whose stage was unchanged);
a cell that could not be measured says why.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path
from typing import Any, TypeVar

from trt_pdk._fs import write_text_atomic
from trt_pdk.pipeline.stages.check import CheckResult
from trt_pdk.pipeline.stages.compare import CompareResult
from trt_pdk.pipeline.stages.deploy import DeploymentResult
from trt_pdk.pipeline.stages.engine import EngineResult
from trt_pdk.pipeline.stages.export import ExportResult
from trt_pdk.pipeline.stages.perf import PerfResult
from trt_pdk.pipeline.stages.profiles import ProfilesResult
from trt_pdk.pipeline.stages.rewrite import RewriteResult
from trt_pdk.pipeline.stages.verify import VerifyResult

T = TypeVar("T")


class Results:
    """The run's stage records (by stage name, for the stages table) and typed results."""

    def __init__(self, records: dict[str, Any], results: dict[type, Any]) -> None:
        self.records = records
        self.results = results

    def get(self, kind: type[T]) -> T | None:
        """The result of type `kind` when its stage finished (ok or skipped)."""
        return self.results.get(kind)

    def why_missing(self, kind: type) -> str:
        from trt_pdk.pipeline.stages import STAGES

        stage = next(s.name for s in STAGES if s.result is kind)
        rec = self.records.get(stage)
        if rec is None:
            return f"not measured: stage {stage} did not run (an earlier stage failed)"
        return f"not measured: stage {stage} {rec['status']}: {rec['reason'] or 'no result'}"


def versions() -> dict[str, Any]:
    """The lock's environment facts plus the kit, plugins and embedded server versions."""
    from importlib import metadata

    from trt_pdk.lock import environment_facts
    from trt_pdk.registry import discover

    out: dict[str, Any] = dict(environment_facts())
    for dist in ("trt-pdk", "nvidia-pytriton", "tritonclient", "onnxslim", "onnxscript", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    out["plugins"] = {
        s.name: {"namespace": s.namespace, "versions": list(s.versions)} for s in discover().values()
    }
    return out


def op_notes(root: Path, export: ExportResult, rewrite: RewriteResult) -> list[tuple[str, str]]:
    """``(before, after)`` notes of the plugins whose spec has a ``report_note`` hook."""
    import onnx

    from trt_pdk.registry import discover
    from trt_pdk.spec import ExportedGraphs

    specs = [s for s in discover().values() if s.report_note is not None]
    if not specs:
        return []
    plain = onnx.load(str(root / export.plain), load_external_data=False)
    kit = onnx.load(str(root / export.model), load_external_data=False)
    notes = []
    for spec in specs:
        graphs = ExportedGraphs(plain=plain, kit=kit, plugin_nodes=rewrite.plugin_nodes.get(spec.name, 0))
        note = spec.report_note(graphs)
        if note:
            notes.append(note)
    return notes


def before_after(root: Path, run: Results) -> list[dict[str, str]]:
    rows = []
    export, check, rewrite = run.get(ExportResult), run.get(CheckResult), run.get(RewriteResult)
    if export and check and rewrite:
        plain_check, after_check = check.plain, rewrite.check
        rejected = ", ".join(f"{u['op_type']} x{u['count']}" for u in plain_check["unsupported"]) or "none"
        plugins = ", ".join(f"{k} x{v}" for k, v in sorted(rewrite.plugin_nodes.items())) or "none"
        after_unsupported = sum(u["count"] for u in after_check["unsupported"]) + sum(
            m["count"] for m in after_check["missing_plugins"]
        )
        notes = op_notes(root, export, rewrite)
        rows.append(
            {
                "aspect": "export reliability",
                "before": f"plain dynamo export: {export.plain_nodes} nodes; ops the TensorRT "
                f"{plain_check['trt']} coverage table rejects: {rejected}"
                + "".join(f"; {b}" for b, _ in notes),
                "after": f"kit export + rewrite: {rewrite.nodes_after} nodes; plugin nodes: {plugins}; "
                f"{after_unsupported} unsupported" + "".join(f"; {a}" for _, a in notes),
            }
        )
    else:
        kind = next(k for k in (ExportResult, CheckResult, RewriteResult) if not run.get(k))
        why = run.why_missing(kind)
        rows.append({"aspect": "export reliability", "before": why, "after": why})
    prof = run.get(ProfilesResult)
    if prof:
        gain = prof.single_profile_cost / prof.cost if prof.cost else float("inf")
        rows.append(
            {
                "aspect": "input handling",
                "before": f"1 profile spanning all traffic: {prof.cost_model} "
                f"{prof.single_profile_cost:.4g} per request",
                "after": f"{prof.k} planned profiles: {prof.cost_model} {prof.cost:.4g} per request "
                f"({gain:.2f}x less), coverage {prof.coverage:.0%} of {prof.requests:.0f} requests",
            }
        )
    else:
        rows.append({"aspect": "input handling", "before": run.why_missing(ProfilesResult), "after": ""})
    cmp_, ver = run.get(CompareResult), run.get(VerifyResult)
    rows.append(
        {
            "aspect": "runtime consistency",
            "before": f"CPU compare (rewritten graph vs PyTorch, {cmp_.points} shapes): max abs err "
            f"{cmp_.max_abs_err:.3g} ({'; '.join(cmp_.tolerances)}): {'ok' if cmp_.ok else 'FAIL'}"
            if cmp_
            else run.why_missing(CompareResult),
            "after": f"Triton verify over {' + '.join(ver.protocols)} vs PyTorch: max abs err "
            f"{ver.max_abs_err:.3g} (atol {ver.atol:g}, rtol {ver.rtol:g}): "
            f"{'passed' if ver.passed else 'FAILED'}"
            if ver
            else run.why_missing(VerifyResult),
        }
    )
    perf = run.get(PerfResult)
    if perf:
        from trt_pdk.triton.perf_report import serving_row

        before, after = serving_row(perf.to_json())
        rows.append({"aspect": "serving efficiency", "before": before, "after": after})
    else:
        rows.append({"aspect": "serving efficiency", "before": run.why_missing(PerfResult), "after": ""})
    return rows


def _plots(root: Path, perf: PerfResult | None, notes: list[str]) -> list[str]:
    if not perf:
        return []
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        notes.append("perf plots skipped: matplotlib is not installed (pip install matplotlib to get them)")
        return []
    from trt_pdk.triton.perf_report import plots

    return [str(p.relative_to(root)) for p in plots(perf.to_json(), root / "plots")]


def _perf_json(perf: PerfResult) -> dict[str, Any]:
    from trt_pdk.triton.perf_report import report_json

    return report_json(perf.to_json())


def build_report(root: Path, cfg: Any, records: dict[str, Any], results: dict[type, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    run = Results(records, results)
    stages = {
        name: {
            "status": r["status"],
            "seconds": r["seconds"],
            "reason": r["reason"] or ("reused: unchanged since an earlier run" if r.get("reused") else ""),
        }
        for name, r in records.items()
    }
    ver, perf, prof = run.get(VerifyResult), run.get(PerfResult), run.get(ProfilesResult)
    notes: list[str] = list(prof.notes) if prof else []
    plots = _plots(root, perf, notes)
    if prof and prof.plot:
        plots.append(prof.plot)
    report: dict[str, Any] = {
        "pipeline": cfg.name,
        "config": str(cfg.source),
        "stages": stages,
        "verify": {
            k: getattr(ver, k) for k in ("passed", "protocols", "max_abs_err", "atol", "rtol", "inputs")
        }
        if ver
        else {"passed": False, "reason": run.why_missing(VerifyResult)},
        "perf": _perf_json(perf) if perf else {"reason": run.why_missing(PerfResult)},
        "versions": versions(),
        "before_after": before_after(root, run),
        "plots": plots,
        "notes": notes,
    }
    engine = run.get(EngineResult)
    if engine and engine.trtexec:
        report["engine"] = {"trtexec": engine.trtexec, "scripts": engine.trtexec_scripts}
    deploy = run.get(DeploymentResult)
    if deploy:
        report["deploy"] = deploy.to_json()
    report["stages"]["report"] = {"status": "ok", "seconds": round(time.perf_counter() - t0, 3), "reason": ""}
    return report


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"# Pipeline `{report['pipeline']}`", "", f"Config: `{report['config']}`", ""]
    lines += ["## Before / after (measured in this run)", "", "| aspect | without the kit | with the kit |"]
    lines.append("|---|---|---|")
    for r in report["before_after"]:
        lines.append(f"| {r['aspect']} | {_md(r['before'])} | {_md(r['after'])} |")
    lines += ["", "## Serving", ""]
    if "baseline" in report["perf"]:
        from trt_pdk.triton.perf_report import tables

        for title, head, rows in tables(report["perf"]):
            lines += [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows] + [""]
    else:
        lines.append(report["perf"]["reason"])
    v = report["verify"]
    lines += ["", f"Verify: {'passed' if v.get('passed') else 'NOT passed'}; "
              + (f"max abs err {v['max_abs_err']:.3g} over {', '.join(v['protocols'])}" if "max_abs_err" in v
                 else v.get("reason", ""))]  # fmt: skip
    if report.get("engine"):
        lines += ["", "## Engine", "", f"```\n{report['engine']['trtexec']}\n```"]
    lines += _deploy_markdown(report.get("deploy"))
    lines += ["", "## Stages", "", "| stage | status | seconds | reason |", "|---|---|---|---|"]
    for name, s in report["stages"].items():
        lines.append(f"| {name} | {s['status']} | {s['seconds']:.2f} | {_md(s['reason'])} |")
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in report["plots"]] + report["notes"]
    lines += ["", "## Versions", "", "```json", json.dumps(report["versions"], indent=2), "```", ""]
    return "\n".join(lines)


def _deploy_markdown(d: dict[str, Any] | None) -> list[str]:
    if not d:
        return []
    engines = ", ".join(d["plans_in_image"]) or "none"
    return [
        "",
        "## Deployment",
        "",
        f"`{d['root']}/`: image `{d['image']}` on `{d['triton_image']}` (TensorRT {d['tensorrt']}), "
        f"plugins {', '.join(d['plugin_libraries'])}; engines built in the image for compute capability "
        f"{engines}; Kubernetes: `{d['manifests']['triton']}`, KServe: `{d['manifests']['kserve']}`.",
        "",
        f"Batching: `{json.dumps(d['batching'])}`",
        *[f"- {n}" for n in d["notes"]],
    ]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _html(report: dict[str, Any], md_root: Path) -> str:
    esc = html.escape

    def table(head: list[str], rows: list[list[str]]) -> str:
        th = "".join(f"<th>{esc(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><tr>{th}</tr>{body}</table>"

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>trt-pdk pipeline {esc(report['pipeline'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>Pipeline {esc(report['pipeline'])}</h1><p>Config: <code>{esc(report['config'])}</code></p>",
        "<h2>Before / after (measured in this run)</h2>",
        table(
            ["aspect", "without the kit", "with the kit"],
            [[r["aspect"], r["before"], r["after"]] for r in report["before_after"]],
        ),
        "<h2>Serving</h2>",
    ]
    if "baseline" in report["perf"]:
        from trt_pdk.triton.perf_report import tables

        for title, head, rows in tables(report["perf"]):
            parts += [f"<h3>{esc(title)}</h3>", table(head, rows)]
    else:
        parts.append(f"<p>{esc(report['perf']['reason'])}</p>")
    v = report["verify"]
    parts.append(f"<p>Verify: {esc(json.dumps(v))}</p>")
    if report.get("engine"):
        parts.append(f"<h2>Engine</h2><pre>{esc(report['engine']['trtexec'])}</pre>")
    if report.get("deploy"):
        parts.append("<h2>Deployment</h2>")
        parts.append("".join(f"<p>{esc(line)}</p>" for line in _deploy_markdown(report["deploy"]) if line))
    parts.append("<h2>Stages</h2>")
    parts.append(
        table(
            ["stage", "status", "seconds", "reason"],
            [[n, s["status"], f"{s['seconds']:.2f}", s["reason"]] for n, s in report["stages"].items()],
        )
    )
    parts.append("<h2>Plots</h2>" + "".join(f"<p>{esc(n)}</p>" for n in report["notes"]))
    for p in report["plots"]:
        data = base64.b64encode((md_root / p).read_bytes()).decode()
        parts.append(f"<p><img alt='{esc(p)}' src='data:image/png;base64,{data}'></p>")
    parts.append(f"<h2>Versions</h2><pre>{esc(json.dumps(report['versions'], indent=2))}</pre></body></html>")
    return "\n".join(parts)


def write_report(root: Path, cfg: Any, records: dict[str, Any], results: dict[type, Any]) -> dict[str, Any]:
    """Writes ``report.json``, ``report.md`` and ``report.html`` into `root`; returns the JSON."""
    report = build_report(root, cfg, records, results)
    write_text_atomic(root / "report.json", json.dumps(report, indent=2, default=str) + "\n")
    write_text_atomic(root / "report.md", _markdown(report))
    write_text_atomic(root / "report.html", _html(report, root))
    return report
