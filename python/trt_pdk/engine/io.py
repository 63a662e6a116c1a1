"""What an engine exposes: ``engine_io.json``, written by the engine stage beside each ``model.plan``.

One definition, shared by the engine stage (writer) and the Triton repository stage
(reader). No TensorRT needed: the engine stage fills it from the parsed network, and in a
dry run from the ONNX graph (:func:`engine_io_from_onnx`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError

ENGINE_IO = "engine_io.json"

# Planned profiles as ``load_profiles`` returns them: [{input: {"min", "opt", "max"}}].
PlannedProfiles = Sequence[Mapping[str, Mapping[str, Sequence[int]]]]


@dataclass(frozen=True)
class Profile:
    """One optimization profile's shape range for one input (full shapes, batch dim first)."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]


@dataclass(frozen=True)
class EngineInput:
    name: str
    dtype: str
    profiles: tuple[Profile, ...]


@dataclass(frozen=True)
class EngineOutput:
    name: str
    dtype: str
    shape: tuple[int, ...]  # -1 for dynamic dims, batch dim first


@dataclass(frozen=True)
class EngineIO:
    """What a serialized engine exposes, as the engine stage records it beside ``model.plan``.

    File ``engine_io.json`` (see :meth:`from_json`)::

        {"inputs":  [{"name": "x", "dtype": "float32",
                      "profiles": [{"min": [1, 256], "opt": [8, 256], "max": [32, 256]}]}],
         "outputs": [{"name": "y", "dtype": "float32", "shape": [-1, 256]}],
         "tensorrt_version": "10.5.0"}                 # optional

    Every input lists the same number of profiles, in profile-index order. Shapes include
    the batch dimension first (explicit-batch engines, as built from ONNX). Dtypes are
    numpy names (``float32``, ``float16``, ``bfloat16``, ``int64``, ``bool``, ...).
    """

    inputs: tuple[EngineInput, ...]
    outputs: tuple[EngineOutput, ...]
    tensorrt_version: str | None = None

    FILE_NAME = ENGINE_IO

    @property
    def num_profiles(self) -> int:
        return len(self.inputs[0].profiles) if self.inputs else 0

    @classmethod
    def from_planned(
        cls,
        inputs: Sequence[tuple[str, str, Sequence[int | None]]],
        outputs: Sequence[tuple[str, str, Sequence[int | None]]],
        profiles: PlannedProfiles,
        tensorrt_version: str | None = None,
        source: str = "engine description",
    ) -> EngineIO:
        """From ``(name, dtype, dims)`` of the network's tensors (None or -1: dynamic) and the profiles.

        An input a profile does not name keeps its static dims in that profile; with no
        profiles at all (a static network) every input gets one profile of its dims.
        """
        ins = []
        for name, dtype, dims in inputs:
            fixed = [-1 if d is None else int(d) for d in dims]
            ranges = []
            for k, prof in enumerate(profiles or [{}]):
                if name in prof:
                    rng = prof[name]
                    ranges.append(
                        Profile(*(tuple(int(d) for d in rng[key]) for key in ("min", "opt", "max")))
                    )
                elif all(d >= 0 for d in fixed):
                    ranges.append(Profile(tuple(fixed), tuple(fixed), tuple(fixed)))
                else:
                    raise UserError(
                        f"{source}: profile {k} has no shapes for the dynamic input {name!r} (dims {fixed}); "
                        "every profile needs min/opt/max for each dynamic input."
                    )
            ins.append(EngineInput(str(name), str(dtype), tuple(ranges)))
        outs = tuple(
            EngineOutput(str(name), str(dtype), tuple(-1 if d is None else int(d) for d in shape))
            for name, dtype, shape in outputs
        )
        io = cls(tuple(ins), outs, tensorrt_version)
        io.check(source)
        return io

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "engine description") -> EngineIO:
        try:
            inputs = tuple(
                EngineInput(
                    name=str(i["name"]),
                    dtype=str(i["dtype"]),
                    profiles=tuple(
                        Profile(tuple(p["min"]), tuple(p["opt"]), tuple(p["max"])) for p in i["profiles"]
                    ),
                )
                for i in data["inputs"]
            )
            outputs = tuple(
                EngineOutput(name=str(o["name"]), dtype=str(o["dtype"]), shape=tuple(o["shape"]))
                for o in data["outputs"]
            )
        except (KeyError, TypeError) as exc:
            raise UserError(
                f"{source} is not an engine I/O description: missing or malformed {exc}. Expected "
                '{"inputs": [{"name", "dtype", "profiles": [{"min", "opt", "max"}]}], '
                '"outputs": [{"name", "dtype", "shape"}]}.'
            ) from exc
        io = cls(inputs, outputs, data.get("tensorrt_version"))
        io.check(source)
        return io

    @classmethod
    def from_json(cls, path: str | Path) -> EngineIO:
        path = Path(path)
        if not path.is_file():
            raise UserError(
                f"engine I/O description {path} does not exist. The engine stage writes "
                f"{cls.FILE_NAME} beside model.plan; pass it with --engine-io."
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}.") from exc
        return cls.from_dict(data, str(path))

    def to_dict(self) -> dict[str, Any]:
        """The ``engine_io.json`` content (``tensorrt_version`` only when known)."""
        return {
            "inputs": [
                {
                    "name": i.name,
                    "dtype": i.dtype,
                    "profiles": [
                        {"min": list(p.min), "opt": list(p.opt), "max": list(p.max)} for p in i.profiles
                    ],
                }
                for i in self.inputs
            ],
            "outputs": [{"name": o.name, "dtype": o.dtype, "shape": list(o.shape)} for o in self.outputs],
            **({"tensorrt_version": self.tensorrt_version} if self.tensorrt_version else {}),
        }

    def write_json(self, path: str | Path) -> Path:
        """Writes :meth:`to_dict` to `path` atomically; returns the path."""
        return write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def check(self, source: str = "engine description") -> None:
        if not self.inputs or not self.outputs:
            raise UserError(f"{source}: an engine needs at least one input and one output.")
        counts = {len(i.profiles) for i in self.inputs}
        if len(counts) != 1 or 0 in counts:
            raise UserError(
                f"{source}: every input must list the same, non-zero number of profiles (got "
                + ", ".join(f"{i.name}: {len(i.profiles)}" for i in self.inputs)
                + ")."
            )
        for inp in self.inputs:
            for k, p in enumerate(inp.profiles):
                if not len(p.min) == len(p.opt) == len(p.max):
                    raise UserError(f"{source}: input {inp.name!r} profile {k}: min/opt/max ranks differ.")
                if any(not (a <= b <= c) for a, b, c in zip(p.min, p.opt, p.max, strict=False)):
                    raise UserError(
                        f"{source}: input {inp.name!r} profile {k}: need min <= opt <= max per dim, got "
                        f"min={list(p.min)} opt={list(p.opt)} max={list(p.max)}."
                    )

    def batch_range(self) -> tuple[int, int]:
        """(largest min, smallest max) of the batch dim over every input and profile."""
        lo = max(p.min[0] for i in self.inputs for p in i.profiles)
        hi = min(p.max[0] for i in self.inputs for p in i.profiles)
        return lo, hi

    def preferred_batch_sizes(self, max_batch_size: int) -> list[int]:
        """The profiles' opt and max batch sizes that fit ``max_batch_size``: where engines run best."""
        sizes = {p.opt[0] for i in self.inputs for p in i.profiles}
        sizes |= {p.max[0] for i in self.inputs for p in i.profiles}
        return sorted(s for s in sizes if 1 <= s <= max_batch_size)


