"""Rewrite-engine benchmark: a synthetic transformer-like graph with RMSNorm and GELU patterns.

Times import (parse), match, replace, cleanup and export (serialize) at 20k and 100k
nodes and prints one JSON object. Target: 100k nodes <= 5 s and <= 6x the 20k time.

    python benchmarks/rewrite.py [--nodes 20000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from trt_pdk.onnx_stages.rewrite import rewrite_model, rules_from_specs

D = 8
NODES_PER_BLOCK = 25


def build(blocks: int) -> onnx.ModelProto:
    """`blocks` pre-norm blocks: RMSNorm, MatMul, bias-GELU(erf), MatMul, residual, and filler ops."""
    nodes: list[onnx.NodeProto] = []
    inits = [
        numpy_helper.from_array(np.array([2.0], np.float32), "two"),
        numpy_helper.from_array(np.array([-1], np.int64), "axes"),
        numpy_helper.from_array(np.array([1e-6], np.float32), "eps"),
        numpy_helper.from_array(np.array([2.0**0.5], np.float32), "sqrt2"),
        numpy_helper.from_array(np.array([1.0], np.float32), "one"),
        numpy_helper.from_array(np.array([0.5], np.float32), "half"),
        numpy_helper.from_array(np.array([0, 0, D], np.int64), "shape3"),
    ]
    x = "x"
    for b in range(blocks):
        p = f"b{b}_"
        w, w1, bias, w2 = p + "w", p + "w1", p + "bias", p + "w2"
        inits += [
            numpy_helper.from_array(np.ones(D, np.float32), w),
            numpy_helper.from_array(np.eye(D, dtype=np.float32), w1),
            numpy_helper.from_array(np.zeros(D, np.float32), bias),
            numpy_helper.from_array(np.eye(D, dtype=np.float32), w2),
        ]

        def n(op: str, ins: list[str], out: str, p: str = p, **attrs: object) -> str:
            nodes.append(helper.make_node(op, ins, [p + out], name=p + out, **attrs))
            return p + out

        # RMSNorm as dynamo exports it (7 nodes)
        sq = n("Pow", [x, "two"], "sq")
        ms = n("ReduceMean", [sq, "axes"], "ms", keepdims=1)
        me = n("Add", [ms, "eps"], "me")
        r = n("Sqrt", [me], "rms")
        inv = n("Reciprocal", [r], "inv")
        xn = n("Mul", [x, inv], "xn")
        y = n("Mul", [xn, w], "normed")
        # filler: attention-like reshapes/softmax (9 nodes)
        t = n("Transpose", [y], "t1", perm=[0, 2, 1])
        t = n("Transpose", [t], "t2", perm=[0, 2, 1])
        t = n("Reshape", [t, "shape3"], "r1")
        t = n("Softmax", [t], "sm", axis=-1)
        t = n("Mul", [t, y], "gate")
        t = n("Add", [t, y], "mix")
        t = n("Relu", [t], "relu")
        t = n("Neg", [t], "neg")
        t = n("Neg", [t], "neg2")
        # MatMul + bias-GELU (erf, dynamo form: 6 nodes) + MatMul + residual (2 nodes)
        h = n("MatMul", [t, w1], "up")
        a = n("Add", [h, bias], "hb")
        s = n("Div", [a, "sqrt2"], "s")
        e = n("Erf", [s], "erf")
        e1 = n("Add", [e, "one"], "e1")
        g = n("Mul", ["half", e1], "g0")
        g = n("Mul", [a, g], "gelu")
        o = n("MatMul", [g, w2], "down")
        x = n("Add", [x, o], "res")
    graph = helper.make_graph(
        nodes,
        "synthetic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", D])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "seq", D])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


def run_once(data: bytes, rules: list) -> dict:
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    model = onnx.ModelProto()
    model.ParseFromString(data)
    t_import = time.perf_counter() - t0
    result = rewrite_model(model, rules)
    t0 = time.perf_counter()
    out = model.SerializeToString()
    t_export = time.perf_counter() - t0
    timings = {
        "import": t_import,
        "match": result.timings["index"] + result.timings["match"],
        "replace": result.timings["replace"],
        "cleanup": result.timings["cleanup"],
        "export": t_export,
    }
    timings["total"] = sum(timings.values())
    timings["cpu_total"] = time.process_time() - cpu0
    return {
        "nodes_before": result.nodes_before,
        "nodes_after": result.nodes_after,
        "replacements": len(result.replacements),
        "bytes_out": len(out),
        "seconds": {k: round(v, 4) for k, v in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5, help="runs per size; the fastest is reported")
    args = parser.parse_args()
    from trt_pdk.registry import discover

    specs = discover()
    # The plugins' own specs: their declared patterns are what is matched.
    chosen = {"RMSNorm": specs["RMSNorm"], "FusedBiasGelu": specs["FusedBiasGelu"]}
    rules = rules_from_specs(chosen)
    models = {target: build(max(1, target // NODES_PER_BLOCK)).SerializeToString() for target in args.nodes}
    runs: dict[int, list[dict]] = {target: [] for target in args.nodes}
    for _ in range(args.repeat):  # sizes interleaved, so load from other jobs hits both alike
        for target, data in models.items():
            runs[target].append(run_once(data, rules))
    results = []
    for target in args.nodes:
        blocks = max(1, target // NODES_PER_BLOCK)
        best = min(runs[target], key=lambda r: r["seconds"]["total"])
        assert best["replacements"] == 2 * blocks, best
        results.append({"target_nodes": target, "blocks": blocks, **best})
    report = {
        "benchmark": "rewrite",
        "patterns": {r.spec.name: len(r.patterns) for r in rules},
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "onnx": onnx.__version__,
        "results": results,
    }
    if len(results) >= 2:
        small, large = results[0]["seconds"]["total"], results[-1]["seconds"]["total"]
        report["ratio_largest_to_smallest"] = round(large / small, 2)
        cpu_small, cpu_large = results[0]["seconds"]["cpu_total"], results[-1]["seconds"]["cpu_total"]
        report["cpu_ratio_largest_to_smallest"] = round(cpu_large / cpu_small, 2)
        report["load_average_1min"] = round(os.getloadavg()[0], 2)
        report["target"] = {
            "largest_total_s_max": 5.0,
            "ratio_max": 6.0,
            "met": large <= 5.0 and large / small <= 6.0,
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
