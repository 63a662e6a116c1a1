"""``trt-pdk test [NAME ...|--all] [--json]``: run the op test harness.

Exit code 0 when every check passed or was skipped, 1 when a check failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from trt_pdk.execution.limits import add_max_input_flag


def register(subparsers: argparse._SubParsersAction) -> None:
    from trt_pdk.testing.harness import CASE_CHECKS

    p = subparsers.add_parser(
        "test",
        help="compare every backend of plugins against their PyTorch reference",
        description=(
            "Run each plugin's test cases through the shape rule, the CPU reference, the CUDA "
            "kernel, a one-node ONNX graph and TensorRT engines (V2 and V3); unavailable "
            "backends are skipped with the reason."
        ),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="plugins to test (default: all)")
    p.add_argument("--all", action="store_true", help="test every discovered plugin")
    p.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    p.add_argument(
        "--backend",
        action="append",
        choices=CASE_CHECKS,
        default=[],
        help="only this per-case check (repeatable; default: all)",
    )
    p.add_argument(
        "--attr",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an attribute in every case (repeatable)",
    )
    add_max_input_flag(p)
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk.errors import UserError
    from trt_pdk.registry import select
    from trt_pdk.testing.harness import CASE_CHECKS, FAIL, format_result, run_plugin, summarize

    if args.all and args.names:
        raise UserError("give plugin names or --all, not both")
    specs = select([] if args.all else args.names)
    if not specs:
        raise UserError("no plugins are installed to test; `trt-pdk list` shows what is discovered")
    if args.case and len(specs) != 1:
        raise UserError("--case needs exactly one plugin name")
    backends = args.backend or list(CASE_CHECKS)

    def progress(result) -> None:
        if not args.json and (not args.quiet or result.status == FAIL):
            print(format_result(result), flush=True)

    if args.attr:
        specs = [_with_attrs(spec, args.attr) for spec in specs]
    results = []
    for spec in specs:
        results += run_plugin(
            spec,
            cases=args.case or None,
            backends=backends,
            progress=progress,
            max_input_mib=args.max_input_mib,
        )
    counts = summarize(results)
    if args.json:
        print(json.dumps({"results": [r.as_dict() for r in results], "summary": counts}, indent=2))
    else:
        print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped", file=sys.stderr)
    return 1 if counts["fail"] else 0


def _with_attrs(spec, items: list[str]):
    """`spec` with every case's attributes overridden (validated by Python and C++ first)."""
    import dataclasses

    from trt_pdk.cli.attrs_cmd import native_validate, parse_values
    from trt_pdk.native import op_binding

    values = parse_values(spec, items)
    native_validate(op_binding(spec), values)
    given = {item.partition("=")[0] for item in items}
    override = {k: v for k, v in values.items() if k in given}
    cases = tuple(dataclasses.replace(c, attrs={**c.attrs, **override}) for c in spec.cases)
    return dataclasses.replace(spec, cases=cases)
