"""Large-model benchmark: peak memory of `trt-pdk check`, `rewrite` and `simplify` on a generated
LLM-like model whose weights (default 3 GiB) live in external data, as real exports beyond
protobuf's 2 GB limit do.

    python benchmarks/large_model.py [--gib 3] [--width 4096] [-o result.json]

Prints one JSON object. Each command runs in its own process; its peak resident memory is
its own ``VmHWM`` (the parent's size is not in it). The baseline, measured in the same run, is
``onnx.load`` of the same model (every weight in memory). Target: each stage peaks
under 1 GiB, i.e. well under the weights' size. The generated model is a stack of layers
``h + MatMul(RMSNorm(h) * w, W)``: the RMSNorm subgraph is what the rewrite replaces, the
matrices ``W`` are the weight bytes it never needs to read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TARGET_PEAK_MIB = 1024


def llm_like_onnx(folder: Path, layers: int, width: int) -> Path:
    """Writes ``folder/model.onnx`` + ``model.onnx.data``; weights are streamed, never all in memory.

    Each layer: ``h = h + MatMul(RMSNorm(h) * w_i, W_i)`` with the RMSNorm written in standard
    ops as dynamo exports it (Pow, ReduceMean, Add eps, Sqrt, Reciprocal, Mul). Input
    ``x[batch, seq, width]`` float32.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data_name = "model.onnx.data"
    nodes, initializers = [], []
    consts = [
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array([-1], np.int64), "axes"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "eps"),
    ]
    rng = np.random.default_rng(0)
    offset = 0
    with (folder / data_name).open("wb") as data:
        h = "x"
        for i in range(layers):
            norm_w = numpy_helper.from_array(rng.uniform(0.5, 1.5, width).astype(np.float32), f"norm{i}.w")
            initializers.append(norm_w)
            # The matrix goes to the data file row block by row block: never whole in memory.
            matrix = TensorProto(name=f"layer{i}.W", data_type=TensorProto.FLOAT, dims=[width, width])
            length = width * width * 4
            block = rng.standard_normal((min(width, 256), width)).astype(np.float32) / np.sqrt(width)
            data.seek(offset)
            for _ in range(0, width, block.shape[0]):
                data.write(block.tobytes())
            for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(length))):
                entry = matrix.external_data.add()
                entry.key, entry.value = key, value
            matrix.data_location = TensorProto.EXTERNAL
            initializers.append(matrix)
            offset = -(-(offset + length) // 4096) * 4096
            p = f"l{i}."
            nodes += [
                helper.make_node("Pow", [h, "two"], [p + "sq"]),
                helper.make_node("ReduceMean", [p + "sq", "axes"], [p + "ms"], keepdims=1),
                helper.make_node("Add", [p + "ms", "eps"], [p + "ms_eps"]),
                helper.make_node("Sqrt", [p + "ms_eps"], [p + "rms"]),
                helper.make_node("Reciprocal", [p + "rms"], [p + "inv"]),
                helper.make_node("Mul", [h, p + "inv"], [p + "xn"]),
                helper.make_node("Mul", [p + "xn", f"norm{i}.w"], [p + "normed"]),
                helper.make_node("MatMul", [p + "normed", f"layer{i}.W"], [p + "proj"]),
                helper.make_node("Add", [h, p + "proj"], [p + "out"]),
            ]
            h = p + "out"
    nodes.append(helper.make_node("Identity", [h], ["y"]))
    graph = helper.make_graph(
        nodes,
        "llm_like",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", width])],
        consts + initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


# Runs a module or code, then reports the process image's own peak RSS (VmHWM): unlike the
# kernel's ru_maxrss for a child, it does not include the parent's size inherited at fork.
_MEASURED = """
import runpy, sys
what, target = sys.argv[1], sys.argv[2]
sys.argv = [target, *sys.argv[3:]]
try:
    if what == "module":
        runpy.run_module(target, run_name="__main__")
    else:
        exec(compile(target, "<code>", "exec"), {"__name__": "__main__"})
finally:
    peak = next(x.split()[1] for x in open("/proc/self/status") if x.startswith("VmHWM"))
    sys.stderr.write(f"\\nVmHWM_KIB {peak}\\n")
"""


def peak_of(what: str, target: str, *args: str) -> dict:
    """Runs ``python -m target args`` (what="module") or code; exit code, seconds, peak RSS in MiB."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED, what, target, *args], capture_output=True, text=True, check=False
    )
    lines = proc.stderr.strip().splitlines()
    peak = next((int(x.split()[1]) for x in reversed(lines) if x.startswith("VmHWM_KIB")), -1)
    said = [x for x in lines if x.strip() and not x.startswith("VmHWM_KIB")]
    return {
        "exit": proc.returncode,
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mib": round(peak / 1024, 1),
        "stderr_tail": said[-1:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=3.0, help="weight bytes to generate, GiB")
    parser.add_argument("--width", type=int, default=4096, help="hidden width (one matrix: width^2 floats)")
    parser.add_argument("-o", "--output", help="also write the JSON here")
    parser.add_argument("--keep", help="generate into this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    layers = max(1, round(args.gib * 2**30 / (args.width * args.width * 4)))
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="trt-pdk-large-"))
    try:
        t0 = time.perf_counter()
        model = llm_like_onnx(folder / "in", layers, args.width)
        generated = time.perf_counter() - t0
        weights = (folder / "in" / "model.onnx.data").stat().st_size
        out = folder / "out" / "model.onnx"
        results = {
            "onnx_load_baseline": peak_of("code", f"import onnx; onnx.load({str(model)!r})"),
            "check": peak_of("module", "trt_pdk", "check", str(model), "--json"),
            "rewrite": peak_of("module", "trt_pdk", "rewrite", str(model), "-o", str(out), "--json"),
            "simplify": peak_of(
                "module", "trt_pdk", "simplify", str(model), "-o", str(folder / "simple" / "model.onnx")
            ),
        }
        written = onnx.load(str(out), load_external_data=False)
        replaced = sum(n.op_type == "RMSNorm" for n in written.graph.node)
        onnx.checker.check_model(str(out))  # the output and its data file agree
        stages = ("check", "rewrite", "simplify")
        peaks = [results[k]["peak_rss_mib"] for k in stages]
        report = {
            "weights_gib": round(weights / 2**30, 3),
            "layers": layers,
            "width": args.width,
            "generate_seconds": round(generated, 1),
            **results,
            "rewrite_output": {
                "rms_norm_nodes": replaced,
                "model_bytes": out.stat().st_size,
                "data_file_gib": round((out.parent / "model.onnx.data").stat().st_size / 2**30, 3),
            },
            "peak_vs_onnx_load": {
                k: round(results[k]["peak_rss_mib"] / results["onnx_load_baseline"]["peak_rss_mib"], 3)
                for k in stages
            },
            "target_peak_mib": TARGET_PEAK_MIB,
            "ok": all(results[k]["exit"] in (0, 1) for k in stages)
            and replaced == layers
            and max(peaks) < TARGET_PEAK_MIB,
        }
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
