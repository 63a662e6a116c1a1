"""Real engines for every built-in plugin's one-node graph and a multi-plugin model (TensorRT only)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.tensorrt, pytest.mark.cuda]


def _env():
    pytest.importorskip("tensorrt", reason="TensorRT is not installed here")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to torch")


def _plugin_graph(op_types, tmp_path):
    """A chain of plugin nodes (domain trt_pdk) over one [B, S, 64] float input, with 2 profiles."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from trt_pdk.registry import discover

    specs = discover()
    nodes, inits, cur = [], [], "x"
    for i, op in enumerate(op_types):
        spec = specs[op]
        extra = []
        for t in list(spec.inputs)[1:]:  # weights: ones of the hidden size
            name = f"{op}_{t.name}_{i}"
            inits.append(numpy_helper.from_array(np.ones(64, dtype=np.float32), name))
            extra.append(name)
        out = f"h{i}"
        nodes.append(helper.make_node(spec.name, [cur, *extra], [out], domain="trt_pdk", name=f"{op}_{i}"))
        cur = out
    nodes.append(helper.make_node("Identity", [cur], ["y"]))
    graph = helper.make_graph(
        nodes,
        "plugins",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "S", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", "S", 64])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("trt_pdk", 1)], ir_version=10
    )
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    profiles = [
        {"x": {"min": [1, 1, 64], "opt": [1, 32, 64], "max": [1, 32, 64]}},
        {"x": {"min": [1, 33, 64], "opt": [8, 256, 64], "max": [8, 256, 64]}},
    ]
    return path, profiles


def _build_and_run(path, profiles, run):
    from trt_pdk.engine import compare_precisions, engine_from_onnx

    engine_from_onnx(path, profiles, run, precision="both")()
    report = compare_precisions(run, iterations=3)
    assert [e["profile"] for e in report["profiles"]] == [0, 1]
    for entry in report["profiles"]:
        assert set(entry["engines"]) == {"fp32", "fp16"}
        assert all(r["latency_ms"] > 0 for r in entry["engines"].values())
    assert report["pass"], report


@pytest.mark.parametrize("op", ["RMSNorm"])  # keep in step with the built-in plugin list
def test_each_builtin_plugin_one_node_graph(op, tmp_path):
    _env()
    path, profiles = _plugin_graph([op], tmp_path)
    _build_and_run(path, profiles, tmp_path / "run")


def test_model_with_several_plugins(tmp_path):
    _env()
    from trt_pdk.registry import discover

    ops = sorted(discover())
    path, profiles = _plugin_graph((ops * 3)[:3], tmp_path)
    _build_and_run(path, profiles, tmp_path / "run")
