"""The pipeline's view of perf: options from its ``perf:`` section, the stage's result, the report.

:func:`options_from_section` and :func:`stage_result` are what the pipeline's perf stage
calls around :func:`trt_pdk.triton.perf.run_perf`; the report's functions take that
result (JSON, rows, tables, plots); the numbers are the stage's own, nothing is
recomputed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trt_pdk.triton.perf import PerfOptions

# --------------------------------------------------------------------------- the pipeline's view


def options_from_section(section) -> PerfOptions:
    """PerfOptions from the pipeline's ``perf:`` section (its fields, read by name).

    The replay runs at ``target_concurrency`` clients; the grid always holds one instance,
    no batching and no preferred sizes (the baseline) beside the section's values. Fields the
    section lacks (``search``, ``bucketing``, ``budget_s``) take their defaults.
    """
    return PerfOptions(
        concurrency=int(section.target_concurrency),
        duration=float(section.duration),
        protocol=section.protocol,
        instance_counts=sorted({1, *section.instance_counts}),
        intra_op_threads=sorted({1, *section.intra_op_threads}),
        max_queue_delays_us=list(section.max_queue_delays_us) or [100, 500, 2000],
        preferred_batch_sizes=[[], *(list(p) for p in section.preferred_batch_sizes)],
        min_gain=float(section.min_gain),
        search=getattr(section, "search", "quick"),
        bucketing=getattr(section, "bucketing", True),
        # The main job gives perf 120 s: the search stops starting candidates at 30 s, which
        # leaves the final round (~25 s on the demo: 4 finalists, 2 rounds), the paired
        # re-measure and the per-band replays (~20 s) their time.
        budget_s=float(getattr(section, "budget_s", 30.0)),
        max_input_mib=float(section.max_input_mib),
    )


_RESULT_KEYS = ("throughput_rps", "p50_ms", "p95_ms", "p99_ms", "failed", "distinct_shapes", "avg_batch")


def _row(part: dict, concurrency: int) -> dict:
    point, r = part["point"], part["result"]
    return {
        "config": part["label"],
        "dynamic_batching": point["max_queue_delay_us"] is not None,
        "instance_count": point["instance_count"],
        "intra_op_threads": point.get("intra_op_threads"),
        "max_queue_delay_us": point["max_queue_delay_us"],
        "preferred_batch_sizes": point["preferred_batch_sizes"],
        "bucketing": point["bucketing"],
        "concurrency": concurrency,
        **{k: r.get(k) for k in _RESULT_KEYS},
        "server": r.get("server", {}),
    }


def stage_result(report: dict) -> dict:
    """The JSON the pipeline keeps for its perf stage (and its report reads)."""
    c = report["options"]["concurrency"]
    bucketing = report["bucketing"]
    return {
        "baseline": _row(report["baseline"], c),
        "tuned": _row(report["tuned"], c),
        "bands": report["bands"],
        "candidates": [
            {
                "config": x["label"],
                "step": x["step"],
                "feasible": x["feasible"],
                **{k: x["result"].get(k) for k in _RESULT_KEYS},
            }
            for x in report["candidates"]
        ],
        "search": report.get("search"),
        "recheck": report.get("recheck"),
        "open_loop": _open_brief(report.get("open_loop", {})),
        "bucketing": {
            "enabled": bucketing.get("enabled", False),
            "mode": bucketing.get("mode"),
            "ragged_inputs": bucketing.get("ragged_inputs", []),
            "reason": bucketing.get("reason", ""),
            "axes": bucketing.get("axes", []),
            "checks": bucketing.get("checks", []),
            "estimate": bucketing.get("estimate", {}),
        },
        "traffic": report["traffic"],
        "summary": report["summary"],
        "machine": report["machine"],
        "seconds": report["seconds"],
    }


def _open_brief(open_loop: dict) -> dict:
    if "reason" in open_loop:
        return open_loop
    return {
        "speed": open_loop.get("speed"),
        **{
            name: {k: open_loop[name].get(k) for k in (*_RESULT_KEYS, "offered_rps", "dropped")}
            for name in ("baseline", "tuned")
            if name in open_loop
        },
    }


PERF_KEYS = (
    "config",
    "dynamic_batching",
    "instance_count",
    "intra_op_threads",
    "bucketing",
    "concurrency",
    "throughput_rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "failed",
    "distinct_shapes",
    "avg_batch",
)


def report_json(perf: dict[str, Any]) -> dict[str, Any]:
    """``report.json``'s ``perf``: baseline, tuned, bands, candidates, the paired re-measure."""
    out: dict[str, Any] = {name: {k: perf[name].get(k) for k in PERF_KEYS} for name in ("baseline", "tuned")}
    out["bands"] = [
        {
            "name": b["name"],
            "share": b["share"],
            **{
                side: {k: b[side].get(k) for k in ("throughput_rps", "p99_ms", "avg_batch", "measured")}
                for side in ("baseline", "tuned")
            },
            "speedup": b.get("speedup"),
        }
        for b in perf["bands"]
    ]
    out["candidates"] = perf["candidates"]
    out["search"] = perf.get("search")
    out["recheck"] = perf.get("recheck")
    out["open_loop"] = perf.get("open_loop")
    out["bucketing"] = {
        k: perf["bucketing"].get(k) for k in ("enabled", "mode", "ragged_inputs", "reason", "axes")
    }
    out["traffic"] = {k: perf["traffic"][k] for k in ("requests_per_pass", "distinct_shapes", "timestamps")}
    out["machine"] = perf["machine"]
    return out


