"""The kernel benchmark's plan: its shape matrix, the bytes each case must move, the report's form.

Plain Python (no torch, no GPU), so the CPU tests check it; ``benchmarks/kernels.py`` runs it.
The matrix is issue 16's: per op and dtype its good shapes and its weak ones (RMSNorm d = 64
and few rows, Bucketize nb = 4096 and 1e8 values, MaskedCompact 1-D 1e8, 512 B rows, 1e7
rows and long rows, a 1e9-element GELU), plus odd sizes and misaligned pointers. Targets
(fraction of the run's copy bandwidth, speed-ups over torch) apply only to large shapes,
those moving at least :data:`LARGE_BYTES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SCHEMA = "trt-pdk/kernel-benchmark/2"
ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "int32": 4, "int64": 8, "bool": 1}
LARGE_BYTES = 256 * 10**6  # issue 16: targets hold on "large shapes moving >= 256 MB"
X_BYTES = 2**27  # a large case's first input: 128 MiB, so read + write >= 256 MB
ROTATION_FACTOR = 3  # rotated buffer sets span >= 3x the L2, so each launch reads DRAM
MAX_ROTATION = 64
BYTES_PER_REPLAY = 2 * 10**9  # one graph replay moves about this much (launch count below)
MAX_LAUNCHES = 256
KINDS = ("good", "weak", "latency", "odd", "misaligned")
FLOATS = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class KernelCase:
    """One point of the matrix.

    Args:
        op: The plugin's name (its spec).
        label: Unique within the op, e.g. ``float16 1048576x64``.
        shapes: Per input present.
        dtypes: Per input present.
        attrs: The op's attributes, as ``(name, value)`` pairs.
        kind: ``good`` / ``weak`` (the issue's good and weak shapes), ``latency`` (few rows),
            ``odd`` (sizes off the vector width), ``misaligned`` (first input and output one
            element past an aligned address).
        keep: MaskedCompact: fraction of rows the mask keeps.
        quick: Part of ``--quick``.
        targets: ``(result key, minimum)`` pairs, e.g. ``("fraction_of_copy", 0.9)``.
    """

    op: str
    label: str
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]
    attrs: tuple[tuple[str, Any], ...] = ()
    kind: str = "good"
    keep: float | None = None
    quick: bool = False
    targets: tuple[tuple[str, float], ...] = ()

    @property
    def misaligned(self) -> bool:
        return self.kind == "misaligned"

    def attr_dict(self) -> dict[str, Any]:
        return dict(self.attrs)

    def target_dict(self) -> dict[str, float]:
        return dict(self.targets)


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def kept_rows(case: KernelCase) -> int:
    """MaskedCompact: the rows the case's mask keeps (the mask is built to keep exactly these)."""
    return round(case.keep * case.shapes[0][0]) if case.keep is not None else 0


def output_specs(case: KernelCase, kept: int | None = None) -> list[tuple[tuple[int, ...], str]]:
    """(shape, dtype) of each output as the op writes it (MaskedCompact: ``kept`` rows)."""
    x, dtype = case.shapes[0], case.dtypes[0]
    if case.op == "Bucketize":
        return [(x, case.attr_dict().get("out_dtype", "int64"))]
    if case.op == "MaskedCompact":
        rows = kept_rows(case) if kept is None else kept
        return [((rows, *x[1:]), dtype), ((), "int64")]
    return [(x, dtype)]


def bytes_moved(case: KernelCase, kept: int | None = None) -> int:
    """The least an op must touch: each input read once, each output written once.

    MaskedCompact reads the mask and only the kept rows of x (``kept``; default the planned
    count), writes them and the 8-byte count.
    """
    outputs = sum(_numel(s) * ITEMSIZE[d] for s, d in output_specs(case, kept))
    if case.op == "MaskedCompact":
        (x, mask), (dtype, _) = case.shapes, case.dtypes
        rows = kept_rows(case) if kept is None else kept
        return _numel(mask) * ITEMSIZE["bool"] + rows * _numel(x[1:]) * ITEMSIZE[dtype] + outputs
    inputs = sum(_numel(s) * ITEMSIZE[d] for s, d in zip(case.shapes, case.dtypes, strict=True))
    return inputs + outputs


def rotation(case: KernelCase, l2_bytes: int) -> int:
    """Buffer sets to cycle through so that together they exceed the L2 (capped: tiny cases stay)."""
    return max(1, min(MAX_ROTATION, math.ceil(ROTATION_FACTOR * l2_bytes / max(bytes_moved(case), 1))))


def launches_per_replay(case: KernelCase, sets: int) -> int:
    """Launches captured in one graph: about BYTES_PER_REPLAY, a whole number of rotations."""
    wanted = min(MAX_LAUNCHES, max(3, math.ceil(BYTES_PER_REPLAY / max(bytes_moved(case), 1))))
    return sets * max(1, math.ceil(wanted / sets))


def _large_rows(d: int, dtype: str) -> int:
    return max(1, X_BYTES // (d * ITEMSIZE[dtype]))


def _fused_targets(kind: str) -> tuple[tuple[str, float], ...]:
    copy = {"good": 0.90, "weak": 0.70}[kind]
    return (("fraction_of_copy", copy), ("speedup_vs_compile", 1.0), ("speedup_vs_eager", 1.5))


def rms_norm_cases() -> list[KernelCase]:
    out = []
    for dtype in FLOATS:
        w = dtype
        for d in (64, 768, 4096, 8192):
            kind = "weak" if d == 64 else "good"
            rows = _large_rows(d, dtype)
            quick = (dtype == "float16" and d in (64, 4096)) or (dtype == "float32" and d == 768)
            out.append(
                KernelCase(
                    "RMSNorm",
                    f"{dtype} {rows}x{d}",
                    ((rows, d), (d,)),
                    (dtype, w),
                    (("eps", 1e-6),),
                    kind,
                    quick=quick,
                    targets=_fused_targets(kind),
                )
            )
        for rows in (1, 64):
            quick = dtype == "float16" and rows == 64
            label = f"{dtype} {rows}x4096"
            out.append(
                KernelCase(
                    "RMSNorm",
                    label,
                    ((rows, 4096), (4096,)),
                    (dtype, w),
                    (("eps", 1e-6),),
                    "latency",
                    quick=quick,
                )
            )
        rows = _large_rows(1001, dtype)
        out.append(
            KernelCase(
                "RMSNorm",
                f"{dtype} {rows}x1001",
                ((rows, 1001), (1001,)),
                (dtype, w),
                (("eps", 1e-6),),
                "odd",
                quick=dtype == "float16",
            )
        )
        rows = _large_rows(4096, dtype)
        out.append(
            KernelCase(
                "RMSNorm",
                f"{dtype} {rows}x4096 misaligned",
                ((rows, 4096), (4096,)),
                (dtype, w),
                (("eps", 1e-6),),
                "misaligned",
                quick=dtype == "float16",
            )
        )
    return out


def fused_bias_gelu_cases() -> list[KernelCase]:
    out = []
    for dtype in FLOATS:
        rows = _large_rows(4096, dtype)
        billion = 10**9 // 4096 + 1  # >= 1e9 elements
        for approximate in ("none", "tanh"):
            attrs = (("approximate", approximate),)
            out.append(
                KernelCase(
                    "FusedBiasGelu",
                    f"{dtype} {rows}x4096 {approximate}",
                    ((rows, 4096), (4096,)),
                    (dtype, dtype),
                    attrs,
                    "good",
                    quick=approximate == "none" and dtype != "bfloat16",
                    targets=_fused_targets("good"),
                )
            )
            out.append(
                KernelCase(
                    "FusedBiasGelu",
                    f"{dtype} {billion}x4096 {approximate}",
                    ((billion, 4096), (4096,)),
                    (dtype, dtype),
                    attrs,
                    "good",
                    targets=_fused_targets("good"),
                )
            )
        none = (("approximate", "none"),)
        out.append(
            KernelCase(
                "FusedBiasGelu",
                f"{dtype} {rows}x4096 none no-bias",
                ((rows, 4096),),
                (dtype,),
                none,
                "good",
                quick=dtype == "bfloat16",
                targets=_fused_targets("good"),
            )
        )
        odd_rows = _large_rows(4095, dtype)
        out.append(
            KernelCase(
                "FusedBiasGelu",
                f"{dtype} {odd_rows}x4095 none",
                ((odd_rows, 4095), (4095,)),
                (dtype, dtype),
                none,
                "odd",
                quick=dtype == "float16",
            )
        )
        out.append(
            KernelCase(
                "FusedBiasGelu",
                f"{dtype} {rows}x4096 none misaligned",
                ((rows, 4096), (4096,)),
                (dtype, dtype),
                none,
                "misaligned",
                quick=dtype == "float16",
            )
        )
        out.append(
            KernelCase(
                "FusedBiasGelu",
                f"{dtype} 16x4096 none",
                ((16, 4096), (4096,)),
                (dtype, dtype),
                none,
                "latency",
                quick=dtype == "float16",
            )
        )
    return out


def bucketize_cases() -> list[KernelCase]:
    out = []
    default = (("right", 0), ("out_dtype", "int64"))
    for dtype in ("float32", "float16", "int32"):
        for n in (10**6, 10**8):
            for nb in (16, 4096, 65536):
                large = n == 10**8
                kind = "good" if nb == 16 else "weak"
                targets: tuple[tuple[str, float], ...] = ()
                if large and nb in (16, 4096):
                    targets = (("fraction_of_copy", 0.90 if nb == 16 else 0.70), ("speedup_vs_eager", 1.0))
                quick = (dtype == "float32" and large and nb in (16, 4096)) or (
                    dtype == "int32" and n == 10**6 and nb == 16
                )
                label = f"{dtype} n={n} nb={nb}"
                out.append(
                    KernelCase(
                        "Bucketize",
                        label,
                        ((n,), (nb,)),
                        (dtype, dtype),
                        default,
                        kind,
                        quick=quick,
                        targets=targets,
                    )
                )
        out.append(
            KernelCase(
                "Bucketize",
                f"{dtype} n=1000 nb=16",
                ((1000,), (16,)),
                (dtype, dtype),
                default,
                "latency",
                quick=dtype == "float32",
            )
        )
        out.append(
            KernelCase(
                "Bucketize",
                f"{dtype} 1001x999 nb=17",
                ((1001, 999), (17,)),
                (dtype, dtype),
                default,
                "odd",
                quick=dtype == "float16",
            )
        )
        out.append(
            KernelCase(
                "Bucketize",
                f"{dtype} n=100000001 nb=16 misaligned",
                ((10**8 + 1,), (16,)),
                (dtype, dtype),
                default,
                "misaligned",
                quick=dtype == "float32",
            )
        )
    variant = (("right", 1), ("out_dtype", "int32"))
    out.append(
        KernelCase(
            "Bucketize",
            "float32 n=100000000 nb=16 right int32",
            ((10**8,), (16,)),
            ("float32", "float32"),
            variant,
            "good",
            quick=True,
            targets=(("fraction_of_copy", 0.90), ("speedup_vs_eager", 1.0)),
        )
    )
    return out


def masked_compact_cases() -> list[KernelCase]:
    out = []

    def add(shape, dtype, keep, kind, *, quick=False, copy_target=None, suffix=""):
        targets: tuple[tuple[str, float], ...] = ()
        case = KernelCase("MaskedCompact", "", (shape, (shape[0],)), (dtype, "bool"), (), kind, keep, quick)
        if copy_target is not None and bytes_moved(case) >= LARGE_BYTES:
            targets = (("fraction_of_copy", copy_target), ("speedup_vs_eager", 1.0))
        dims = "x".join(map(str, shape))
        label = f"{dtype} {dims} keep={keep}{suffix}"
        out.append(
            KernelCase("MaskedCompact", label, case.shapes, case.dtypes, (), kind, keep, quick, targets)
        )

    for dtype in ("float32", "float16", "bfloat16", "int32", "int64"):
        for keep in (0.1, 0.5, 0.9):
            quick = (dtype == "float32" and keep == 0.5) or (dtype == "float16" and keep == 0.9)
            add((2**20, 64), dtype, keep, "good", quick=quick, copy_target=0.90)
    add((10**8,), "float32", 0.5, "weak", quick=True, copy_target=0.60)  # 1-D 1e8
    add((10**8,), "float16", 0.5, "weak", copy_target=0.60)
    add((2**19, 128), "float32", 0.5, "weak", quick=True)  # 512 B rows
    add((10**7, 8), "float32", 0.5, "weak")  # >= 1e7 rows
    add((8192, 16384), "float32", 0.5, "weak")  # 64 KiB rows
    add((64, 64), "float32", 0.5, "latency", quick=True)
    add((1000003, 7), "float16", 0.5, "odd", quick=True)
    add((2**20, 64), "float32", 0.5, "misaligned", quick=True, suffix=" misaligned")
    return out


MATRIX = {
    "RMSNorm": rms_norm_cases,
    "FusedBiasGelu": fused_bias_gelu_cases,
    "Bucketize": bucketize_cases,
    "MaskedCompact": masked_compact_cases,
}


def plan(ops: list[str], quick: bool) -> list[KernelCase]:
    """The cases to run for ``ops``, in order (``quick``: the ``--quick`` subset)."""
    return [c for op in ops for c in MATRIX[op]() if c.quick or not quick]


# The report, one JSON object: what benchmarks/kernels.py prints and what the tests check.
STATS_KEYS = ("median", "min", "max", "p25", "p75")
CASE_KEYS = {
    "op": str,
    "label": str,
    "kind": str,
    "shapes": list,
    "dtypes": list,
    "attrs": dict,
    "bytes": int,
    "rotation": int,
    "working_set_bytes": int,
    "exceeds_l2": bool,
    "launches_per_replay": int,
    "correct": bool,
    "error": (str, type(None)),
    "kernel": (dict, type(None)),  # None: the case failed before timing (see error)
    "same_size_copy": (dict, type(None)),
    "eager": (dict, type(None)),
    "compile": (dict, type(None)),
    "fraction_of_copy": (float, type(None)),
    "speedup_vs_eager": (float, type(None)),
    "speedup_vs_compile": (float, type(None)),
    "targets": dict,
}
TIMING_KEYS = {"ms": dict, "graph": bool}


def schema_errors(report: dict[str, Any]) -> list[str]:
    """What is wrong with a report's form (empty when it is right); a skip is ``{"skipped": why}``."""
    if set(report) == {"skipped"}:
        return [] if isinstance(report["skipped"], str) and report["skipped"] else ["skipped needs a reason"]
    errors = []
    for key, kind in {"schema": str, "device": dict, "copy": dict, "cases": list, "summary": dict}.items():
        if not isinstance(report.get(key), kind):
            errors.append(f"top level: {key} must be {kind.__name__}")
    if errors:
        return errors
    errors += _timing_errors("copy", report["copy"])
    for i, case in enumerate(report["cases"]):
        where = f"case {i} ({case.get('op')} {case.get('label')})"
        for key, kind in CASE_KEYS.items():
            if key not in case or not isinstance(case[key], kind):
                errors.append(f"{where}: {key} missing or not {kind}")
        if case.get("kind") not in KINDS:
            errors.append(f"{where}: kind {case.get('kind')!r} not one of {KINDS}")
        for key in ("kernel", "same_size_copy", "eager", "compile"):
            if isinstance(case.get(key), dict):
                errors += _timing_errors(f"{where} {key}", case[key])
        for name, t in case.get("targets", {}).items():
            if set(t) != {"target", "value", "met"} or not isinstance(t["met"], bool):
                errors.append(f"{where}: target {name} needs target, value, met")
            elif t["met"] and not (case["correct"] and t["value"] is not None and t["value"] >= t["target"]):
                errors.append(f"{where}: target {name} met without a correct result reaching it")
    for key in ("cases", "incorrect", "targets_met", "targets_missed"):
        if key not in report["summary"]:
            errors.append(f"summary: {key} missing")
    return errors


def _timing_errors(where: str, timing: dict[str, Any]) -> list[str]:
    errors = [
        f"{where}: {k} missing or not {t.__name__}"
        for k, t in TIMING_KEYS.items()
        if not isinstance(timing.get(k), t)
    ]
    ms = timing.get("ms") or {}
    if set(ms) != set(STATS_KEYS):
        errors.append(f"{where}: ms needs {STATS_KEYS}")
    elif not ms["min"] <= ms["p25"] <= ms["median"] <= ms["p75"] <= ms["max"]:
        errors.append(f"{where}: ms statistics out of order {ms}")
    return errors


def stats(samples: list[float]) -> dict[str, float]:
    """Median and spread of per-launch times (linear interpolation between order statistics)."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        pos = q * (len(ordered) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

    return {"median": at(0.5), "min": ordered[0], "max": ordered[-1], "p25": at(0.25), "p75": at(0.75)}


def summarize(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts for the report: wrong results, and each target met or missed."""
    met, missed = [], []
    for c in cases:
        for name, t in c["targets"].items():
            (met if t["met"] else missed).append(
                f"{c['op']} {c['label']}: {name} {t['value']} (target {t['target']})"
            )
    return {
        "cases": len(cases),
        "incorrect": [f"{c['op']} {c['label']}: {c['error']}" for c in cases if not c["correct"]],
        "targets_met": len(met),
        "targets_missed": missed,
    }


def evaluate_targets(
    case: KernelCase, values: dict[str, float | None], correct: bool
) -> dict[str, dict[str, Any]]:
    """Each target with the value reached; a wrong result meets none."""
    out = {}
    for name, target in case.targets:
        value = values.get(name)
        out[name] = {
            "target": target,
            "value": value,
            "met": bool(correct and value is not None and value >= target),
        }
    return out
