"""`trt-pdk check` says when a plugin shadows an ONNX op TensorRT imports natively.

ONNX ``RMSNormalization`` (opset 23) has a native importer since TensorRT 10.15; a plugin of
that name is used for nodes carrying ``plugin_namespace``, or for every node with the parser
flag ``kENABLE_PLUGIN_OVERRIDE`` (10.15+, trtexec ``--enablePluginOverride``).
"""

from __future__ import annotations

import dataclasses

import onnx
import pytest
from onnx import TensorProto, helper

from trt_pdk.onnx_stages import CheckOnnx
from trt_pdk.registry import get_spec

# A plugin named like the ONNX op: the RMSNorm spec and its built C++ op under the name
# RMSNormalization (the native module maps the new name to the real RMSNorm binding).
SHADOWING = dataclasses.replace(get_spec("RMSNorm"), name="RMSNormalization", native_module="shadowing_ops")


@pytest.fixture(autouse=True)
def shadowing_ops(tmp_path, monkeypatch):
    (tmp_path / "shadowing_ops.py").write_text(
        'from trt_pdk._C import ops as _ops\n\nops = {"RMSNormalization": _ops["RMSNorm"]}\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    # check registers the plugin's OpSchema process-wide; a schema named like a standard op
    # would confuse later exports (onnxscript wants op names unique across domains).
    if onnx.defs.has(SHADOWING.name, SHADOWING.namespace):
        onnx.defs.deregister_schema(SHADOWING.name, 1, SHADOWING.namespace)


def _model(path, opset, *, bare=True):
    vi = helper.make_tensor_value_info
    nodes = [
        helper.make_node("RMSNormalization", ["x", "w"], ["native"], name="bare", epsilon=1e-6),
        helper.make_node(
            "RMSNormalization",
            ["x", "w"],
            ["plugin"],
            name="tagged",
            domain="trt_pdk",
            eps=1e-6,
            plugin_version="2",
            plugin_namespace="trt_pdk",
        ),
    ]
    if not bare:  # opset < 23 has no standard RMSNormalization
        nodes = nodes[1:]
    graph = helper.make_graph(
        nodes,
        "g",
        [vi("x", TensorProto.FLOAT, [2, 8]), vi("w", TensorProto.FLOAT, [8])],
        [vi(n.output[0], TensorProto.FLOAT, [2, 8]) for n in nodes],
    )
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid("trt_pdk", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=10), str(path))
    return path


def test_check_notes_a_plugin_shadowing_a_native_op(tmp_path):
    report = CheckOnnx(trt="10.16", specs={SHADOWING.name: SHADOWING}, ask_parser=False)(
        _model(tmp_path / "m.onnx", 23)
    )
    (note,) = [n for n in report.notes if "shadows" in n]
    assert "trt_pdk::RMSNormalization shadows TensorRT 10.16's native ONNX RMSNormalization" in note
    assert "(1 of 2 here" in note
    assert "the 1 without it get the native layer unless the parser flag kENABLE_PLUGIN_OVERRIDE" in note
    assert "--enablePluginOverride" in note


def test_nothing_is_shadowed_before_10_15(tmp_path):
    # TensorRT 10.14 has no native RMSNormalization (nor opset 23): a plugin of that name
    # shadows nothing there.
    report = CheckOnnx(trt="10.14", specs={SHADOWING.name: SHADOWING}, ask_parser=False)(
        _model(tmp_path / "m.onnx", 22, bare=False)
    )
    assert not [n for n in report.notes if "shadows" in n]
    assert [(p["op_type"], p["count"]) for p in report.plugins] == [("RMSNormalization", 1)]


def test_plugins_named_unlike_onnx_ops_shadow_nothing(tmp_path):
    report = CheckOnnx(trt="10.16", ask_parser=False)(_model(tmp_path / "m.onnx", 23))
    assert not [n for n in report.notes if "shadows" in n]
