"""Runs graphs holding plugin nodes on CPU with ``onnx.reference.ReferenceEvaluator``,
each plugin node through the op's native C++ CPU reference.

This is the op harness's ``onnx`` check (a one-node graph: does the native reference
behave as an ONNX node?). Whole models (``compare``, ``verify``, engine compare, the
Triton CPU model) run in onnxruntime with the plugins' ONNX bodies instead, through
:mod:`trt_pdk.execution`: one engine for one question.

Each plugin gets a generic ``OpRun`` for its domain that calls the native CPU reference,
so every plugin runs without writing anything per op.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ml_dtypes
import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from trt_pdk.spec import PluginSpec

_NUMPY_NAMES = {
    np.dtype("float32"): "float32",
    np.dtype("float16"): "float16",
    np.dtype(ml_dtypes.bfloat16): "bfloat16",
    np.dtype("int32"): "int32",
    np.dtype("int64"): "int64",
    np.dtype("int8"): "int8",
    np.dtype("uint8"): "uint8",
    np.dtype("bool"): "bool",
}


def to_native(array: np.ndarray) -> tuple[np.ndarray, str]:
    """An ONNX-side array as the native core takes it (bfloat16 travels as uint16)."""
    name = _NUMPY_NAMES[np.dtype(array.dtype)]
    if name == "bfloat16":
        return np.asarray(array, order="C").view(np.uint16), name
    return np.asarray(array, order="C"), name


def from_native(array: np.ndarray, dtype: str) -> np.ndarray:
    return array.view(ml_dtypes.bfloat16) if dtype == "bfloat16" else array


def op_run_class(spec: PluginSpec) -> type[OpRun]:
    """An ``OpRun`` subclass named after the plugin, in the plugin's domain."""
    attr_names = {a.name for a in spec.attrs}

    def _run(self: OpRun, *inputs: np.ndarray, **attributes: Any) -> tuple[np.ndarray, ...]:
        from trt_pdk.native import op_binding

        binding = op_binding(spec)
        attrs = {}
        for name, value in attributes.items():
            if name in attr_names and value is not None:
                attrs[name] = value.decode() if isinstance(value, bytes) else value
        attrs = spec.resolve_attrs(attrs)
        present = list(inputs)
        while present and present[-1] is None:  # absent trailing optional inputs
            present.pop()
        spec.present_inputs(len(present))
        arrays, dtypes = zip(*(to_native(x) for x in present), strict=True)
        outputs = binding.cpu(attrs, list(arrays), list(dtypes))
        out_dtypes = binding.output_dtypes(attrs, list(dtypes))
        return tuple(from_native(o, d) for o, d in zip(outputs, out_dtypes, strict=True))

    return type(spec.name, (OpRun,), {"op_domain": spec.namespace, "_run": _run})


def evaluator(model: onnx.ModelProto, specs: Iterable[PluginSpec]) -> ReferenceEvaluator:
    """A ReferenceEvaluator for `model` that runs the plugin nodes of `specs` natively."""
    return ReferenceEvaluator(model, new_ops=[op_run_class(s) for s in specs])


def run(
    model: onnx.ModelProto, specs: Iterable[PluginSpec], feeds: Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Runs `model` once; bfloat16 inputs/outputs are ``ml_dtypes.bfloat16`` arrays."""
    return list(evaluator(model, specs).run(None, dict(feeds)))
