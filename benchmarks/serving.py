"""Serving benchmark: the embedded Triton with and without dynamic batching; prints JSON.

Builds a weight-bound standard-op MLP ([batch, 256] -> 2048 -> 2048 -> 256, like the demo
model's MLP), writes a python-backend repository, starts tritonserver on 127.0.0.1, and
runs :class:`trt_pdk.triton.perf.ProfileServing`: a no-batching baseline, then dynamic
batching, instance count and preferred batch sizes, one at a time.

    python benchmarks/serving.py --out /tmp/serving [--duration 3] [--concurrency 1,4,16] [--rate 500]

Target on a 2-core CPU machine: dynamic batching gives >= 2x the baseline throughput at
16 concurrent clients, with a p99 no worse.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="work folder (model, repository, run)")
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--concurrency", default="1,4,16")
    p.add_argument("--rate", default="", help="open-loop rates, requests/s (comma list)")
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--layers", type=int, default=3)
    args = p.parse_args(argv)

    from trt_pdk.triton.demo_model import mlp_onnx
    from trt_pdk.triton.perf import PerfSettings, ProfileServing
    from trt_pdk.triton.repository import repository_from_onnx

    onnx_path = mlp_onnx(args.out / "mlp.onnx", hidden=args.hidden, layers=args.layers)
    deploy = args.out / "deploy"
    if not (deploy / "models" / "mlp").is_dir():
        repository_from_onnx(onnx_path, deploy, "mlp")
    settings = PerfSettings(
        concurrency=[int(c) for c in args.concurrency.split(",") if c],
        rates=[float(r) for r in args.rate.split(",") if r],
        duration=args.duration,
        warmup=args.warmup,
        protocol=args.protocol,
    )
    report = ProfileServing(deploy, "mlp", args.out / "run", settings)()
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
