"""`trt-pdk export` and `trt-pdk compare` on small models written for the tests."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.onnx_stages.compare import CompareOnnx
from trt_pdk.onnx_stages.from_torch import OnnxFromTorch, log_path

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")
MODELS = Path(__file__).parent / "models"


def ref(name: str, factory: str = "make") -> str:
    return f"{MODELS / name}.py:{factory}"


def test_export_writes_model_and_log(tmp_path, capsys):
    out = tmp_path / "mlp.onnx"
    assert main(["export", ref("mlp"), "-o", str(out), "--dynamic", "x:0=batch", "--json"]) == 0
    log = json.loads(capsys.readouterr().out)
    assert log == json.loads(log_path(out).read_text())
    assert (log["exporter"], log["opset"], log["ir_version"]) == ("dynamo", 18, 10)
    assert log["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["batch", 5, 16]}]
    assert log["ops"]["LayerNormalization"] == 1 and log["ops"]["Tanh"] == 1
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 18
    onnx.checker.check_model(model, full_check=True)


def test_export_forces_eval_and_plugin_ops_become_plugin_nodes(tmp_path):
    log = OnnxFromTorch(ref("train_mode", "make_train"))(tmp_path / "t.onnx")
    assert "Dropout" not in log["ops"]
    log = OnnxFromTorch(ref("plugin_op"), plugin_version="1")(tmp_path / "p.onnx")
    assert log["ops"]["trt_pdk::RMSNorm"] == 1
    (node,) = [n for n in onnx.load(str(tmp_path / "p.onnx")).graph.node if n.op_type == "RMSNorm"]
    assert {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}["plugin_version"] == b"1"


def test_checkpoint_is_loaded_with_weights_only(tmp_path):
    from trt_pdk.onnx_stages.from_torch import module_from_factory

    module, _ = module_from_factory(ref("mlp"))
    state = {k: torch.full_like(v, 0.25) for k, v in module.state_dict().items()}
    torch.save(state, tmp_path / "ck.pt")
    loaded, _ = module_from_factory(ref("mlp"), tmp_path / "ck.pt")
    assert torch.equal(loaded.up.weight, torch.full_like(loaded.up.weight, 0.25))
    torch.save({"up.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(UserError, match="does not fit the factory's module"):
        module_from_factory(ref("mlp"), tmp_path / "bad.pt")


def test_opset_conversion_failure_is_reported(tmp_path, capsys):
    # torch.nn.RMSNorm -> ReduceMean with computed axes: onnx's converter cannot go to 17.
    src = tmp_path / "rms.py"
    src.write_text(
        "import torch\n"
        "def make():\n"
        "    return torch.nn.Sequential(torch.nn.RMSNorm(8)), (torch.randn(2, 8),)\n"
    )
    out = tmp_path / "rms.onnx"
    assert main(["export", f"{src}:make", "-o", str(out), "--opset", "17"]) == 2
    err = capsys.readouterr().err
    assert "asked for opset 17 but the export is at opset 18" in err
    assert not out.exists() and not log_path(out).exists()


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (ref("train_mode", "make_broken"), "the factory raised RuntimeError: the weights server is down"),
        ("no_such_module_xyz:make", "cannot import 'no_such_module_xyz'"),
        (ref("mlp", "nope"), "has no callable 'nope'"),
        ("mlp_without_colon", "is not MODULE:FACTORY"),
    ],
)
def test_bad_references(tmp_path, capsys, reference, message):
    out = tmp_path / "m.onnx"
    assert main(["export", reference, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_bad_dynamic_axis(tmp_path):
    with pytest.raises(UserError, match="forward\\(\\) has no input 'y'"):
        OnnxFromTorch(ref("mlp"), dynamic=["y:0=batch"])(tmp_path / "m.onnx")


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    """The tiny transformer exported, and rewritten to RMSNorm plugin nodes."""
    from trt_pdk.onnx_stages.rewrite import RewriteOnnx

    out = tmp_path_factory.mktemp("block")
    OnnxFromTorch(ref("tiny_transformer"), dynamic=["x:0=batch", "x:1=seq"])(out / "block.onnx")
    RewriteOnnx(plugins=["RMSNorm"]).run(out / "block.onnx", out / "block_rw.onnx")
    return out


def test_compare_torch_and_onnx_references_with_the_rewritten_graph(block, capsys):
    report = CompareOnnx(ref("tiny_transformer"), dims={"batch": (1, 3), "seq": (2, 6)})(
        block / "block_rw.onnx"
    )
    assert report.ok, report.text()
    assert [p["dims"] for p in report.points] == [
        {"batch": 1, "seq": 2},
        {"batch": 2, "seq": 4},
        {"batch": 3, "seq": 6},
    ]
    assert report.points[-1]["outputs"][0]["shape"] == [3, 6, 32]
    assert all(o["max_abs"] < 1e-5 for p in report.points for o in p["outputs"])
    # plugin nodes run in onnxruntime through their ONNX bodies, as the Triton CPU model serves them
    assert report.engines["candidate"].startswith("onnxruntime")
    assert "trt_pdk::RMSNorm" in report.engines["candidate"]
    assert main(["compare", str(block / "block.onnx"), str(block / "block_rw.onnx"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["ok"] and info["engines"]["reference"].startswith("onnxruntime")


def test_compare_detects_a_wrong_candidate(block, tmp_path, capsys):
    model = onnx.load(str(block / "block_rw.onnx"))
    for node in model.graph.node:
        for a in node.attribute:
            if a.name == "eps":
                a.f = 0.5  # a wrong eps changes the numbers
    onnx.save(model, str(tmp_path / "wrong.onnx"))
    assert main(["compare", ref("tiny_transformer"), str(tmp_path / "wrong.onnx")]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_compare_bucketize_reference(tmp_path):
    OnnxFromTorch(ref("bucketize"), dynamic=["x:0=batch"])(tmp_path / "b.onnx")
    report = CompareOnnx(ref("bucketize"), dims={"batch": (1, 5)})(tmp_path / "b.onnx")
    assert report.ok and report.points[0]["outputs"][0]["dtype"] == "int64"