def _fmt(value, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def serving_row(perf: dict[str, Any]) -> tuple[str, str]:
    """The before/after cells of the report's "serving efficiency" row."""
    base, tuned = perf["baseline"], perf["tuned"]

    def cell(r: dict[str, Any]) -> str:
        return (
            f"{r['throughput_rps']:.0f} req/s, p99 {_fmt(r['p99_ms'])} ms, server batch "
            f"{_fmt(r['avg_batch'], '.2f')} ({r['distinct_shapes']} shapes replayed at "
            f"{r['concurrency']} clients)"
        )

    after = f"{tuned['config']}: {cell(tuned)} ({tuned['throughput_rps'] / base['throughput_rps']:.2f}x)"
    bands = "; ".join(
        f"{b['name']} ({b['share']:.0%} of requests): {b['baseline']['throughput_rps']:.0f} -> "
        f"{b['tuned']['throughput_rps']:.0f} req/s ({_fmt(b.get('speedup'), '.2f')}x)"
        for b in perf["bands"]
    )
    if bands:
        after += f"; per band: {bands}"
    r = perf.get("recheck")
    if r:
        after += (
            f"; measured again back to back: {r['baseline']['throughput_rps']:.0f} -> "
            f"{r['tuned']['throughput_rps']:.0f} req/s, p99 {_fmt(r['baseline']['p99_ms'])} -> "
            f"{_fmt(r['tuned']['p99_ms'])} ms ({_fmt(r['speedup'], '.2f')}x)"
        )
    b = perf["bucketing"]
    if not b["enabled"]:
        after += f"; bucketing off: {b['reason']}"
    elif b.get("reason"):
        after += f"; bucketing: {b['reason']}"
    return f"{base['config']}: {cell(base)}", after


def tables(perf: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the serving tables: configs, bands, every candidate."""
    configs = [
        [
            name,
            r["config"],
            str(r["concurrency"]),
            f"{r['throughput_rps']:.1f}",
            _fmt(r["p50_ms"], ".2f"),
            _fmt(r["p95_ms"], ".2f"),
            _fmt(r["p99_ms"], ".2f"),
            str(r["failed"]),
            str(r["distinct_shapes"]),
            _fmt(r["avg_batch"], ".2f"),
        ]
        for name, r in (("baseline", perf["baseline"]), ("tuned", perf["tuned"]))
    ]
    bands = [
        [
            b["name"],
            f"{b['share']:.1%}",
            f"{b['baseline']['throughput_rps']:.1f}",
            _fmt(b["baseline"]["p99_ms"], ".2f"),
            f"{b['tuned']['throughput_rps']:.1f}",
            _fmt(b["tuned"]["p99_ms"], ".2f"),
            _fmt(b["tuned"].get("avg_batch"), ".2f"),
            _fmt(b.get("speedup"), ".2f"),
        ]
        for b in perf["bands"]
    ]
    candidates = [
        [
            str(c["step"]),
            c["config"],
            f"{c['throughput_rps']:.1f}",
            _fmt(c["p99_ms"], ".2f"),
            _fmt(c["avg_batch"], ".2f"),
            str(c["failed"]),
            "yes" if c["feasible"] else "no",
        ]
        for c in perf["candidates"]
    ]
    return [
        (
            "Baseline and tuned (the traffic log replayed)",
            [
                "",
                "config",
                "clients",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "failed",
                "shapes",
                "server batch",
            ],
            configs,
        ),
        (
            "Per traffic band (each band replayed alone)",
            [
                "band",
                "share",
                "baseline req/s",
                "baseline p99 ms",
                "tuned req/s",
                "tuned p99 ms",
                "tuned batch",
                "speedup",
            ],
            bands,
        ),
        (
            "Every candidate of the search (p99 <= baseline's is feasible)",
            ["step", "config", "req/s", "p99 ms", "server batch", "failed", "feasible"],
            candidates,
        ),
    ]


def plots(perf: dict[str, Any], out_dir: Path) -> list[Path]:
    """Throughput per band (baseline vs tuned) and latency quantiles; [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4))
    names = ["all (mix)"] + [f"{b['name']}\n{b['share']:.0%}" for b in perf["bands"]]
    width = 0.38
    for i, side in enumerate(("baseline", "tuned")):
        values = [perf[side]["throughput_rps"]] + [b[side]["throughput_rps"] for b in perf["bands"]]
        ax.bar([x + (i - 0.5) * width for x in range(len(names))], values, width, label=side)
    ax.set_xticks(range(len(names)), names, fontsize="small")
    ax.set_ylabel("throughput (requests/s)")
    ax.set_title(f"Replayed traffic at {perf['baseline']['concurrency']} clients, per band")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "throughput.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    quantiles = ("p50_ms", "p95_ms", "p99_ms")
    for i, name in enumerate(("baseline", "tuned")):
        values = [perf[name][q] or 0 for q in quantiles]
        ax.bar([x + (i - 0.5) * width for x in range(3)], values, width, label=name)
    ax.set_xticks(range(3), [q[:3] for q in quantiles])
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Latency of the replayed mix at {perf['baseline']['concurrency']} clients")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=100)
    plt.close(fig)
    return [out_dir / "throughput.png", out_dir / "latency.png"]
