"""``trt-pdk perf``: replay a traffic log against a served model, bucket shapes, search serving configs."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from trt_pdk.errors import UserError
from trt_pdk.options import add_options, options_from_args
from trt_pdk.triton.perf_options import PerfOptions


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "perf",
        help="replay a traffic log against a Triton model; shape bucketing and a config search",
        description=(
            "Replays TRAFFIC (its shape mix in recorded proportions, closed loop at --concurrency "
            "clients; open loop on its timestamps when it has them) against a model on the embedded "
            "Triton (started here on --repository, or the one serving --run-dir), per traffic band and "
            "overall; plans shape bucketing from the same traffic and searches instance count x dynamic "
            "batching x bucketing with p99 no worse than the baseline. Writes RUN_DIR/perf.json and the "
            "winner's model config, RUN_DIR/tuned_config.pbtxt."
        ),
    )
    p.add_argument("--model", required=True)
    p.add_argument("--traffic", type=Path, required=True, help="traffic log (.jsonl/.csv/.json) to replay")
    p.add_argument(
        "--profiles", type=Path, help="profiles.json naming the traffic bands (default: planned here)"
    )
    p.add_argument("--repository", type=Path, help="deployment folder (default: the running server's)")
    p.add_argument("--run-dir", type=Path, required=True, help="server run folder; perf.json goes here")
    p.add_argument("--onnx", type=Path, help="the served ONNX graph (default: the repository's model.onnx)")
    # The replay's options: flags, defaults and checks come from the serving side's PerfOptions.
    add_options(p, PerfOptions, "perf options")
    p.add_argument("--no-tune", action="store_true", help="baseline only (same as --search none)")
    p.set_defaults(func=_perf)


def _perf(args) -> int:
    from trt_pdk.triton.perf import TUNED_CONFIG, ServingTraffic, run_perf
    from trt_pdk.triton.server import pid_alive, read_state

    options = options_from_args(PerfOptions, args)
    if args.no_tune:
        options = dataclasses.replace(options, search="none")
    state = read_state(args.run_dir)
    if state is not None and not pid_alive(state.pid):
        state = None
    repository = args.repository or (Path(state.repository) if state else None)
    if repository is None:
        raise UserError(
            f"no running server in {args.run_dir} and no --repository: pass --repository DIR to "
            "start one here."
        )
    report = run_perf(
        repository,
        args.model,
        args.run_dir,
        ServingTraffic(args.traffic, _profiles(args)),
        options,
        state=state,
        onnx_model=args.onnx,
        log=lambda message: print(f"perf: {message}", file=sys.stderr, flush=True),
    )
    files = {
        "perf_json": str(Path(args.run_dir) / "perf.json"),
        "tuned_config": str(Path(args.run_dir) / TUNED_CONFIG),
    }
    print(json.dumps(report["summary"] | files, indent=2))
    return 0


def _profiles(args) -> list[dict]:
    from trt_pdk.profiles import load_profiles, load_traffic, profiles_from_traffic

    if args.profiles:
        return load_profiles(args.profiles)
    return profiles_from_traffic(load_traffic(args.traffic), "auto").profiles
