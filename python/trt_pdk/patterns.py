"""A small pattern language for standard-op subgraphs that a plugin node replaces.

A plugin spec declares its patterns as data (``PluginSpec.replaces``); the rewrite engine
(:mod:`trt_pdk.onnx_stages.rewrite`) is written once and matches all of them. This module
imports neither onnx nor torch nor the ONNX stages, so an op folder's spec imports it
downward and cheaply.

A :class:`Pattern` is a list of :class:`Op` in topological order; the last op produces the
tensor the plugin node will produce (same name, shape and value_info). Names used as op
inputs that no op of the pattern produces are *variables*: they bind to any graph tensor,
and every use of one variable must bind to the same tensor. :class:`Const` matches a
constant (an initializer or a ``Constant`` node) by value, or captures its value.

Example (``y = x * rsqrt(mean(x^2) + eps) * w``, as dynamo exports it)::

    Pattern(
        "rms_norm/dynamo",
        nodes=(
            Op("Pow", ("x", Const(2.0)), "sq"),
            Op("ReduceMean", ("sq", Const(capture="axes")), "ms", attrs={"keepdims": 1}),
            Op("Add", ("ms", Const(capture="eps")), "ms_eps"),
            Op("Sqrt", ("ms_eps",), "rms"),
            Op("Reciprocal", ("rms",), "inv"),
            Op("Mul", ("x", "inv"), "xn"),
            Op("Mul", ("xn", "w"), "y"),
        ),
        inputs=("x", "w"),
        attrs={"eps": Capture("eps")},
    )
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = [
    "BFLOAT16",
    "COMMUTATIVE",
    "FLOAT",
    "FLOAT16",
    "Capture",
    "Const",
    "Op",
    "Pattern",
    "patterns_of",
]

# Binary ops whose two inputs may be swapped when matching.
COMMUTATIVE = frozenset({"Add", "Mul", "Max", "Min", "And", "Or", "Xor", "Equal", "Sum"})


@dataclass(frozen=True)
class Capture:
    """A value taken from the match: a captured constant or attribute, by name."""

    name: str


@dataclass(frozen=True)
class Const:
    """Matches a constant tensor.

    Args:
        value: every element must equal this (within `rtol`); ``None`` accepts any value.
        capture: name under which the constant's value (a NumPy array) is kept.
        rtol: relative tolerance for `value`.
    """

    value: float | None = None
    capture: str | None = None
    rtol: float = 1e-6


@dataclass(frozen=True)
class Op:
    """One node of a pattern.

    Args:
        op_type: the ONNX op type.
        inputs: variable names, names produced by earlier ops, or :class:`Const`.
        output: the name this op's (first) output gets inside the pattern.
        attrs: required attribute values; a :class:`Capture` accepts any value and keeps it.
            An absent attribute matches its schema default.
        optional: the node may be missing (one-input ops only, e.g. ``Cast``): then its
            output is its input.
        commutative: inputs may be swapped; default: ``op_type`` in :data:`COMMUTATIVE`.
        domain: the op's domain (``""`` is ``ai.onnx``).
    """

    op_type: str
    inputs: tuple[str | Const, ...]
    output: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    optional: bool = False
    commutative: bool | None = None
    domain: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        if self.commutative is None:
            object.__setattr__(self, "commutative", self.op_type in COMMUTATIVE and len(self.inputs) == 2)
        if self.optional and len(self.inputs) != 1:
            raise ValueError(f"pattern op {self.op_type}: only one-input ops can be optional")


@dataclass(frozen=True)
class Pattern:
    """A subgraph of standard ops that one plugin node replaces.

    Args:
        name: reported with every replacement, e.g. ``"rms_norm/dynamo"``.
        nodes: the ops, in topological order; the last one's output is the plugin's output.
        inputs: the pattern variables that become the plugin node's inputs, in order.
        attrs: the plugin node's attributes: literals or :class:`Capture` of a constant
            (a one-element constant becomes a Python scalar) or of an attribute.
        check: optional ``check(match) -> str | None`` run after a structural match;
            return a reason to reject it (see :class:`trt_pdk.onnx_stages.rewrite.Match`).
    """

    name: str
    nodes: tuple[Op, ...]
    inputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    check: Callable[[Any], str | None] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        if not self.nodes:
            raise ValueError(f"pattern {self.name}: needs at least one op")
        produced: set[str] = set()
        for op in self.nodes:
            if op.output in produced:
                raise ValueError(f"pattern {self.name}: {op.output!r} is produced twice")
            produced.add(op.output)
        for name in self.inputs:
            if name in produced:
                raise ValueError(f"pattern {self.name}: plugin input {name!r} is produced inside the pattern")
        if self.nodes[-1].optional:
            raise ValueError(f"pattern {self.name}: the last op cannot be optional")

    @property
    def anchor(self) -> Op:
        return self.nodes[-1]

    def variants(self) -> list[Pattern]:
        """Concrete patterns: every combination of optional ops present or absent."""
        out: list[Pattern] = [self]
        for optional in [op.output for op in self.nodes if op.optional]:
            expanded = []
            for pattern in out:
                op = next(n for n in pattern.nodes if n.output == optional)
                present = tuple(replace(n, optional=False) if n is op else n for n in pattern.nodes)
                expanded.append(replace(pattern, nodes=present))
                expanded.append(_without(pattern, op))
            out = expanded
        return out


def _without(pattern: Pattern, op: Op) -> Pattern:
    """`pattern` with the one-input `op` removed: its output is renamed to its input."""
    source = op.inputs[0]
    if isinstance(source, Const):
        raise ValueError(f"pattern {pattern.name}: an optional op cannot take a constant")

    def rename(x: str | Const) -> str | Const:
        return source if x == op.output else x

    nodes = tuple(replace(n, inputs=tuple(rename(i) for i in n.inputs)) for n in pattern.nodes if n is not op)
    return Pattern(
        pattern.name, nodes, tuple(rename(i) for i in pattern.inputs), pattern.attrs, pattern.check
    )


# ONNX TensorProto element types used by patterns' attribute values.
FLOAT, FLOAT16, BFLOAT16 = 1, 10, 16


def patterns_of(spec: Any) -> tuple[Pattern, ...]:
    """The :class:`Pattern` objects a spec declares in ``replaces`` (other entries are ignored)."""
    out: list[Pattern] = []
    for item in getattr(spec, "replaces", ()):
        if isinstance(item, Pattern):
            out.extend(item.variants())
        elif callable(item):
            produced = item()
            out.extend(v for p in produced for v in p.variants())
    return tuple(out)
