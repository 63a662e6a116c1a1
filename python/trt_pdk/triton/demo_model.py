"""A small standard-op MLP ONNX model for serving tests and benchmarks.

``x [batch, width] -> (MatMul + Add + Relu) x layers -> y [batch, width]``. Its weights
(``hidden x hidden`` floats per layer) dominate a batch-1 run, so one run over a batch
of 16 costs little more than one over a batch of 1: the shape of model where Triton's
dynamic batching pays off on a CPU, like the demo MLP with RMSNorm/GELU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# onnxruntime 1.31 rejects onnx.helper.make_model's default IR version.
IR_VERSION = 10
OPSET = 18


def mlp_onnx(
    path: str | Path,
    width: int = 256,
    *,
    hidden: int = 2048,
    layers: int = 3,
    seed: int = 0,
    input_name: str = "x",
    output_name: str = "y",
) -> Path:
    """Writes the MLP to ``path`` and returns it. Same seed, same weights."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    sizes = [width] + [hidden] * (layers - 1) + [width]
    nodes, inits = [], []
    prev = input_name
    for k in range(layers):
        w = (rng.standard_normal((sizes[k], sizes[k + 1])) / np.sqrt(sizes[k])).astype(np.float32)
        b = (0.01 * rng.standard_normal(sizes[k + 1])).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        last = k == layers - 1
        nodes.append(helper.make_node("MatMul", [prev, f"w{k}"], [f"mm{k}"]))
        nodes.append(helper.make_node("Add", [f"mm{k}", f"b{k}"], [output_name if last else f"add{k}"]))
        if not last:
            nodes.append(helper.make_node("Relu", [f"add{k}"], [f"act{k}"]))
            prev = f"act{k}"
    graph = helper.make_graph(
        nodes,
        "trt_pdk_mlp",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", width])],
        inits,
    )
    return _save_checked(graph, path)


def token_mlp_onnx(
    path: str | Path,
    width: int = 768,
    *,
    hidden: int = 3072,
    mix_over_seq: bool = False,
    seed: int = 0,
) -> Path:
    """A transformer-style FFN applied per token: ``x [batch, seq, width] -> y [batch, seq, width]``.

    ``y = x + relu(x @ W_up + b) @ W_down`` row by row, so padding ``seq`` leaves the rows
    of the real tokens unchanged. With ``mix_over_seq`` the hidden activations are centred
    over ``seq`` first (as a normalization over the sequence would): padding changes them.
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w_up = (rng.standard_normal((width, hidden)) / np.sqrt(width)).astype(np.float32)
    b_up = (0.01 * rng.standard_normal(hidden)).astype(np.float32)
    w_down = (rng.standard_normal((hidden, width)) / np.sqrt(hidden)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w_up, "w_up"), (b_up, "b_up"), (w_down, "w_down"))]
    nodes = [
        helper.make_node("MatMul", ["x", "w_up"], ["up"]),
        helper.make_node("Add", ["up", "b_up"], ["pre"]),
    ]
    if mix_over_seq:
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "seq_axis"))
        nodes += [
            helper.make_node("ReduceMean", ["pre", "seq_axis"], ["mean"], keepdims=1),
            helper.make_node("Sub", ["pre", "mean"], ["centred"]),
            helper.make_node("Relu", ["centred"], ["act"]),
        ]
    else:
        nodes.append(helper.make_node("Relu", ["pre"], ["act"]))
    nodes += [
        helper.make_node("MatMul", ["act", "w_down"], ["down"]),
        helper.make_node("Add", ["x", "down"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "trt_pdk_token_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", width])],
        inits,
    )
    return _save_checked(graph, path)


def _save_checked(graph, path: str | Path) -> Path:
    """`graph` as a checked model at our opset and IR version, written to `path`."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def run_onnx(path: str | Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Runs an ONNX model on the CPU with onnxruntime (through the execution layer)."""
    from trt_pdk.execution import OnnxRuntimeRunner

    return OnnxRuntimeRunner(path)(feeds)
