"""The generic op test harness: every check for every case of every plugin.

Per plugin: the C++ fields equal the spec's attributes, the versions agree, attributes
serialize and deserialize, bad values and corrupt bytes are rejected. Per case, for
several input shapes across the case's dynamic range (min, opt, mid, max): the shape and
dtype rules match the PyTorch reference, and each backend's outputs match the PyTorch
reference within the case's tolerance: ``opcheck`` (``torch.library.opcheck`` of the torch
op: schema, the shapes-only fake against the real kernel, autograd registration, AOT
dispatch with dynamic shapes), ``cpu`` (native CPU reference), ``cuda`` (the
plugin's kernel), ``onnx`` (a one-node graph on ``onnx.reference``), ``onnxruntime`` (the
one-node graph in plain onnxruntime through the spec's ``onnx_function`` body),
``tensorrt`` (an engine from a one-node graph, once per plugin version).

Used by ``trt-pdk test`` and by ``tests/test_plugins.py``. This module runs the checks;
they live in ``per_plugin`` and ``per_case``, the tensors in ``data``, the outcomes in
``results`` (their names are re-exported here, which plugin packages import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from trt_pdk.errors import Skipped, UserError
from trt_pdk.spec import VERSIONS, Case, PluginSpec
from trt_pdk.testing.data import compare, from_numpy, make_inputs, to_numpy
from trt_pdk.testing.per_case import (
    case_profiles,
    check_cpu,
    check_cuda,
    check_onnx,
    check_onnxruntime,
    check_opcheck,
    check_shape_rule,
    check_tensorrt,
    dynamic_dims,
    points_of_case,
    tolerance_of_case,
)
from trt_pdk.testing.per_plugin import check_bad_input, check_fields, check_serialize, check_versions
from trt_pdk.testing.results import (
    FAIL,
    PASS,
    SKIP,
    CheckFailed,
    CheckResult,
    Errors,
    assert_result,
    format_result,
    summarize,
)

__all__ = [
    "CASE_CHECKS", "FAIL", "PASS", "PLUGIN_CHECKS", "SKIP", "CheckFailed", "CheckResult", "Errors",
    "assert_result", "case_checks", "case_profiles", "check_bad_input", "check_cpu", "check_cuda",
    "check_fields", "check_onnx", "check_onnxruntime", "check_opcheck", "check_serialize",
    "check_shape_rule", "check_tensorrt", "check_versions", "compare", "dynamic_dims", "format_result",
    "from_numpy", "make_inputs", "plugin_checks", "run_plugin", "summarize", "to_numpy",
]  # fmt: skip
CASE_CHECKS = ("shape_rule", "opcheck", "cpu", "cuda", "onnx", "onnxruntime", "tensorrt")
PLUGIN_CHECKS = ("fields", "versions", "serialize", "bad_input")


def _run_one(
    plugin: str, case: str, check: str, func: Callable[[], Any], tolerance: tuple[float, float] | None = None
) -> CheckResult:
    result = CheckResult(plugin, case, check, PASS)
    if tolerance is not None:
        result.atol, result.rtol = tolerance
    try:
        out = func()
    except Skipped as exc:
        result.status, result.detail = SKIP, str(exc)
    except (CheckFailed, UserError, ValueError) as exc:
        result.status, result.detail = FAIL, str(exc)
    else:
        if isinstance(out, Errors):
            result.max_abs, result.max_rel = out.max_abs, out.max_rel
            result.detail = f"max abs err {out.max_abs:.3g}, max rel err {out.max_rel:.3g}"
        else:
            result.detail = str(out or "")
    return result


def plugin_checks(spec: PluginSpec, checks: Iterable[str] = PLUGIN_CHECKS) -> list[CheckResult]:
    """The checks that do not depend on a case."""
    funcs = {
        "fields": check_fields,
        "versions": check_versions,
        "serialize": check_serialize,
        "bad_input": check_bad_input,
    }
    return [_run_one(spec.name, "-", name, lambda f=funcs[name]: f(spec)) for name in checks]


def case_checks(
    spec: PluginSpec, case: Case, backends: Iterable[str] = CASE_CHECKS, max_input_mib: float | None = None
) -> list[CheckResult]:
    """Runs the chosen checks of one case; ``tensorrt`` runs once per plugin version.

    ``max_input_mib``: inputs of one point above this are refused (UserError) before they
    are made (default :data:`trt_pdk.execution.limits.DEFAULT_MAX_INPUT_MIB`).
    """
    backends = list(backends)
    unknown = sorted(set(backends) - set(CASE_CHECKS))
    if unknown:
        raise UserError(f"unknown check(s) {unknown}; choose from {', '.join(CASE_CHECKS)}")
    try:
        points = points_of_case(spec, case, max_input_mib)
    except UserError:  # inputs past the limit: the user's choice to change, not a failed op
        raise
    except Exception as exc:  # the reference itself failing makes every check meaningless
        return [CheckResult(spec.name, case.name, "reference", FAIL, f"{type(exc).__name__}: {exc}")]
    tol = tolerance_of_case(spec, case, points[0][2])
    results = []
    for name in backends:
        if name == "shape_rule":
            results.append(_run_one(spec.name, case.name, name, lambda: check_shape_rule(spec, case, points)))
        elif name == "tensorrt":
            for version in spec.versions:
                check = f"tensorrt[{VERSIONS[version]}]"
                func = lambda v=version: check_tensorrt(spec, case, points, v)  # noqa: E731
                results.append(_run_one(spec.name, case.name, check, func, tol))
        else:
            func = {
                "opcheck": check_opcheck,
                "cpu": check_cpu,
                "cuda": check_cuda,
                "onnx": check_onnx,
                "onnxruntime": check_onnxruntime,
            }[name]
            results.append(_run_one(spec.name, case.name, name, lambda f=func: f(spec, case, points), tol))
    return results


def run_plugin(
    spec: PluginSpec,
    cases: Iterable[str] | None = None,
    backends: Iterable[str] = CASE_CHECKS,
    progress: Callable[[CheckResult], None] | None = None,
    max_input_mib: float | None = None,
) -> list[CheckResult]:
    """Every plugin-level check, then every (selected) case's checks (inputs bounded by
    ``max_input_mib``)."""
    selected = list(spec.cases)
    if cases:
        names = {c.name for c in spec.cases}
        missing = sorted(set(cases) - names)
        if missing:
            raise UserError(f"{spec.name} has no case(s) {missing}; its cases: {', '.join(sorted(names))}")
        selected = [c for c in spec.cases if c.name in set(cases)]
    results = []
    for r in plugin_checks(spec):
        results.append(r)
        if progress:
            progress(r)
    for case in selected:
        for r in case_checks(spec, case, backends, max_input_mib):
            results.append(r)
            if progress:
                progress(r)
    return results
