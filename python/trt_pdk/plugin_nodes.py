"""What makes an ONNX node a trt-pdk plugin node, written once.

A plugin node is ``op_type=<plugin name>`` in the plugin's namespace as its domain, with
the string attributes TensorRT's ONNX parser reads (FACTS: "TensorRT's ONNX parser and
plugins"): ``plugin_version`` (``"1"`` IPluginV2DynamicExt, ``"2"`` IPluginV3; the
parser's default when absent is ``"1"``) and ``plugin_namespace``. Every stage that
writes, reads or runs plugin nodes (export, rewrite, check, compare, the CPU serving
model) takes these rules from here.

This module imports onnx only inside the functions that need it, so ``spec.py`` can use
its constants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trt_pdk.errors import UserError

DEFAULT_PLUGIN_VERSION = "2"  # what the kit emits: IPluginV3
PARSER_DEFAULT_VERSION = "1"  # what TensorRT's parser assumes when a node has no plugin_version
VERSION_INTERFACES = {"1": "IPluginV2DynamicExt", "2": "IPluginV3"}
RESERVED_ATTRS = ("plugin_version", "plugin_namespace")
STANDARD_DOMAINS = ("", "ai.onnx")
# Domains onnxruntime implements itself; a node of any other domain is a plugin node.
ONNXRUNTIME_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc"})


def is_plugin_node(node: Any) -> bool:
    """A node no runtime implements itself (a plugin, ours or another kit's)."""
    return node.domain not in ONNXRUNTIME_DOMAINS


def attribute_values(node: Any, *, reserved: bool = True) -> dict[str, Any]:
    """A node's attributes as Python values (bytes decoded); without the TensorRT-reserved
    ones when ``reserved=False``."""
    from onnx import helper

    out: dict[str, Any] = {}
    for a in node.attribute:
        if not reserved and a.name in RESERVED_ATTRS:
            continue
        value = helper.get_attribute_value(a)
        out[a.name] = value.decode() if isinstance(value, bytes) else value
    return out


def plugin_version_of(node: Any) -> str:
    """The plugin version TensorRT's parser would read from `node`."""
    for a in node.attribute:
        if a.name == "plugin_version":
            return a.s.decode() if a.s else PARSER_DEFAULT_VERSION
    return PARSER_DEFAULT_VERSION


def plugin_namespace_of(node: Any) -> str | None:
    """The node's ``plugin_namespace`` attribute, or None when it has none."""
    for a in node.attribute:
        if a.name == "plugin_namespace":
            return a.s.decode()
    return None


def describe_versions(versions: Iterable[str]) -> str:
    return ", ".join(f"{v} ({VERSION_INTERFACES.get(v, '?')})" for v in versions)


def require_version(spec: Any, version: str, where: str = "") -> None:
    """UserError unless `spec` was built with plugin `version`: the one version check."""
    if version in spec.versions:
        return
    prefix = f"{where}: " if where else ""
    raise UserError(
        f"{prefix}{spec.name} has plugin versions {describe_versions(spec.versions)}; version {version!r} "
        f"({VERSION_INTERFACES.get(version, 'unknown')}) is not built. Use one of those (e.g. "
        f"`trt-pdk rewrite --plugin {spec.name}:{spec.versions[-1]}`)."
    )


def node_attributes(spec: Any, attrs: Mapping[str, Any] | None, version: str) -> dict[str, Any]:
    """The attributes of a new plugin node: resolved plugin attrs + version + namespace."""
    require_version(spec, version)
    out = spec.resolve_attrs(dict(attrs or {}))
    out["plugin_version"] = version
    out["plugin_namespace"] = spec.namespace
    return out


def plugin_node_keys(model: Any) -> set[tuple[str, str]]:
    """``{(domain, op_type)}`` of the plugin nodes in the model's main graph."""
    return {(n.domain, n.op_type) for n in model.graph.node if is_plugin_node(n)}


def _node_name(node: Any) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def check_plugin_nodes(model: Any, specs: Iterable[Any]) -> list[str]:
    """Refuses plugin nodes the kit cannot stand behind; returns notes for the report.

    Raises UserError (one paragraph) for a node no discovered plugin provides, a
    ``plugin_version`` the plugin was not built with, or a ``plugin_namespace`` other
    than the plugin's: TensorRT would look that plugin up in another kit's namespace, so
    running our op's body on CPU would check a different op than the engine runs.
    """
    by_key = {(s.namespace, s.name): s for s in specs}
    notes: list[str] = []
    for node in model.graph.node:
        if not is_plugin_node(node):
            continue
        where = f"node {_node_name(node)} ({node.domain}::{node.op_type})"
        spec = by_key.get((node.domain, node.op_type))
        if spec is None:
            known = ", ".join(f"{d}::{n}" for d, n in sorted(by_key)) or "none"
            raise UserError(
                f"{where}: no discovered plugin provides it (known: {known}), so it cannot run on CPU "
                f"and TensorRT would not find it. Install the package that provides it or leave it out of "
                f"the rewrite."
            )
        version = plugin_version_of(node)
        require_version(spec, version, where)
        namespace = plugin_namespace_of(node)
        if namespace is None:
            notes.append(
                f"{where} has no plugin_namespace; TensorRT before 10.9 then looks in the empty namespace "
                f"(run `trt-pdk rewrite` to set it)"
            )
        elif namespace != spec.namespace:
            raise UserError(
                f"{where}: plugin_namespace is {namespace!r}, but {spec.name} lives in {spec.namespace!r}; "
                f"TensorRT would look the plugin up in another kit's namespace, so this kit's CPU run "
                f"would not check what the engine runs. Set plugin_namespace={spec.namespace!r} (run "
                f"`trt-pdk rewrite`) or compare with the kit that provides {namespace!r}."
            )
    return notes


# Plugin attribute type -> ONNX AttributeProto type name (what TensorRT's parser maps).
_ATTR_PROTO_TYPES = {"float32": "FLOAT", "int32": "INT", "string": "STRING"}


def _plugin_attribute(spec: Any, name: str, value: Any) -> Any:
    from onnx import helper

    attr_type = spec.attr(name).type
    if attr_type == "float32":
        return helper.make_attribute(name, float(value))
    if attr_type == "int32":
        return helper.make_attribute(name, int(value))
    return helper.make_attribute(name, str(value))


def plugin_node_attributes(spec: Any, version: str, values: Mapping[str, Any]) -> list[Any]:
    """Validated plugin attributes (defaults filled) plus ``plugin_version``/``plugin_namespace``."""
    from onnx import helper

    require_version(spec, version)
    resolved = spec.resolve_attrs(dict(values))
    attrs = [_plugin_attribute(spec, name, value) for name, value in resolved.items()]
    attrs.append(helper.make_attribute("plugin_version", version))
    attrs.append(helper.make_attribute("plugin_namespace", spec.namespace))
    return attrs


def attrs_of_plugin_node(spec: Any, node: Any) -> dict[str, Any]:
    """A plugin node's own attributes as Python values; UserError on a wrong attribute type."""
    import onnx
    from onnx import helper

    proto_types = {name: getattr(onnx.AttributeProto, kind) for name, kind in _ATTR_PROTO_TYPES.items()}
    values: dict[str, Any] = {}
    where = f"node {node.name or '(unnamed)'} ({node.domain}::{node.op_type})"
    for a in node.attribute:
        if a.name in RESERVED_ATTRS:
            if a.type != onnx.AttributeProto.STRING:
                raise UserError(
                    f"{where}: attribute {a.name!r} must be a STRING (TensorRT's parser reads it as "
                    f"text), it is {onnx.AttributeProto.AttributeType.Name(a.type)}. Re-export the model."
                )
            continue
        try:
            expected = spec.attr(a.name).type
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
        if a.type != proto_types[expected]:
            raise UserError(
                f"{where}: attribute {a.name!r} is {onnx.AttributeProto.AttributeType.Name(a.type)}, but "
                f"{spec.name} declares it {expected} (ONNX "
                f"{onnx.AttributeProto.AttributeType.Name(proto_types[expected])}); TensorRT "
                f"would pass the wrong type to the plugin. Fix the exporter or the node."
            )
        value = helper.get_attribute_value(a)
        values[a.name] = value.decode() if isinstance(value, bytes) else value
    try:
        return spec.resolve_attrs(values)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