def _onnx_tensors(values: Any, skip: set[str]) -> list[tuple[str, str | None, list[int] | None]]:
    from onnx import helper

    out = []
    for vi in values:
        if vi.name in skip:
            continue
        t = vi.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(t.elem_type).name if t.elem_type else None
        dims = (
            [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in t.shape.dim]
            if t.HasField("shape")
            else None
        )
        out.append((vi.name, dtype, dims))
    return out


def engine_io_from_onnx(
    model: Any, profiles: PlannedProfiles, tensorrt_version: str | None = None, source: str = "the model"
) -> EngineIO:
    """The I/O an engine of `model` will expose, from the ONNX graph and the planned profiles.

    For when TensorRT is absent (``engine build --dry-run``): input dtypes and ranks come
    from the graph, output dtypes and shapes from ONNX shape inference (with the schemas of
    every discovered plugin registered, so plugin outputs are inferred by their shape
    rules). TensorRT keeps the graph's I/O types in the engines we build (strongly typed;
    the fp16 graph keeps float32 I/O), so this matches what the engine would report.

    Raises:
        UserError: an output's dtype or rank cannot be inferred.
    """
    import onnx

    try:
        from trt_pdk.onnx_export import register_schema
        from trt_pdk.registry import discover

        for spec in discover().values():
            register_schema(spec)
    except Exception:  # no plugin specs here: plugin outputs must carry types in the graph
        pass
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:
        inferred = model
    inits = {i.name for i in model.graph.initializer}
    inputs = _onnx_tensors(model.graph.input, inits)
    outputs = _onnx_tensors(inferred.graph.output, set())
    for kind, tensors in (("input", inputs), ("output", outputs)):
        for name, dtype, dims in tensors:
            if dtype is None or dims is None:
                raise UserError(
                    f"{source}: ONNX shape inference cannot tell the {'dtype' if dtype is None else 'rank'} "
                    f"of {kind} {name!r}, so its engine_io.json cannot be written without TensorRT. "
                    "Declare the graph's output types and shapes (re-export), or build the engine."
                )
    return EngineIO.from_planned(inputs, outputs, profiles, tensorrt_version, source)  # type: ignore[arg-type]
