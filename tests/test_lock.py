"""The version lock: crafted manifests against crafted environments, on the real plugin library.

The plugin library in each run folder is a copy of the library actually built for that
TensorRT major (the ``built_library`` fixture); its facts come from its .trt_pdk_info section.
"""

from __future__ import annotations

import json
import shutil

import pytest

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.lock import (
    MANIFEST,
    SCHEMA,
    check_against_manifest,
    lock_run,
    require_matching_environment,
    triton_release_for,
)

ENV = {
    "tensorrt": "10.8.0.43",
    "cuda_runtime": "12.8",
    "cuda_driver": "12.8",
    "gpu": {"name": "NVIDIA H100", "compute_capability": "9.0"},
    "torch": "2.13.0",
    "onnx": "1.23.2",
    "onnxruntime": "1.31.1",
}


def _run_dir(tmp_path, built_library, major=10):
    run = tmp_path / "run"
    (run / "fp32").mkdir(parents=True)
    (run / "fp32" / "model.plan").write_bytes(b"engine bytes")
    lib = None
    if major is not None:  # None: a run without plugins
        lib = tmp_path / "libmy_plugins.so"  # a name that says nothing about the major
        shutil.copyfile(built_library(major), lib)
    (run / "build.json").write_text(
        json.dumps(
            {
                "model": str(tmp_path / "absent.onnx"),
                "profiles": [{"x": {"min": [1], "opt": [4], "max": [4]}}],
                "precisions": ["fp32"],
                "engines": {"fp32": "fp32/model.plan"},
                "plugin_libraries": [str(lib)] if lib else [],
            }
        )
    )
    return run, lib


def test_lock_then_check_same_environment_is_clean(tmp_path, built_library):
    run, _ = _run_dir(tmp_path, built_library)
    path = lock_run(run, env=ENV)
    m = json.loads(path.read_text())
    assert m["schema"] == SCHEMA and m["tensorrt"] == "10.8.0.43"
    assert m["triton_container"]["release"] == "25.02" and m["triton_container"]["match"] == "exact"
    assert m["plugin_libraries"][0]["tensorrt_major"] == 10
    findings = check_against_manifest(path, env=ENV)
    assert [f.status for f in findings] == ["ok", "ok", "ok"]
    require_matching_environment(run / MANIFEST, env=ENV)


@pytest.mark.parametrize(
    ("change", "check", "words"),
    [
        ({"tensorrt": "10.9.0.34"}, "tensorrt", "built with TensorRT 10.8.0.43, this is TensorRT 10.9.0.34"),
        ({"tensorrt": "11.0.0.1"}, "tensorrt", "this is TensorRT 11.0.0.1"),
        ({"gpu": {"name": "NVIDIA L4", "compute_capability": "8.9"}}, "gpu", "compute capability 9.0"),
    ],
)
def test_environment_mismatch_is_one_paragraph(tmp_path, change, check, words):
    run, _ = _run_dir(tmp_path, None, major=None)
    lock_run(run, env=ENV)
    env = {**ENV, **change}
    errors = [f for f in check_against_manifest(run, env=env) if f.status == "error"]
    assert [f.check for f in errors][:1] == [check]
    assert words in errors[0].message
    with pytest.raises(UserError) as exc:
        require_matching_environment(run / MANIFEST, env=env)
    text = str(exc.value)
    assert "\n" not in text and words in text and "To fix:" in text
    if check == "tensorrt":
        assert "nvcr.io/nvidia/tritonserver:25.02-py3" in text


def test_changed_or_missing_plugin_library_is_detected(tmp_path, built_library):
    run, lib = _run_dir(tmp_path, built_library)
    lock_run(run, env=ENV)
    lib.write_bytes(lib.read_bytes() + b"rebuilt")
    errors = [f for f in check_against_manifest(run, env=ENV) if f.status == "error"]
    assert len(errors) == 1 and "changed since the engines were built" in errors[0].message
    lib.unlink()
    errors = [f for f in check_against_manifest(run, env=ENV) if f.status == "error"]
    assert "is missing" in errors[0].message


def test_tampered_engine_and_absent_tensorrt(tmp_path):
    run, _ = _run_dir(tmp_path, None, major=None)
    lock_run(run, env=ENV)
    (run / "fp32" / "model.plan").write_bytes(b"other engine")
    findings = check_against_manifest(run, env={**ENV, "tensorrt": None})
    assert {(f.check, f.status) for f in findings} >= {
        ("tensorrt", "skip"),
        ("engine:fp32/model.plan", "error"),
    }


def test_bad_manifest_and_dry_run_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        check_against_manifest(tmp_path / "manifest.json")
    (tmp_path / MANIFEST).write_text('{"schema": "other"}')
    with pytest.raises(UserError, match="not a trt-pdk manifest"):
        check_against_manifest(tmp_path)
    (tmp_path / "build.json").write_text(json.dumps({"model": "m", "engines": {"fp32": "fp32/model.plan"}}))
    assert main(["lock", str(tmp_path)]) == 2


