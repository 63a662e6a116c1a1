"""The kit's generic op tests over this package's plugins: every check, every case.

Each test compares real outputs against the plugin's PyTorch reference (or the C++ core
against the Python spec); backends that cannot run here skip with the reason.
"""

from __future__ import annotations

import pytest
from trt_pdk.registry import discover, discover_all
from trt_pdk.spec import VERSIONS
from trt_pdk.testing.harness import CASE_CHECKS, PLUGIN_CHECKS, assert_result, case_checks, plugin_checks

PACKAGE = "{{ cookiecutter.package_name }}"
SPECS = {name: spec for name, spec in discover().items() if spec.library_package == PACKAGE}
MARKS = {"cuda": [pytest.mark.cuda], "tensorrt": [pytest.mark.tensorrt]}


def test_plugins_are_discovered():
    _, broken = discover_all()
    assert not [b for b in broken if PACKAGE in b.source], broken
    assert "{{ cookiecutter.name }}" in SPECS


@pytest.mark.parametrize(
    ("spec", "check"),
    [pytest.param(s, c, id=f"{n}-{c}") for n, s in SPECS.items() for c in PLUGIN_CHECKS],
)
def test_plugin(spec, check):
    (result,) = plugin_checks(spec, [check])
    assert_result(result)


@pytest.mark.parametrize(
    ("spec", "case", "check"),
    [
        pytest.param(s, case, c, id=f"{n}-{case.name}-{c}", marks=MARKS.get(c, []))
        for n, s in SPECS.items()
        for case in s.cases
        for c in CASE_CHECKS
    ],
)
def test_case(spec, case, check):
    results = case_checks(spec, case, [check])
    if check == "tensorrt":
        assert [r.check for r in results] == [f"tensorrt[{VERSIONS[v]}]" for v in spec.versions]
    for r in [r for r in results if r.status == "fail"] or results:
        assert_result(r)
