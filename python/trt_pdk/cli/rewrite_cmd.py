"""``trt-pdk rewrite IN.onnx -o OUT.onnx [--plugin NAME[:VERSION] ...] [--json]``."""

from __future__ import annotations

import argparse
import json

from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.rewrite import RewriteOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "rewrite",
        help="turn plugin torch-op nodes and declared standard-op patterns into plugin nodes",
        description="Replace custom-domain nodes of the plugins' torch ops and the standard-op patterns "
        "the plugin specs declare by plugin nodes with plugin_version/plugin_namespace. Tensor names, "
        "shapes and value_info are kept.",
    )
    p.add_argument("model", help="the input .onnx file")
    p.add_argument("-o", "--output", required=True, help="where to write the rewritten model")
    add_options(p, RewriteOptions)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk._fs import check_output_file
    from trt_pdk.onnx_stages.rewrite import RewriteOnnx

    check_output_file(args.output, "-o")
    result = RewriteOnnx(plugins=options_from_args(RewriteOptions, args).plugins).run(args.model, args.output)
    info = {"input": args.model, "output": args.output, **result.as_dict()}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for r in result.replacements:
        removed = f"{len(r.nodes_removed)} nodes removed" if r.nodes_removed else "attributes set"
        print(f"{r.pattern}: {r.node_added} ({r.plugin} v{r.version}) -> {r.output}; {removed}")
    for r in result.rejected:
        print(f"not replaced: {r['pattern']} at {r['at']}: {r['why']}")
    print(
        f"{args.output}: {len(result.replacements)} replacement(s), "
        f"{result.nodes_before} -> {result.nodes_after} nodes"
    )
    return 0
