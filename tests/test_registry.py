"""Discovery through entry points, with an outside package (tests/packages/pdk_fake).

The outside package carries a valid plugin (``Scale``, its native module written in
NumPy), an entry point whose module does not exist and one that names a non-spec.
"""

from __future__ import annotations

import json
import os

import pytest

from trt_pdk.errors import UserError
from trt_pdk.registry import get_spec


@pytest.fixture
def fake_env(repo):
    path = str(repo / "tests" / "packages" / "pdk_fake")
    return {"PYTHONPATH": os.pathsep.join(p for p in (path, os.environ.get("PYTHONPATH", "")) if p)}


def test_get_spec_unknown_lists_known_names():
    with pytest.raises(
        UserError, match=r"unknown plugin 'rmsnorm'\. Did you mean 'RMSNorm'\? Known plugins: .*RMSNorm"
    ):
        get_spec("rmsnorm")


def test_outside_plugin_is_listed_and_broken_ones_named(cli, fake_env):
    proc = cli("list", "--json", env=fake_env)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert set(rows) >= {"RMSNorm", "Scale"}
    assert rows["Scale"]["source"] == "pdk-fake 0.1: pdk_fake.spec:SPEC"
    assert rows["Scale"]["interfaces"] == ["IPluginV3"]
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert "'broken' (pdk-fake 0.1: pdk_fake.missing_module:SPEC) is broken" in err
    assert "No module named 'pdk_fake.missing_module'" in err
    assert "'not_a_spec'" in err and "not a trt_pdk.spec.PluginSpec" in err


def test_outside_plugin_table_shows_broken_rows(cli, fake_env):
    proc = cli("list", env=fake_env)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert any(line.startswith("Scale ") for line in out.splitlines())
    assert "BROKEN  broken  pdk-fake 0.1" in out


def test_outside_plugin_passes_the_generic_harness(cli, fake_env):
    proc = cli(
        "test",
        "Scale",
        "--backend",
        "shape_rule",
        "--backend",
        "cpu",
        "--backend",
        "onnx",
        "--json",
        env=fake_env,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    report = json.loads(proc.stdout)
    statuses = {(r["case"], r["check"]): r["status"] for r in report["results"]}
    assert statuses[("rows0to5", "cpu")] == "pass"
    assert statuses[("rows0to5", "onnx")] == "pass"
    assert statuses[("-", "fields")] == "pass"


def test_wrong_outputs_fail_with_exit_1(cli, fake_env):
    env = dict(fake_env, PDK_FAKE_BUG="1")
    proc = cli("test", "Scale", "--backend", "cpu", "--json", env=env)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    (cpu,) = [r for r in report["results"] if r["check"] == "cpu"]
    assert cpu["status"] == "fail"
    assert "out of tolerance" in cpu["detail"]
    assert report["summary"]["fail"] >= 1
