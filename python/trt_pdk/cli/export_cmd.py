"""``trt-pdk export MODULE:FACTORY -o OUT.onnx [--opset N] [--dynamic INPUT:AXIS=LABEL ...]``."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a PyTorch reference (MODULE:FACTORY) to ONNX with the plugins' translations",
        description="FACTORY() returns (module, example_inputs_tuple); MODULE is a dotted module name on "
        "sys.path or a path to a .py file. The module is put in eval(); the dynamo exporter is used with "
        "every discovered plugin's translation. Writes OUT.onnx and OUT.onnx.export.json (the log).",
    )
    p.add_argument("reference", metavar="MODULE:FACTORY")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18, dynamo's own)")
    p.add_argument(
        "--dynamic",
        action="append",
        default=[],
        metavar="INPUT:AXIS=LABEL",
        help="a dynamic axis; repeatable",
    )
    p.add_argument(
        "--checkpoint", default=None, help="state_dict loaded with weights_only=True into the module"
    )
    p.add_argument(
        "--legacy", action="store_true", help="use the TorchScript exporter (no plugin translations)"
    )
    p.add_argument(
        "--plugin-version",
        default="2",
        choices=["1", "2"],
        help="plugin nodes' version: 2 = IPluginV3 (default)",
    )
    p.add_argument("--json", action="store_true", help="print the export log as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk._fs import check_output_file
    from trt_pdk.onnx_stages.export import OnnxFromTorch, log_path

    check_output_file(args.output, "-o")
    log = OnnxFromTorch(
        args.reference,
        checkpoint=args.checkpoint,
        opset=args.opset,
        dynamic=args.dynamic,
        legacy=args.legacy,
        plugin_version=args.plugin_version,
    )(args.output)
    if args.json:
        print(json.dumps(log, indent=2))
    else:
        ops = ", ".join(f"{k} x{v}" for k, v in log["ops"].items())
        print(
            f"{args.output}: {log['exporter']} exporter, opset {log['opset']}, {log['nodes']} nodes ({ops})"
        )
        print(f"log: {log_path(args.output)} ({len(log['warnings'])} warnings)")
    return 0
