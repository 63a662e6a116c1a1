"""The plugins' rewrite patterns as Polygraphy plugin folders (``polygraphy plugin list|match|replace``).

Polygraphy's plugin tool reads ``<plugin dir>/<folder>/pattern.py`` and calls its
``get_matching_subgraphs(graph)`` (an onnx-graphsurgeon graph) and ``get_plugin_metadata()``;
``replace`` calls ``replace_with_plugin(...)`` where the file defines it. Each op with rewrite
patterns has such a file beside its spec (``plugins/<op>/pattern.py``, installed into
``trt_pdk/plugins/<op>/``), a few lines calling this module, so Polygraphy matches with the
same engine and patterns as ``trt-pdk rewrite``: both find the same subgraphs.

The folder for the kit's ops is ``python -m trt_pdk --polygraphy-dir``; for a plugin package,
``python -m trt_pdk --polygraphy-dir PACKAGE``::

    polygraphy plugin match model.onnx --plugin-dir "$(python -m trt_pdk --polygraphy-dir)" -o config.yaml
    polygraphy plugin replace model.onnx --plugin-dir "$(python -m trt_pdk --polygraphy-dir)" \\
        --config config.yaml -o replaced.onnx

Polygraphy's default replacement writes a node with only the attributes listed in
``config.yaml`` and no domain. So each matched instance lists the plugin's attributes
with ``plugin_version`` and ``plugin_namespace`` (what TensorRT's parser reads to find the
creator; edit ``plugin_version`` in the file for IPluginV2DynamicExt), and
``replace_with_plugin`` also puts the node in the plugin's domain and declares that domain
in the model's opsets, as ``trt-pdk rewrite`` does.
"""

from __future__ import annotations

from typing import Any

from trt_pdk.errors import UserError
from trt_pdk.onnx_stages.patterns import Pattern, patterns_of  # the pattern language, imported once

DEFAULT_PLUGIN_VERSION = "2"  # IPluginV3, as `trt-pdk rewrite`


def _spec(op: str) -> Any:
    from trt_pdk.registry import get_spec

    return get_spec(op)


def plugin_pattern(op: str) -> tuple[Pattern, ...]:
    """The subgraphs one `op` node replaces: the spec's patterns, optional ops expanded.

    They are trt-pdk :class:`~trt_pdk.onnx_stages.patterns.Pattern` objects (constants by
    value, commutative inputs, checks), which a graphsurgeon ``GraphPattern`` cannot express;
    :func:`matching_subgraphs` runs them.
    """
    patterns = patterns_of(_spec(op))
    if not patterns:
        raise UserError(f"{op} declares no rewrite patterns (`replaces` in its spec); nothing to match")
    return patterns


def matching_subgraphs(op: str, graph: Any, version: str = DEFAULT_PLUGIN_VERSION) -> list[dict[str, Any]]:
    """Polygraphy's match instances for `op` in a graphsurgeon `graph`.

    Each is ``{"inputs": [...], "outputs": [...], "attributes": {...}}``: the tensors the
    plugin node reads and writes, its attributes with ``plugin_version`` and
    ``plugin_namespace``. The graph is not changed.
    """
    import onnx
    import onnx_graphsurgeon as gs

    from trt_pdk.onnx_stages.rewrite import RewriteOnnx

    spec = _spec(op)
    plugin_pattern(op)
    model = gs.export_onnx(graph.copy(), do_type_check=False)
    result = RewriteOnnx(plugins=[f"{op}:{version}"], specs={op: spec})(model)
    nodes = {n.name: n for n in result.model.graph.node}
    instances = []
    for replacement in result.replacements:
        if not replacement.nodes_removed:  # an existing plugin node, only re-tagged
            continue
        node = nodes[replacement.node_added]
        attributes = {}
        for a in node.attribute:
            value = onnx.helper.get_attribute_value(a)
            attributes[a.name] = value.decode() if isinstance(value, bytes) else value
        instances.append({"inputs": list(node.input), "outputs": list(node.output), "attributes": attributes})
    return instances


def plugin_metadata(op: str, folder: str) -> dict[str, str]:
    """``name``: the plugin folder's name (Polygraphy finds ``pattern.py`` by it); ``op``:
    the node's op_type, the TensorRT plugin name."""
    return {"name": folder, "op": _spec(op).name}


def replace_with_plugin(op: str, graph: Any, input_tensors: list, output_tensors: list, attrs=None) -> Any:
    """Polygraphy's default replacement, then the node goes into the plugin's domain.

    Polygraphy writes the node with the attributes of the instance (``plugin_version`` and
    ``plugin_namespace`` among them, from :func:`matching_subgraphs`); the domain and its
    opset import it cannot write are added here. Returns the new node.
    """
    import onnx
    from polygraphy.tools.plugin.subtool.replace import default_replace_with_plugin

    spec = _spec(op)
    attrs = dict(attrs or {})
    attrs.setdefault("plugin_version", DEFAULT_PLUGIN_VERSION)
    attrs.setdefault("plugin_namespace", spec.namespace)
    node = default_replace_with_plugin(graph, input_tensors, output_tensors, attrs=attrs, op=spec.name)
    node.domain = spec.namespace
    imports = list(graph.import_domains or [onnx.helper.make_opsetid("", graph.opset)])
    if all(d.domain != spec.namespace for d in imports):
        imports.append(onnx.helper.make_opsetid(spec.namespace, 1))
    graph.import_domains = imports
    return node
