"""The execution layer: the comparator's NaN rule, the bounded input generator, the
onnxruntime runner with plugin bodies, and the plugin-node rules compare enforces."""

from __future__ import annotations

import resource
import time
import tracemalloc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.execution import (
    OnnxRuntimeRunner,
    TensorInfo,
    compare_arrays,
    compare_outputs,
    model_inputs,
    random_inputs,
    sweep_points,
)

F = TensorProto.FLOAT


def _save(model: onnx.ModelProto, path) -> str:
    model.ir_version = 10
    onnx.save(model, str(path))
    return str(path)


def _relu_model(dim: str = "b") -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", F, [dim, 8])],
        [helper.make_tensor_value_info("y", F, [dim, 8])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _rms_model(**attrs) -> onnx.ModelProto:
    node = helper.make_node("RMSNorm", ["x", "w"], ["y"], domain="trt_pdk", eps=1e-5, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", F, ["b", 8])],
        [helper.make_tensor_value_info("y", F, ["b", 8])],
        [helper.make_tensor("w", F, [8], np.linspace(0.5, 1.5, 8).astype(np.float32))],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("trt_pdk", 1)]
    )


# ---- the comparator --------------------------------------------------------------------


def test_nan_matches_only_nan_in_the_same_position():
    ref = np.array([1.0, np.nan, 3.0], dtype=np.float32)
    same = compare_arrays("y", ref.copy(), ref)
    assert same.ok and same.max_abs == 0.0 and same.nan_mismatches == 0

    moved = compare_arrays("y", np.array([np.nan, 2.0, 3.0], dtype=np.float32), ref)
    assert not moved.ok and moved.nan_mismatches == 2 and moved.mismatches == 2
    assert moved.max_abs == float("inf")

    one_sided = compare_arrays("y", np.array([1.0, 2.0, np.nan], dtype=np.float32), np.array([1.0, 2.0, 3.0]))
    assert not one_sided.ok and one_sided.nan_mismatches == 1 and "at [2]" in one_sided.reason


def test_tolerance_infinities_integers_and_shapes():
    ref = np.array([1.0, -np.inf, np.inf], dtype=np.float32)
    assert compare_arrays("y", ref.copy(), ref).ok
    assert not compare_arrays("y", np.array([1.0, np.inf, np.inf], dtype=np.float32), ref).ok
    # float32 default: atol 1e-4, rtol 1e-3
    close = compare_arrays("y", np.array([100.05], dtype=np.float32), np.array([100.0], dtype=np.float32))
    far = compare_arrays("y", np.array([100.2], dtype=np.float32), np.array([100.0], dtype=np.float32))
    assert close.ok and (close.atol, close.rtol) == (1e-4, 1e-3) and not far.ok
    ints = compare_arrays("k", np.array([1, 2], dtype=np.int64), np.array([1, 3], dtype=np.int64))
    assert not ints.ok and (ints.atol, ints.rtol) == (0.0, 0.0)
    shape = compare_arrays("y", np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32))
    assert not shape.ok and shape.reason.startswith("shape")
    (missing,) = compare_outputs({}, {"y": np.zeros(2, np.float32)})
    assert not missing.ok and missing.reason == "missing output"


def test_engine_and_harness_comparators_follow_the_same_nan_rule():
    import torch

    from trt_pdk.engine import error_stats
    from trt_pdk.testing.harness import CheckFailed, compare

    both = np.array([np.nan, 1.0], dtype=np.float32)
    assert error_stats(both, both.copy(), 1e-4, 1e-3)["pass"]  # engine compare failed this before
    assert not error_stats(np.array([np.nan, 1.0], np.float32), np.array([0.0, 1.0], np.float32), 1, 1)[
        "pass"
    ]
    assert compare([torch.from_numpy(both)], [torch.from_numpy(both.copy())], 1e-4, 1e-3, "x").max_abs == 0
    with pytest.raises(CheckFailed, match="NaN where the reference has none"):
        compare([torch.tensor([np.nan, 1.0])], [torch.tensor([0.0, 1.0])], 1.0, 1.0, "x")


