"""Model repositories and configs, no server: engine/profile agreement, versions, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("tritonclient.grpc.model_config_pb2")

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.triton import config as tc
from trt_pdk.triton.demo_model import mlp_onnx
from trt_pdk.triton.repository import (
    RepositoryFromEngine,
    repository_from_engine,
    repository_from_onnx,
    validate_repository,
)

TWO_PROFILES = {
    "inputs": [
        {
            "name": "x",
            "dtype": "float32",
            "profiles": [
                {"min": [1, 256], "opt": [4, 256], "max": [8, 256]},
                {"min": [1, 256], "opt": [16, 256], "max": [32, 256]},
            ],
        }
    ],
    "outputs": [{"name": "y", "dtype": "float32", "shape": [-1, 256]}],
    "tensorrt_version": "10.5.0",
}


@pytest.fixture
def engine(tmp_path: Path) -> Path:
    plan = tmp_path / "build" / "model.plan"
    plan.parent.mkdir()
    plan.write_bytes(b"not a real engine: TensorRT cannot run here")
    (plan.parent / "engine_io.json").write_text(json.dumps(TWO_PROFILES))
    return plan


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    lib = tmp_path / "libtrt_pdk_plugins.so"
    lib.write_bytes(b"\x7fELF")
    return lib


def test_engine_config_follows_profiles(engine: Path, plugin: Path, tmp_path: Path):
    out = tmp_path / "deploy"
    written = repository_from_engine(engine, out, "mlp", plugins=[plugin], container_tag="24.10")
    cfg = tc.load_config(out / "models" / "mlp" / "config.pbtxt")
    assert cfg.platform == "tensorrt_plan"
    # Triton sends any batch 1..max_batch_size: the smallest profile max bounds it.
    assert cfg.max_batch_size == 8
    assert list(cfg.input[0].dims) == [256]
    assert list(cfg.output[0].dims) == [256]
    assert [list(g.profile) for g in cfg.instance_group] == [["0"], ["1"]]
    assert list(cfg.dynamic_batching.preferred_batch_size) == [4, 8]
    assert cfg.version_policy.latest.num_versions == 1
    assert (out / "models" / "mlp" / "1" / "model.plan").read_bytes().startswith(b"not a real")
    assert (out / "plugins" / plugin.name).is_file()
    assert written.launch_command == [
        "tritonserver",
        "--model-repository=/models",
        f"--backend-config=tensorrt,plugins=/opt/trt_pdk/plugins/{plugin.name}",
    ]
    dockerfile = (out / "Dockerfile").read_text()
    assert "FROM nvcr.io/nvidia/tritonserver:24.10-py3" in dockerfile
    assert "COPY plugins/ /opt/trt_pdk/plugins/" in dockerfile
    launch = (out / "launch.sh").read_text()
    assert "LD_PRELOAD" not in launch and "plugins=$HERE/plugins/" in launch  # preloading registers nothing
    assert os.access(out / "launch.sh", os.X_OK)
    assert [e.name for e in validate_repository(out)] == ["mlp"]


def test_max_batch_size_beyond_a_profile_is_an_error_here(engine: Path, tmp_path: Path):
    batching = tc.BatchingOptions(max_batch_size=16)
    with pytest.raises(UserError, match=r"max_batch_size 16 does not fit input 'x' profile 0.*1\.\.8"):
        repository_from_engine(engine, tmp_path / "deploy", "mlp", batching=batching)
    assert not (tmp_path / "deploy" / "models" / "mlp" / "1").exists()


def test_dims_that_disagree_with_the_engine_are_an_error(engine: Path):
    io = tc.EngineIO.from_json(engine.with_name("engine_io.json"))
    cfg = tc.config_for_engine("mlp", io, tc.BatchingOptions(max_batch_size=8))
    cfg.input[0].dims[:] = [128]
    with pytest.raises(
        UserError, match=r"input 'x' dim 1 is 128 in the config but profile 0 accepts 256\.\.256"
    ):
        tc.check_engine_agreement(cfg, io)
    cfg.input[0].dims[:] = [256, 1]
    with pytest.raises(UserError, match="rank 3 in the config"):
        tc.check_engine_agreement(cfg, io)


def test_malformed_engine_description(tmp_path: Path):
    bad = tmp_path / "engine_io.json"
    bad.write_text('{"inputs": [{"name": "x"}], "outputs": []}')
    with pytest.raises(UserError, match="missing or malformed 'dtype'"):
        tc.EngineIO.from_json(bad)
    bad.write_text("{")
    with pytest.raises(UserError, match=r"engine_io.json:1:2: not valid JSON"):
        tc.EngineIO.from_json(bad)


def test_config_parse_error_has_line_and_column(tmp_path: Path):
    text = 'name: "m"\nbackend: "python"\nmax_batch_size: 8\ndynamic_batching { prefered_batch_size: 4 }\n'
    with pytest.raises(UserError, match=r"config.pbtxt:4:20: .*prefered_batch_size"):
        tc.parse_config(text, "config.pbtxt")


def test_our_checks_point_at_the_line(tmp_path: Path):
    text = (
        'name: "m"\nbackend: "python"\nmax_batch_size: 8\n'
        'input { name: "x" data_type: TYPE_FP32 dims: 4 }\n'
        'output { name: "y" data_type: TYPE_FP32 dims: 4 }\n'
        "dynamic_batching { preferred_batch_size: 16 }\n"
    )
    with pytest.raises(
        UserError, match=r"c.pbtxt:6:20: preferred_batch_size \[16\] outside 1\.\.max_batch_size"
    ):
        tc.check_config(tc.parse_config(text, "c.pbtxt"), text, "c.pbtxt")


def test_onnx_repository_matches_the_graph(tmp_path: Path):
    onnx_path = mlp_onnx(tmp_path / "mlp.onnx", hidden=64, layers=2)
    out = tmp_path / "deploy"
    repository_from_onnx(onnx_path, out, "mlp", batching=tc.BatchingOptions(instance_count=2))
    cfg = tc.load_config(out / "models" / "mlp" / "config.pbtxt")
    assert cfg.backend == "python"
    assert cfg.max_batch_size == 32
    assert [(t.name, list(t.dims), tc.pb_name(t.data_type)) for t in cfg.input] == [("x", [256], "TYPE_FP32")]
    assert [(t.name, list(t.dims)) for t in cfg.output] == [("y", [256])]
    assert cfg.HasField("dynamic_batching")
    assert cfg.instance_group[0].count == 2
    assert cfg.parameters["onnx_file"].string_value == "model.onnx"
    version = out / "models" / "mlp" / "1"
    assert sorted(p.name for p in version.iterdir()) == ["model.onnx", "model.py"]
    assert "pip install" in (out / "Dockerfile").read_text()


def test_new_version_never_touches_a_served_one(tmp_path: Path):
    onnx_path = mlp_onnx(tmp_path / "mlp.onnx", hidden=64, layers=2)
    out = tmp_path / "deploy"
    repository_from_onnx(onnx_path, out, "mlp")
    v1 = out / "models" / "mlp" / "1" / "model.onnx"
    before = (v1.stat().st_ino, v1.stat().st_mtime_ns)
    written = repository_from_onnx(mlp_onnx(tmp_path / "v2.onnx", hidden=64, layers=2, seed=1), out, "mlp")
    assert written.version == 2
    assert (v1.stat().st_ino, v1.stat().st_mtime_ns) == before
    assert (out / "models" / "mlp" / "2" / "model.onnx").read_bytes() != v1.read_bytes()
    with pytest.raises(UserError, match="already exists and may be serving"):
        repository_from_onnx(onnx_path, out, "mlp", version=1)


def test_failed_version_leaves_last_good_output(engine: Path, tmp_path: Path):
    out = tmp_path / "deploy"
    repository_from_engine(engine, out, "mlp")
    config = out / "models" / "mlp" / "config.pbtxt"
    good = config.read_text()
    # A v2 engine whose output rank differs: its config would not fit v1, which still serves.
    other = json.loads(json.dumps(TWO_PROFILES))
    other["outputs"][0]["shape"] = [-1, 256, 1]
    with pytest.raises(UserError, match="output 'y' dims"):
        RepositoryFromEngine(engine, out, "mlp", engine_io=tc.EngineIO.from_dict(other))()
    assert config.read_text() == good
    assert sorted(p.name for p in (out / "models" / "mlp").iterdir()) == ["1", "config.pbtxt"]
    assert not [p for p in (out / "models" / "mlp").iterdir() if p.name.startswith(".")]


def _locked_run(tmp_path: Path, tensorrt: str | None) -> Path:
    """A run folder locked by the lock module (engines faked), as `trt-pdk lock` writes it."""
    from trt_pdk.lock import lock_run

    run = tmp_path / "run"
    (run / "fp32").mkdir(parents=True)
    (run / "fp32" / "model.plan").write_bytes(b"engine bytes")
    (run / "build.json").write_text(
        json.dumps({"model": str(tmp_path / "absent.onnx"), "engines": {"fp32": "fp32/model.plan"}})
    )
    env = {"tensorrt": tensorrt, "gpu": None, "cuda_driver": None, "cuda_runtime": None}
    return lock_run(run, env=env)


def test_manifest_travels_and_unwritable_folder_is_a_user_error(tmp_path: Path):
    onnx_path = mlp_onnx(tmp_path / "mlp.onnx", hidden=64, layers=2)
    manifest = _locked_run(tmp_path, "10.8.0.43")
    out = tmp_path / "deploy"
    repository_from_onnx(onnx_path, out, "mlp", manifest=manifest)
    assert (out / "manifest.json").read_text() == manifest.read_text()
    assert "tritonserver:25.02-py3" in (out / "Dockerfile").read_text()
    # A file where a folder should be: unwritable for root too.
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    with pytest.raises(UserError, match="not a writable folder"):
        repository_from_onnx(onnx_path, blocker / "deploy", "mlp")


def test_dockerfile_tag_from_a_lock_manifest(engine: Path, tmp_path: Path):
    # The engine_io.json says 10.5.0, but the manifest is the lock: its release wins.
    manifest = _locked_run(tmp_path, "10.8.0.43")
    assert json.loads(manifest.read_text())["triton_container"]["release"] == "25.02"
    out = tmp_path / "deploy"
    repository_from_engine(engine, out, "mlp", manifest=manifest)
    dockerfile = (out / "Dockerfile").read_text()
    assert "FROM nvcr.io/nvidia/tritonserver:25.02-py3" in dockerfile
    assert "ships TensorRT 10.8.0.43" in dockerfile
    # An unverified table entry says so in the Dockerfile.
    repository_from_engine(engine, tmp_path / "d2", "mlp", manifest=_locked_run(tmp_path / "b", "10.11.0.33"))
    dockerfile = (tmp_path / "d2" / "Dockerfile").read_text()
    assert "tritonserver:25.07-py3" in dockerfile and "Unverified table entry" in dockerfile


def test_dockerfile_tag_without_manifest_or_release(engine: Path, tmp_path: Path):
    # No manifest: the engine's TensorRT (engine_io.json, 10.5.0) picks the release.
    repository_from_engine(engine, tmp_path / "d1", "mlp")
    assert "FROM nvcr.io/nvidia/tritonserver:24.10-py3" in (tmp_path / "d1" / "Dockerfile").read_text()
    # Locked where TensorRT was absent and an engine of unknown TensorRT: the tag is left to set.
    io = json.loads(json.dumps(TWO_PROFILES))
    del io["tensorrt_version"]
    manifest = _locked_run(tmp_path, None)
    RepositoryFromEngine(
        engine, tmp_path / "d2", "mlp", engine_io=tc.EngineIO.from_dict(io), manifest=manifest
    )()
    dockerfile = (tmp_path / "d2" / "Dockerfile").read_text()
    assert "ARG TRITON_TAG" in dockerfile and "${TRITON_TAG}-py3" in dockerfile


def test_manifest_that_is_not_a_lock_is_refused_before_writing(engine: Path, tmp_path: Path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"triton_container": "25.01"}))
    with pytest.raises(UserError, match="not a trt-pdk manifest"):
        repository_from_engine(engine, tmp_path / "deploy", "mlp", manifest=manifest)
    with pytest.raises(UserError, match="does not exist"):
        repository_from_engine(engine, tmp_path / "deploy", "mlp", manifest=tmp_path / "nope.json")
    assert not (tmp_path / "deploy").exists()


def test_cli_repo_and_its_errors(tmp_path: Path, capsys):
    onnx_path = mlp_onnx(tmp_path / "mlp.onnx", hidden=64, layers=2)
    out = tmp_path / "deploy"
    assert main(["triton", "repo", "--onnx", str(onnx_path), "--out", str(out), "--name", "mlp"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1
    code = main(["triton", "repo", "--onnx", str(tmp_path / "nope.onnx"), "--out", str(out), "--name", "m"])
    err = capsys.readouterr().err
    assert code == 2
    assert "nope.onnx: no such file" in err and "Traceback" not in err
    assert main(["triton", "status", "--run-dir", str(tmp_path / "run")]) == 1
    assert json.loads(capsys.readouterr().out)["running"] is False
