"""Matching declared :class:`~trt_pdk.patterns.Pattern` s against a graph index.

:class:`Skeletons` rejects most anchors cheaply (op-type trees, memoized per node);
:class:`Matcher` does the full backtracking match with constants, attributes and
variable bindings; :class:`Match` is what a pattern's ``check`` sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import onnx
from onnx import helper

from trt_pdk.onnx_stages._graph_index import GraphIndex
from trt_pdk.patterns import Capture, Const, Op, Pattern


class Match:
    """What a pattern's ``check`` sees: bindings, captured values, shape/dtype lookups."""

    def __init__(self, index: GraphIndex, bindings: dict[str, str], captures: dict[str, Any]) -> None:
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


class Skeletons:
    """Op-type trees of patterns, checked against nodes with a memo shared by all patterns.

    A skeleton ignores constants, attributes and variable bindings, so it is a cheap
    necessary condition: most anchors fail here once per distinct subtree, not once per
    pattern variant, which keeps matching linear in the graph size.
    """

    def __init__(self, index: GraphIndex) -> None:
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


class Matcher:
    """Backtracking match of one concrete pattern, anchored at a node, walking producers."""

    def __init__(self, index: GraphIndex, consumed: set[int]) -> None:
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
