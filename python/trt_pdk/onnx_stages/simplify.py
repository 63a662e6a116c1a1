"""Simplify: constant folding, Identity/Dropout removal, dead branches, via onnxslim.

Plugin nodes (any non-standard domain) keep their inputs, outputs and attributes: the
stage compares them before and after and fails loudly if the library touched them.

Example::

    result = SimplifyOnnx().run("model.onnx", "simple.onnx")
    print(result.nodes_before, "->", result.nodes_after)
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import onnx

from trt_pdk.errors import UserError
from trt_pdk.onnx_stages import _model


@dataclass
class SimplifyResult:
    model: onnx.ModelProto
    nodes_before: int
    nodes_after: int
    bytes_before: int
    bytes_after: int
    ops_before: dict[str, int] = field(default_factory=dict)
    ops_after: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        removed = Counter(self.ops_before)
        removed.subtract(self.ops_after)
        return {
            "nodes_before": self.nodes_before,
            "nodes_after": self.nodes_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "ops_removed": {k: v for k, v in sorted(removed.items()) if v > 0},
            "ops_added": {k: -v for k, v in sorted(removed.items()) if v < 0},
            "seconds": round(self.seconds, 3),
            "tool": "onnxslim",
        }


def _plugin_signature(model: onnx.ModelProto) -> dict[str, bytes]:
    """Plugin nodes keyed by their first output: their serialized inputs/attributes."""
    out = {}
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") and node.output:
            key = onnx.NodeProto()
            key.op_type, key.domain = node.op_type, node.domain
            key.attribute.extend(sorted(node.attribute, key=lambda a: a.name))
            out[node.output[0]] = key.SerializeToString(deterministic=True)
    return out


def _ops(model: onnx.ModelProto) -> dict[str, int]:
    return dict(Counter(n.op_type for n in model.graph.node))


class SimplifyOnnx:
    """The simplify stage (onnxslim: constant folding, Identity/Dropout removal, dead code).

    Args:
        shape_inference: run onnxslim's shape inference between passes (default True).
    """

    def __init__(self, shape_inference: bool = True) -> None:
        self.shape_inference = shape_inference

    def __call__(self, model: onnx.ModelProto) -> SimplifyResult:
        try:
            import onnxslim
        except ImportError as exc:
            raise UserError(
                f"`trt-pdk simplify` needs onnxslim ({exc}); install it with `pip install onnxslim`."
            ) from None
        t0 = time.perf_counter()
        before_sig = _plugin_signature(model)
        work = onnx.ModelProto()
        work.CopyFrom(model)
        # onnxslim logs and prints; keep stdout clean for --json.
        with contextlib.redirect_stdout(sys.stderr), _quiet("onnxslim"):
            slimmed = onnxslim.slim(work, no_shape_infer=not self.shape_inference)
        if slimmed is None:
            raise RuntimeError("onnxslim returned no model")
        after_sig = _plugin_signature(slimmed)
        changed = [k for k, v in before_sig.items() if after_sig.get(k, v) != v]
        if changed or len(after_sig) != len(before_sig):
            raise RuntimeError(
                f"onnxslim changed or removed plugin nodes {changed[:5]}; this is a trt-pdk bug"
            )
        _restore_ir_version(model, slimmed)
        return SimplifyResult(
            slimmed,
            len(model.graph.node),
            len(slimmed.graph.node),
            model.ByteSize(),
            slimmed.ByteSize(),
            _ops(model),
            _ops(slimmed),
            time.perf_counter() - t0,
        )

    def run(self, src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> SimplifyResult:
        """Reads `src`, simplifies it and writes `dst` atomically.

        Weights above 1 MiB kept in external data stay on disk and stream into ``dst``'s own
        data file (a model beyond 2 GB fits in memory as its graph); onnxslim then leaves
        expressions of those weights (a constant Transpose of a matrix) to TensorRT's folding.
        """
        result = self(_model.load_onnx(src, keep_external_above=_model.LOAD_AT_MOST))
        _model.save_onnx(result.model, dst)
        return result


def _restore_ir_version(original: onnx.ModelProto, slimmed: onnx.ModelProto) -> None:
    slimmed.ir_version = min(slimmed.ir_version, max(original.ir_version, _model.IR_VERSION))


@contextlib.contextmanager
def _quiet(name: str):
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
