"""`trt-pdk check`: coverage table, checker/shape inference, training leftovers, bad inputs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.onnx_stages import CheckOnnx, CoverageTable, load_onnx
from trt_pdk.onnx_stages.coverage import SUPPORTED, UNCERTAIN, UNSUPPORTED

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")
MODELS = Path(__file__).parent / "models"


def model_of(nodes, inputs, outputs, inits=(), *, opset=18, extra_opsets=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, v) for d, v in extra_opsets)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=10)


def fvi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Real dynamo exports of the test models (eval mode) plus a legacy train-mode export."""
    import torch

    from trt_pdk.onnx_stages.from_torch import OnnxFromTorch, module_from_factory

    out = tmp_path_factory.mktemp("exports")
    paths = {}
    for name in ("mlp", "bucketize"):
        paths[name] = out / f"{name}.onnx"
        OnnxFromTorch(f"{MODELS / name}.py:make", dynamic=["x:0=batch"])(paths[name])
    module, inputs = module_from_factory(f"{MODELS / 'train_mode.py'}:make_train")
    module.train()
    paths["train"] = out / "train.onnx"
    with warnings.catch_warnings():  # the legacy exporter's deprecation and tracer warnings
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, inputs, str(paths["train"]), dynamo=False, training=torch.onnx.TrainingMode.TRAINING
        )
    return paths


# --- the coverage table ---------------------------------------------------------------------
def test_table_classifies_every_standard_onnx_op():
    table = CoverageTable.load()
    standard = {s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain in ("", "ai.onnx")}
    listed = set(table.data["ops"])
    assert standard - listed == set(), "add the new ONNX ops to onnx_trt_coverage.json"
    statuses = {e["status"] for e in table.data["ops"].values()}
    assert statuses <= {SUPPORTED, UNSUPPORTED, UNCERTAIN}
    assert "operators.md" in table.source
    assert table.status("MatMul", "10.16") == SUPPORTED
    assert table.status("Col2Im", "10.0") == UNSUPPORTED
    # From the published 10.15 page and changelog: added in 10.15, carried forward to 11.x.
    assert table.status("RMSNormalization", "10.8") == UNSUPPORTED
    assert table.status("RMSNormalization", "11.1") == SUPPORTED
    assert table.status("Compress", "10.15") == UNSUPPORTED
    assert table.status("Swish", "11.1") == UNCERTAIN
    assert table.status("NotAnOp", "10.0") == "unknown"


@pytest.mark.parametrize(
    ("given", "resolved"), [("10.16", "10.16"), ("10.16.0.7", "10.16"), ("10", "10.16"), ("11.1", "11.1")]
)
def test_versions_resolve(given, resolved):
    assert CoverageTable.load().resolve_version(given) == resolved


def test_unknown_version_names_the_covered_ones():
    with pytest.raises(UserError, match=r"no entry for TensorRT 9\.2.*10\.0, 10\.1"):
        CoverageTable.load().resolve_version("9.2")


# --- real exports ---------------------------------------------------------------------------
def test_mlp_export_is_fine(exports):
    report = CheckOnnx(trt="10.16")(exports["mlp"])
    assert report.ok, report.text()
    assert report.opset == 18
    assert report.fine["LayerNormalization"] == 1
    assert report.fine["Tanh"] == 1
    assert not report.unsupported and not report.missing_plugins


def test_bucketize_exports_to_one_plugin_node(exports):
    # The Bucketize plugin's spec maps aten::bucketize in the export translation table;
    # without it dynamo decomposes torch.bucketize into an unrolled binary search.
    report = CheckOnnx(trt="10.8")(exports["bucketize"])
    assert report.ok
    assert report.plugins == [{"domain": "trt_pdk", "op_type": "Bucketize", "count": 1, "versions": {"2": 1}}]
    assert not report.fine


def test_train_mode_export_reports_dropout_and_batchnorm(exports):
    report = CheckOnnx(trt="10.8")(exports["train"])
    assert not report.ok
    kinds = {item["op_type"]: item["why"] for item in report.training_leftovers}
    assert set(kinds) == {"Dropout", "BatchNormalization"}
    assert "training_mode=True" in kinds["Dropout"]
    assert "eval()" in kinds["BatchNormalization"]


# --- findings on hand-made graphs -----------------------------------------------------------
def test_unsupported_standard_op_and_unknown_plugin(tmp_path):
    nodes = [
        helper.make_node("Unique", ["x"], ["u"], name="unique0"),
        helper.make_node("Frobnicate", ["x"], ["f"], name="frob0", domain="acme"),
        helper.make_node("Relu", ["x"], ["r"], name="relu0"),
    ]
    model = model_of(
        nodes,
        [fvi("x", [4])],
        [fvi("u", [None]), fvi("f", [None]), fvi("r", [4])],  # onnx.checker wants a shape
        extra_opsets=[("acme", 1)],
    )
    report = CheckOnnx(trt="10.16")(save(model, tmp_path / "m.onnx"))
    assert not report.ok
    assert [(u["op_type"], u["count"], u["nodes"]) for u in report.unsupported] == [
        ("Unique", 1, ["unique0"])
    ]
    assert [(m["domain"], m["op_type"]) for m in report.missing_plugins] == [("acme", "Frobnicate")]
    assert report.fine == {"Relu": 1}


