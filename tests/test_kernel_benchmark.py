"""The kernel benchmark's CPU-checkable parts: its matrix against the ops' own shape rules,
byte accounting, the correctness gate on the CPU reference, the report's form, and the skip
without a GPU. The timings themselves need a GPU (``scripts/gpu-check``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec


@pytest.fixture(scope="module")
def bench(repo):
    sys.path.insert(0, str(repo / "benchmarks"))
    try:
        import kernel_cases
        import kernels

        yield kernel_cases, kernels
    finally:
        sys.path.remove(str(repo / "benchmarks"))
        for name in ("kernel_cases", "kernels"):
            sys.modules.pop(name, None)


def test_every_case_is_valid_for_its_op(bench):
    cases, _ = bench
    for case in cases.plan(list(cases.MATRIX), quick=False):
        spec, binding = get_spec(case.op), op_binding(get_spec(case.op))
        for tensor, dtype in zip(spec.inputs, case.dtypes, strict=False):
            assert dtype in tensor.dtypes, (case.label, tensor.name, dtype)
        attrs = spec.resolve_attrs(case.attr_dict())
        binding.check_inputs(attrs, [list(s) for s in case.shapes], list(case.dtypes))
        # The bytes written are the op's own outputs (MaskedCompact: the kept rows of its bound).
        shapes = binding.output_upper_bounds(attrs, [list(s) for s in case.shapes])
        dtypes = binding.output_dtypes(attrs, list(case.dtypes))
        written = cases.output_specs(case)
        assert [d for _, d in written] == dtypes, case.label
        if case.op == "MaskedCompact":
            shapes[0][0] = cases.kept_rows(case)
        assert [list(s) for s, _ in written] == shapes, case.label


def test_matrix_covers_the_issue(bench):
    cases, _ = bench
    full = cases.plan(list(cases.MATRIX), quick=False)
    for op in cases.MATRIX:
        mine = [c for c in full if c.op == op]
        assert {c.kind for c in mine} >= {"good", "latency", "odd", "misaligned"}, op
        assert any(c.targets for c in mine), op
        for dtype in get_spec(op).inputs[0].dtypes:
            assert any(c.dtypes[0] == dtype and c.kind == "good" for c in mine), (op, dtype)
    labels = {(c.op, c.label) for c in full}
    assert len(labels) == len(full), "labels must be unique per op"
    shapes = {op: [c.shapes for c in full if c.op == op] for op in cases.MATRIX}
    assert any(s[0][1] == 64 for s in shapes["RMSNorm"] if len(s[0]) == 2)
    assert any(math.prod(s[0]) >= 10**9 for s in shapes["FusedBiasGelu"])
    assert {s[1][0] for s in shapes["Bucketize"]} >= {16, 4096} and any(
        s[0] == (10**8,) for s in shapes["Bucketize"]
    )
    assert any(s[0] == (10**8,) for s in shapes["MaskedCompact"])
    assert any(s[0][0] >= 10**7 for s in shapes["MaskedCompact"])


def test_targets_only_on_large_shapes_and_quick_keeps_some(bench):
    cases, _ = bench
    for case in cases.plan(list(cases.MATRIX), quick=False):
        if case.targets:
            assert cases.bytes_moved(case) >= cases.LARGE_BYTES, case.label
    quick = cases.plan(list(cases.MATRIX), quick=True)
    assert len(quick) <= 30
    for op in cases.MATRIX:
        assert any(c.op == op and c.targets for c in quick), op


def test_bytes_moved(bench):
    cases, _ = bench
    rms = cases.KernelCase("RMSNorm", "t", ((1000, 64), (64,)), ("float16", "float16"), (("eps", 1e-6),))
    assert cases.bytes_moved(rms) == 2 * 1000 * 64 * 2 + 64 * 2
    gelu = cases.KernelCase("FusedBiasGelu", "t", ((8, 4095),), ("bfloat16",), (("approximate", "none"),))
    assert cases.bytes_moved(gelu) == 2 * 8 * 4095 * 2
    attrs = (("right", 0), ("out_dtype", "int32"))
    bucket = cases.KernelCase("Bucketize", "t", ((10,), (16,)), ("float16", "float16"), attrs)
    assert cases.bytes_moved(bucket) == 10 * 2 + 16 * 2 + 10 * 4
    compact = cases.KernelCase("MaskedCompact", "t", ((100, 7), (100,)), ("int64", "bool"), keep=0.25)
    assert cases.kept_rows(compact) == 25
    assert cases.bytes_moved(compact) == 100 + 2 * 25 * 7 * 8 + 8
    assert cases.bytes_moved(compact, kept=3) == 100 + 2 * 3 * 7 * 8 + 8


def test_rotation_exceeds_l2_unless_capped(bench):
    cases, _ = bench
    l2 = 60 * 10**6
    for case in cases.plan(list(cases.MATRIX), quick=False):
        sets = cases.rotation(case, l2)
        moved = cases.bytes_moved(case)
        assert sets == cases.MAX_ROTATION or sets * moved >= cases.ROTATION_FACTOR * l2, case.label
        launches = cases.launches_per_replay(case, sets)
        assert launches % sets == 0 and launches >= 3


def test_stats_median_and_spread(bench):
    cases, _ = bench
    assert cases.stats([4.0, 1.0, 3.0, 2.0, 5.0]) == {
        "median": 3.0,
        "min": 1.0,
        "max": 5.0,
        "p25": 2.0,
        "p75": 4.0,
    }
    assert cases.stats([2.0]) == dict.fromkeys(cases.STATS_KEYS, 2.0)


def _cpu_outputs(spec, case, inputs):
    arrays = [t.numpy() for t in inputs]
    outs = op_binding(spec).cpu(case.attr_dict(), arrays, list(case.dtypes))
    return [torch.from_numpy(np.asarray(o)) for o in outs]


def test_correctness_gate_on_the_cpu_reference(bench):
    """The benchmark's check, fed the C++ CPU reference's outputs: passes; poison or a wrong
    element fails it (the GPU run feeds it the kernel's outputs the same way)."""
    cases, kernels = bench
    spec = get_spec("MaskedCompact")
    case = cases.KernelCase("MaskedCompact", "t", ((50, 3), (50,)), ("float32", "bool"), keep=0.4)
    x = torch.randn(50, 3)
    mask = torch.zeros(50, dtype=torch.bool)
    mask[torch.randperm(50)[:20]] = True
    y, count = _cpu_outputs(spec, case, [x, mask])
    full = torch.full((50, 3), float("nan"))  # allocated at the bound, poisoned beyond the count
    full[:20] = y
    assert kernels.check(spec, case, [x, mask], [full, count], count_index=1) is None
    full[7, 1] += 1e-3
    assert "output 0: element 22" in kernels.check(spec, case, [x, mask], [full, count], count_index=1)
    poisoned = torch.tensor(kernels.INT_POISON, dtype=torch.int64)
    assert "outside" in kernels.check(spec, case, [x, mask], [full, poisoned], count_index=1)

    spec = get_spec("RMSNorm")
    case = cases.KernelCase("RMSNorm", "t", ((4, 16), (16,)), ("float32", "float32"), (("eps", 1e-6),))
    x, w = torch.randn(4, 16), torch.randn(16)
    (y,) = _cpu_outputs(spec, case, [x, w])
    assert kernels.check(spec, case, [x, w], [y], None) is None
    y[3, 15] = float("nan")
    assert "element 63" in kernels.check(spec, case, [x, w], [y], None)


def test_report_form_and_target_rules(bench):
    cases, _ = bench
    case = cases.plan(["RMSNorm"], quick=True)[0]
    values = {"fraction_of_copy": 0.95, "speedup_vs_compile": 1.2, "speedup_vs_eager": 1.1}
    targets = cases.evaluate_targets(case, values, correct=True)
    assert {k: t["met"] for k, t in targets.items()} == {
        "fraction_of_copy": True,
        "speedup_vs_compile": True,
        "speedup_vs_eager": False,
    }
    assert not any(t["met"] for t in cases.evaluate_targets(case, values, correct=False).values())
    timing = {"ms": cases.stats([1.0, 1.1, 0.9]), "graph": True}
    row = {
        "op": case.op, "label": case.label, "kind": case.kind, "shapes": [], "dtypes": [], "attrs": {},
        "bytes": 1, "rotation": 1, "working_set_bytes": 1, "exceeds_l2": True, "launches_per_replay": 8,
        "correct": True, "error": None, "kernel": timing, "same_size_copy": timing, "eager": timing,
        "compile": None, "fraction_of_copy": 0.95, "speedup_vs_eager": 1.1, "speedup_vs_compile": None,
        "targets": targets,
    }  # fmt: skip
    report = {
        "schema": cases.SCHEMA,
        "device": {},
        "copy": timing,
        "cases": [row],
        "summary": cases.summarize([row]),
    }
    assert cases.schema_errors(report) == []
    assert report["summary"]["targets_met"] == 2 and len(report["summary"]["targets_missed"]) == 1
    broken = {**row, "correct": False, "error": "output 0: element 3"}
    assert any(
        "met without a correct result" in e for e in cases.schema_errors({**report, "cases": [broken]})
    )
    assert cases.summarize([broken])["incorrect"] == [f"{case.op} {case.label}: output 0: element 3"]
    bad_stats = {**row, "kernel": {"ms": {**timing["ms"], "min": 5.0}, "graph": True}}
    assert any("out of order" in e for e in cases.schema_errors({**report, "cases": [bad_stats]}))


def test_without_a_gpu_it_says_skipped(repo, bench):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the benchmark runs (scripts/gpu-check)")
    cases, _ = bench
    done = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "kernels.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert cases.schema_errors(report) == [] and "no CUDA GPU" in report["skipped"]
