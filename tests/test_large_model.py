"""Models whose weights live in external data: check and rewrite leave the weights on disk,
outputs keep external data beside them, and the numbers survive the round trip.

The model is the benchmark's generator (``benchmarks/large_model.py``) at ~50 MB; the
3 GB peak-memory figures are that benchmark's job.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from trt_pdk.cli import main
from trt_pdk.onnx_stages import _model

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "large_model.py"


def _generator():
    spec = importlib.util.spec_from_file_location("large_model_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("large")
    path = _generator().llm_like_onnx(folder / "in", layers=12, width=1024)  # 12 x 4 MiB matrices
    assert (path.parent / "model.onnx.data").stat().st_size >= 48 * 2**20
    return path


def test_load_leaves_large_weights_on_disk(large):
    model = _model.load_onnx(large, keep_external_above=_model.LOAD_AT_MOST)
    matrices = [t for t in model.graph.initializer if t.name.endswith(".W")]
    assert len(matrices) == 12
    assert all(t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data for t in matrices)
    assert model.ByteSize() < 2**20  # the graph, not the 48 MiB of weights
    norm = next(t for t in model.graph.initializer if t.name == "norm0.w")
    assert norm.data_location == onnx.TensorProto.DEFAULT  # small tensors are loaded
    full = onnx.load(str(large))
    expected = onnx.numpy_helper.to_array(next(t for t in full.graph.initializer if t.name == "layer3.W"))
    np.testing.assert_array_equal(_model.tensor_array(matrices[3]), expected)


def test_save_streams_weights_beside_the_output_and_keeps_the_model(large, tmp_path):
    model = _model.load_onnx(large, keep_external_above=_model.LOAD_AT_MOST)
    before = model.SerializeToString()
    out = _model.save_onnx(model, tmp_path / "copy" / "m.onnx")
    assert model.SerializeToString() == before  # the caller's model is untouched
    assert (tmp_path / "copy" / "m.onnx.data").stat().st_size >= 48 * 2**20
    assert out.stat().st_size < 2**20
    onnx.checker.check_model(str(out), full_check=True)
    got, want = onnx.load(str(out)), onnx.load(str(large))
    for a, b in zip(got.graph.initializer, want.graph.initializer, strict=True):
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(a), onnx.numpy_helper.to_array(b))


def test_loaded_tensors_go_external_when_saved_with_lazy_ones(large, tmp_path):
    """A tensor a stage creates in memory (> 1 KiB) joins the data file; small ones stay inline."""
    model = _model.load_onnx(large, keep_external_above=_model.LOAD_AT_MOST)
    big = onnx.numpy_helper.from_array(np.arange(4096, dtype=np.float32), "made_by_a_stage")
    model.graph.initializer.append(big)
    out = _model.save_onnx(model, tmp_path / "m.onnx")
    saved = onnx.load(str(out), load_external_data=False)
    made = next(t for t in saved.graph.initializer if t.name == "made_by_a_stage")
    assert made.data_location == onnx.TensorProto.EXTERNAL
    eps = next(t for t in saved.graph.initializer if t.name == "eps")
    assert eps.data_location == onnx.TensorProto.DEFAULT
    back = next(t for t in onnx.load(str(out)).graph.initializer if t.name == "made_by_a_stage")
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(back), np.arange(4096, dtype=np.float32))
    assert model.graph.initializer[-1].raw_data == big.raw_data  # restored in the caller's model


def test_check_and_rewrite_cli_keep_weights_external(large, tmp_path, capsys):
    assert main(["check", str(large)]) == 0
    assert "OK" in capsys.readouterr().out
    out = tmp_path / "rewritten" / "model.onnx"
    assert main(["rewrite", str(large), "-o", str(out)]) == 0
    written = onnx.load(str(out), load_external_data=False)
    assert sum(n.op_type == "RMSNorm" for n in written.graph.node) == 12
    assert out.stat().st_size < 2**20 and (out.parent / "model.onnx.data").stat().st_size >= 48 * 2**20
    onnx.checker.check_model(str(out))


def test_simplify_keeps_weights_external(large, tmp_path):
    out = tmp_path / "simple" / "model.onnx"
    assert main(["simplify", str(large), "-o", str(out)]) == 0
    written = onnx.load(str(out), load_external_data=False)
    matrices = [t for t in written.graph.initializer if t.name.endswith(".W")]
    assert len(matrices) == 12 and all(t.data_location == onnx.TensorProto.EXTERNAL for t in matrices)
    assert (out.parent / "model.onnx.data").stat().st_size >= 48 * 2**20
    onnx.checker.check_model(str(out), full_check=True)


def test_rewrite_computes_the_same_numbers(large, tmp_path):
    """The rewritten model (plugin nodes run through their ONNX bodies) vs the original, onnxruntime."""
    import onnxruntime as ort

    from trt_pdk.onnx_stages.functions import with_cpu_functions

    out = tmp_path / "model.onnx"
    assert main(["rewrite", str(large), "-o", str(out)]) == 0
    cpu, _ = with_cpu_functions(_model.load_onnx(out, keep_external_above=_model.LOAD_AT_MOST))
    runnable = _model.save_onnx(cpu, tmp_path / "cpu" / "model.onnx")
    x = np.random.default_rng(0).standard_normal((2, 3, 1024)).astype(np.float32)
    want = ort.InferenceSession(str(large), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = ort.InferenceSession(str(runnable), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_check_peak_memory_stays_below_the_weights(large):
    """In a fresh process, `check` peaks below `onnx.load` of the same model (which holds every weight)."""
    load = _peak_kib(f"import onnx; m = onnx.load({str(large)!r})")
    check = _peak_kib(
        "from trt_pdk.onnx_stages.check import CheckOnnx; "
        f"assert CheckOnnx(ask_parser=False)({str(large)!r}).ok"
    )
    # onnx.load holds 48 MiB of weights on top of the interpreter; check holds none of them.
    assert check < load - 24 * 1024, (check, load)


def _peak_kib(code: str) -> int:
    """VmHWM of a fresh interpreter running `code` (per process image: the parent's size is not in it)."""
    report = "print(next(x.split()[1] for x in open('/proc/self/status') if x.startswith('VmHWM')))"
    out = subprocess.run([sys.executable, "-c", f"{code}\n{report}"], capture_output=True, check=True)
    return int(out.stdout.split()[-1])


def test_compare_runs_the_rewritten_model_from_its_external_data(large, tmp_path, capsys):
    """compare attaches the plugin bodies to the graph alone; onnxruntime reads the weights in place."""
    out = tmp_path / "model.onnx"
    assert main(["rewrite", str(large), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["compare", str(large), str(out), "--dim", "batch=1:2", "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and "trt_pdk::RMSNorm" in report["engines"]["candidate"]
    assert not list(tmp_path.glob("**/*.data")) or {p.name for p in tmp_path.glob("**/*.data")} == {
        "model.onnx.data"
    }