def test_standard_op_lists_candidate_plugins(tmp_path):
    # Not unsupported in the table, so fake the table entry: candidates come from the specs' patterns.
    table = CoverageTable.load()
    entry = table.data["ops"]["Reciprocal"]
    entry["per_version"] = {"10.16": UNSUPPORTED}
    try:
        nodes = [helper.make_node("Reciprocal", ["x"], ["y"], name="r0")]
        report = CheckOnnx(trt="10.16")(
            save(model_of(nodes, [fvi("x", [4])], [fvi("y", [4])]), tmp_path / "m.onnx")
        )
    finally:
        del entry["per_version"]
    assert report.unsupported[0]["candidate_plugins"] == ["RMSNorm"]


def test_plugin_node_with_unbuilt_version(tmp_path):
    node = helper.make_node(
        "RMSNorm",
        ["x", "w"],
        ["y"],
        name="n0",
        domain="trt_pdk",
        eps=1e-5,
        plugin_version="7",
        plugin_namespace="trt_pdk",
    )
    model = model_of(
        [node],
        [fvi("x", [2, 4]), fvi("w", [4])],
        [fvi("y", [2, 4])],
        extra_opsets=[("trt_pdk", 1)],
    )
    report = CheckOnnx(trt="10.16")(save(model, tmp_path / "m.onnx"))
    assert not report.ok
    assert "plugin_version 7 is not built" in report.missing_plugins[0]["why"]


def test_plugin_node_with_wrong_attribute_type_is_bad_input(tmp_path, capsys):
    node = helper.make_node("RMSNorm", ["x", "w"], ["y"], domain="trt_pdk", eps=1, plugin_version="2")
    model = model_of(
        [node], [fvi("x", [2, 4]), fvi("w", [4])], [fvi("y", [2, 4])], extra_opsets=[("trt_pdk", 1)]
    )
    path = save(model, tmp_path / "m.onnx")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "attribute 'eps' is INT, but RMSNorm declares it float32" in err
    assert "Traceback" not in err


# --- bad inputs and the command line --------------------------------------------------------
def test_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope" / "m.onnx")]) == 2
    assert "no such file (the folder" in capsys.readouterr().err


def test_truncated_and_corrupt_files(tmp_path, exports):
    data = Path(exports["mlp"]).read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 3])
    (tmp_path / "junk.onnx").write_bytes(b"\x00\xffnot a model" * 10)
    (tmp_path / "empty.onnx").write_bytes(b"")
    for name in ("cut", "junk"):
        with pytest.raises(UserError, match=r"not a readable ONNX model|parsed as an empty ONNX model"):
            load_onnx(tmp_path / f"{name}.onnx")
    with pytest.raises(UserError, match="is empty"):
        load_onnx(tmp_path / "empty.onnx")


def test_external_data_outside_the_model_folder(tmp_path):
    w = numpy_helper.from_array(np.ones(4, np.float32), "w")
    w.data_location = TensorProto.EXTERNAL
    del w.external_data[:]
    w.ClearField("raw_data")
    w.external_data.add(key="location", value="../secret.bin")
    model = model_of([helper.make_node("Add", ["x", "w"], ["y"])], [fvi("x", [4])], [fvi("y", [4])], [w])
    (tmp_path / "m").mkdir()
    path = save(model, tmp_path / "m" / "m.onnx")
    with pytest.raises(UserError, match=r"'\.\./secret\.bin', outside the model's folder"):
        load_onnx(path)


def test_opset_outside_the_table(tmp_path, capsys):
    model = model_of([helper.make_node("Relu", ["x"], ["y"])], [fvi("x", [4])], [fvi("y", [4])], opset=8)
    path = save(model, tmp_path / "old.onnx")
    assert main(["check", str(path), "--trt", "10.16"]) == 2
    assert (
        "uses ONNX opset 8; the coverage table for TensorRT 10.16 covers opsets 9-24"
        in capsys.readouterr().err
    )


def test_cli_json_and_exit_codes(exports, capsys):
    assert main(["check", str(exports["mlp"]), "--trt", "10.8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["trt"] == "10.8" and report["table_certain"] is True
    assert main(["check", str(exports["train"]), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert len(report["training_leftovers"]) == 2


def test_bad_input_is_one_paragraph_in_a_subprocess(cli, tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"\x12\x34 not onnx")
    proc = cli("check", str(tmp_path / "m.onnx"))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and "is not a readable ONNX model" in err


@pytest.mark.tensorrt
def test_real_parser_agrees_with_the_table(exports):
    trt = pytest.importorskip("tensorrt", reason="needs TensorRT's Python package (`import tensorrt`)")
    report = CheckOnnx(trt=trt.__version__)(exports["mlp"])
    assert "skipped" not in report.parser
    assert report.parser["disagreements"] == [], report.parser
