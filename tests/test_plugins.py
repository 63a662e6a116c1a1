"""The generic op tests: every discovered plugin x every case x every backend.

Each test compares real outputs against the plugin's PyTorch reference (or the C++ core
against the Python spec); backends that cannot run here skip with the reason.
"""

from __future__ import annotations

import pytest

from trt_pdk.registry import discover
from trt_pdk.spec import VERSIONS
from trt_pdk.testing.harness import (
    CASE_CHECKS,
    PLUGIN_CHECKS,
    assert_result,
    case_checks,
    plugin_checks,
)

SPECS = discover()
MARKS = {"cuda": [pytest.mark.cuda], "tensorrt": [pytest.mark.tensorrt]}


def _plugin_params():
    return [
        pytest.param(spec, check, id=f"{name}-{check}")
        for name, spec in SPECS.items()
        for check in PLUGIN_CHECKS
    ]


def _case_params():
    params = []
    for name, spec in SPECS.items():
        for case in spec.cases:
            for check in CASE_CHECKS:
                params.append(
                    pytest.param(
                        spec, case, check, id=f"{name}-{case.name}-{check}", marks=MARKS.get(check, [])
                    )
                )
    return params


def test_plugins_are_discovered():
    assert "RMSNorm" in SPECS


@pytest.mark.parametrize(("spec", "check"), _plugin_params())
def test_plugin(spec, check):
    (result,) = plugin_checks(spec, [check])
    assert_result(result)


@pytest.mark.parametrize(("spec", "case", "check"), _case_params())
def test_case(spec, case, check):
    results = case_checks(spec, case, [check])
    if check == "tensorrt":
        assert [r.check for r in results] == [f"tensorrt[{VERSIONS[v]}]" for v in spec.versions]
    failures = [r for r in results if r.status == "fail"]
    if failures:
        assert_result(failures[0])
    for r in results:
        assert_result(r)
