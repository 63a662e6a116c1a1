"""``trt-pdk export MODULE:FACTORY -o OUT.onnx [--opset N] [--dynamic INPUT:AXIS=LABEL ...]``."""

from __future__ import annotations

import argparse
import json

from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.export import ExportOptions, exporter


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a PyTorch reference (MODULE:FACTORY) to ONNX with the plugins' translations",
        description="FACTORY() returns (module, example_inputs_tuple); MODULE is a dotted module name on "
        "sys.path or a path to a .py file. The module is put in eval(); the dynamo exporter is used with "
        "every discovered plugin's translation. Writes OUT.onnx and OUT.onnx.export.json (the log).",
    )
    add_options(p, ExportOptions, "export options (YAML section `model`)")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--json", action="store_true", help="print the export log as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk._fs import check_output_file
    from trt_pdk.onnx_stages.from_torch import log_path

    check_output_file(args.output, "-o")
    options = options_from_args(ExportOptions, args)
    log = exporter(options, options.factory, options.checkpoint)(args.output)
    if args.json:
        print(json.dumps(log, indent=2))
    else:
        ops = ", ".join(f"{k} x{v}" for k, v in log["ops"].items())
        print(
            f"{args.output}: {log['exporter']} exporter, opset {log['opset']}, {log['nodes']} nodes ({ops})"
        )
        print(f"log: {log_path(args.output)} ({len(log['warnings'])} warnings)")
    return 0