# ---- the input generator ---------------------------------------------------------------


def test_random_inputs_are_seeded_and_typed():
    tensors = [
        TensorInfo("x", np.dtype("float32"), ("b", 8)),
        TensorInfo("ids", np.dtype("int64"), ("b", None)),
        TensorInfo("m", np.dtype("bool"), (3,)),
    ]
    a = random_inputs(tensors, dims={"b": 5}, seed=3)
    b = random_inputs(tensors, dims={"b": 5}, seed=3)
    c = random_inputs(tensors, dims={"b": 5}, seed=4)
    assert {k: v.shape for k, v in a.items()} == {"x": (5, 8), "ids": (5, 1), "m": (3,)}
    assert a["x"].dtype == np.float32 and a["ids"].dtype == np.int64 and a["m"].dtype == np.bool_
    assert all(np.array_equal(a[k], b[k]) for k in a) and not np.array_equal(a["x"], c["x"])
    assert a["ids"].min() >= 0 and a["ids"].max() < 4  # valid indices for small embeddings
    shaped = random_inputs(tensors, shapes={"x": [2, 8], "ids": [2, 7]}, seed=0)
    assert shaped["ids"].shape == (2, 7)


def test_oversized_inputs_are_refused_before_allocating():
    tensors = [TensorInfo("tokens", np.dtype("int64"), ("b", 4))]
    tracemalloc.start()
    try:
        with pytest.raises(UserError) as info:
            random_inputs(tensors, dims={"b": 99_999_999})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    text = str(info.value)
    assert "'tokens'" in text and "[99999999, 4]" in text and "2.98 GiB" in text and "--max-input-mib" in text
    # the flag's value raises the limit
    assert random_inputs(tensors, dims={"b": 1000}, max_input_mib=1)["tokens"].shape == (1000, 4)
    with pytest.raises(UserError, match=r"over the 0\.01 MiB limit"):
        random_inputs(tensors, dims={"b": 1000}, max_input_mib=0.01)


def test_sweep_points_and_unknown_axes():
    assert sweep_points(["b", "s"], {"b": (1, 5)}) == [{"b": 1, "s": 1}, {"b": 3, "s": 2}, {"b": 5, "s": 4}]
    with pytest.raises(UserError, match="no such dynamic axis"):
        sweep_points(["b"], {"batch": (1, 2)})


def test_compare_with_a_huge_dim_exits_2_quickly_without_allocating(tmp_path, cli):
    """Issue 11's repro: this used to allocate until the OOM killer ended it."""
    model = _save(_relu_model(), tmp_path / "m.onnx")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = cli("compare", model, model, "--dim", "b=0:99999999")
    took = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert "'x'" in err and "[99999999, 8]" in err and "--max-input-mib" in err
    assert took < 60 and max(peak_kib, before) < 1024 * 1024  # KiB: well under 1 GiB
    ok = cli("compare", model, model, "--dim", "b=0:4000", "--max-input-mib", "1")
    assert ok.returncode == 0, ok.stderr.decode()


# ---- runners ---------------------------------------------------------------------------


