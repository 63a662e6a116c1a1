"""Rewrite: turn plugin torch-op nodes and declared standard-op patterns into plugin nodes.

Two kinds of replacement, both for the plugins selected:

* a custom-domain node ``<namespace>::<Name>`` (from a ``torch.library`` op exported with
  the plugin's translation) gets validated attributes plus ``plugin_version`` and
  ``plugin_namespace``;
* a subgraph matching one of the plugin's :class:`~trt_pdk.onnx_stages.patterns.Pattern`
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from trt_pdk.errors import UserError
from trt_pdk.onnx_stages import _model
from trt_pdk.onnx_stages.patterns import Capture, Const, Op, Pattern, patterns_of

DEFAULT_PLUGIN_VERSION = "2"  # IPluginV3
_ATTR_PROTO_TYPES = {
    "float32": onnx.AttributeProto.FLOAT,
    "int32": onnx.AttributeProto.INT,
    "string": onnx.AttributeProto.STRING,
}
_RESERVED = ("plugin_version", "plugin_namespace")


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
        if version not in spec.versions:
            names = {"1": "IPluginV2DynamicExt", "2": "IPluginV3"}
            built = ", ".join(f"{v} ({names.get(v, '?')})" for v in spec.versions)
            raise UserError(
                f"--plugin {item}: {name} has plugin versions {built}; version {version!r} "
                f"({names.get(version, 'unknown')}) is not built. Use one of those."
            )
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


class Match:
    """What a pattern's ``check`` sees: bindings, captured values, shape/dtype lookups."""

    def __init__(self, index: _Index, bindings: dict[str, str], captures: dict[str, Any]) -> None:
        self._index = index
        self.bindings = bindings
        self.captures = captures

    def tensor(self, var: str) -> str:
        return self.bindings[var]

    def rank(self, var: str) -> int | None:
        return self._index.rank(self.bindings[var])

    def dtype(self, var: str) -> int | None:
        """The ONNX element type (``TensorProto.FLOAT`` ...) of a bound tensor, if known."""
        return self._index.dtype(self.bindings[var])

    def is_scalar(self, capture: str) -> bool:
        value = self.captures.get(capture)
        return value is not None and np.size(value) == 1


# Standard ops with graph attributes; other standard ops are not scanned for subgraphs.
_CONTROL_FLOW = frozenset({"If", "Loop", "Scan", "SequenceMap"})


class _Index:
    """Producers, uses and constants of one graph, built in one pass."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.nodes = list(graph.node)
        self.op_types = [n.op_type for n in self.nodes]
        self._inputs: dict[int, list[str]] = {}
        self.producer: dict[str, int] = {}
        self.uses: Counter[str] = Counter()
        self.const_nodes: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            for out in node.output:
                if out:
                    self.producer[out] = i
            for name in node.input:
                if name:
                    self.uses[name] += 1
            op_type = self.op_types[i]
            if op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.const_nodes[node.output[0]] = i
            if op_type not in _CONTROL_FLOW and node.domain in ("", "ai.onnx"):
                continue
            for sub in _model.subgraphs(node):
                for name in _outer_references(sub):
                    self.uses[name] += 1
        for out in graph.output:
            self.uses[out.name] += 1
        self.initializers = {t.name: t for t in graph.initializer}
        self.graph_inputs = {i.name for i in graph.input}
        self._values: dict[str, np.ndarray | None] = {}
        self._types: dict[str, tuple[int | None, int | None]] | None = None

    def inputs(self, i: int) -> list[str]:
        """Node `i`'s inputs without trailing empty (omitted optional) ones; cached."""
        found = self._inputs.get(i)
        if found is None:
            found = list(self.nodes[i].input)
            while found and not found[-1]:
                found.pop()
            self._inputs[i] = found
        return found

    def const_value(self, name: str) -> np.ndarray | None:
        if name in self._values:
            return self._values[name]
        value = None
        if name in self.initializers and name not in self.graph_inputs:
            value = _model.tensor_array(self.initializers[name])
        elif name in self.const_nodes:
            node = self.nodes[self.const_nodes[name]]
            attrs = {a.name: a for a in node.attribute}
            if "value" in attrs:
                value = numpy_helper.to_array(attrs["value"].t)
            elif "value_float" in attrs:
                value = np.array(attrs["value_float"].f, dtype=np.float32)
            elif "value_int" in attrs:
                value = np.array(attrs["value_int"].i, dtype=np.int64)
            elif "value_floats" in attrs:
                value = np.array(list(attrs["value_floats"].floats), dtype=np.float32)
            elif "value_ints" in attrs:
                value = np.array(list(attrs["value_ints"].ints), dtype=np.int64)
        self._values[name] = value
        return value

    def _type_map(self) -> dict[str, tuple[int | None, int | None]]:
        if self._types is None:
            types: dict[str, tuple[int | None, int | None]] = {}
            for vi in (*self.graph.input, *self.graph.value_info, *self.graph.output):
                tt = vi.type.tensor_type
                elem = tt.elem_type or None
                rank = len(tt.shape.dim) if tt.HasField("shape") else None
                types[vi.name] = (elem, rank)
            for t in self.graph.initializer:
                types[t.name] = (t.data_type, len(t.dims))
            self._types = types
        return self._types

    def rank(self, name: str) -> int | None:
        return self._type_map().get(name, (None, None))[1]

    def dtype(self, name: str) -> int | None:
        return self._type_map().get(name, (None, None))[0]


