"""`trt-pdk engine build|compare`: TensorRT engines from ONNX, and FP32 vs FP16 checks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from trt_pdk.execution.limits import add_max_input_flag
from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.engine import EngineOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("engine", help="build and compare TensorRT engines")
    sub = p.add_subparsers(dest="engine_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build engines with the plugin libraries (and write trtexec lines)")
    b.add_argument("model", help="the rewritten ONNX model")
    b.add_argument("--profiles", required=True, help="PROFILES.json from `trt-pdk profiles plan`")
    b.add_argument("-o", "--output", required=True, help="run folder")
    b.add_argument(
        "--dry-run", action="store_true", help="only write trtexec command lines (no TensorRT needed)"
    )
    b.add_argument("--timing-cache", help="timing cache file (default RUN_DIR/timing.cache)")
    add_options(b, EngineOptions)
    b.set_defaults(func=run_build)
    c = sub.add_parser("compare", help="FP32/FP16 engines vs onnxruntime per profile: errors and latency")
    c.add_argument("run_dir")
    c.add_argument("--json", action="store_true")
    c.add_argument("--iterations", type=int, default=50)
    add_max_input_flag(c)
    c.set_defaults(func=run_compare)


def run_build(args: argparse.Namespace) -> int:
    from trt_pdk._fs import check_output_folder
    from trt_pdk.profiles import load_profiles

    check_output_folder(args.output, "-o")
    stage = options_from_args(EngineOptions, args).engine_from_onnx(
        Path(args.model),
        load_profiles(args.profiles),
        Path(args.output),
        timing_cache=Path(args.timing_cache) if args.timing_cache else None,
    )
    result = stage(dry_run=args.dry_run)
    for name in result.trtexec_scripts:
        print(f"wrote {Path(args.output) / name}")
    for prec, rel in result.engines.items():
        print(f"wrote {Path(args.output) / rel} ({prec})")
    if result.engines:
        print(f"wrote {Path(args.output) / 'manifest.json'}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from trt_pdk.engine import compare_precisions

    report = compare_precisions(args.run_dir, iterations=args.iterations, max_input_mib=args.max_input_mib)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        header = ("profile", "engine", "output", "max abs", "max rel", "pass", "ms")
        print("{:>7} {:>6} {:>16} {:>10} {:>10} {:>5} {:>8}".format(*header))
        for entry in report["profiles"]:
            for prec, res in entry["engines"].items():
                for name, s in res["outputs"].items():
                    print(
                        f"{entry['profile']:>7} {prec:>6} {name[:16]:>16} {s['max_abs']:>10.3g} "
                        f"{s['max_rel']:>10.3g} {'yes' if s['pass'] else 'NO':>5} {res['latency_ms']:>8.3f}"
                    )
    return 0 if report["pass"] else 1
