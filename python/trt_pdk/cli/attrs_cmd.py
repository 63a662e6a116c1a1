"""``trt-pdk attrs NAME [key=value ...] [--decode FILE]``: check, serialize, decode attributes.

Prints the attributes with defaults filled in and the bytes a plugin stores in an engine
(hex); ``--decode`` reads such bytes (raw, or hex text) back. Both run the C++ core, so
the messages are the ones TensorRT users would see.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from trt_pdk.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "attrs",
        help="validate, serialize or decode a plugin's attributes",
        description="Validate attributes (key=value), print them with defaults and their serialized bytes.",
    )
    p.add_argument("name", metavar="NAME", help="plugin name, e.g. RMSNorm")
    p.add_argument("values", nargs="*", metavar="KEY=VALUE", help="attribute values")
    p.add_argument("--decode", metavar="FILE", help="decode serialized attributes from FILE ('-' = stdin)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def parse_values(spec: Any, items: list[str]) -> dict[str, Any]:
    """``["eps=1e-5"]`` -> ``{"eps": 1e-05}``, typed by the spec; UserError on bad input."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise UserError(f"expected KEY=VALUE, got {item!r}")
        attr = spec.attr(key)
        if attr.type == "string":
            values[key] = text
            continue
        try:
            values[key] = int(text) if attr.type == "int32" else float(text)
        except ValueError:
            raise UserError(
                f"{spec.name}: attribute {key!r} is {attr.type} ({attr.range_text()}), got {text!r}"
            ) from None
    return spec.resolve_attrs(values)


def native_validate(binding: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    try:
        return binding.validate(attrs)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from trt_pdk.native import op_binding
    from trt_pdk.registry import get_spec

    spec = get_spec(args.name)
    binding = op_binding(spec)
    if args.decode:
        if args.values:
            raise UserError("give KEY=VALUE pairs or --decode, not both")
        data = sys.stdin.buffer.read() if args.decode == "-" else _read(Path(args.decode))
        try:
            text = data.decode("ascii").strip()
            data = (
                bytes.fromhex(text) if text and all(c in "0123456789abcdefABCDEF \n" for c in text) else data
            )
        except UnicodeDecodeError:
            pass
        try:
            attrs = binding.deserialize(data)
        except ValueError as exc:
            raise UserError(f"cannot decode {args.decode}: {exc}") from None
        serialized = data
    else:
        attrs = native_validate(binding, parse_values(spec, args.values))
        serialized = binding.serialize(attrs)
    if args.json:
        print(json.dumps({"name": spec.name, "attrs": attrs, "serialized_hex": serialized.hex()}, indent=2))
    else:
        for key, value in attrs.items():
            print(f"{key} = {value!r}")
        print(f"serialized ({len(serialized)} bytes): {serialized.hex()}")
    return 0


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    return path.read_bytes()