def _outer_references(graph: onnx.GraphProto) -> set[str]:
    """Names a subgraph reads that it does not define (references to the outer graph)."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(n for n in node.input if n)
        for sub in _model.subgraphs(node):
            used |= _outer_references(sub)
        defined.update(node.output)
    used.update(o.name for o in graph.output)
    return used - defined


_SCHEMA_DEFAULTS: dict[tuple[str, str], Any] = {}


def _attr_default(op_type: str, name: str) -> Any:
    key = (op_type, name)
    if key not in _SCHEMA_DEFAULTS:
        value = None
        try:
            attr = onnx.defs.get_schema(op_type).attributes.get(name)
            if attr is not None and attr.default_value.name:
                value = helper.get_attribute_value(attr.default_value)
                value = value.decode() if isinstance(value, bytes) else value
        except onnx.defs.SchemaError:
            value = None
        _SCHEMA_DEFAULTS[key] = value
    return _SCHEMA_DEFAULTS[key]


def _attr_equal(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, list | tuple) or isinstance(wanted, list | tuple):
        return list(np.ravel(actual)) == list(np.ravel(wanted))
    if isinstance(actual, float) or isinstance(wanted, float):
        return bool(np.isclose(float(actual), float(wanted), rtol=1e-6, atol=0))
    return actual == wanted


class _Skeletons:
    """Op-type trees of patterns, checked against nodes with a memo shared by all patterns.

    A skeleton ignores constants, attributes and variable bindings, so it is a cheap
    necessary condition: most anchors fail here once per distinct subtree, not once per
    pattern variant, which keeps matching linear in the graph size.
    """

    def __init__(self, index: _Index) -> None:
        self.index = index
        self.ids: dict[tuple, int] = {}
        self.info: list[tuple[str, bool, tuple[int, ...]]] = []
        # memo[sid][node]: 0 not checked yet, 1 fits, 2 does not fit
        self.memo: list[bytearray] = []

    def of(self, pattern: Pattern) -> tuple[int, ...]:
        """Skeleton ids of `pattern` at depths 1, 3 and full: checked in that order."""
        ops = {op.output: op for op in pattern.nodes}
        return tuple(self._id(ops, pattern.anchor, depth) for depth in (1, 3, len(ops)))

    def _id(self, ops: dict[str, Op], op: Op, depth: int) -> int:
        children = tuple(
            self._id(ops, ops[i], depth - 1) if depth > 0 and isinstance(i, str) and i in ops else -1
            for i in op.inputs
        )
        key = (op.op_type, bool(op.commutative), children)
        sid = self.ids.get(key)
        if sid is None:
            sid = self.ids[key] = len(self.info)
            self.info.append(key)
            self.memo.append(bytearray(len(self.index.op_types)))
        return sid

    def fits(self, node_index: int, sid: int) -> bool:
        memo = self.memo[sid]
        known = memo[node_index]
        if known:
            return known == 1
        op_type, commutative, children = self.info[sid]
        found = False
        if self.index.op_types[node_index] == op_type:
            inputs = self.index.inputs(node_index)
            if len(inputs) == len(children):
                found = self._children(inputs, children) or (
                    commutative and self._children(inputs[::-1], children)
                )
        memo[node_index] = 1 if found else 2
        return found

    def _children(self, inputs: list[str], children: tuple[int, ...]) -> bool:
        for tensor, child in zip(inputs, children, strict=True):
            if child < 0:
                continue
            producer = self.index.producer.get(tensor)
            if producer is None or not self.fits(producer, child):
                return False
        return True


class _Matcher:
    """Backtracking match of one concrete pattern, anchored at a node, walking producers."""

    def __init__(self, index: _Index, consumed: set[int]) -> None:
        self.index = index
        self.consumed = consumed
        self._ops: dict[int, dict[str, Op]] = {}

    def match(
        self, pattern: Pattern, anchor: int
    ) -> tuple[dict[str, str], dict[str, Any], dict[str, int]] | None:
        ops = self._ops.get(id(pattern))
        if ops is None:
            ops = self._ops[id(pattern)] = {op.output: op for op in pattern.nodes}
        for state in self._op(ops, pattern.anchor, anchor, ({}, {}, {})):
            return state
        return None

    def _op(self, ops: dict[str, Op], op: Op, node_index: int, state: tuple) -> Iterable[tuple]:
        index = self.index
        if node_index in self.consumed or index.op_types[node_index] != op.op_type:
            return
        inputs = index.inputs(node_index)
        if len(inputs) != len(op.inputs):
            return
        node = index.nodes[node_index]
        if ("" if node.domain == "ai.onnx" else node.domain) != op.domain:
            return
        bindings, captures, matched = state
        captures = dict(captures)
        if op.attrs:
            actual = {a.name: a for a in node.attribute}
            for name, wanted in op.attrs.items():
                if name in actual:
                    value = helper.get_attribute_value(actual[name])
                    value = value.decode() if isinstance(value, bytes) else value
                else:
                    value = _attr_default(op.op_type, name)
                    if value is None:
                        return
                if isinstance(wanted, Capture):
                    captures[wanted.name] = value
                elif not _attr_equal(value, wanted):
                    return
        bindings = {**bindings, op.output: node.output[0]}
        matched = {**matched, op.output: node_index}
        orders = [inputs]
        if op.commutative and inputs[0] != inputs[1]:
            orders.append([inputs[1], inputs[0]])
        for order in orders:
            yield from self._inputs(
                ops, list(zip(op.inputs, order, strict=True)), (bindings, captures, matched)
            )

    def _inputs(self, ops: dict[str, Op], pairs: list, state: tuple) -> Iterable[tuple]:
        if not pairs:
            yield state
            return
        (wanted, tensor), rest = pairs[0], pairs[1:]
        bindings, captures, matched = state
        if isinstance(wanted, Const):
            value = self.index.const_value(tensor)
            if value is None:
                return
            if wanted.value is not None and (
                value.size == 0
                or not np.allclose(value.astype(np.float64), wanted.value, rtol=wanted.rtol, atol=0)
            ):
                return
            if wanted.capture:
                captures = {**captures, wanted.capture: value}
            yield from self._inputs(ops, rest, (bindings, captures, matched))
            return
        if wanted in bindings:
            if bindings[wanted] == tensor:
                yield from self._inputs(ops, rest, state)
            return
        if wanted in ops:
            producer = self.index.producer.get(tensor)
            if producer is None or self.index.op_types[producer] != ops[wanted].op_type:
                return
            for inner in self._op(ops, ops[wanted], producer, state):
                yield from self._inputs(ops, rest, inner)
            return
        yield from self._inputs(ops, rest, ({**bindings, wanted: tensor}, captures, matched))


def _plugin_attribute(spec: Any, name: str, value: Any) -> onnx.AttributeProto:
    attr_type = spec.attr(name).type
    if attr_type == "float32":
        return helper.make_attribute(name, float(value))
    if attr_type == "int32":
        return helper.make_attribute(name, int(value))
    return helper.make_attribute(name, str(value))


def _capture_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.reshape(-1)[0].item() if value.size == 1 else value.tolist()
    return value


def plugin_node_attributes(spec: Any, version: str, values: Mapping[str, Any]) -> list[onnx.AttributeProto]:
    """Validated plugin attributes (defaults filled) plus ``plugin_version``/``plugin_namespace``."""
    resolved = spec.resolve_attrs(values)
    attrs = [_plugin_attribute(spec, name, value) for name, value in resolved.items()]
    attrs.append(helper.make_attribute("plugin_version", version))
    attrs.append(helper.make_attribute("plugin_namespace", spec.namespace))
    return attrs


def attrs_of_plugin_node(spec: Any, node: onnx.NodeProto) -> dict[str, Any]:
    """A plugin node's own attributes as Python values; UserError on a wrong attribute type."""
    values: dict[str, Any] = {}
    where = f"node {node.name or '(unnamed)'} ({node.domain}::{node.op_type})"
    for a in node.attribute:
        if a.name in _RESERVED:
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
        if a.type != _ATTR_PROTO_TYPES[expected]:
            raise UserError(
                f"{where}: attribute {a.name!r} is {onnx.AttributeProto.AttributeType.Name(a.type)}, but "
                f"{spec.name} declares it {expected} (ONNX "
                f"{onnx.AttributeProto.AttributeType.Name(_ATTR_PROTO_TYPES[expected])}); TensorRT "
                f"would pass the wrong type to the plugin. Fix the exporter or the node."
            )
        value = helper.get_attribute_value(a)
        values[a.name] = value.decode() if isinstance(value, bytes) else value
    try:
        return spec.resolve_attrs(values)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None


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
    index = _Index(graph)
    result = RewriteResult(model, nodes_before=len(index.nodes))
    consumed: set[int] = set()
    new_nodes: dict[int, onnx.NodeProto] = {}
    skeletons = _Skeletons(index)
    by_anchor: dict[tuple[str, str], list[tuple[tuple[int, ...], Rule, Pattern]]] = {}
    custom: dict[tuple[str, str], Rule] = {}
    for rule in rules:
        custom[(rule.spec.namespace, rule.spec.name)] = rule
        for pattern in rule.patterns:
            key = (pattern.anchor.domain, pattern.anchor.op_type)
            by_anchor.setdefault(key, []).append((skeletons.of(pattern), rule, pattern))
    timings["index"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    matcher = _Matcher(index, consumed)
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
            why = _escapes(index, matched, i)
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
    nodes, result.dead_removed = _live_nodes(graph, nodes)
    graph.ClearField("node")
    graph.node.extend(nodes)
    _prune(graph)
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


def _escapes(index: _Index, matched: dict[str, int], anchor: int) -> str | None:
    """A reason when a tensor inside the match is also used outside it (or is a graph output)."""
    inside = set(matched.values())
    internal_uses: Counter[str] = Counter()
    for j in inside:
        for name in index.nodes[j].input:
            internal_uses[name] += 1
    for j in inside:
        if j == anchor:
            continue
        for out in index.nodes[j].output:
            if out and index.uses[out] != internal_uses[out]:
                return f"the intermediate tensor {out!r} is also used outside the pattern"
    anchor_node = index.nodes[anchor]
    for out in anchor_node.output[1:]:
        if out and index.uses[out]:
            return f"the second output {out!r} of {anchor_node.op_type} is used"
    return None


def _live_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> tuple[list[onnx.NodeProto], int]:
    """Drops nodes none of whose outputs reach a graph output (one reverse sweep)."""
    live = {o.name for o in graph.output}
    keep: list[onnx.NodeProto] = []
    for node in reversed(nodes):
        if not any(o in live for o in node.output if o):
            continue
        keep.append(node)
        live.update(n for n in node.input if n)
        for sub in _model.subgraphs(node):
            live |= _outer_references(sub)
    keep.reverse()
    return keep, len(nodes) - len(keep)


def _prune(graph: onnx.GraphProto) -> None:
    """Removes initializers nothing reads and value_info of tensors that no longer exist."""
    used: set[str] = {o.name for o in graph.output}
    produced: set[str] = set()
    for node in graph.node:
        used.update(node.input)
        produced.update(node.output)
        for sub in _model.subgraphs(node):
            used |= _outer_references(sub)
    inputs = {i.name for i in graph.input}
    if any(t.name not in used for t in graph.initializer):
        kept = [t for t in graph.initializer if t.name in used or t.name in inputs]
        graph.ClearField("initializer")
        graph.initializer.extend(kept)
    if any(v.name not in produced for v in graph.value_info):
        kept_vi = [v for v in graph.value_info if v.name in produced]
        graph.ClearField("value_info")
        graph.value_info.extend(kept_vi)


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
