"""Each built-in plugin's README documents the attributes its spec declares."""

from __future__ import annotations

import pytest

from trt_pdk.registry import discover
from trt_pdk.spec import format_number

BUILTIN = {name: spec for name, spec in discover().items() if spec.library_package == "trt_pdk"}


def _folder(spec):
    module = spec.reference.__module__  # trt_pdk.plugins.<folder>.spec
    return module.split(".")[-2]


@pytest.mark.parametrize("spec", list(BUILTIN.values()), ids=list(BUILTIN))
def test_readme_attribute_table(repo, spec):
    readme = (repo / "plugins" / _folder(spec) / "README.md").read_text()
    assert readme.startswith(f"# {spec.name}\n")
    for a in spec.attrs:
        default = a.default if a.type == "string" else format_number(a.default)
        row = f"| `{a.name}` | {a.type} | {default} | {a.range_text()} | {a.doc} |"
        assert row in readme, f"README of {spec.name} lacks the row {row}"
    for t in spec.inputs:
        assert f"| `{t.name}` |" in readme
