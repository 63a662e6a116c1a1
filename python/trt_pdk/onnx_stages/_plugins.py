"""Plugin specs as the ONNX stages see them (private): discovery, schemas, lookups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def discovered_specs() -> dict[str, Any]:
    """``{name: PluginSpec}`` of every discovered plugin (broken entry points left out)."""
    from trt_pdk.registry import discover

    return discover()


def register_schemas(specs: Mapping[str, Any]) -> None:
    """Registers each plugin's ``OpSchema`` so onnx's checker and shape inference know it."""
    from trt_pdk.onnx_export import register_schema

    for spec in specs.values():
        register_schema(spec)


def by_node_key(specs: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """``{(domain, op_type): spec}``: how a plugin node is found from an ONNX node."""
    return {(s.namespace, s.name): s for s in specs.values()}


def candidates_for(op_type: str, specs: Mapping[str, Any]) -> list[str]:
    """Plugins whose declared patterns contain `op_type` (they could replace it)."""
    from trt_pdk.patterns import patterns_of

    out = []
    for name, spec in sorted(specs.items()):
        patterns = patterns_of(spec)
        if any(op.op_type == op_type for p in patterns for op in p.nodes):
            out.append(name)
    return out
