"""CPU check: run a reference (PyTorch ``MODULE:FACTORY`` or an ``.onnx``) and a candidate
ONNX (e.g. the rewritten one) on generated inputs across the dynamic ranges and report
per-output max abs/rel error against tolerances.

Both ONNX sides run in onnxruntime, plugin nodes through their op's standard-ONNX body
attached as a local function: the same way the Triton CPU model serves them, so
`compare` and serving answer one question with one engine. Plugin nodes are checked
first (:func:`trt_pdk.plugin_nodes.check_plugin_nodes`): an unbuilt ``plugin_version``
or another kit's ``plugin_namespace`` is refused. Inputs come from the bounded generator
(:mod:`trt_pdk.execution.inputs`), errors from the one comparator
(:mod:`trt_pdk.execution.compare`). Nothing is attached to the files.

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

from trt_pdk.errors import UserError
from trt_pdk.execution import (
    DEFAULT_MAX_INPUT_MIB,
    TOLERANCES,
    OnnxRuntimeRunner,
    TorchRunner,
    check_input_bytes,
    compare_outputs,
    dim_symbols,
    random_inputs,
    sweep_points,
)
from trt_pdk.execution.inputs import DEFAULT_RANGE, concrete_shapes
from trt_pdk.onnx_stages import _plugins

__all__ = ["DEFAULT_RANGE", "TOLERANCES", "CompareOnnx", "CompareReport", "parse_dims"]


@dataclass
class CompareReport:
    reference: str
    candidate: str
    points: list[dict[str, Any]] = field(default_factory=list)
    engines: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o["ok"] for p in self.points for o in p["outputs"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "candidate": self.candidate,
            "engines": self.engines,
            "ok": self.ok,
            "notes": self.notes,
            "points": self.points,
        }

    def text(self) -> str:
        lines = [f"{self.candidate} vs {self.reference}: {'OK' if self.ok else 'MISMATCH'}"]
        lines += [f"  note: {n}" for n in self.notes]
        for p in self.points:
            for o in p["outputs"]:
                lines.append(
                    f"  {p['dims']} {o['name']} {o['dtype']}{o['shape']}: max abs {o['max_abs']:.3g}, "
                    f"max rel {o['max_rel']:.3g} (atol {o['atol']:g}, rtol {o['rtol']:g}) "
                    f"{'ok' if o['ok'] else 'FAIL ' + o['reason']}"
                )
        return "\n".join(lines)


class CompareOnnx:
    """The CPU check stage.

    Args:
        reference: ``MODULE:FACTORY`` (the PyTorch model) or a path to an ``.onnx`` file.
        dims: ``{dynamic axis label: (min, max)}``; unlisted labels use (1, 4). Inputs are
            generated at min, middle and max.
        tolerances: ``{dtype: (atol, rtol)}`` overriding :data:`TOLERANCES`.
        specs: ``{name: PluginSpec}``; default: the discovered plugins.
        seed: seed of the generated inputs.
        max_input_mib: refuse before allocating inputs larger than this (``--max-input-mib``).
    """

    def __init__(
        self,
        reference: str,
        *,
        dims: Mapping[str, tuple[int, int]] | None = None,
        tolerances: Mapping[str, tuple[float, float]] | None = None,
        specs: Mapping[str, Any] | None = None,
        seed: int = 0,
        max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
    ) -> None:
        self.reference = reference
        self.dims = dict(dims or {})
        self.tolerances = {**TOLERANCES, **(tolerances or {})}
        self._specs = specs
        self.seed = seed
        self.max_input_mib = max_input_mib

    def __call__(self, candidate: str | os.PathLike[str]) -> CompareReport:
        specs = list((_plugins.discovered_specs() if self._specs is None else dict(self._specs)).values())
        runner = OnnxRuntimeRunner(candidate, specs)
        # Shapes first: a bad --dim or an oversized input is refused before anything is loaded.
        points = sweep_points(dim_symbols(runner.inputs), self.dims)
        dtypes = {t.name: t.dtype for t in runner.inputs}
        for point in reversed(points):  # the largest first: the refusal names the max of the range
            check_input_bytes(concrete_shapes(runner.inputs, dims=point), dtypes, self.max_input_mib)
        is_onnx = self.reference.endswith(".onnx") or Path(self.reference).is_file()
        if is_onnx:
            reference: Any = OnnxRuntimeRunner(self.reference, specs)
        else:
            reference = TorchRunner(self.reference, [t.name for t in runner.inputs], runner.outputs)
        report = CompareReport(
            self.reference,
            str(candidate),
            engines={"reference": reference.engine, "candidate": runner.engine},
            notes=list(runner.notes),
        )
        for i, point in enumerate(points):
            feeds = random_inputs(
                runner.inputs, dims=point, seed=self.seed + i, max_input_mib=self.max_input_mib
            )
            expected = reference(dict(feeds))
            if len(expected) != len(runner.outputs):
                raise UserError(
                    f"the reference has {len(expected)} outputs and {candidate} has {len(runner.outputs)}; "
                    f"compare models of the same interface."
                )
            if is_onnx:  # match ONNX outputs by position: the rewrite keeps names, other tools may not
                expected = dict(zip(runner.outputs, expected.values(), strict=True))
            got = runner(feeds)
            errors = compare_outputs(got, expected, self.tolerances)
            report.points.append(
                {"dims": point, "inputs": _shapes(feeds), "outputs": [e.as_dict() for e in errors]}
            )
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