def test_triton_table_lookup():
    assert triton_release_for("10.3.0.26")["release"] == "24.08"
    assert triton_release_for("10.3.1")["match"] == "major.minor"
    assert triton_release_for("10.8.0.43")["release"] == "25.02"  # newest of 25.01/25.02
    assert triton_release_for("8.6.1") is None
    assert triton_release_for("11.0.0") is None


# ---------------------------------------------------------------------------------------
# `trt-pdk doctor --against MANIFEST`: the same findings through the command line.


def _doctor(monkeypatch, capsys, env, *argv):
    import trt_pdk.lock

    monkeypatch.setattr(trt_pdk.lock, "environment_facts", lambda: env)
    code = main(["doctor", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_doctor_against_matching_manifest_exits_0(tmp_path, built_library, monkeypatch, capsys):
    run, _ = _run_dir(tmp_path, built_library)
    lock_run(run, env=ENV)
    code, out, _ = _doctor(monkeypatch, capsys, ENV, "--against", str(run / MANIFEST))
    assert code == 0, out
    assert "OK     tensorrt" in out and "this environment matches" in out


def test_doctor_against_tensorrt_major_mismatch(tmp_path, built_library, monkeypatch, capsys):
    run, lib = _run_dir(tmp_path, built_library, major=10)
    lock_run(run, env=ENV)
    env = {**ENV, "tensorrt": "11.0.0.1"}
    code, out, _ = _doctor(monkeypatch, capsys, env, "--against", str(run))
    assert code == 1
    assert "ERROR  tensorrt" in out
    assert "the engines were built with TensorRT 10.8.0.43, this is TensorRT 11.0.0.1" in out
    assert f"plugin library {lib.name} is built for TensorRT 10, this is TensorRT 11.0.0.1" in out
    assert "fix: rebuild the engine here" in out and "tritonserver:25.02-py3" in out
    code, out, _ = _doctor(monkeypatch, capsys, env, "--against", str(run / MANIFEST), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    statuses = {f["check"]: f["status"] for f in report["findings"]}
    assert statuses["tensorrt"] == "error" and statuses[f"plugin:{lib.name}"] == "error"
    assert all(set(f) == {"check", "status", "message", "fix"} for f in report["findings"])


def test_doctor_against_changed_plugin_library(tmp_path, built_library, monkeypatch, capsys):
    run, lib = _run_dir(tmp_path, built_library)
    lock_run(run, env=ENV)
    lib.write_bytes(lib.read_bytes() + b"rebuilt")
    code, out, _ = _doctor(monkeypatch, capsys, ENV, "--against", str(run / MANIFEST), "--json")
    assert code == 1
    errors = [f for f in json.loads(out)["findings"] if f["status"] == "error"]
    assert [f["check"] for f in errors] == [f"plugin:{lib.name}"]
    assert "changed since the engines were built" in errors[0]["message"]
    assert "reinstall the plugin package version" in errors[0]["fix"]


def test_doctor_against_missing_or_invalid_manifest_exits_2(tmp_path, monkeypatch, capsys):
    code, _, err = _doctor(monkeypatch, capsys, ENV, "--against", str(tmp_path / "manifest.json"))
    assert code == 2 and "does not exist" in err and "trt-pdk lock RUN_DIR" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = _doctor(monkeypatch, capsys, ENV, "--against", str(bad), "--json")
    assert code == 2 and "is not valid JSON" in err and "Traceback" not in err
    bad.write_text(json.dumps({"schema": "something/else"}))
    code, _, err = _doctor(monkeypatch, capsys, ENV, "--against", str(bad))
    assert code == 2 and "not a trt-pdk manifest" in err


def test_doctor_against_in_a_subprocess(tmp_path, built_library, cli):
    """No mocking: this machine's facts against a manifest whose plugin library changed."""
    run, lib = _run_dir(tmp_path, built_library)
    lock_run(run, env=ENV)
    lib.write_bytes(b"another library")
    proc = cli("doctor", "--against", str(run / MANIFEST))
    out = proc.stdout.decode()
    assert proc.returncode == 1, proc.stderr.decode()
    assert f"ERROR  plugin:{lib.name}" in out and "Traceback" not in proc.stderr.decode()
    proc = cli("doctor", "--against", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr.decode()


def test_triton_container_of_a_manifest(tmp_path):
    from trt_pdk.lock import load_manifest, triton_container_of

    run, _ = _run_dir(tmp_path, None, major=None)
    m = load_manifest(lock_run(run, env=ENV))
    assert triton_container_of(m)["release"] == "25.02"
    # Locked where TensorRT was absent: nothing recorded, so none is known.
    assert triton_container_of({**m, "tensorrt": None, "triton_container": None}) is None
    # Recorded nothing but names its TensorRT: looked up in the same table.
    assert triton_container_of({**m, "triton_container": None})["release"] == "25.02"
