"""The ONNX subgraphs the RMSNorm plugin replaces, as the exporters emit them (torch 2.13).

Declared in the spec's ``replaces``; matched by the generic rewrite engine.
"""

from __future__ import annotations

from typing import Any

from trt_pdk.patterns import FLOAT, Capture, Const, Op, Pattern


def _rms_norm_check(match: Any) -> str | None:
    axes = match.captures.get("axes")
    if axes is None:
        return "ReduceMean has no axes (it reduces every axis)"
    axes = [int(a) for a in list(getattr(axes, "ravel", lambda: axes)())]
    if len(axes) != 1:
        return f"ReduceMean reduces axes {axes}, not only the last one"
    rank = match.rank("x")
    if axes[0] != -1 and not (rank is not None and axes[0] == rank - 1):
        return f"ReduceMean reduces axis {axes[0]}, not the last one (rank {rank})"
    if not match.is_scalar("eps"):
        return "eps is not a single value"
    w_rank = match.rank("w")
    if w_rank is not None and w_rank != 1:
        return f"the scale has rank {w_rank}, the plugin takes a 1-D weight"
    x_type, w_type = match.dtype("x"), match.dtype("w")
    if x_type is not None and w_type is not None and x_type != w_type:
        return f"x and the scale have different dtypes ({x_type} vs {w_type})"
    return None


def rms_norm_patterns() -> tuple[Pattern, ...]:
    """The patterns dynamo (opset 18+) and the legacy exporter produce for RMSNorm.

    ``x * rsqrt(mean(x^2, -1, keepdim) + eps) * w``, optionally computed in fp32 inside
    casts (``x.float() ... .type_as(x)``), with ``x^2`` as ``Pow(x, 2)`` or ``Mul(x, x)``
    and ``rsqrt`` as ``Reciprocal(Sqrt)`` (dynamo) or ``Div(1, Sqrt)`` (legacy); plus
    ONNX's own ``RMSNormalization`` (opset 23) over the last axis.
    """
    patterns: list[Pattern] = []
    for square_name, square in (
        ("pow", Op("Pow", ("xf", Const(2.0)), "sq")),
        ("mul", Op("Mul", ("xf", "xf"), "sq")),
    ):
        for reduce_name, reduce in (
            ("axes-input", Op("ReduceMean", ("sq", Const(capture="axes")), "ms", attrs={"keepdims": 1})),
            ("axes-attr", Op("ReduceMean", ("sq",), "ms", attrs={"keepdims": 1, "axes": Capture("axes")})),
        ):
            for inv_name, inv in (
                ("reciprocal", (Op("Sqrt", ("ms_eps",), "rms"), Op("Reciprocal", ("rms",), "inv"))),
                ("div", (Op("Sqrt", ("ms_eps",), "rms"), Op("Div", (Const(1.0), "rms"), "inv"))),
            ):
                patterns.append(
                    Pattern(
                        f"rms_norm/{square_name}-{reduce_name}-{inv_name}",
                        nodes=(
                            Op("Cast", ("x",), "xf", attrs={"to": FLOAT}, optional=True),
                            square,
                            reduce,
                            Op("Add", ("ms", Const(capture="eps")), "ms_eps"),
                            *inv,
                            Op("Mul", ("xf", "inv"), "xn"),
                            Op("Cast", ("xn",), "xc", optional=True),
                            Op("Mul", ("xc", "w"), "y"),
                        ),
                        inputs=("x", "w"),
                        attrs={"eps": Capture("eps")},
                        check=_rms_norm_check,
                    )
                )
    patterns.append(
        Pattern(
            "rms_norm/onnx-RMSNormalization",
            nodes=(
                Op(
                    "RMSNormalization",
                    ("x", "w"),
                    "y",
                    attrs={"axis": -1, "epsilon": Capture("eps"), "stash_type": FLOAT},
                ),
            ),
            inputs=("x", "w"),
            attrs={"eps": Capture("eps")},
            check=_one_d_weight,
        )
    )
    return tuple(patterns)


def _one_d_weight(match: Any) -> str | None:
    w_rank = match.rank("w")
    return None if w_rank in (None, 1) else f"the scale has rank {w_rank}, the plugin takes a 1-D weight"
