"""The run's report: ``report.json`` (the contract checks read), ``report.md``, ``report.html``.

``report.json``::

    {"stages": {"<stage>": {"status": "ok|skipped|failed", "seconds": s, "reason": "..."}},
     "verify": {"passed": bool, "protocols": ["http", "grpc"], "max_abs_err": x},
     "perf": {"baseline": {"config", "dynamic_batching", "instance_count", "bucketing",
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
from typing import Any

from trt_pdk._fs import write_text_atomic
from trt_pdk.pipeline.config import PipelineConfig


def _not_measured(records: dict[str, Any], stage: str) -> str:
    rec = records.get(stage)
    if rec is None:
        return f"not measured: stage {stage} did not run (an earlier stage failed)"
    return f"not measured: stage {stage} {rec['status']}: {rec['reason'] or 'no result'}"


def _result(records: dict[str, Any], stage: str) -> dict[str, Any] | None:
    rec = records.get(stage)
    return rec["result"] if rec and rec["status"] != "failed" and rec.get("result") else None


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


def before_after(records: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    export, check, rewrite = (_result(records, n) for n in ("export", "check", "rewrite"))
    if export and check and rewrite:
        plain_check, after_check = check["plain"], rewrite["check"]
        rejected = ", ".join(f"{u['op_type']} x{u['count']}" for u in plain_check["unsupported"]) or "none"
        b = export["bucketize_nodes"]
        bucketize = (
            f"torch.bucketize unrolled into {b['plain']} nodes"
            if b["plain"]
            else "torch.bucketize: not in the model"
        )
        plugins = ", ".join(f"{k} x{v}" for k, v in sorted(rewrite["plugin_nodes"].items())) or "none"
        after_unsupported = sum(u["count"] for u in after_check["unsupported"]) + sum(
            m["count"] for m in after_check["missing_plugins"]
        )
        kit_bucketize = (
            f"torch.bucketize: {b['kit']} nodes"
            if "Bucketize" not in rewrite["plugin_nodes"]
            else "torch.bucketize: 1 Bucketize plugin node"
        )
        rows.append(
            {
                "aspect": "export reliability",
                "before": f"plain dynamo export: {export['plain_nodes']} nodes; ops the TensorRT "
                f"{plain_check['trt']} coverage table rejects: {rejected}; {bucketize}",
                "after": f"kit export + rewrite: {rewrite['nodes_after']} nodes; plugin nodes: {plugins}; "
                f"{after_unsupported} unsupported; {kit_bucketize}",
            }
        )
    else:
        why = _not_measured(
            records, next(n for n in ("export", "check", "rewrite") if not _result(records, n))
        )
        rows.append({"aspect": "export reliability", "before": why, "after": why})
    prof = _result(records, "profiles")
    if prof:
        gain = prof["single_profile_cost"] / prof["cost"] if prof["cost"] else float("inf")
        rows.append(
            {
                "aspect": "input handling",
                "before": f"1 profile spanning all traffic: {prof['cost_model']} "
                f"{prof['single_profile_cost']:.4g} per request",
                "after": f"{prof['k']} planned profiles: {prof['cost_model']} {prof['cost']:.4g} per request "
                f"({gain:.2f}x less), coverage {prof['coverage']:.0%} of {prof['requests']:.0f} requests",
            }
        )
    else:
        rows.append({"aspect": "input handling", "before": _not_measured(records, "profiles"), "after": ""})
    cmp_, ver = _result(records, "compare"), _result(records, "verify")
    rows.append(
        {
            "aspect": "runtime consistency",
            "before": f"CPU compare (rewritten graph vs PyTorch, {cmp_['points']} shapes): max abs err "
            f"{cmp_['max_abs_err']:.3g} ({'; '.join(cmp_['tolerances'])}): {'ok' if cmp_['ok'] else 'FAIL'}"
            if cmp_
            else _not_measured(records, "compare"),
            "after": f"Triton verify over {' + '.join(ver['protocols'])} vs PyTorch: max abs err "
            f"{ver['max_abs_err']:.3g} (atol {ver['atol']:g}, rtol {ver['rtol']:g}): "
            f"{'passed' if ver['passed'] else 'FAILED'}"
            if ver
            else _not_measured(records, "verify"),
        }
    )
    perf = _result(records, "perf")
    if perf:
        from trt_pdk.triton.perf_report import serving_row

        before, after = serving_row(perf)
        rows.append({"aspect": "serving efficiency", "before": before, "after": after})
    else:
        rows.append({"aspect": "serving efficiency", "before": _not_measured(records, "perf"), "after": ""})
    return rows


def _plots(root: Path, perf: dict[str, Any] | None) -> list[str]:
    if not perf:
        return []
    from trt_pdk.triton.perf_report import plots

    return [str(p.relative_to(root)) for p in plots(perf, root / "plots")]


def _perf_json(perf: dict[str, Any]) -> dict[str, Any]:
    from trt_pdk.triton.perf_report import report_json

    return report_json(perf)


def build_report(root: Path, cfg: PipelineConfig, records: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    stages = {
        name: {
            "status": r["status"],
            "seconds": r["seconds"],
            "reason": r["reason"] or ("reused: unchanged since the last run" if r.get("reused") else ""),
        }
        for name, r in records.items()
    }
    ver = _result(records, "verify")
    perf = _result(records, "perf")
    plots = _plots(root, perf)
    prof = _result(records, "profiles")
    if prof and prof.get("plot"):
        plots.append(prof["plot"])
    report: dict[str, Any] = {
        "pipeline": cfg.name,
        "config": str(cfg.source),
        "stages": stages,
        "verify": {k: ver[k] for k in ("passed", "protocols", "max_abs_err", "atol", "rtol", "inputs")}
        if ver
        else {"passed": False, "reason": _not_measured(records, "verify")},
        "perf": _perf_json(perf) if perf else {"reason": _not_measured(records, "perf")},
        "versions": versions(),
        "before_after": before_after(records),
        "plots": plots,
    }
    engine = _result(records, "engine") or {}
    if engine.get("trtexec"):
        report["engine"] = {"trtexec": engine["trtexec"], "scripts": engine["trtexec_scripts"]}
    deploy = _result(records, "deploy")
    if deploy:
        report["deploy"] = deploy
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
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in report["plots"]]
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
    parts.append("<h2>Plots</h2>")
    for p in report["plots"]:
        data = base64.b64encode((md_root / p).read_bytes()).decode()
        parts.append(f"<p><img alt='{esc(p)}' src='data:image/png;base64,{data}'></p>")
    parts.append(f"<h2>Versions</h2><pre>{esc(json.dumps(report['versions'], indent=2))}</pre></body></html>")
    return "\n".join(parts)


def write_report(root: Path, cfg: PipelineConfig, records: dict[str, Any]) -> dict[str, Any]:
    """Writes ``report.json``, ``report.md`` and ``report.html`` into `root`; returns the JSON."""
    report = build_report(root, cfg, records)
    write_text_atomic(root / "report.json", json.dumps(report, indent=2, default=str) + "\n")
    write_text_atomic(root / "report.md", _markdown(report))
    write_text_atomic(root / "report.html", _html(report, root))
    return report