def test_onnxruntime_runner_runs_plugin_nodes_as_serving_does(tmp_path):
    from trt_pdk.execution import onnxruntime_session
    from trt_pdk.onnx_stages.functions import with_cpu_functions

    model = _rms_model(plugin_version="2", plugin_namespace="trt_pdk")
    path = _save(model, tmp_path / "rms.onnx")
    runner = OnnxRuntimeRunner(path)
    assert runner.outputs == ["y"] and [t.name for t in runner.inputs] == ["x"]
    assert runner.engine.startswith("onnxruntime") and "trt_pdk::RMSNorm" in runner.engine
    feeds = random_inputs(model_inputs(model), dims={"b": 3}, seed=1)
    served, _ = with_cpu_functions(model)  # what the Triton CPU model runs
    (expected,) = onnxruntime_session(served).run(None, feeds)
    np.testing.assert_array_equal(runner(feeds)["y"], expected)
    x, w = feeds["x"].astype(np.float64), np.linspace(0.5, 1.5, 8)
    np.testing.assert_allclose(
        runner(feeds)["y"], x / np.sqrt((x**2).mean(-1, keepdims=True) + 1e-5) * w, rtol=1e-5
    )


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"plugin_version": "7", "plugin_namespace": "trt_pdk"}, "version '7' (unknown) is not built"),
        ({"plugin_version": "2", "plugin_namespace": "other_kit"}, "plugin_namespace is 'other_kit'"),
    ],
)
def test_compare_refuses_plugin_nodes_the_kit_cannot_stand_behind(tmp_path, capsys, attrs, expected):
    path = _save(_rms_model(**attrs), tmp_path / "bad.onnx")
    assert main(["compare", path, path]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and err.count("\n") == 1


def test_compare_notes_a_node_without_a_namespace(tmp_path):
    from trt_pdk.onnx_stages.compare import CompareOnnx

    path = _save(_rms_model(plugin_version="2"), tmp_path / "rms.onnx")
    report = CompareOnnx(path)(path)
    assert report.ok and any("no plugin_namespace" in n for n in report.notes)


def test_verify_reference_onnx_runs_through_the_execution_layer(tmp_path):
    from trt_pdk.triton.verify import reference_outputs

    path = _save(_rms_model(plugin_version="2", plugin_namespace="trt_pdk"), tmp_path / "rms.onnx")
    x = np.ones((2, 8), np.float32)
    np.testing.assert_allclose(
        reference_outputs(path, {"x": x})["y"], np.linspace(0.5, 1.5, 8)[None].repeat(2, 0), rtol=1e-4
    )
    # external data outside the model's folder is refused (it used to bypass the check here)
    model = _relu_model()
    model.graph.initializer.append(helper.make_tensor("unused", F, [1], [0.0]))
    tensor = model.graph.initializer[0]
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="../escape.bin")
    escaping = _save(model, tmp_path / "escape.onnx")
    with pytest.raises(UserError, match="outside the model's folder"):
        reference_outputs(escaping, {"x": x})


def test_op_harness_inputs_are_bounded_by_the_flag(capsys):
    """`trt-pdk test` sizes every case's inputs first; --max-input-mib below a case refuses it."""
    assert (
        main(["test", "RMSNorm", "--case", "1d_d7_fp32", "--backend", "cpu", "--max-input-mib", "1e-6"]) == 2
    )
    err = capsys.readouterr().err
    assert "--max-input-mib" in err and "Traceback" not in err and err.count("\n") == 1
    assert main(["test", "RMSNorm", "--case", "1d_d7_fp32", "--backend", "cpu", "-q"]) == 0


@pytest.mark.tensorrt
@pytest.mark.cuda
def test_tensorrt_runner_matches_onnxruntime_in_each_profile(tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed here")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from trt_pdk.engine import serialized_engine_from_onnx
    from trt_pdk.execution import TensorRTRunner

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", F, ["b", 8])],
        [helper.make_tensor_value_info("y", F, ["b", 8])],
        [helper.make_tensor("w", F, [8, 8], np.random.default_rng(0).standard_normal(64).astype(np.float32))],
    )
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), tmp_path / "m.onnx")
    profiles = [
        {"x": {"min": [1, 8], "opt": [2, 8], "max": [4, 8]}},
        {"x": {"min": [5, 8], "opt": [8, 8], "max": [16, 8]}},
    ]
    plan = serialized_engine_from_onnx(path, profiles).plan
    reference = OnnxRuntimeRunner(path)
    for profile, rows in ((0, 3), (1, 12)):
        runner = TensorRTRunner(plan, profile=profile)
        assert runner.outputs == ["y"] and runner.engine.startswith("TensorRT")
        feeds = random_inputs(reference.inputs, dims={"b": rows}, seed=profile)
        (error,) = compare_outputs(runner(feeds), reference(feeds))
        assert error.ok and error.shape == [rows, 8], error
