"""``trt-pdk check MODEL.onnx [--trt VERSION] [--json]``: validate a model offline.

Exit codes: 0 fine, 1 findings, 2 bad input.
"""

from __future__ import annotations

import argparse
import json

from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.check import CheckOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="validate an ONNX model and its TensorRT op coverage (exit 0 fine, 1 findings, 2 bad input)",
        description="onnx.checker full check, shape inference, training-only leftovers and TensorRT "
        "ONNX-parser op coverage for one TensorRT version (from the shipped table; also from the real "
        "parser where `import tensorrt` works).",
    )
    p.add_argument("model", help="the .onnx file")
    add_options(p, CheckOptions)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk.onnx_stages.check import CheckOnnx

    report = CheckOnnx(trt=options_from_args(CheckOptions, args).trt)(args.model)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    return 0 if report.ok else 1
