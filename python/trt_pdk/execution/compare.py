"""One comparator: per output max abs/rel error against ``atol + rtol * |reference|``.

The NaN rule: a NaN matches only a NaN at the same position. Where both sides are NaN
(a fully masked softmax row, say) the two runtimes agree and the element passes; a NaN
on one side only is a mismatch, counted in ``nan_mismatches``. Infinities pass only
when equal (same sign, same position). Integer and boolean outputs must match exactly.
Every caller (compare, verify, engine compare, the op harness) uses this rule, so a
result reads the same wherever it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

# (atol, rtol) per output dtype: |got - ref| <= atol + rtol * |ref|.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-6, 1e-6),
    "float32": (1e-4, 1e-3),
    "float16": (1e-2, 1e-2),
    "bfloat16": (5e-2, 5e-2),
}


def tolerance_for(
    dtype: str, overrides: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float]:
    """(atol, rtol) for an output dtype; exact (0, 0) for integers and booleans."""
    table = {**TOLERANCES, **(overrides or {})}
    return table.get(dtype, (0.0, 0.0))


@dataclass
class OutputError:
    """How one output differs from its reference."""

    name: str
    dtype: str
    shape: list[int]
    max_abs: float
    max_rel: float
    atol: float
    rtol: float
    ok: bool
    mismatches: int = 0
    nan_mismatches: int = 0
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def compare_arrays(
    name: str, got: np.ndarray, ref: np.ndarray, atol: float | None = None, rtol: float | None = None
) -> OutputError:
    """`got` against `ref` under the NaN rule; tolerances default to :func:`tolerance_for`."""
    got, ref = np.asarray(got), np.asarray(ref)
    dtype = str(got.dtype)
    default = tolerance_for(dtype)
    atol = default[0] if atol is None else atol
    rtol = default[1] if rtol is None else rtol
    if got.shape != ref.shape:
        return OutputError(
            name,
            dtype,
            list(got.shape),
            float("inf"),
            float("inf"),
            atol,
            rtol,
            False,
            reason=f"shape {list(got.shape)}, the reference {list(ref.shape)}",
        )
    if got.size == 0:
        return OutputError(name, dtype, list(got.shape), 0.0, 0.0, atol, rtol, True)
    g, r = got.astype(np.float64), ref.astype(np.float64)
    nan_g, nan_r = np.isnan(g), np.isnan(r)
    nan_mismatches = int(np.count_nonzero(nan_g != nan_r))
    both = nan_g & nan_r
    with np.errstate(invalid="ignore"):
        same = (g == r) | both  # equal values, equal infinities, NaN on both sides
        diff = np.where(same, 0.0, np.abs(g - r))
    diff = np.where(np.isnan(diff), np.inf, diff)  # a one-sided NaN is an infinite error
    bad = ~same & ~(diff <= atol + rtol * np.abs(np.where(np.isfinite(r), r, 0.0)))
    rel = diff / np.maximum(np.abs(np.where(np.isfinite(r), r, 0.0)), 1e-12)
    mismatches = int(np.count_nonzero(bad))
    reason = ""
    if mismatches:
        worst = np.unravel_index(int(np.argmax(np.where(bad, diff, -1.0))), got.shape)
        reason = f"at {list(map(int, worst))}: {got[worst]!r} vs reference {ref[worst]!r}"
    return OutputError(
        name,
        dtype,
        list(got.shape),
        float(diff.max()),
        float(rel.max()),
        atol,
        rtol,
        mismatches == 0,
        mismatches,
        nan_mismatches,
        reason,
    )


def compare_outputs(
    got: Mapping[str, np.ndarray],
    ref: Mapping[str, np.ndarray],
    tolerances: Mapping[str, tuple[float, float]] | None = None,
) -> list[OutputError]:
    """Every output of `ref` checked in `got` (a missing one fails with a reason)."""
    out = []
    for name, expected in ref.items():
        if name not in got:
            out.append(
                OutputError(
                    name,
                    str(np.asarray(expected).dtype),
                    list(np.shape(expected)),
                    float("inf"),
                    float("inf"),
                    0.0,
                    0.0,
                    False,
                    reason="missing output",
                )
            )
            continue
        atol, rtol = tolerance_for(str(np.asarray(got[name]).dtype), tolerances)
        out.append(compare_arrays(name, got[name], expected, atol, rtol))
    return out
