"""``trt-pdk list [--json]``: the discovered plugins, their versions and attributes."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "list",
        help="list the discovered plugins",
        description="List every plugin found through the `trt_pdk.plugins` entry points.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def rows() -> tuple[list[dict], list[dict]]:
    """(plugins, broken entry points) as JSON-ready dicts."""
    from trt_pdk.registry import discover_all

    plugins, broken = discover_all()
    good = [p.spec.summary(p.source) for p in plugins]
    bad = [{"entry_point": b.entry_point, "source": b.source, "error": b.error} for b in broken]
    return good, bad


def _attrs_text(attrs: list[dict]) -> str:
    return ", ".join(f"{a['name']}:{a['type']}={a['default']!r} {a['range']}" for a in attrs) or "-"


def run(args: argparse.Namespace) -> int:
    good, bad = rows()
    if args.json:
        print(json.dumps(good, indent=2))
        for b in bad:
            print(
                f"warning: plugin entry point {b['entry_point']!r} ({b['source']}) is broken: {b['error']}",
                file=sys.stderr,
            )
        return 0
    table = [("NAME", "NAMESPACE", "VERSIONS", "INTERFACES", "ATTRIBUTES", "SOURCE")]
    for r in good:
        table.append(
            (
                r["name"],
                r["namespace"],
                ",".join(r["versions"]),
                ", ".join(r["interfaces"]),
                _attrs_text(r["attrs"]),
                r["source"],
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not good:
        print("(no plugins found; is trt-pdk installed with its entry points?)")
    for b in bad:
        print(f"BROKEN  {b['entry_point']}  {b['source']}: {b['error']}")
    return 0
