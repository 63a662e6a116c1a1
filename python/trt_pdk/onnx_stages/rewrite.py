"""Rewrite: turn plugin torch-op nodes and declared standard-op patterns into plugin nodes.

Two kinds of replacement, both for the plugins selected:

* a custom-domain node ``<namespace>::<Name>`` (from a ``torch.library`` op exported with
  the plugin's translation) gets validated attributes plus ``plugin_version`` and
  ``plugin_namespace``;
* a subgraph matching one of the plugin's :class:`~trt_pdk.patterns.Pattern`
  is replaced by one plugin node writing the subgraph's output tensor (same name, so
  shapes and value_info stay), then dead nodes, initializers and value_info are removed.

The engine works on the protobuf directly in time linear in the graph size: one pass to
index producers and uses, one pass over candidate anchors, one pass to rebuild.

Example::

    stage = RewriteOnnx(plugins=["RMSNorm:2"])
    result = stage(model)                 # or stage.run("in.onnx", "out.onnx")
    for r in result.replacements: print(r)
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper

from trt_pdk.errors import UserError
from trt_pdk.onnx_stages import _model
from trt_pdk.onnx_stages._cleanup import escapes, live_nodes, prune
from trt_pdk.onnx_stages._graph_index import GraphIndex
from trt_pdk.onnx_stages._matcher import Match, Matcher, Skeletons
from trt_pdk.patterns import Capture, Pattern, patterns_of
from trt_pdk.plugin_nodes import (
    DEFAULT_PLUGIN_VERSION,
    attrs_of_plugin_node,
    plugin_node_attributes,
    require_version,
)

__all__ = [
    "Match",
    "Replacement",
    "RewriteOnnx",
    "RewriteResult",
    "Rule",
    "attrs_of_plugin_node",
    "plugin_node_attributes",
    "rewrite_model",
    "rules_from_specs",
]


@dataclass(frozen=True)
class Rule:
    """One selected plugin: its spec, the plugin version to emit and its patterns."""

    spec: Any
    version: str
    patterns: tuple[Pattern, ...]


def rules_from_specs(specs: Mapping[str, Any], selection: Sequence[str] | None = None) -> list[Rule]:
    """Rules for ``--plugin NAME[:VERSION]`` selections (all `specs` with V3 when empty).

    Raises UserError for an unknown plugin or a version it was not built with.
    """
    chosen: list[tuple[Any, str]] = []
    if not selection:
        chosen = [(spec, DEFAULT_PLUGIN_VERSION) for spec in specs.values()]
    for item in selection or ():
        name, _, version = item.partition(":")
        if name not in specs:
            known = ", ".join(sorted(specs)) or "(none discovered)"
            raise UserError(f"--plugin {item}: unknown plugin {name!r}; known plugins: {known}.")
        spec = specs[name]
        version = version or DEFAULT_PLUGIN_VERSION
        require_version(spec, version, f"--plugin {item}")
        chosen.append((spec, version))
    rules = []
    for spec, version in chosen:
        rules.append(Rule(spec, version, patterns_of(spec)))
    return rules


@dataclass
class Replacement:
    """One replacement: what matched, which nodes went, which node came."""

    pattern: str
    plugin: str
    version: str
    node_added: str
    nodes_removed: list[str]
    output: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RewriteResult:
    model: onnx.ModelProto
    replacements: list[Replacement] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    nodes_before: int = 0
    nodes_after: int = 0
    dead_removed: int = 0
    functions_removed: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        counts = Counter(r.pattern for r in self.replacements)
        return {
            "nodes_before": self.nodes_before,
            "nodes_after": self.nodes_after,
            "dead_removed": self.dead_removed,
            "functions_removed": self.functions_removed,
            "replacement_counts": dict(sorted(counts.items())),
            "replacements": [r.as_dict() for r in self.replacements],
            "rejected": self.rejected,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
        }


def _capture_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.reshape(-1)[0].item() if value.size == 1 else value.tolist()
    return value


def rewrite_model(model: onnx.ModelProto, rules: Sequence[Rule]) -> RewriteResult:
    """Rewrites `model` in place for `rules`; returns the result with every replacement."""
    # The index allocates millions of small objects and frees none of them until the end:
    # the cyclic collector would rescan them over and over (superlinear time on big graphs).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _rewrite_model(model, rules)
    finally:
        if enabled:
            gc.enable()


def _rewrite_model(model: onnx.ModelProto, rules: Sequence[Rule]) -> RewriteResult:
    timings: dict[str, float] = {}
    graph = model.graph
    t0 = time.perf_counter()
    index = GraphIndex(graph)
    result = RewriteResult(model, nodes_before=len(index.nodes))
    consumed: set[int] = set()
    new_nodes: dict[int, onnx.NodeProto] = {}
    skeletons = Skeletons(index)
    by_anchor: dict[tuple[str, str], list[tuple[tuple[int, ...], Rule, Pattern]]] = {}
    custom: dict[tuple[str, str], Rule] = {}
    for rule in rules:
        custom[(rule.spec.namespace, rule.spec.name)] = rule
        for pattern in rule.patterns:
            key = (pattern.anchor.domain, pattern.anchor.op_type)
            by_anchor.setdefault(key, []).append((skeletons.of(pattern), rule, pattern))
    timings["index"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    matcher = Matcher(index, consumed)
    found: list[tuple[int, Rule, Pattern, dict, dict, dict]] = []
    anchor_types = {t for _, t in by_anchor} | {t for _, t in custom}
    for i, op_type in enumerate(index.op_types):
        if op_type not in anchor_types:
            continue
        node = index.nodes[i]
        domain = "" if node.domain == "ai.onnx" else node.domain
        key = (domain, node.op_type)
        if key in custom:
            rule = custom[key]
            values = attrs_of_plugin_node(rule.spec, node)
            replacement = helper.make_node(
                node.op_type, list(node.input), list(node.output), name=node.name, domain=rule.spec.namespace
            )
            replacement.attribute.extend(plugin_node_attributes(rule.spec, rule.version, values))
            new_nodes[i] = replacement
            result.replacements.append(
                Replacement(
                    f"{rule.spec.namespace}::{rule.spec.name} node",
                    rule.spec.name,
                    rule.version,
                    node.name,
                    [],
                    node.output[0] if node.output else "",
                )
            )
            continue
        candidates = by_anchor.get(key)
        if not candidates or i in consumed:
            continue
        for (s1, s3, full), rule, pattern in candidates:
            if not (skeletons.fits(i, s1) and skeletons.fits(i, s3) and skeletons.fits(i, full)):
                continue
            state = matcher.match(pattern, i)
            if state is None:
                continue
            bindings, captures, matched = state
            why = escapes(index, matched, i)
            if why is None and pattern.check is not None:
                why = pattern.check(Match(index, bindings, captures))
            if why is not None:
                result.rejected.append(
                    {"pattern": pattern.name, "at": node.name or node.output[0], "why": why}
                )
                continue
            consumed.update(matched.values())
            found.append((i, rule, pattern, bindings, captures, matched))
            break
    timings["match"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for i, rule, pattern, bindings, captures, matched in found:
        anchor = index.nodes[i]
        values = {
            name: _capture_value(captures[v.name]) if isinstance(v, Capture) else v
            for name, v in pattern.attrs.items()
        }
        try:
            attributes = plugin_node_attributes(rule.spec, rule.version, values)
        except UserError as exc:
            result.rejected.append({"pattern": pattern.name, "at": anchor.name, "why": str(exc)})
            consumed.difference_update(matched.values())
            continue
        name = f"{rule.spec.name}_{anchor.name or anchor.output[0]}"
        node = helper.make_node(
            rule.spec.name,
            [bindings[v] for v in pattern.inputs],
            [anchor.output[0]],
            name=name,
            domain=rule.spec.namespace,
        )
        node.attribute.extend(attributes)
        new_nodes[i] = node
        removed = sorted(matched.values())
        result.replacements.append(
            Replacement(
                pattern.name,
                rule.spec.name,
                rule.version,
                name,
                [index.nodes[j].name or index.nodes[j].output[0] for j in removed],
                anchor.output[0],
            )
        )
    namespaces = {
        r.spec.namespace for r in rules if any(x.plugin == r.spec.name for x in result.replacements)
    }
    timings["replace"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    nodes = [new_nodes.get(i, n) for i, n in enumerate(index.nodes) if i in new_nodes or i not in consumed]
    nodes, result.dead_removed = live_nodes(graph, nodes)
    graph.ClearField("node")
    graph.node.extend(nodes)
    prune(graph)
    # ONNX local functions of plugin ops (for running them in onnxruntime) are not for TensorRT.
    plugin_keys = {(r.spec.namespace, r.spec.name) for r in rules}
    if any((f.domain, f.name) in plugin_keys for f in model.functions):
        kept_functions = [f for f in model.functions if (f.domain, f.name) not in plugin_keys]
        result.functions_removed = len(model.functions) - len(kept_functions)
        model.ClearField("functions")
        model.functions.extend(kept_functions)
    present = {o.domain for o in model.opset_import}
    for ns in sorted(namespaces - present):
        model.opset_import.append(helper.make_opsetid(ns, 1))
    result.nodes_after = len(graph.node)
    timings["cleanup"] = time.perf_counter() - t0
    result.timings = timings
    return result


class RewriteOnnx:
    """The rewrite stage, configured up front and run later.

    Args:
        plugins: ``["NAME[:VERSION]", ...]``; empty: every discovered plugin with IPluginV3.
        specs: ``{name: PluginSpec}``; default: the discovered plugins.
    """

    def __init__(self, plugins: Sequence[str] | None = None, specs: Mapping[str, Any] | None = None) -> None:
        self.plugins = list(plugins or [])
        self._specs = specs

    def rules(self) -> list[Rule]:
        specs = self._specs
        if specs is None:
            from trt_pdk.registry import discover

            specs = discover()
        return rules_from_specs(specs, self.plugins)

    def __call__(self, model: onnx.ModelProto) -> RewriteResult:
        return rewrite_model(model, self.rules())

    def run(self, src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> RewriteResult:
        """Reads `src`, rewrites it and writes `dst` atomically."""
        rules = self.rules()
        model = _model.load_onnx(src, keep_external_above=_model.LOAD_AT_MOST)
        result = rewrite_model(model, rules)
        t0 = time.perf_counter()
        _model.save_onnx(model, dst)
        result.timings["export"] = time.perf_counter() - t0
        return result
