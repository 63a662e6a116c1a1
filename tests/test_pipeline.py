"""Pipeline config validation, cache keys, run-folder checks and the CPU bodies of plugin nodes (fast)."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.pipeline.config import load_config
from trt_pdk.pipeline.runner import RunPipeline, stage_keys

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "pipeline" / "demo.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "traffic.jsonl").write_text('{"x": [1, 8, 64]}\n')
    (tmp_path / "model.py").write_text("def factory():\n    pass\n")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


BASE = "name: t\nmodel:\n  factory: model.py:factory\ntraffic: traffic.jsonl\n"


def test_demo_config_loads_with_paths_beside_it():
    cfg = load_config(DEMO)
    assert cfg.name == "demo"
    assert cfg.path(cfg.traffic).is_file()
    assert cfg.perf.target_concurrency in cfg.perf.concurrency


def test_demo_traffic_is_regenerated_from_the_model_dims(tmp_path):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "demo_model_under_test", ROOT / "pipeline" / "demo_model.py"
    )
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    shipped = (ROOT / "pipeline" / "demo_traffic.jsonl").read_text()
    assert demo.write_traffic(tmp_path / "t.jsonl").read_text() == shipped  # deterministic, in sync
    rows = [json.loads(line) for line in shipped.splitlines()]
    assert {r["x"][2] for r in rows} == {demo.WIDTH} and sum(r["count"] for r in rows) == 400
    # Decode-heavy: the most common shape (what verify and perf send) is one token of one
    # sequence, most requests carry 1-2 tokens, and a prefill tail up to 128 tokens remains.
    top = max(rows, key=lambda r: r["count"])
    assert top["x"] == [1, 1, demo.WIDTH]
    assert sum(r["count"] for r in rows if r["x"][1] <= 2) > 0.75 * 400
    assert max(r["x"][1] for r in rows) == 128 and {r["x"][0] for r in rows} == {1, 2, 4}
    assert load_config(DEMO).perf.max_queue_delays_us  # the demo tunes the batcher's delay too


def test_negative_queue_delay_is_refused(tmp_path):
    path = _write(tmp_path, BASE + "perf:\n  max_queue_delays_us: [100, -1]\n")
    with pytest.raises(UserError, match="max_queue_delays_us"):
        load_config(path)


def test_unknown_option_names_file_line_section_and_known_options(tmp_path):
    path = _write(tmp_path, BASE + "perf:\n  duration: 1.0\n  concurency: [1, 16]\n")
    with pytest.raises(UserError) as err:
        load_config(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:7: unknown option 'concurency' in section 'perf'")
    assert "did you mean 'concurrency'" in msg
    assert "known: concurrency, target_concurrency, duration" in msg


def test_unknown_top_level_key_and_wrong_type_name_their_lines(tmp_path):
    path = _write(tmp_path, BASE + "egnine:\n  precision: fp32\n")
    with pytest.raises(UserError, match=r"p\.yaml:5: unknown option 'egnine' at the top level.*'engine'"):
        load_config(path)
    path = _write(tmp_path, BASE + "verify:\n  batch: two\n")
    with pytest.raises(UserError, match=r"p\.yaml:6: option 'verify\.batch' must be an integer, got 'two'"):
        load_config(path)
    path = _write(tmp_path, BASE + "perf:\n  concurrency: [1, 4]\n")
    with pytest.raises(UserError, match=r"p\.yaml:5: perf\.target_concurrency 16 must be one of"):
        load_config(path)


def test_malformed_yaml_names_the_line(tmp_path):
    path = _write(tmp_path, BASE + "perf:\n  duration: [1, 2\n  warmup: 1\n")
    with pytest.raises(UserError, match=r"p\.yaml:7: not valid YAML"):
        load_config(path)


def test_cli_bad_config_is_one_paragraph_exit_2(tmp_path, capsys):
    path = _write(tmp_path, BASE + "perf:\n  concurency: 4\n")
    assert main(["pipeline", "run", str(path), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "unknown option 'concurency'" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


ALL_AFTER_CHECK = (
    "check", "rewrite", "compare", "profiles", "engine", "repository", "serve", "verify", "perf", "deploy",
)  # fmt: skip


@pytest.mark.parametrize(
    ("section", "option", "value", "redone"),
    [
        ("engine", "precision", "fp16", ["engine", "deploy"]),
        ("perf", "duration", 9.0, ["perf", "deploy"]),
        ("compare", "seed", 7, ["compare"]),
        ("deploy", "http_port", 9000, ["deploy"]),
        ("serve", "http_port", 8123, ["serve", "verify", "perf", "deploy"]),
        ("profiles", "k", 2, ["profiles", "engine", "verify", "perf", "deploy"]),
        ("repository", "instance_count", 2, ["repository", "serve", "verify", "perf", "deploy"]),
        ("check", "trt", "11.1", [*ALL_AFTER_CHECK]),
    ],
)
def test_changing_one_option_changes_the_keys_of_its_readers_only(section, option, value, redone):
    """Keys follow the data edges: engine.* reruns only what reads the engine (the deployment)."""
    cfg = load_config(DEMO)
    keys = stage_keys(cfg)
    changed = dataclasses.replace(
        cfg, **{section: dataclasses.replace(getattr(cfg, section), **{option: value})}
    )
    other = stage_keys(changed)
    assert [n for n in keys if keys[n] != other[n]] == redone


def test_traffic_content_is_in_the_keys_of_its_readers(tmp_path):
    path = _write(tmp_path, BASE)
    keys = stage_keys(load_config(path))
    (tmp_path / "traffic.jsonl").write_text('{"x": [2, 8, 64]}\n')
    other = stage_keys(load_config(path))
    assert [n for n in keys if keys[n] != other[n]] == ["profiles", "engine", "verify", "perf", "deploy"]


def test_unwritable_run_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match="not a writable folder"):
        RunPipeline(load_config(DEMO), blocker / "run")()
    with pytest.raises(UserError, match="is a file"):
        RunPipeline(load_config(DEMO), blocker)()


def _model(nodes, inputs, outputs):
    from onnx import helper

    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("trt_pdk", 1)]
    )
    model.ir_version = 10
    return model


def _run(model, feeds):
    import onnxruntime as ort

    from trt_pdk.onnx_stages.functions import with_cpu_functions

    served, names = with_cpu_functions(model)
    assert not model.functions  # the graph the engine reads keeps no functions
    sess = ort.InferenceSession(served.SerializeToString(), providers=["CPUExecutionProvider"])
    return names, sess.run(None, feeds)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_cpu_bodies_of_rms_norm_and_bias_gelu_match_torch(approximate):
    """The served CPU model runs plugin nodes through these bodies: they must equal the ops."""
    torch = pytest.importorskip("torch")
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("RMSNorm", ["x", "w"], ["r"], domain="trt_pdk", eps=1e-2, plugin_version="2"),
        helper.make_node("FusedBiasGelu", ["r", "w"], ["g"], domain="trt_pdk", approximate=approximate),
    ]
    f = TensorProto.FLOAT
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", f, [3, 5, 8]), helper.make_tensor_value_info("w", f, [8])],
        [helper.make_tensor_value_info("g", f, [3, 5, 8])],
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    w = (1 + 0.1 * rng.standard_normal(8)).astype(np.float32)
    names, (g,) = _run(model, {"x": x, "w": w})
    assert names == ["trt_pdk::FusedBiasGelu", "trt_pdk::RMSNorm"]
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    r = tx * torch.rsqrt(tx.pow(2).mean(-1, keepdim=True) + 1e-2) * tw
    ref = torch.nn.functional.gelu(r + tw, approximate=approximate)
    np.testing.assert_allclose(g, ref.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("right", [0, 1])
@pytest.mark.parametrize("out_dtype", ["int64", "int32"])
def test_cpu_body_of_bucketize_matches_torch_bucketize(right, out_dtype):
    torch = pytest.importorskip("torch")
    from onnx import TensorProto, helper

    out_type = TensorProto.INT64 if out_dtype == "int64" else TensorProto.INT32
    node = helper.make_node(
        "Bucketize", ["x", "b"], ["i"], domain="trt_pdk", right=right, out_dtype=out_dtype
    )
    model = _model(
        [node],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [5]),
        ],
        [helper.make_tensor_value_info("i", out_type, [4, 6])],
    )
    b = np.array([-1.0, -0.5, 0.0, 0.0, 0.7], np.float32)
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    x[0, :5] = b  # ties decide `right`
    _, (got,) = _run(model, {"x": x, "b": b})
    ref = torch.bucketize(
        torch.from_numpy(x), torch.from_numpy(b), right=bool(right), out_int32=out_dtype == "int32"
    )
    assert got.dtype == ref.numpy().dtype
    np.testing.assert_array_equal(got, ref.numpy())


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_cpu_body_of_bias_less_gelu_matches_torch(approximate):
    """The one-input FusedBiasGelu node (the rewrite of a bare gelu) has its own body."""
    torch = pytest.importorskip("torch")
    from onnx import TensorProto, helper

    node = helper.make_node("FusedBiasGelu", ["x"], ["g"], domain="trt_pdk", approximate=approximate)
    f = TensorProto.FLOAT
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", f, [4, 8])],
        [helper.make_tensor_value_info("g", f, [4, 8])],
    )
    x = np.random.default_rng(2).standard_normal((4, 8)).astype(np.float32)
    names, (g,) = _run(model, {"x": x})
    assert names == ["trt_pdk::FusedBiasGelu"]
    ref = torch.nn.functional.gelu(torch.from_numpy(x), approximate=approximate)
    np.testing.assert_allclose(g, ref.numpy(), atol=1e-5, rtol=1e-5)


def test_cpu_body_of_masked_compact_gives_rows_and_count():
    from onnx import TensorProto, helper

    node = helper.make_node("MaskedCompact", ["x", "m"], ["y", "k"], domain="trt_pdk")
    model = _model(
        [node],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3]),
            helper.make_tensor_value_info("m", TensorProto.BOOL, ["n"]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["k", 3]),
            helper.make_tensor_value_info("k", TensorProto.INT64, []),
        ],
    )
    x = np.arange(15, dtype=np.float32).reshape(5, 3)
    m = np.array([True, False, True, True, False])
    _, (y, k) = _run(model, {"x": x, "m": m})
    np.testing.assert_array_equal(y, x[m])
    assert k.shape == () and int(k) == 3


def test_plugin_nodes_with_different_input_counts_get_one_body_each():
    torch = pytest.importorskip("torch")
    from onnx import TensorProto, helper

    f = TensorProto.FLOAT
    nodes = [
        helper.make_node("FusedBiasGelu", ["x", "b"], ["h"], domain="trt_pdk"),
        helper.make_node("FusedBiasGelu", ["h"], ["y"], domain="trt_pdk"),
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", f, [2, 8]), helper.make_tensor_value_info("b", f, [8])],
        [helper.make_tensor_value_info("y", f, [2, 8])],
    )
    x = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)
    b = np.random.default_rng(4).standard_normal(8).astype(np.float32)
    names, (y,) = _run(model, {"x": x, "b": b})
    assert names == ["trt_pdk::FusedBiasGelu (2 variants)"]
    gelu = torch.nn.functional.gelu
    expected = gelu(gelu(torch.from_numpy(x) + torch.from_numpy(b))).numpy()
    np.testing.assert_allclose(y, expected, atol=1e-5, rtol=1e-5)


def test_plugin_node_without_a_body_is_a_user_error():
    import dataclasses

    from onnx import TensorProto, helper

    from trt_pdk.onnx_stages.functions import with_cpu_functions
    from trt_pdk.registry import get_spec

    spec = dataclasses.replace(get_spec("RMSNorm"), onnx_function=None)
    f = TensorProto.FLOAT
    node = helper.make_node("RMSNorm", ["x", "w"], ["y"], domain="trt_pdk")
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", f, [2, 8]), helper.make_tensor_value_info("w", f, [8])],
        [helper.make_tensor_value_info("y", f, [2, 8])],
    )
    with pytest.raises(UserError, match="declares no ONNX body"):
        with_cpu_functions(model, [spec])


def test_plugin_nodes_with_different_attributes_get_one_body_each():
    """Llama-style models mix eps values (1e-5 in layers, 1e-6 at the end): each runs with its own."""
    from onnx import TensorProto, helper

    f = TensorProto.FLOAT
    nodes = [
        helper.make_node("RMSNorm", ["x", "w"], ["y1"], domain="trt_pdk", eps=1e-2),
        helper.make_node("RMSNorm", ["x", "w"], ["y2"], domain="trt_pdk", eps=1e-5),
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", f, [2, 8]), helper.make_tensor_value_info("w", f, [8])],
        [helper.make_tensor_value_info("y1", f, [2, 8]), helper.make_tensor_value_info("y2", f, [2, 8])],
    )
    x = 0.05 * np.random.default_rng(5).standard_normal((2, 8)).astype(np.float32)  # small: eps matters
    w = np.random.default_rng(6).uniform(0.5, 1.5, 8).astype(np.float32)
    names, (y1, y2) = _run(model, {"x": x, "w": w})
    assert names == ["trt_pdk::RMSNorm (2 variants)"]

    def rms(a, eps):
        return a / np.sqrt(np.mean(a.astype(np.float64) ** 2, axis=-1, keepdims=True) + eps) * w

    np.testing.assert_allclose(y1, rms(x, 1e-2), atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(y2, rms(x, 1e-5), atol=1e-5, rtol=1e-4)
    assert not np.allclose(y1, y2, atol=1e-2)  # each node ran with its own eps


def test_yaml_alias_bomb_is_refused_in_one_short_paragraph(tmp_path, capsys):
    """9 levels of 9 aliases: 1.6 KB that a naive loader expands to ~387 million strings."""
    names = "abcdefghi"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in itertools.pairwise(names)]
    path = _write(tmp_path, BASE + "\n".join(lines) + "\nperf:\n  concurrency: *i\n")
    assert path.stat().st_size < 2000
    assert main(["pipeline", "run", str(path), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "expands to more than" in err and "Traceback" not in err
    assert len(err) < 400 and err.count("\n") == 1


def test_binary_config_is_one_paragraph(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_bytes(bytes(range(256)) * 8)
    assert main(["pipeline", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text" in err and "Traceback" not in err and err.count("\n") == 1


def test_a_huge_wrong_value_is_quoted_short(tmp_path):
    path = _write(tmp_path, BASE + f"verify:\n  batch: {'x' * 100_000}\n")
    with pytest.raises(UserError, match="must be an integer") as err:
        load_config(path)
    assert len(str(err.value)) < 400


def test_skip_names_a_stage(tmp_path):
    path = _write(tmp_path, BASE + "skip: [serve, perfs]\n")
    with pytest.raises(UserError, match=r"skip: 'perfs' is not a stage; stages: export, check"):
        load_config(path)


def _two_input_model(path: Path) -> Path:
    """x [batch, seq, 4] float and ids [batch, seq] int64 -> y = x * ids (broadcast)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["ids"], ["f"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["f", "axis"], ["g"]),
            helper.make_node("Mul", ["x", "g"], ["y"]),
        ],
        "two",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 4]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", 4])],
        [onnx.numpy_helper.from_array(np.array([2], np.int64), "axis")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


def test_verify_golden_inputs_come_from_the_execution_layer(tmp_path):
    """The traffic's most common shape with the option's batch, seeded, bounded in size."""
    from trt_pdk.execution import model_inputs, random_inputs
    from trt_pdk.onnx_stages._model import load_onnx
    from trt_pdk.pipeline.stage import StageContext
    from trt_pdk.pipeline.stages.verify import VerifyOptions, request_inputs

    _two_input_model(tmp_path / "cpu.onnx")
    ctx = StageContext(tmp_path, tmp_path, "t", sources={"traffic": tmp_path / "traffic.jsonl"})
    request = {"x": [1, 5, 4], "ids": [1, 5]}
    got = request_inputs(ctx, "cpu.onnx", request, VerifyOptions(batch=3, seed=7))
    assert {k: list(v.shape) for k, v in got.items()} == {"x": [3, 5, 4], "ids": [3, 5]}
    tensors = model_inputs(load_onnx(tmp_path / "cpu.onnx"))
    same = random_inputs(tensors, shapes={"x": [3, 5, 4], "ids": [3, 5]}, seed=7)
    assert all(np.array_equal(got[k], same[k]) and got[k].dtype == same[k].dtype for k in same)
    with pytest.raises(UserError, match=r"over the 0\.0001 MiB limit.*Lower `verify: batch:`.*max_input_mib"):
        request_inputs(ctx, "cpu.onnx", request, VerifyOptions(batch=3, max_input_mib=1e-4))
    with pytest.raises(UserError, match=r"traffic\.jsonl has no shapes for the model input 'ids'"):
        request_inputs(ctx, "cpu.onnx", {"x": [1, 5, 4]}, VerifyOptions())


def test_verify_reference_is_the_execution_layers_torch_runner(tmp_path):
    import torch

    from trt_pdk.execution import TorchRunner
    from trt_pdk.pipeline.stages.export import ExportResult
    from trt_pdk.pipeline.stages.verify import torch_reference

    (tmp_path / "scale.py").write_text(
        "import torch\n\n\nclass Scale(torch.nn.Module):\n    def forward(self, x, ids):\n"
        "        return x * ids.unsqueeze(2).float()\n\n\ndef factory():\n"
        "    return Scale(), (torch.ones(1, 2, 4), torch.ones(1, 2, dtype=torch.long))\n"
    )
    export = ExportResult(
        model="e.onnx",
        plain="p.onnx",
        factory=f"{tmp_path / 'scale.py'}:factory",
        checkpoint=None,
        nodes=3,
        ops={},
        plain_nodes=3,
        plain_ops={},
        opset=18,
        inputs=[],
        outputs=[],
    )
    reference = torch_reference(export, ["x", "ids"], ["y"])
    assert isinstance(reference, TorchRunner)
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    ids = np.array([[0, 1, 2], [3, 0, 1]], np.int64)
    (y,) = reference({"ids": ids, "x": x}).values()  # fed by name, not by dict order
    np.testing.assert_array_equal(y, x * ids[:, :, None])
    assert torch.__version__ in reference.engine
