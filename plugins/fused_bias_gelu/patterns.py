"""The ONNX subgraphs the FusedBiasGelu plugin replaces, as the exporters emit them (torch 2.13).

Declared in the spec's ``replaces``; matched by the generic rewrite engine.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from trt_pdk.patterns import Const, Op, Pattern


def _gelu_bias_check(match: Any) -> str | None:
    rank = match.rank("bias")
    return None if rank in (None, 1) else f"the bias has rank {rank}, not 1"


def fused_bias_gelu_patterns() -> tuple[Pattern, ...]:
    """Patterns for ``gelu(x + bias)`` (approximate none/tanh) as dynamo and legacy export it.

    Each matches ``Add(x, bias)`` first; :func:`patterns` derives the bias-free variants.
    """
    add = Op("Add", ("x", "bias"), "h")
    half_x_erf = [
        # dynamo opset 18: h * (0.5 * (erf(h / sqrt2) + 1))
        ("dynamo-erf", (Op("Mul", (Const(0.5), "e1"), "t"), Op("Mul", ("h", "t"), "y"))),
        # legacy: (h * (erf(h / sqrt2) + 1)) * 0.5
        ("legacy-erf", (Op("Mul", ("h", "e1"), "t"), Op("Mul", ("t", Const(0.5)), "y"))),
    ]
    patterns = [
        Pattern(
            f"gelu_bias/{name}",
            nodes=(
                add,
                Op("Div", ("h", Const(2.0**0.5, rtol=1e-5)), "s"),
                Op("Erf", ("s",), "e"),
                Op("Add", ("e", Const(1.0)), "e1"),
                *tail,
            ),
            inputs=("x", "bias"),
            attrs={"approximate": "none"},
            check=_gelu_bias_check,
        )
        for name, tail in half_x_erf
    ]
    k0, k1 = 0.044715, (2.0 / 3.141592653589793) ** 0.5
    patterns.append(
        Pattern(
            "gelu_bias/dynamo-tanh",
            nodes=(
                add,
                Op("Pow", ("h", Const(3.0)), "h3"),
                Op("Mul", (Const(k0, rtol=1e-5), "h3"), "a"),
                Op("Add", ("h", "a"), "b"),
                Op("Mul", (Const(k1, rtol=1e-5), "b"), "c"),
                Op("Tanh", ("c",), "t"),
                Op("Add", ("t", Const(1.0)), "t1"),
                Op("Mul", (Const(0.5), "t1"), "t2"),
                Op("Mul", ("h", "t2"), "y"),
            ),
            inputs=("x", "bias"),
            attrs={"approximate": "tanh"},
            check=_gelu_bias_check,
        )
    )
    patterns.append(
        Pattern(
            "gelu_bias/legacy-tanh",
            nodes=(
                add,
                Op("Mul", ("h", "h"), "h2"),
                Op("Mul", ("h", "h2"), "h3"),
                Op("Mul", (Const(k0, rtol=1e-5), "h3"), "a"),
                Op("Add", ("h", "a"), "b"),
                Op("Mul", (Const(k1, rtol=1e-5), "b"), "c"),
                Op("Tanh", ("c",), "t"),
                Op("Add", (Const(1.0), "t"), "t1"),
                Op("Mul", ("h", "t1"), "t2"),
                Op("Mul", (Const(0.5), "t2"), "y"),
            ),
            inputs=("x", "bias"),
            attrs={"approximate": "tanh"},
            check=_gelu_bias_check,
        )
    )
    for approximate in ("none", "tanh"):
        patterns.append(
            Pattern(
                f"gelu_bias/onnx-Gelu-{approximate}",
                nodes=(add, Op("Gelu", ("h",), "y", attrs={"approximate": approximate})),
                inputs=("x", "bias"),
                attrs={"approximate": approximate},
                check=_gelu_bias_check,
            )
        )
    return tuple(patterns)


def _without_bias(pattern: Any) -> Any:
    """The same pattern with the leading ``Add(x, bias) -> h`` removed: gelu(x) alone."""
    add = pattern.nodes[0]
    if add.op_type != "Add" or tuple(add.inputs) != ("x", "bias"):
        return None

    def rename(name: Any) -> Any:
        return "x" if name == add.output else name

    nodes = tuple(replace(n, inputs=tuple(rename(i) for i in n.inputs)) for n in pattern.nodes[1:])
    return Pattern(pattern.name.replace("gelu_bias/", "gelu/"), nodes, ("x",), pattern.attrs, None)


def patterns() -> tuple[Any, ...]:
    """With-bias patterns first (they win at the same anchor), then the no-bias ones."""
    with_bias = tuple(fused_bias_gelu_patterns())
    without = tuple(p for p in (_without_bias(q) for q in with_bias) if p is not None)
    return with_bias + without
