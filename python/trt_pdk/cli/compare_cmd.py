"""``trt-pdk compare REFERENCE CANDIDATE.onnx [--json]``: run both on CPU and compare outputs.

REFERENCE is ``MODULE:FACTORY`` (the PyTorch model) or an ``.onnx`` file. Exit 0 when every
output is within tolerance, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json

from trt_pdk.execution.limits import add_max_input_flag


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="run a reference and a candidate ONNX on CPU and compare their outputs",
        description="Generated inputs at the min, middle and max of every dynamic axis; plugin nodes run "
        "through their op's standard-ONNX body in onnxruntime (as the Triton CPU model serves them). Reports "
        "max abs/rel error per output; a NaN matches only a NaN at the same position.",
    )
    p.add_argument("reference", metavar="REFERENCE", help="MODULE:FACTORY or a .onnx file")
    p.add_argument("candidate", metavar="CANDIDATE.onnx")
    p.add_argument(
        "--dim", action="append", default=[], metavar="LABEL=MIN:MAX", help="range of a dynamic axis"
    )
    p.add_argument("--atol", type=float, default=None, help="absolute tolerance for every float output")
    p.add_argument("--rtol", type=float, default=None, help="relative tolerance for every float output")
    add_max_input_flag(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk.onnx_stages.compare import TOLERANCES, CompareOnnx, parse_dims

    tolerances = None
    if args.atol is not None or args.rtol is not None:
        tolerances = {
            k: (args.atol if args.atol is not None else a, args.rtol if args.rtol is not None else r)
            for k, (a, r) in TOLERANCES.items()
        }
    report = CompareOnnx(
        args.reference, dims=parse_dims(args.dim), tolerances=tolerances, max_input_mib=args.max_input_mib
    )(args.candidate)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    return 0 if report.ok else 1
