"""``trt-pdk compare REFERENCE CANDIDATE.onnx [--json]``: run both on CPU and compare outputs.

REFERENCE is ``MODULE:FACTORY`` (the PyTorch model) or an ``.onnx`` file. Exit 0 when every
output is within tolerance, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json

from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.compare import CompareOptions


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
    add_options(p, CompareOptions)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = options_from_args(CompareOptions, args).compare_onnx(args.reference)(args.candidate)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    return 0 if report.ok else 1
