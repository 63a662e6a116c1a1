# ruff: noqa: E501 - the table of cases reads best one case per line
"""Hostile input, table-driven: every bad input ends in one paragraph and exit 2, nothing lost.

Each case runs the CLI in-process (``trt_pdk.cli.main``) in a workspace that already holds
good outputs of earlier runs (a simplified model, a profiles plan, a model repository).
Every case asserts: the exit code, exactly one paragraph on stderr that names the problem,
no traceback, the earlier good outputs byte-identical, and no temporary file or folder
left behind. The rule for everything else (bugs, interrupts, the machine) is tested at
the end, and a ``trt-pdk rewrite`` output is served by the real tritonserver.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from trt_pdk.cli import main

MODELS = Path(__file__).parent / "models"


# --------------------------------------------------------------------------- inputs


def _linear(opset: int = 18, ir: int = 10, op: str = "Add", batch: str | int = "b") -> onnx.ModelProto:
    """y = x @ W + B on x[batch, 4]: the smallest model every stage accepts."""
    w = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4) / 16, "W")
    b = numpy_helper.from_array(np.linspace(-1, 1, 4, dtype=np.float32), "B")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node(op, ["h", "B"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])],
        [w, b],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)


def _save_external(model: onnx.ModelProto, path: Path, location: str) -> Path:
    """Saves `model` with every initializer in external data at `location` (relative to `path`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="data.bin",
        size_threshold=0,
    )
    saved = onnx.load(str(path), load_external_data=False)
    for tensor in saved.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    path.write_bytes(saved.SerializeToString())
    return path


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def setup(bad: Path) -> None:
        target = bad / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)

    return setup


def _binary(name: str, size: int = 600) -> Callable[[Path], None]:
    # Bytes that are neither UTF-8 nor a protobuf message, the same in every run.
    return _write(name, bytes((i * 131 + 7) % 256 | 0x80 for i in range(size)))


def _model(name: str, model: onnx.ModelProto) -> Callable[[Path], None]:
    return _write(name, model.SerializeToString())


