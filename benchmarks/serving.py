"""Serving-config search benchmark: quick (hill climbing) against an exhaustive sweep, one run; prints JSON.

Builds a per-token FFN at the demo's width (``x [batch, seq, 768]`` -> 3072 -> 768, the
demo model's MLP without its plugins), writes a python-backend repository, starts the
embedded tritonserver on 127.0.0.1 and replays the demo's traffic log
(``pipeline/demo_traffic.jsonl``, 39 shapes) at 16 clients. Then, on the same server:

1. the quick search (:func:`trt_pdk.triton.perf.measure_serving`, ``search="quick"``);
2. the exhaustive sweep over the same grid (instance count x batcher delay or off x
   preferred sizes x bucketing), every point measured.

3. the quick winner and the sweep's best measured again, back to back, ``--rounds`` times in
   alternating order (a search's best is the maximum of noisy samples; on a shared
   machine only a paired re-measure compares two configs fairly).

``quick_winner_vs_best`` = median paired throughput of the quick winner / that of the
sweep's best (1.0 when both searches chose the same config); ``in_sweep`` gives the same
ratio from the sweep's own single samples. ``time_fraction`` = quick seconds / sweep seconds.

    python benchmarks/serving.py --out /tmp/serving [--duration 1] [--concurrency 16]

Target: ``quick_winner_vs_best`` >= 0.90 at a ``time_fraction`` well under 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _search_seconds(report: dict) -> float:
    return report["search"]["seconds"] + report["search"].get("finals_seconds", 0.0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="work folder (model, repository, run)")
    p.add_argument("--traffic", type=Path, default=ROOT / "pipeline" / "demo_traffic.jsonl")
    p.add_argument("--duration", type=float, default=1.0, help="least seconds per candidate")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--rounds", type=int, default=3, help="paired re-measures of the two winners")
    args = p.parse_args(argv)

    from trt_pdk.profiles import load_traffic, profiles_from_traffic
    from trt_pdk.triton.config import BatchingOptions
    from trt_pdk.triton.demo_model import token_mlp_onnx
    from trt_pdk.triton.perf import PerfOptions, ServingTraffic, measure_serving, paired_measure
    from trt_pdk.triton.repository import repository_from_onnx
    from trt_pdk.triton.server import TritonServer

    onnx_path = token_mlp_onnx(args.out / "ffn.onnx", 768, hidden=3072)
    deploy = args.out / "deploy"
    if not (deploy / "models" / "ffn").is_dir():
        repository_from_onnx(onnx_path, deploy, "ffn", batching=BatchingOptions(max_batch_size=32))
    traffic = ServingTraffic(args.traffic, profiles_from_traffic(load_traffic(args.traffic), "auto").profiles)

    def log(message: str) -> None:
        print(f"serving benchmark: {message}", file=sys.stderr, flush=True)

    common = {
        "concurrency": args.concurrency,
        "duration": args.duration,
        "protocol": args.protocol,
        "recheck": False,
        "per_band": False,
        "budget_s": 1e9,
    }
    with TritonServer(deploy, args.out / "run", models=["ffn"]) as server:
        quick = measure_serving(
            deploy, "ffn", traffic, PerfOptions(search="quick", **common), state=server.state, log=log
        )
        sweep = measure_serving(
            deploy, "ffn", traffic, PerfOptions(search="exhaustive", **common), state=server.state, log=log
        )
        same = quick["tuned"]["point"] == sweep["tuned"]["point"]
        log(f"paired re-measure of the two winners, {args.rounds} rounds")
        pair = paired_measure(
            deploy,
            "ffn",
            traffic,
            PerfOptions(**common),
            [quick["tuned"]["point"]] if same else [quick["tuned"]["point"], sweep["tuned"]["point"]],
            state=server.state,
            rounds=args.rounds,
            bucketing=quick["bucketing"],
        )
    by_label = {c["label"]: c for c in sweep["candidates"]}
    winner = by_label[quick["tuned"]["label"]]
    best = sweep["tuned"]
    paired = [sorted(r["throughput_rps"] for r in results) for results in pair]
    medians = [p[len(p) // 2] for p in paired]
    vs_best = 1.0 if same else medians[0] / medians[1]
    out = {
        "machine": sweep["machine"],
        "traffic": str(args.traffic),
        "concurrency": args.concurrency,
        "grid_points": sweep["search"]["grid_points"],
        "quick": {
            "winner": quick["tuned"]["label"],
            "throughput_rps_in_its_own_run": quick["tuned"]["result"]["throughput_rps"],
            "measured": quick["search"]["measured"],
            "seconds": quick["search"]["seconds"],
            "finals_seconds": quick["search"].get("finals_seconds"),
            "finals": quick["search"].get("finals"),
            "stopped": quick["search"]["stopped"],
            "baseline_p99_ms": quick["baseline"]["result"]["p99_ms"],
            "path": [
                {
                    "config": c["label"],
                    "step": c["step"],
                    "feasible": c["feasible"],
                    **{k: c["result"][k] for k in ("throughput_rps", "p99_ms", "avg_batch")},
                }
                for c in quick["candidates"]
            ],
        },
        "exhaustive": {
            "best": best["label"],
            "best_throughput_rps": best["result"]["throughput_rps"],
            "best_p99_ms": best["result"]["p99_ms"],
            "measured": sweep["search"]["measured"],
            "seconds": sweep["search"]["seconds"],
            "baseline_p99_ms": sweep["baseline"]["result"]["p99_ms"],
        },
        "quick_winner_in_sweep": {
            "throughput_rps": winner["result"]["throughput_rps"],
            "p99_ms": winner["result"]["p99_ms"],
            "feasible": winner["feasible"],
        },
        "paired": {
            "rounds": args.rounds,
            "quick_winner_rps": paired[0],
            "sweep_best_rps": paired[-1],
            "quick_winner_p99_ms": [r["p99_ms"] for r in pair[0]],
            "sweep_best_p99_ms": [r["p99_ms"] for r in pair[-1]],
        },
        "quick_winner_vs_best": round(vs_best, 3),
        "in_sweep": round(winner["result"]["throughput_rps"] / best["result"]["throughput_rps"], 3),
        # Both searches end with the same final round among their close calls: it counts for both.
        "time_fraction": round(_search_seconds(quick) / _search_seconds(sweep), 3),
        "target_met": vs_best >= 0.9 and _search_seconds(quick) < _search_seconds(sweep),
        "sweep": [
            {
                "config": c["label"],
                "feasible": c["feasible"],
                **{k: c["result"][k] for k in ("throughput_rps", "p99_ms", "avg_batch", "failed")},
            }
            for c in sweep["candidates"]
        ],
        "bucketing": {k: quick["bucketing"].get(k) for k in ("enabled", "mode", "reason", "axes")},
    }
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
