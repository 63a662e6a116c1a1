"""The version lock: crafted manifests against crafted environments."""

from __future__ import annotations

import json

import pytest

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.lock import (
    MANIFEST,
    SCHEMA,
    check_against_manifest,
    library_facts,
    lock_run,
    refuse_wrong_major,
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


def _fake_library(path, major):
    info = {
        "library": "trt_pdk_plugins",
        "namespace": "trt_pdk",
        "tensorrt_version": f"{major}.8.0",
        "tensorrt_major": major,
        "plugins": ["RMSNorm"],
    }
    path.write_bytes(b"\x7fELF...code..." + json.dumps(info).encode() + b"\x00...more")
    return path


def _run_dir(tmp_path, major=10):
    run = tmp_path / "run"
    (run / "fp32").mkdir(parents=True)
    (run / "fp32" / "model.plan").write_bytes(b"engine bytes")
    lib = _fake_library(tmp_path / f"libtrt_pdk_plugins_trt{major}.so", major)
    (run / "build.json").write_text(
        json.dumps(
            {
                "model": str(tmp_path / "absent.onnx"),
                "profiles": [{"x": {"min": [1], "opt": [4], "max": [4]}}],
                "precisions": ["fp32"],
                "engines": {"fp32": "fp32/model.plan"},
                "plugin_libraries": [str(lib)],
            }
        )
    )
    return run, lib


def test_library_facts_read_without_loading(tmp_path):
    lib = _fake_library(tmp_path / "libx_trt10.so", 10)
    facts = library_facts(lib)
    assert facts["tensorrt_major"] == 10 and facts["plugins"] == ["RMSNorm"]
    assert len(facts["sha256"]) == 64
    plain = tmp_path / "libother_plugins_trt11.so"
    plain.write_bytes(b"no info here")
    assert library_facts(plain)["tensorrt_major"] == 11  # from the file name


def test_v2_library_for_10_is_refused_under_11(tmp_path):
    lib = _fake_library(tmp_path / "libtrt_pdk_plugins_trt10.so", 10)
    with pytest.raises(UserError, match=r"built for TensorRT 10 .*running TensorRT is 11\.1\.0.*not loaded"):
        refuse_wrong_major(lib, "11.1.0")
    assert refuse_wrong_major(lib, "10.9.0")["tensorrt_major"] == 10


def test_lock_then_check_same_environment_is_clean(tmp_path):
    run, _ = _run_dir(tmp_path)
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
    run, _ = _run_dir(tmp_path)
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


def test_changed_or_missing_plugin_library_is_detected(tmp_path):
    run, lib = _run_dir(tmp_path)
    lock_run(run, env=ENV)
    lib.write_bytes(lib.read_bytes() + b"rebuilt")
    errors = [f for f in check_against_manifest(run, env=ENV) if f.status == "error"]
    assert len(errors) == 1 and "changed since the engines were built" in errors[0].message
    lib.unlink()
    errors = [f for f in check_against_manifest(run, env=ENV) if f.status == "error"]
    assert "is missing" in errors[0].message


def test_tampered_engine_and_absent_tensorrt(tmp_path):
    run, _ = _run_dir(tmp_path)
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