def _truncated(name: str) -> Callable[[Path], None]:
    data = _linear().SerializeToString()
    return _write(name, data[: len(data) // 2])


def _folder(name: str) -> Callable[[Path], None]:
    return lambda bad: (bad / name).mkdir(parents=True)


def _ext(kind: str) -> Callable[[Path], None]:
    """External data that escapes the folder, is missing, or is shorter than declared."""

    def setup(bad: Path) -> None:
        model_dir = bad / "m"
        if kind == "escape":
            _save_external(_linear(), model_dir / "model.onnx", "../outside.bin")
            (model_dir / "data.bin").rename(bad / "outside.bin")
        elif kind == "absolute":
            _save_external(_linear(), model_dir / "model.onnx", str((model_dir / "data.bin").resolve()))
        elif kind == "missing":
            _save_external(_linear(), model_dir / "model.onnx", "data.bin")
            (model_dir / "data.bin").unlink()
        elif kind == "short":
            _save_external(_linear(), model_dir / "model.onnx", "data.bin")
            with (model_dir / "data.bin").open("r+b") as f:
                f.truncate(40)
        elif kind == "symlink":
            _save_external(_linear(), model_dir / "model.onnx", "data.bin")
            (model_dir / "data.bin").rename(bad / "elsewhere.bin")
            (model_dir / "data.bin").symlink_to(bad / "elsewhere.bin")

    return setup


def _factory(body: str) -> Callable[[Path], None]:
    return _write("factory.py", "import sys\nimport torch\n\n" + body)


def _state(text: str) -> Callable[[Path], None]:
    return _write("run/triton_server.json", text)


def _npz(name: str, **arrays: np.ndarray) -> Callable[[Path], None]:
    def setup(bad: Path) -> None:
        np.savez(bad / name, **arrays)

    return setup


def _both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(bad: Path) -> None:
        for s in setups:
            s(bad)

    return setup


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """One hostile input: the command (``@`` is this case's scratch folder), what it says."""

    id: str
    argv: str  # split like a shell line; @ is this case's scratch folder
    says: str | tuple[str, ...]  # what stderr must name
    setup: Callable[[Path], None] | None = None
    code: int = 2
    server: bool = False  # needs the running tritonserver
    torch: bool = False  # imports torch (slower)


T = "traffic.jsonl"
PLAN = ("profiles", "plan")
DATA_DEP = (
    "class M(torch.nn.Module):\n    def forward(self, x):\n        return x * 2 if x.sum() > 0 else x\n"
)
STATIC_LAST = (
    "class M(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc = torch.nn.Linear(4, 4)\n    def forward(self, x):\n        return self.fc(x)\n\n"
    "def make():\n    return M(), (torch.randn(2, 4),)\n"
)
VERIFY = ("triton", "verify", "--run-dir", "run", "--model", "linear")
X_OK = np.ones((2, 4), np.float32)

# fmt: off
CASES = [
    # --- traffic logs (profiles plan) -------------------------------------------------------
    Case("traffic-true-dim", "profiles plan @/t.jsonl", ("[1, true]", "positive integer"), _write("t.jsonl", '{"x": [1, true]}\n')),
    Case("traffic-1e20-dim", "profiles plan @/t.jsonl", ("1e+20", "positive integer"), _write("t.jsonl", '{"x": [1, 1e20]}\n')),
    Case("traffic-huge-int-dim", "profiles plan @/t.jsonl", "2147483647", _write("t.jsonl", '{"x": [1, 100000000000000000000]}\n{"x": [2, 4]}\n')),
    Case("traffic-5000-digit-dim", "profiles plan @/t.jsonl", "not a JSON object", _write("t.jsonl", '{"x": [1, ' + "9" * 5000 + "]}\n")),
    Case("traffic-negative-dim", "profiles plan @/t.jsonl", "[1, -3]", _write("t.jsonl", '{"x": [1, -3]}\n')),
    Case("traffic-zero-dim", "profiles plan @/t.jsonl", "[0, 4]", _write("t.jsonl", '{"x": [0, 4]}\n')),
    Case("traffic-nan-dim", "profiles plan @/t.jsonl", "nan", _write("t.jsonl", '{"x": [1, NaN]}\n')),
    Case("traffic-infinity-dim", "profiles plan @/t.jsonl", "inf", _write("t.jsonl", '{"x": [1, Infinity]}\n')),
    Case("traffic-float-dim", "profiles plan @/t.jsonl", "2.5", _write("t.jsonl", '{"x": [1, 2.5]}\n')),
    Case("traffic-string-in-shape", "profiles plan @/t.jsonl", '"a"', _write("t.jsonl", '{"x": [1, "a"]}\n')),
    Case("traffic-binary-jsonl", "profiles plan @/t.jsonl", "not UTF-8", _binary("t.jsonl")),
    Case("traffic-binary-csv", "profiles plan @/t.csv", "not UTF-8", _binary("t.csv")),
    Case("traffic-binary-json", "profiles plan @/t.json", "not UTF-8", _binary("t.json")),
    Case("traffic-empty-file", "profiles plan @/t.jsonl", "no requests", _write("t.jsonl", "")),
    Case("traffic-is-a-folder", "profiles plan @/t.jsonl", "is a folder", _folder("t.jsonl")),
    Case("traffic-missing", "profiles plan @/none.jsonl", "does not exist"),
    Case("traffic-unicode-name-missing", "profiles plan @/трафик✓.jsonl", ("трафик✓.jsonl", "does not exist")),
    Case("traffic-count-zero", "profiles plan @/t.jsonl", "count", _write("t.jsonl", '{"x": [1, 4], "count": 0}\n')),
    Case("traffic-count-negative", "profiles plan @/t.jsonl", "count", _write("t.jsonl", '{"x": [1, 4], "count": -2}\n')),
    Case("traffic-count-nan", "profiles plan @/t.jsonl", ("count", "nan"), _write("t.jsonl", '{"x": [1, 4], "count": NaN}\n')),
    Case("traffic-count-overflow", "profiles plan @/t.jsonl", ("count", "inf"), _write("t.jsonl", '{"x": [1, 4], "count": 1e400}\n')),
    Case("traffic-count-true", "profiles plan @/t.jsonl", ("count", "true"), _write("t.jsonl", '{"x": [1, 4], "count": true}\n')),
    Case("traffic-count-string", "profiles plan @/t.jsonl", ("count", "'3'"), _write("t.jsonl", '{"x": [1, 4], "count": "3"}\n')),
    Case("traffic-counts-overflow-sum", "profiles plan @/t.jsonl", "add up", _write("t.jsonl", '{"x": [1, 4], "count": 1e308}\n{"x": [2, 4], "count": 1e308}\n')),
    Case("traffic-rank-changes", "profiles plan @/t.jsonl", "request 2", _write("t.jsonl", '{"x": [1, 4]}\n{"x": [1, 4, 4]}\n')),
    Case("traffic-inputs-differ", "profiles plan @/t.jsonl", ("request 2", "differ"), _write("t.jsonl", '{"x": [1, 4]}\n{"y": [1, 4]}\n')),
    Case("traffic-line-not-object", "profiles plan @/t.jsonl", "expected an object", _write("t.jsonl", "[1, 4]\n")),
    Case("traffic-truncated-line", "profiles plan @/t.jsonl", ":1 is not a JSON object", _write("t.jsonl", '{"x": [1,')),
    Case("traffic-deep-nesting", "profiles plan @/t.json", "not valid JSON", _write("t.json", "[" * 100_000 + "]" * 100_000)),
    Case("traffic-json-not-list", "profiles plan @/t.json", "expected a list", _write("t.json", '{"a": 1}')),
    Case("traffic-csv-ragged", "profiles plan @/t.csv", "number of fields", _write("t.csv", "x\n1x4,7\n")),
    Case("traffic-csv-1e20", "profiles plan @/t.csv", "cannot read shape", _write("t.csv", "x\n1x1e20\n")),
    Case("traffic-csv-count-nan", "profiles plan @/t.csv", "count", _write("t.csv", "x,count\n1x4,nan\n")),
    Case("traffic-csv-unicode-digits", "profiles plan @/t.csv", "cannot read shape", _write("t.csv", "x\n١x٤\n")),
    Case("traffic-symlink-loop", "profiles plan @/loop.jsonl", "does not exist", lambda bad: (bad / "loop.jsonl").symlink_to(bad / "loop.jsonl")),
    Case("profiles-k-zero", "profiles plan traffic.jsonl -k 0", "-k"),
    Case("profiles-k-negative", "profiles plan traffic.jsonl -k -3", "-k"),
    Case("profiles-cost-unknown", "profiles plan traffic.jsonl --cost cheapest", "cheapest"),
    Case("profiles-input-unknown", "profiles plan traffic.jsonl --input nope", "'nope'"),
    Case("profiles-model-garbage", "profiles plan traffic.jsonl --model @/g.onnx", "not a readable ONNX model", _binary("g.onnx")),
    Case("profiles-model-empty", "profiles plan traffic.jsonl --model @/e.onnx", "is empty", _write("e.onnx", b"")),
    Case("profiles-model-folder", "profiles plan traffic.jsonl --model @/d.onnx", "is a folder", _folder("d.onnx")),
    Case("profiles-model-truncated", "profiles plan traffic.jsonl --model @/t.onnx", "not a readable ONNX model", _truncated("t.onnx")),
    Case("profiles-o-existing-folder", "profiles plan traffic.jsonl -o out", "out is an existing folder"),
    Case("profiles-o-parent-is-file", "profiles plan traffic.jsonl -o good.onnx/p.json", "good.onnx is a file"),
    Case("profiles-o-deep-parent-is-file", "profiles plan traffic.jsonl -o good.onnx/a/b/p.json", "good.onnx is a file"),
    # --- ONNX models where they enter (simplify, rewrite, check, compare) --------------------
    Case("simplify-garbage", "simplify @/g.onnx -o @/o.onnx", "not a readable ONNX model", _binary("g.onnx")),
    Case("simplify-empty", "simplify @/e.onnx -o @/o.onnx", "is empty", _write("e.onnx", b"")),
    Case("simplify-folder", "simplify @ -o @/o.onnx", "is a folder"),
    Case("simplify-missing", "simplify @/none/m.onnx -o @/o.onnx", ("no such file", "does not exist either")),
    Case("simplify-truncated", "simplify @/t.onnx -o @/o.onnx", "not a readable ONNX model", _truncated("t.onnx")),
    Case("simplify-text-file", "simplify @/m.onnx -o @/o.onnx", "ONNX", _write("m.onnx", "hello, this is not a model\n")),
    Case("simplify-opset-99", "simplify @/m.onnx -o @/o.onnx", ("opset 99", "newest opset"), _model("m.onnx", _linear(opset=99))),
    Case("simplify-checker-unknown-op", "simplify @/m.onnx -o @/o.onnx", ("onnx.checker says", "Frobnicate"), _model("m.onnx", _linear(op="Frobnicate"))),
    Case("simplify-checker-ir-99", "simplify @/m.onnx -o @/o.onnx", ("onnx.checker says", "ir_version"), _model("m.onnx", _linear(ir=99))),
    Case("simplify-ext-escapes", "simplify @/m/model.onnx -o @/o.onnx", ("outside the model's", "../outside.bin"), _ext("escape")),
    Case("simplify-ext-absolute", "simplify @/m/model.onnx -o @/o.onnx", "outside the model's", _ext("absolute")),
    Case("simplify-ext-missing", "simplify @/m/model.onnx -o @/o.onnx", "does not exist", _ext("missing")),
    Case("simplify-ext-shorter-than-declared", "simplify @/m/model.onnx -o @/o.onnx", ("holds 40 bytes", "truncated"), _ext("short")),
    Case("simplify-ext-symlink-escapes", "simplify @/m/model.onnx -o @/o.onnx", "outside the model's", _ext("symlink")),
    Case("simplify-o-existing-folder", "simplify good.onnx -o out", "out is an existing folder"),
    Case("simplify-o-parent-is-file", "simplify good.onnx -o out/simple.onnx/x.onnx", "is a file"),
    Case("simplify-o-is-input-folder", "simplify good.onnx -o .", "existing folder"),
    Case("rewrite-garbage", "rewrite @/g.onnx -o @/o.onnx", "not a readable ONNX model", _binary("g.onnx")),
    Case("rewrite-ext-shorter-than-declared", "rewrite @/m/model.onnx -o @/o.onnx", "truncated", _ext("short")),
    Case("rewrite-o-existing-folder", "rewrite good.onnx -o out", "existing folder"),
    Case("rewrite-unknown-plugin", "rewrite good.onnx -o @/o.onnx --plugin NoSuchOp", "NoSuchOp"),
    Case("check-garbage", "check @/g.onnx", "not a readable ONNX model", _binary("g.onnx")),
    Case("check-checker-unknown-op", "check @/m.onnx", "onnx.checker says", _model("m.onnx", _linear(op="Frobnicate"))),
    Case("check-opset-99", "check @/m.onnx", "opset 99", _model("m.onnx", _linear(opset=99))),
    Case("check-ext-escapes", "check @/m/model.onnx", "outside the model's", _ext("escape")),
    Case("check-unknown-trt", "check good.onnx --trt 9.9", "9.9"),
    Case("compare-garbage-candidate", "compare good.onnx @/g.onnx", "not a readable ONNX model", _binary("g.onnx")),
    Case("compare-reference-not-factory", "compare nonsense good.onnx", "MODULE:FACTORY"),
    # --- export: factories, torch failures, --dynamic, -o -------------------------------------
    Case("export-factory-sys-exit-message", "export @/factory.py:make -o @/m.onnx", ("sys.exit", "need a GPU"), _factory("def make():\n    sys.exit('need a GPU')\n"), torch=True),
    Case("export-factory-sys-exit-0", "export @/factory.py:make -o @/m.onnx", "sys.exit(0)", _factory("def make():\n    raise SystemExit(0)\n"), torch=True),
    Case("export-module-exits-on-import", "export @/factory.py:make -o @/m.onnx", ("importing", "sys.exit(3)"), _factory("sys.exit(3)\n"), torch=True),
    Case("export-factory-wrong-return", "export @/factory.py:make -o @/m.onnx", "must return", _factory("def make():\n    return 42\n"), torch=True),
    Case("export-torch-fails", "export @/factory.py:make -o @/m.onnx", ("torch.export", "data-dependent", "factory.py, line", "exportdb", "Full log"), _factory(DATA_DEP + "\ndef make():\n    return M(), (torch.randn(2, 3))\n"), torch=True),
    Case("export-dynamic-made-static", "export @/factory.py:make -o @/m.onnx --dynamic x:-1=b", ("x:1=b", "static (4)", "Nothing was written"), _factory(STATIC_LAST), torch=True),
    Case("export-dynamic-syntax", "export @/factory.py:make -o @/m.onnx --dynamic x=0", "INPUT:AXIS=LABEL", _factory(STATIC_LAST), torch=True),
    Case("export-dynamic-axis-out-of-range", "export @/factory.py:make -o @/m.onnx --dynamic x:5=b", "rank 2", _factory(STATIC_LAST), torch=True),
    Case("export-dynamic-two-labels", "export @/factory.py:make -o @/m.onnx --dynamic x:0=a --dynamic x:-2=b", "already labelled", _factory(STATIC_LAST), torch=True),
    Case("export-dynamic-unknown-input", "export @/factory.py:make -o @/m.onnx --dynamic y:0=b", "no input 'y'", _factory(STATIC_LAST), torch=True),
    Case("export-opset-99", "export @/factory.py:make -o @/m.onnx --opset 99", "--opset 99", _factory(STATIC_LAST), torch=True),
    Case("export-reference-missing", "export @/nope.py:make -o @/m.onnx", "does not exist", torch=True),
    Case("export-o-existing-folder", "export @/factory.py:make -o out", "existing folder", _factory(STATIC_LAST)),
    Case("export-o-parent-is-file", "export @/factory.py:make -o good.onnx/m.onnx", "is a file", _factory(STATIC_LAST)),
    # --- new ---------------------------------------------------------------------------------
    Case("new-output-is-a-file", "new SoftClip -o good.onnx --no-input", "is a file"),
    Case("new-output-parent-is-file", "new SoftClip -o good.onnx/pkgs --no-input", "good.onnx is a file"),
    Case("new-package-exists", "new SoftClip -o @ --no-input", "already exists", _folder("soft_clip")),
    Case("new-bad-name", "new 1abc -o @ --no-input", "1abc"),
    # --- triton repo --------------------------------------------------------------------------
    Case("repo-garbage-onnx", "triton repo --onnx @/g.onnx --out @/deploy --name m", "not a readable ONNX model", _binary("g.onnx")),
    Case("repo-static-batch", "triton repo --onnx @/s.onnx --out @/deploy --name m", "not dynamic", _model("s.onnx", _linear(batch=2))),
    Case("repo-ext-escapes", "triton repo --onnx @/m/model.onnx --out @/deploy --name m", "outside the model's", _ext("escape")),
    Case("repo-ext-shorter-than-declared", "triton repo --onnx @/m/model.onnx --out @/deploy --name m", "truncated", _ext("short")),
    Case("repo-out-is-a-file", "triton repo --onnx good.onnx --out good.onnx --name m", "not a writable folder"),
    Case("repo-name-escapes", "triton repo --onnx good.onnx --out @/deploy --name ../x", "plain folder name"),
    Case("repo-existing-version", "triton repo --onnx good.onnx --out deploy --name linear --version 1", ("never", "rewritten")),
    Case("repo-manifest-binary", "triton repo --onnx good.onnx --out @/deploy --name m --manifest @/manifest.json", "not valid JSON", _binary("manifest.json")),
    # --- server state, doctor, engine --------------------------------------------------------
    Case("stop-corrupt-state", "triton stop --run-dir @/run", ("corrupt", "delete the file"), _state('{"pid": 1, "http')),
    Case("status-binary-state", "triton status --run-dir @/run", "corrupt", _both(_folder("run"), _binary("run/triton_server.json"))),
    Case("verify-wrong-typed-state", "triton verify --run-dir @/run --model m --inputs x.npz --expected x.npz", ("corrupt", "positive integers"), _state('{"pid": "x", "http_port": 1, "grpc_port": 2, "metrics_port": 3, "repository": "r", "models": [], "log": "l"}')),
    Case("stop-no-state", "triton stop --run-dir @", "no server state"),
    Case("doctor-against-binary", "doctor --against @/manifest.json", "not valid JSON", _binary("manifest.json")),
    Case("doctor-against-folder-of-binary", "doctor --against @", "not valid JSON", _binary("manifest.json")),
    Case("doctor-against-empty", "doctor --against @/manifest.json", "not valid JSON", _write("manifest.json", "")),
    Case("doctor-against-missing", "doctor --against @/none.json", "does not exist"),
    Case("engine-build-without-tensorrt", "engine build good.onnx --profiles out/profiles.json -o @/engines", ("needs TensorRT", "--dry-run")),
    Case("engine-build-profiles-binary", "engine build good.onnx --profiles @/p.json -o @/engines", "not valid JSON", _binary("p.json")),
    Case("engine-build-o-is-a-file", "engine build good.onnx --profiles out/profiles.json -o good.onnx", "is a file"),
    # --- triton verify against the running server ----------------------------------------
    Case("verify-wrong-shape", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx good.onnx", ("shape [2, 7]", "[-1, 4]"), _npz("i.npz", x=np.ones((2, 7), np.float32)), server=True),
    Case("verify-wrong-name", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx good.onnx", ("missing: x", "unknown: q"), _npz("i.npz", q=X_OK), server=True),
    Case("verify-wrong-dtype", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx good.onnx", ("int64", "FP32"), _npz("i.npz", x=np.ones((2, 4), np.int64)), server=True),
    Case("verify-strings", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx good.onnx", "FP32", _npz("i.npz", x=np.array([["a"] * 4] * 2)), server=True),
    Case("verify-batch-too-big", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx good.onnx", "at most 32", _npz("i.npz", x=np.ones((33, 4), np.float32)), server=True),
    Case("verify-garbage-inputs", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx good.onnx", "not a readable .npz", _binary("i.npz"), server=True),
    Case("verify-inputs-folder", "triton verify --run-dir run --model linear --inputs @ --reference-onnx good.onnx", "is a folder", server=True),
    Case("verify-inputs-npy", "triton verify --run-dir run --model linear --inputs @/i.npy --reference-onnx good.onnx", "one unnamed array", lambda bad: np.save(bad / "i.npy", X_OK), server=True),
    Case("verify-empty-npz", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx good.onnx", "holds no array", _npz("i.npz"), server=True),
    Case("verify-garbage-expected", "triton verify --run-dir run --model linear --inputs @/i.npz --expected @/e.npz", ("expected outputs", "not a readable .npz"), _both(_npz("i.npz", x=X_OK), _binary("e.npz")), server=True),
    Case("verify-expected-other-model", "triton verify --run-dir run --model linear --inputs @/i.npz --expected @/e.npz", "returns ['y']", _both(_npz("i.npz", x=X_OK), _npz("e.npz", logits=X_OK)), server=True),
    Case("verify-garbage-reference-onnx", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx @/g.onnx", "not a readable ONNX model", _both(_npz("i.npz", x=X_OK), _binary("g.onnx")), server=True),
    Case("verify-reference-ext-escapes", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx @/m/model.onnx", "outside the model's", _both(_npz("i.npz", x=X_OK), _ext("escape")), server=True),
    Case("verify-reference-other-inputs", "triton verify --run-dir run --model linear --inputs @/i.npz --reference-onnx @/r.onnx", "takes inputs", _both(_npz("i.npz", x=X_OK), _model("r.onnx", onnx.compose.add_prefix(_linear(), "p_"))), server=True),
    Case("verify-model-not-served", "triton verify --run-dir run --model nope --inputs @/i.npz --reference-onnx good.onnx", ("not served", "linear"), _npz("i.npz", x=X_OK), server=True),
]
# fmt: on


# --------------------------------------------------------------------------- running them


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """good.onnx, a traffic log, and good outputs of earlier runs that no bad input may touch."""
    ws = tmp_path_factory.mktemp("hostile")
    onnx.save(_linear(), str(ws / "good.onnx"))
    (ws / T).write_text(
        "".join(json.dumps({"x": [b, 4], "count": c}) + "\n" for b, c in [(1, 9), (2, 5), (8, 1)])
    )
    cwd = Path.cwd()
    os.chdir(ws)
    try:
        for argv in (
            ["simplify", "good.onnx", "-o", "out/simple.onnx"],
            ["profiles", "plan", T, "-k", "1", "-o", "out/profiles.json"],
            ["triton", "repo", "--onnx", "good.onnx", "--out", "deploy", "--name", "linear"],
        ):
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(argv) == 0, argv
    finally:
        os.chdir(cwd)
    (ws / "bad").mkdir()
    return ws


@pytest.fixture(scope="module")
def server(workspace):
    """The real embedded tritonserver serving the workspace's repository (run folder ``run``)."""
    pytest.importorskip("tritonclient.http")
    from trt_pdk.errors import UserError
    from trt_pdk.triton import server as srv

    try:
        srv.find_triton()
    except UserError as exc:
        pytest.skip(f"no embedded Triton: {exc}")
    with srv.TritonServer(workspace / "deploy", workspace / "run") as s:
        yield s


def _snapshot(root: Path, skip: Path | None = None) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under `root`, `skip` left out."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        rel = str(path.relative_to(root))
        if path.is_symlink() or not path.exists():
            out[rel] = b"symlink"
        else:
            out[rel] = None if path.is_dir() else path.read_bytes()
    return out


def _assert_one_paragraph(err: str) -> None:
    assert "Traceback" not in err, err
    assert err.strip(), "nothing on stderr"
    assert "\n\n" not in err.strip(), f"more than one paragraph:\n{err}"
    assert err.count("error:") == 1, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, workspace: Path, request, capsys, monkeypatch):
    # A case that hits a bug writes its report beside the workspace, not in the user's cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(workspace.parent / "cache"))
    if case.server:
        request.getfixturevalue("server")
    if case.torch:
        pytest.importorskip("torch")
    monkeypatch.chdir(workspace)
    bad = workspace / "bad" / case.id
    bad.mkdir()
    if case.setup:
        case.setup(bad)
    runs = workspace / "run"
    before = _snapshot(workspace, skip=workspace / "bad")
    scratch_before = _snapshot(bad)
    capsys.readouterr()
    code = main([a.replace("@", f"bad/{case.id}") for a in shlex.split(case.argv)])
    out, err = capsys.readouterr()
    assert code == case.code, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    _assert_one_paragraph(err)
    for needle in (case.says,) if isinstance(case.says, str) else case.says:
        assert needle in err, err
    after = _snapshot(workspace, skip=workspace / "bad")
    if runs.exists():  # the server's own log grows while it serves; it is not an output of the case
        before = {k: v for k, v in before.items() if not k.startswith("run")}
        after = {k: v for k, v in after.items() if not k.startswith("run")}
    assert after == before, "an earlier good output changed or something was left beside it"
    new = set(_snapshot(bad)) - set(scratch_before)
    assert {n for n in new if not n.endswith(".export.log")} == set(), f"left behind: {sorted(new)}"


def test_the_table_is_large_enough():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


# --------------------------------------------------------------------------- outside the table


@contextlib.contextmanager
def _read_only(folder: Path):
    """`folder` unwritable for this process: chmod as a user, the immutable flag as root."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    proc = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"running as root and `chattr +i` is refused here ({proc.stderr.decode().strip()})")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize(
    "argv",
    [
        ("profiles", "plan", T, "-o", "{ro}/p.json"),
        ("simplify", "good.onnx", "-o", "{ro}/s.onnx"),
        ("rewrite", "good.onnx", "-o", "{ro}/r.onnx"),
        ("export", "nope.py:make", "-o", "{ro}/m.onnx"),
        ("new", "SoftClip", "-o", "{ro}/pkgs", "--no-input"),
        ("triton", "repo", "--onnx", "good.onnx", "--out", "{ro}/deploy", "--name", "m"),
    ],
    ids=["profiles", "simplify", "rewrite", "export", "new", "repo"],
)
def test_output_in_a_read_only_folder(argv, workspace, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(workspace)
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "kept.txt").write_text("earlier output\n")
    with _read_only(ro):
        code = main([a.replace("{ro}", str(ro)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    _assert_one_paragraph(err)
    assert "writable" in err or "permission" in err.lower(), err
    assert sorted(p.name for p in ro.iterdir()) == ["kept.txt"]
    assert (ro / "kept.txt").read_text() == "earlier output\n"


def test_atomic_writes_respect_the_umask(tmp_path):
    from trt_pdk._fs import atomic_directory, write_text_atomic

    old = os.umask(0o027)
    try:
        f = write_text_atomic(tmp_path / "a" / "f.txt", "x")
        with atomic_directory(tmp_path / "d") as d:
            (d / "inner").write_text("y")
    finally:
        os.umask(old)
    assert f.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o750
    old = os.umask(0o022)
    try:
        g = write_text_atomic(tmp_path / "g.txt", "x")
    finally:
        os.umask(old)
    assert g.stat().st_mode & 0o777 == 0o644


def test_model_repository_is_readable_by_others(workspace):
    """A non-root container reads the repository: files 0644, folders 0755 under umask 022."""
    for path in (workspace / "deploy").rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode & 0o444 == 0o444, f"{path} is {oct(mode)}"
        if path.is_dir():
            assert mode & 0o111 == 0o111, f"{path} is {oct(mode)}"


def test_a_bug_exits_1_with_one_line_and_the_traceback_in_a_file(tmp_path, monkeypatch, capsys):
    from trt_pdk.cli import list_cmd

    def broken(_args):
        return {}["missing key"]  # a bug, not a user error

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(list_cmd, "run", broken)
    code = main(["list"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error (a bug in trt-pdk, not in your input): KeyError" in err
    report = Path(err.split("the traceback is in ")[1].split(". Please")[0])
    assert report.parent == tmp_path / "cache" / "trt-pdk" / "crashes"
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "missing key" in text and "trt-pdk list" in text


def test_the_environment_exits_2_and_interrupts_130(monkeypatch, capsys):
    import errno

    from trt_pdk.cli import list_cmd

    def disk_full(_args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/model.onnx")

    monkeypatch.setattr(list_cmd, "run", disk_full)
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    _assert_one_paragraph(err)
    assert "the disk is full on /data/model.onnx" in err

    def interrupted(_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(list_cmd, "run", interrupted)
    assert main(["list"]) == 130
    assert capsys.readouterr().err == "trt-pdk list: interrupted\n"


def test_a_subprocess_run_prints_one_paragraph(cli, tmp_path):
    """The installed entry point follows the same rule as main() in-process."""
    bad = tmp_path / "t.jsonl"
    bad.write_bytes(b"\xff\xfe\x00binary")
    proc = cli("profiles", "plan", str(bad))
    err = proc.stderr.decode()
    assert proc.returncode == 2
    _assert_one_paragraph(err)
    assert "not UTF-8" in err


# --------------------------------------------------------------------------- serving a rewrite


def test_repo_from_rewrite_output_serves(workspace, server, tmp_path, capsys, monkeypatch):
    """export (torch op) -> `trt-pdk rewrite` -> `triton repo --onnx` -> the real tritonserver.

    The rewrite output has bare plugin nodes (TensorRT reads them); the repository gives
    onnxruntime each plugin's ONNX body, so the server loads it and answers like PyTorch.
    """
    torch = pytest.importorskip("torch")
    from trt_pdk.triton.server import load_model

    monkeypatch.chdir(tmp_path)
    reference = f"{MODELS / 'plugin_op.py'}:make"
    assert main(["export", reference, "-o", "plugin.onnx", "--dynamic", "x:0=batch"]) == 0
    assert main(["rewrite", "plugin.onnx", "-o", "rewritten.onnx"]) == 0
    rewritten = onnx.load("rewritten.onnx")
    assert any(n.domain == "trt_pdk" for n in rewritten.graph.node) and not rewritten.functions
    capsys.readouterr()
    repo = ["triton", "repo", "--onnx", "rewritten.onnx", "--out", str(workspace / "deploy")]
    assert main([*repo, "--name", "rewritten"]) == 0
    assert json.loads(capsys.readouterr().out)["functions"] == ["trt_pdk::RMSNorm"]
    load_model(server.state, "rewritten")

    import importlib.util

    spec = importlib.util.spec_from_file_location("plugin_op_reference", MODELS / "plugin_op.py")
    module_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module_file)
    module, _ = module_file.make()
    x = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    with torch.no_grad():
        expected = module.eval()(torch.from_numpy(x)).numpy()
    name = rewritten.graph.output[0].name
    np.savez(tmp_path / "in.npz", x=x)
    np.savez(tmp_path / "expected.npz", **{name: expected})
    run = ["triton", "verify", "--run-dir", str(workspace / "run"), "--model", "rewritten"]
    code = main([*run, "--inputs", "in.npz", "--expected", "expected.npz", "--atol", "1e-5"])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out)
    assert result["passed"] and result["max_abs_err"] < 1e-5


def test_crash_reports_go_to_a_temp_folder_when_the_cache_is_unwritable(tmp_path, monkeypatch):
    from trt_pdk.errors import write_crash_report

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file: no folder can go there
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    try:
        raise ValueError("boom")
    except ValueError as exc:
        path = write_crash_report(exc, ["x"])
    assert path is not None and path.parent == tmp_path / "tmp" / "trt-pdk-crashes"
    assert "ValueError: boom" in path.read_text()


def test_the_crash_folder_keeps_only_the_newest_reports(tmp_path, monkeypatch):
    from trt_pdk.errors import KEEP_CRASH_REPORTS, crash_folder, write_crash_report

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = crash_folder()
    folder.mkdir(parents=True)
    for i in range(KEEP_CRASH_REPORTS + 5):  # older reports, oldest first
        old = folder / f"20200101-0000{i:02d}-x.txt"
        old.write_text("old")
        os.utime(old, (1_600_000_000 + i, 1_600_000_000 + i))
    try:
        raise ValueError("boom")
    except ValueError as exc:
        path = write_crash_report(exc, ["x"])
    left = sorted(p.name for p in folder.glob("*.txt"))
    assert len(left) == KEEP_CRASH_REPORTS and path.name in left
    assert "20200101-000000-x.txt" not in left and f"20200101-0000{KEEP_CRASH_REPORTS + 4:02d}-x.txt" in left


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
