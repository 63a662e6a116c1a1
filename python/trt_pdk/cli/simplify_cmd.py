"""``trt-pdk simplify IN.onnx -o OUT.onnx [--json]``: fold constants, drop Identity/Dropout/dead code."""

from __future__ import annotations

import argparse
import json

from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.simplify import SimplifyOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simplify",
        help="constant folding and dead-code removal; plugin nodes are kept untouched",
        description="Simplify an ONNX model with onnxslim (constant folding, Identity/Dropout removal, "
        "dead branches); prints the node count and size before and after.",
    )
    p.add_argument("model", help="the input .onnx file")
    p.add_argument("-o", "--output", required=True, help="where to write the simplified model")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_options(p, SimplifyOptions)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk._fs import check_output_file
    from trt_pdk.onnx_stages.simplify import SimplifyOnnx

    check_output_file(args.output, "-o")
    options = options_from_args(SimplifyOptions, args)
    result = SimplifyOnnx(options.shape_inference).run(args.model, args.output)
    info = {"input": args.model, "output": args.output, **result.as_dict()}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(
            f"{args.output}: {result.nodes_before} -> {result.nodes_after} nodes, "
            f"{result.bytes_before} -> {result.bytes_after} bytes; removed {info['ops_removed'] or 'nothing'}"
        )
    return 0
