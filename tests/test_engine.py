"""Engine stage: trtexec lines (dry run), the fp16 graph pass, errors; real builds need TensorRT."""

from __future__ import annotations

import json
import shlex

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from trt_pdk.cli import main
from trt_pdk.engine import engine_from_onnx, error_stats, fp16_from_onnx, trtexec_command
from trt_pdk.errors import UserError

PROFILES = [
    {"x": {"min": [1, 1, 8], "opt": [1, 16, 8], "max": [1, 16, 8]}},
    {"x": {"min": [1, 17, 8], "opt": [4, 64, 8], "max": [4, 64, 8]}},
]


def _mlp(path=None):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 8)).astype(np.float32) * 0.3, "w")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("Add", ["h", "b"], ["h2"], name="add"),
        helper.make_node("Relu", ["h2"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "S", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", "S", 8])],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    if path is not None:
        onnx.save(model, str(path))
    return model


def _run(model, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def test_trtexec_command_lines_one_numbered_group_per_profile():
    argv = trtexec_command(
        "model.onnx",
        "fp16/model.plan",
        PROFILES,
        plugin_libraries=["/lib/libtrt_pdk_plugins_trt10.so"],
        tensorrt_major=10,
        fp16_flag=True,
        timing_cache="timing.cache",
        workspace_mib=2048,
        optimization_level=4,
    )
    assert argv == [
        "trtexec",
        "--onnx=model.onnx",
        "--saveEngine=fp16/model.plan",
        "--skipInference",
        "--dynamicPlugins=/lib/libtrt_pdk_plugins_trt10.so",
        "--profile=0",
        "--minShapes=x:1x1x8",
        "--optShapes=x:1x16x8",
        "--maxShapes=x:1x16x8",
        "--profile=1",
        "--minShapes=x:1x17x8",
        "--optShapes=x:4x64x8",
        "--maxShapes=x:4x64x8",
        "--fp16",
        "--timingCacheFile=timing.cache",
        "--memPoolSize=workspace:2048M",
        "--builderOptimizationLevel=4",
    ]
    with pytest.raises(ValueError, match="no --fp16"):
        trtexec_command("m.onnx", "e.plan", PROFILES, plugin_libraries=[], tensorrt_major=11, fp16_flag=True)


def test_dry_run_writes_trtexec_scripts_for_both_majors(tmp_path):
    model = tmp_path / "m.onnx"
    _mlp(model)
    profiles = tmp_path / "p.json"
    profiles.write_text(json.dumps({"profiles": PROFILES}))
    run = tmp_path / "run"
    rc = main(
        [
            "engine",
            "build",
            str(model),
            "--profiles",
            str(profiles),
            "-o",
            str(run),
            "--precision",
            "both",
            "--dry-run",
        ]
    )
    assert rc == 0
    s10 = (run / "trtexec_trt10.sh").read_text()
    s11 = (run / "trtexec_trt11.sh").read_text()
    lines10 = [
        shlex.split(cmd.replace("\\\n", " "))
        for cmd in s10.split("\n\n")
        if "trtexec" in cmd and "--onnx" in cmd
    ]
    lines11 = [
        shlex.split(cmd.replace("\\\n", " "))
        for cmd in s11.split("\n\n")
        if "trtexec" in cmd and "--onnx" in cmd
    ]
    flat10 = [[a for a in c if not a.startswith("#")] for c in lines10]
    assert len(flat10) == 2
    assert "--fp16" in lines10[1] and "--fp16" not in lines10[0]
    assert all("--fp16" not in c for c in lines11)
    onnx11 = [a for a in lines11[1] if a.startswith("--onnx=")]
    assert onnx11 == ["--onnx=fp16/model.fp16.onnx"]
    assert (run / "fp16" / "model.fp16.onnx").is_file()
    assert all(sum(a.startswith("--minShapes=") for a in c) == 2 for c in lines10 + lines11)
    build = json.loads((run / "build.json").read_text())
    assert build["dry_run"] is True and build["profiles"] == PROFILES
    assert not (run / "fp32" / "model.plan").exists()


def test_dry_run_engine_io_feeds_the_repository_stage(tmp_path):
    pytest.importorskip("tritonclient.grpc.model_config_pb2")
    from trt_pdk.engine import EngineIO
    from trt_pdk.triton import config as tc
    from trt_pdk.triton.repository import repository_from_engine

    model = tmp_path / "m.onnx"
    _mlp(model)
    run = tmp_path / "run"
    engine_from_onnx(model, PROFILES, run, precision="both")(dry_run=True)
    for prec in ("fp32", "fp16"):
        io = EngineIO.from_json(run / prec / "engine_io.json")
        assert [(i.name, i.dtype) for i in io.inputs] == [("x", "float32")]
        assert [[list(p.min), list(p.opt), list(p.max)] for p in io.inputs[0].profiles] == [
            [r["x"]["min"], r["x"]["opt"], r["x"]["max"]] for r in PROFILES
        ]
        # Output dtype and shape come from ONNX shape inference (the graph declares -1 for B, S).
        assert [(o.name, o.dtype, o.shape) for o in io.outputs] == [("y", "float32", (-1, -1, 8))]
        assert io.tensorrt_version is None
    assert json.loads((run / "build.json").read_text())["engine_io"] == {
        "fp32": "fp32/engine_io.json",
        "fp16": "fp16/engine_io.json",
    }
    # The repository stage cross-checks a config against it (batch 1 in every profile).
    cfg = tc.config_for_engine("m", EngineIO.from_json(run / "fp32" / "engine_io.json"), tc.BatchingOptions())
    assert cfg.max_batch_size == 1 and [list(t.dims) for t in cfg.input] == [[-1, 8]]
    (run / "fp32" / "model.plan").write_bytes(b"stand-in for the engine the trtexec line builds")
    repository_from_engine(run / "fp32" / "model.plan", tmp_path / "deploy", "m")


def test_dry_run_engine_io_infers_plugin_outputs(tmp_path):
    from trt_pdk.engine import EngineIO
    from trt_pdk.onnx_export import one_node_model
    from trt_pdk.registry import discover

    spec = discover()["RMSNorm"]
    model = one_node_model(spec, [["rows", 64], [64]], ["float16", "float16"])
    # Drop what the graph says about its output: shape inference must find it from the plugin's rule.
    del model.graph.output[:]
    model.graph.output.append(helper.make_empty_tensor_value_info("y"))
    path = tmp_path / "rms.onnx"
    onnx.save(model, str(path))
    profiles = [
        {"x": {"min": [1, 64], "opt": [4, 64], "max": [8, 64]}},
        {"x": {"min": [9, 64], "opt": [64, 64], "max": [256, 64]}},
    ]
    engine_from_onnx(path, profiles, tmp_path / "run")(dry_run=True)
    io = EngineIO.from_json(tmp_path / "run" / "fp32" / "engine_io.json")
    assert [(o.name, o.dtype, o.shape) for o in io.outputs] == [("y", "float16", (-1, 64))]
    # The static weight is in every profile with its own dims.
    weight = next(i for i in io.inputs if i.name == "weight")
    assert [p.max for p in weight.profiles] == [(64,), (64,)]


def test_engine_io_round_trip_and_missing_profile(tmp_path):
    from trt_pdk.engine import EngineIO

    io = EngineIO.from_planned(
        [("x", "float32", [None, 8]), ("w", "float32", [8])],
        [("y", "float16", [-1, 8])],
        [{"x": {"min": [1, 8], "opt": [2, 8], "max": [4, 8]}}],
        "10.8.0.43",
    )
    path = io.write_json(tmp_path / "engine_io.json")
    assert EngineIO.from_json(path) == io
    assert json.loads(path.read_text())["inputs"][1]["profiles"] == [{"min": [8], "opt": [8], "max": [8]}]
    with pytest.raises(UserError, match="profile 0 has no shapes for the dynamic input 'x'"):
        EngineIO.from_planned([("x", "float32", [None, 8])], [("y", "float32", [-1, 8])], [{}])


def test_fp16_pass_keeps_io_float32_and_matches_reference():
    model = _mlp()
    fp16, kept = fp16_from_onnx(model)
    assert kept == []
    onnx.checker.check_model(fp16)
    assert fp16.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert {i.data_type for i in fp16.graph.initializer} == {TensorProto.FLOAT16}
    x = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    ref, got = _run(model, x), _run(fp16, x)
    assert got.dtype == np.float32
    stats = error_stats(got, ref, atol=1e-2, rtol=1e-2)
    assert stats["pass"] and 0 < stats["max_abs"] < 1e-2


def test_fp16_pass_keeps_requested_ops_in_fp32_with_casts():
    model = _mlp()
    fp16, kept = fp16_from_onnx(model, keep_fp32={"Add"})
    assert kept == ["add (Add: kept in fp32 by request)"]
    add = next(n for n in fp16.graph.node if n.name == "add")
    casts = {n.output[0]: n for n in fp16.graph.node if n.op_type == "Cast"}
    assert add.input[0] in casts and casts[add.input[0]].attribute[0].i == TensorProto.FLOAT
    assert add.input[1] == "b"  # the fp32 bias initializer stays as is
    x = np.random.default_rng(2).standard_normal((1, 3, 8)).astype(np.float32)
    assert error_stats(_run(fp16, x), _run(model, x), 1e-2, 1e-2)["pass"]


def test_fp16_pass_keeps_plugins_without_fp16(monkeypatch):
    from trt_pdk.engine import _fp16

    monkeypatch.setattr(_fp16, "_plugin_supports_fp16", {"Good": True, "Bad": False}.get)
    nodes = [
        helper.make_node("Good", ["x"], ["a"], domain="trt_pdk", name="good"),
        helper.make_node("Bad", ["a"], ["y"], domain="trt_pdk", name="bad"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("trt_pdk", 1)]
    )
    fp16, kept = fp16_from_onnx(model)
    assert kept == ["bad (Bad: plugin without fp16)"]
    ops = [(n.op_type, list(n.input)) for n in fp16.graph.node]
    assert ops[0][0] == "Cast" and ops[1] == ("Good", ["x__fp16"])
    assert ops[2][0] == "Cast" and ops[3] == ("Bad", ["a__fp32"])


def test_build_errors_are_clear(tmp_path):
    model = tmp_path / "m.onnx"
    _mlp(model)
    bad = [{"z": {"min": [1, 1, 8], "opt": [1, 1, 8], "max": [1, 1, 8]}}]
    with pytest.raises(UserError, match="not inputs of the model"):
        engine_from_onnx(model, bad, tmp_path / "r")(dry_run=True)
    wrong_static = [{"x": {"min": [1, 1, 4], "opt": [1, 1, 4], "max": [1, 1, 4]}}]
    with pytest.raises(UserError, match="does not fit the model's dims"):
        engine_from_onnx(model, wrong_static, tmp_path / "r")(dry_run=True)
    with pytest.raises(UserError, match="does not exist"):
        engine_from_onnx(tmp_path / "nope.onnx", PROFILES, tmp_path / "r")(dry_run=True)


def test_build_without_tensorrt_says_so(tmp_path, monkeypatch):
    from trt_pdk.engine import _build

    monkeypatch.setattr(_build, "running_tensorrt", lambda: None)
    model = tmp_path / "m.onnx"
    _mlp(model)
    with pytest.raises(UserError, match=r"needs TensorRT.*--dry-run"):
        engine_from_onnx(model, PROFILES, tmp_path / "r")()


# ---------------------------------------------------------------------------------------
# Real engines: run where `import tensorrt` works and a GPU is present.


@pytest.mark.tensorrt
@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_real_engine_small_model_two_profiles(tmp_path, precision):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed here")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from trt_pdk.engine import compare_precisions

    model = tmp_path / "m.onnx"
    _mlp(model)
    run = tmp_path / "run"
    result = engine_from_onnx(model, PROFILES, run, precision=precision)()
    assert (run / result.engines[precision]).stat().st_size > 0
    assert (run / "manifest.json").is_file() and (run / "timing.cache").is_file()
    report = compare_precisions(run, iterations=3)
    assert len(report["profiles"]) == 2
    assert report["pass"], report


def test_trtexec_quotes_names_with_colons_and_refuses_names_it_splits():
    from trt_pdk.engine._trtexec import _shapes, shape_flags

    profile = {"x": {"min": [1, 8]}, "in:0": {"min": [2]}}
    assert _shapes(profile, "min") == "x:1x8,'in:0':2"
    for name in ("a,b", "it's"):
        with pytest.raises(UserError, match="trtexec cannot name the inputs"):
            shape_flags([{name: {"min": [1], "opt": [1], "max": [1]}}])
