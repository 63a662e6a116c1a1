"""`trt-pdk simplify`: folding and dead code go, plugin nodes stay, no stray files."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from trt_pdk.cli import main
from trt_pdk.onnx_stages import SimplifyOnnx


def messy_model() -> onnx.ModelProto:
    """RMSNorm plugin node, then Identity, Dropout, a foldable constant branch and a dead branch."""
    plugin = helper.make_node(
        "RMSNorm",
        ["x", "w"],
        ["n"],
        name="norm",
        domain="trt_pdk",
        eps=1e-5,
        plugin_version="1",
        plugin_namespace="trt_pdk",
    )
    nodes = [
        plugin,
        helper.make_node("Identity", ["n"], ["id"], name="identity"),
        helper.make_node("Dropout", ["id"], ["dr"], name="dropout"),
        helper.make_node("Add", ["c1", "c2"], ["c3"], name="fold_add"),
        helper.make_node("Mul", ["c3", "c2"], ["c4"], name="fold_mul"),
        helper.make_node("Add", ["dr", "c4"], ["y"], name="out_add"),
        helper.make_node("Neg", ["n"], ["dead"], name="dead_neg"),
    ]
    inits = [
        numpy_helper.from_array(np.linspace(0.5, 1.5, 8).astype(np.float32), "w"),
        numpy_helper.from_array(np.ones(8, np.float32), "c1"),
        numpy_helper.from_array(np.full(8, 2.0, np.float32), "c2"),
    ]
    graph = helper.make_graph(
        nodes,
        "messy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        inits,
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("trt_pdk", 1)], ir_version=10
    )


def test_simplify_folds_and_removes_but_keeps_the_plugin_node(tmp_path):
    model = messy_model()
    before = onnx.NodeProto()
    before.CopyFrom(model.graph.node[0])
    result = SimplifyOnnx()(model)
    out = result.model
    assert [n.op_type for n in out.graph.node] == ["RMSNorm", "Add"]
    assert out.graph.node[0].attribute == before.attribute
    assert list(out.graph.node[0].input) == ["x", "w"]
    folded = {t.name: numpy_helper.to_array(t) for t in out.graph.initializer}
    assert any(np.array_equal(v, np.full(8, 6.0, np.float32)) for v in folded.values())  # (1 + 2) * 2
    assert (result.nodes_before, result.nodes_after) == (7, 2)
    info = result.as_dict()
    assert info["ops_removed"] == {"Add": 1, "Dropout": 1, "Identity": 1, "Mul": 1, "Neg": 1}
    assert out.graph.output[0].name == "y"
    assert len(model.graph.node) == 7  # the input model is not modified


def test_cli_writes_output_only_and_reports_json(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in" / "m.onnx"
    src.parent.mkdir()
    onnx.save(messy_model(), str(src))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["simplify", str(src), "-o", "out.onnx", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["nodes_before"] == 7 and info["nodes_after"] == 2
    assert [p.name for p in work.iterdir()] == ["out.onnx"]
    assert [p.name for p in src.parent.iterdir()] == ["m.onnx"]
    assert [n.op_type for n in onnx.load("out.onnx").graph.node] == ["RMSNorm", "Add"]


@pytest.mark.parametrize("content", [b"", b"\x0a\x05trunc"])
def test_bad_input_leaves_no_output(tmp_path, capsys, content):
    src = tmp_path / "bad.onnx"
    src.write_bytes(content)
    assert main(["simplify", str(src), "-o", str(tmp_path / "out.onnx")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx"]
    assert "Traceback" not in capsys.readouterr().err
