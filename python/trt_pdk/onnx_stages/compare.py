"""CPU check: run a reference (PyTorch ``MODULE:FACTORY`` or an ``.onnx``) and a candidate
ONNX (e.g. the rewritten one) on generated inputs across the dynamic ranges and report
per-output max abs/rel error against tolerances.

Graphs with plugin nodes run through ``onnx.reference`` with each plugin's native CPU
reference (:mod:`trt_pdk.onnx_cpu`); graphs without them run in onnxruntime when it is
installed. Nothing is attached to the files, so later stages see them unchanged.

Example::

    report = CompareOnnx("tests/models/rms.py:make", dims={"batch": (1, 4)})("rewritten.onnx")
    assert report.ok, report.as_dict()
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from trt_pdk.errors import UserError
from trt_pdk.onnx_stages import _model, _plugins

# Allowed error per output dtype: |a - b| <= atol + rtol * |b|.
TOLERANCES = {
    "float32": (1e-4, 1e-4),
    "float64": (1e-6, 1e-6),
    "float16": (1e-2, 1e-2),
    "bfloat16": (5e-2, 5e-2),
}
DEFAULT_RANGE = (1, 4)


@dataclass
class CompareReport:
    reference: str
    candidate: str
    points: list[dict[str, Any]] = field(default_factory=list)
    engines: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o["ok"] for p in self.points for o in p["outputs"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "candidate": self.candidate,
            "engines": self.engines,
            "ok": self.ok,
            "points": self.points,
        }

    def text(self) -> str:
        lines = [f"{self.candidate} vs {self.reference}: {'OK' if self.ok else 'MISMATCH'}"]
        for p in self.points:
            for o in p["outputs"]:
                lines.append(
                    f"  {p['dims']} {o['name']} {o['dtype']}{o['shape']}: max abs {o['max_abs']:.3g}, "
                    f"max rel {o['max_rel']:.3g} (atol {o['atol']:g}, rtol {o['rtol']:g}) "
                    f"{'ok' if o['ok'] else 'FAIL'}"
                )
        return "\n".join(lines)


def _symbols(model: onnx.ModelProto) -> list[str]:
    out: list[str] = []
    for vi in model.graph.input:
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param and d.dim_param not in out:
                out.append(d.dim_param)
    return out


def _points(symbols: list[str], dims: Mapping[str, tuple[int, int]]) -> list[dict[str, int]]:
    unknown = sorted(set(dims) - set(symbols))
    if unknown:
        raise UserError(
            f"--dim {', '.join(unknown)}: the model has no such dynamic axis; it has {symbols or 'none'}."
        )
    points: list[dict[str, int]] = []
    for t in (0.0, 0.5, 1.0):
        point = {}
        for s in symbols:
            low, high = dims.get(s, DEFAULT_RANGE)
            point[s] = round(low + (high - low) * t)
        if point not in points:
            points.append(point)
    return points or [{}]


def _feeds(model: onnx.ModelProto, point: Mapping[str, int], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        tt = vi.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else point.get(d.dim_param, 1) for d in tt.shape.dim]
        np_type = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)
        if np.issubdtype(np_type, np.floating) or tt.elem_type == onnx.TensorProto.BFLOAT16:
            value = rng.standard_normal(shape).astype(np.float32).astype(np_type)
        elif np_type == np.bool_:
            value = rng.random(shape) < 0.5
        else:
            value = rng.integers(0, 4, size=shape).astype(np_type)
        feeds[vi.name] = value
    return feeds


def _has_plugin_nodes(model: onnx.ModelProto) -> bool:
    return any(n.domain not in ("", "ai.onnx") for n in model.graph.node)


class _OnnxRunner:
    def __init__(self, model: onnx.ModelProto, specs: Mapping[str, Any]) -> None:
        self.model = model
        if _has_plugin_nodes(model):
            from trt_pdk import onnx_cpu

            used = {(n.domain, n.op_type) for n in model.graph.node}
            chosen = [s for s in specs.values() if (s.namespace, s.name) in used]
            missing = sorted(
                f"{d}::{t}"
                for d, t in used
                if d not in ("", "ai.onnx") and (d, t) not in {(s.namespace, s.name) for s in chosen}
            )
            if missing:
                raise UserError(
                    f"the model has nodes of unknown plugins {missing}: no discovered plugin provides "
                    f"them, so they cannot run on CPU. Install the package that provides them."
                )
            self.engine = "onnx.reference + native CPU references"
            self._evaluator = onnx_cpu.evaluator(model, chosen)
            self._run = lambda feeds: list(self._evaluator.run(None, feeds))
        else:
            try:
                import onnxruntime as ort
            except ImportError:
                from onnx.reference import ReferenceEvaluator

                self.engine = "onnx.reference"
                evaluator = ReferenceEvaluator(model)
                self._run = lambda feeds: list(evaluator.run(None, feeds))
            else:
                self.engine = f"onnxruntime {ort.__version__}"
                options = ort.SessionOptions()
                options.log_severity_level = 3
                session = ort.InferenceSession(
                    model.SerializeToString(), options, providers=["CPUExecutionProvider"]
                )
                self._run = lambda feeds: session.run(None, feeds)

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(x) for x in self._run(feeds)]


class _TorchRunner:
    def __init__(self, reference: str) -> None:
        import torch

        from trt_pdk.onnx_stages.export import module_from_factory

        self.module, self.example = module_from_factory(reference)
        self.engine = f"torch {torch.__version__}"

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(v)) for v in feeds.values()]
        with torch.no_grad():
            out = self.module(*args)
        flat = list(out) if isinstance(out, list | tuple) else [out]
        return [o.detach().float().numpy() if o.dtype == torch.bfloat16 else o.detach().numpy() for o in flat]


def _error(ref: np.ndarray, got: np.ndarray, atol: float, rtol: float) -> tuple[float, float, bool]:
    if ref.shape != got.shape:
        return float("inf"), float("inf"), False
    if ref.size == 0:
        return 0.0, 0.0, True
    r = ref.astype(np.float64)
    g = got.astype(np.float64)
    diff = np.abs(r - g)
    both_nan = np.isnan(r) & np.isnan(g)
    diff = np.where(both_nan, 0.0, diff)
    rel = diff / np.maximum(np.abs(r), 1e-12)
    ok = bool(np.all(diff <= atol + rtol * np.abs(r)))
    return float(np.nanmax(diff)), float(np.nanmax(rel)), ok


class CompareOnnx:
    """The CPU check stage.

    Args:
        reference: ``MODULE:FACTORY`` (the PyTorch model) or a path to an ``.onnx`` file.
        dims: ``{dynamic axis label: (min, max)}``; unlisted labels use (1, 4). Inputs are
            generated at min, middle and max.
        tolerances: ``{dtype: (atol, rtol)}`` overriding :data:`TOLERANCES`.
        specs: ``{name: PluginSpec}``; default: the discovered plugins.
        seed: seed of the generated inputs.
    """

    def __init__(
        self,
        reference: str,
        *,
        dims: Mapping[str, tuple[int, int]] | None = None,
        tolerances: Mapping[str, tuple[float, float]] | None = None,
        specs: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.reference = reference
        self.dims = dict(dims or {})
        self.tolerances = {**TOLERANCES, **(tolerances or {})}
        self._specs = specs
        self.seed = seed

    def __call__(self, candidate: str | os.PathLike[str]) -> CompareReport:
        specs = _plugins.discovered_specs() if self._specs is None else dict(self._specs)
        cand_model = _model.load_onnx(candidate)
        is_onnx = self.reference.endswith(".onnx") or Path(self.reference).is_file()
        if is_onnx:
            reference: Any = _OnnxRunner(_model.load_onnx(self.reference), specs)
        else:
            reference = _TorchRunner(self.reference)
        runner = _OnnxRunner(cand_model, specs)
        report = CompareReport(
            self.reference,
            str(candidate),
            engines={"reference": reference.engine, "candidate": runner.engine},
        )
        names = [o.name for o in cand_model.graph.output]
        for i, point in enumerate(_points(_symbols(cand_model), self.dims)):
            feeds = _feeds(cand_model, point, self.seed + i)
            try:
                expected = reference(dict(feeds))
            except Exception as exc:
                raise UserError(
                    f"the reference failed on inputs {_shapes(feeds)}: {type(exc).__name__}: "
                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                ) from None
            got = runner(dict(feeds))
            if len(expected) != len(got):
                raise UserError(
                    f"the reference has {len(expected)} outputs and {candidate} has {len(got)}; compare "
                    f"models of the same interface."
                )
            outputs = []
            for name, ref, out in zip(names, expected, got, strict=True):
                dtype = str(out.dtype)
                atol, rtol = self.tolerances.get(dtype, (0.0, 0.0))
                max_abs, max_rel, ok = _error(np.asarray(ref), out, atol, rtol)
                outputs.append(
                    {
                        "name": name,
                        "dtype": dtype,
                        "shape": list(out.shape),
                        "max_abs": max_abs,
                        "max_rel": max_rel,
                        "atol": atol,
                        "rtol": rtol,
                        "ok": ok,
                    }
                )
            report.points.append({"dims": point, "inputs": _shapes(feeds), "outputs": outputs})
        return report


def _shapes(feeds: Mapping[str, np.ndarray]) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in feeds.items()}


def parse_dims(items: list[str]) -> dict[str, tuple[int, int]]:
    """``["batch=1:8", "seq=4"]`` to ``{"batch": (1, 8), "seq": (4, 4)}``."""
    out = {}
    for item in items:
        label, _, rng = item.partition("=")
        low, _, high = rng.partition(":")
        try:
            lo, hi = int(low), int(high or low)
        except ValueError:
            raise UserError(f"--dim {item!r}: write LABEL=MIN:MAX, e.g. batch=1:8.") from None
        if not 0 <= lo <= hi:
            raise UserError(f"--dim {item!r}: need 0 <= MIN <= MAX.")
        out[label] = (lo, hi)
    return out
