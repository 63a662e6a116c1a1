"""``trt-pdk perf``: load a served model (closed and open loop), tune batching one step at a time."""

from __future__ import annotations

import json
from pathlib import Path

from trt_pdk.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "perf",
        help="measure a Triton model: latency percentiles, throughput, batching tuned one step at a time",
        description=(
            "Runs our asyncio load generator against a model on the embedded Triton (started here "
            "on --repository, or the one serving --run-dir). Writes RUN_DIR/perf.json."
        ),
    )
    p.add_argument("--model", required=True)
    p.add_argument("--repository", type=Path, help="deployment folder (default: the running server's)")
    p.add_argument("--run-dir", type=Path, required=True, help="server run folder; perf.json goes here")
    p.add_argument("--concurrency", default="1,4,16", help="closed-loop client counts (comma list)")
    p.add_argument("--rate", default="", help="open-loop Poisson rates, requests/s (comma list)")
    p.add_argument("--duration", type=float, default=3.0, help="seconds measured per level")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds discarded per level")
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--request-batch", type=int, default=1, help="batch size of each request")
    p.add_argument("--target-concurrency", type=int, default=16, help="where tuning decides")
    p.add_argument("--no-tune", action="store_true", help="baseline only")
    p.add_argument("--inputs", type=Path, help=".npz request tensors (default: random from the config)")
    p.set_defaults(func=_perf)


def _numbers(text: str, kind, what: str) -> list:
    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise UserError(f"{what} {text!r} is not a comma list of numbers.") from exc


def _perf(args) -> int:
    from trt_pdk.triton.perf import PerfSettings, ProfileServing
    from trt_pdk.triton.server import pid_alive, read_state
    from trt_pdk.triton.verify import load_arrays

    settings = PerfSettings(
        concurrency=_numbers(args.concurrency, int, "--concurrency"),
        rates=_numbers(args.rate, float, "--rate"),
        duration=args.duration,
        warmup=args.warmup,
        protocol=args.protocol,
        request_batch=args.request_batch,
        target_concurrency=args.target_concurrency,
        tune=not args.no_tune,
    )
    state = read_state(args.run_dir)
    if state is not None and not pid_alive(state.pid):
        state = None
    repository = args.repository or (Path(state.repository) if state else None)
    if repository is None:
        raise UserError(
            f"no running server in {args.run_dir} and no --repository: pass --repository DIR to "
            "start one here."
        )
    inputs = load_arrays(args.inputs, "request inputs") if args.inputs else None
    report = ProfileServing(repository, args.model, args.run_dir, settings, state=state, inputs=inputs)()
    print(json.dumps(report["summary"] | {"perf_json": str(Path(args.run_dir) / "perf.json")}, indent=2))
    return 0
