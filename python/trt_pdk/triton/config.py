"""Triton ``config.pbtxt``: built, parsed and checked with Triton's own protobuf schema.

Configs are :class:`ModelConfig` messages from ``tritonclient.grpc.model_config_pb2``
(the schema the server itself parses), so a field Triton does not know is a parse error
here, with its line and column, before any server sees the file. Our checks on top
(:func:`check_config`) catch what the schema allows but serving rejects later: dims that
disagree with the engine's profiles, preferred batch sizes above ``max_batch_size``,
batching without a batch dimension, missing model files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from trt_pdk.engine.io import EngineInput, EngineIO, EngineOutput, Profile  # noqa: F401 - re-exported
from trt_pdk.errors import UserError

# ONNX / numpy / engine-description dtype names -> Triton DataType names.
_TRITON_DTYPES = {
    "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8",
    "uint16": "TYPE_UINT16",
    "uint32": "TYPE_UINT32",
    "uint64": "TYPE_UINT64",
    "int8": "TYPE_INT8",
    "int16": "TYPE_INT16",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float16": "TYPE_FP16",
    "half": "TYPE_FP16",
    "float32": "TYPE_FP32",
    "float": "TYPE_FP32",
    "float64": "TYPE_FP64",
    "double": "TYPE_FP64",
    "bfloat16": "TYPE_BF16",
    "string": "TYPE_STRING",
}
# TensorRT's DataType names as the engine stage may write them (trt.DataType.X -> "X").
_TRITON_DTYPES.update({"fp32": "TYPE_FP32", "fp16": "TYPE_FP16", "bf16": "TYPE_BF16"})

_NUMPY_DTYPES = {
    "TYPE_BOOL": "bool",
    "TYPE_UINT8": "uint8",
    "TYPE_UINT16": "uint16",
    "TYPE_UINT32": "uint32",
    "TYPE_UINT64": "uint64",
    "TYPE_INT8": "int8",
    "TYPE_INT16": "int16",
    "TYPE_INT32": "int32",
    "TYPE_INT64": "int64",
    "TYPE_FP16": "float16",
    "TYPE_FP32": "float32",
    "TYPE_FP64": "float64",
    "TYPE_STRING": "object",
}


def _pb():
    try:
        from tritonclient.grpc import model_config_pb2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UserError(
            f"Triton configs need tritonclient ({exc}). Install it with "
            "`pip install 'trt-pdk[triton]'` or `pip install 'tritonclient[grpc,http]'`."
        ) from exc
    return model_config_pb2


def triton_dtype(name: str) -> str:
    """Triton DataType name (``TYPE_FP32``) for a numpy/ONNX/TensorRT dtype name."""
    key = str(name).lower().removeprefix("datatype.").removeprefix("type_")
    key = {"fp64": "float64", "int": "int32", "fp8": "fp8"}.get(key, key)
    if key not in _TRITON_DTYPES:
        raise UserError(f"dtype {name!r} has no Triton equivalent; use one of {sorted(set(_TRITON_DTYPES))}.")
    return _TRITON_DTYPES[key]


def numpy_dtype(triton_type: str) -> str:
    """numpy dtype name for a Triton DataType name (``TYPE_FP32`` -> ``float32``)."""
    return _NUMPY_DTYPES[triton_type]


def client_datatype(triton_type: str) -> str:
    """The protocol's datatype string (``TYPE_FP32`` -> ``FP32``), as tritonclient wants it."""
    return triton_type.removeprefix("TYPE_").replace("STRING", "BYTES")


# --------------------------------------------------------------------------- engine I/O

# EngineIO, EngineInput, EngineOutput and Profile (imported above) are defined once, in
# trt_pdk.engine.io: the engine stage writes engine_io.json, this module reads it.


def engine_dims(inp: EngineInput) -> list[int]:
    """The non-batch dims an engine input accepts in every profile: fixed value or -1."""
    dims = []
    for d in range(1, len(inp.profiles[0].min)):
        values = {v for p in inp.profiles for v in (p.min[d], p.max[d])}
        dims.append(values.pop() if len(values) == 1 else -1)
    return dims


# --------------------------------------------------------------------------- building


@dataclass
class BatchingOptions:
    """How Triton batches requests for one model.

    Args:
        max_batch_size: largest batch Triton forms; 0 means the model has no batch dim.
            None (default) derives it: the largest batch every engine profile accepts, or
            32 for the python backend.
        dynamic_batching: let the scheduler merge requests (default True).
        preferred_batch_sizes: batch sizes the scheduler aims for; None derives them from
            the engine's profiles (TensorRT) or leaves Triton's default (python).
        max_queue_delay_us: how long a request may wait for others (default 100 µs).
        instance_count: model instances per device (default 1).
    """

    max_batch_size: int | None = None
    dynamic_batching: bool = True
    preferred_batch_sizes: list[int] | None = None
    max_queue_delay_us: int = 100
    instance_count: int = 1


@dataclass
class VersionPolicy:
    """Which versions Triton serves: ``latest`` n (default 1), ``all``, or ``specific`` list."""

    kind: str = "latest"
    num_versions: int = 1
    versions: list[int] = field(default_factory=list)

    def apply(self, cfg) -> None:
        if self.kind == "latest":
            cfg.version_policy.latest.num_versions = self.num_versions
        elif self.kind == "all":
            cfg.version_policy.all.SetInParent()
        elif self.kind == "specific":
            cfg.version_policy.specific.versions.extend(self.versions)
        else:
            raise UserError(f"version policy {self.kind!r} is not one of latest, all, specific.")


def _add_io(cfg, inputs, outputs) -> None:
    for name, dtype, dims in inputs:
        t = cfg.input.add()
        t.name, t.data_type, t.dims[:] = name, _pb().DataType.Value(dtype), dims
    for name, dtype, dims in outputs:
        t = cfg.output.add()
        t.name, t.data_type, t.dims[:] = name, _pb().DataType.Value(dtype), dims


def _add_batching(cfg, batching: BatchingOptions, preferred: list[int] | None) -> None:
    cfg.max_batch_size = batching.max_batch_size
    if batching.dynamic_batching and batching.max_batch_size > 0:
        cfg.dynamic_batching.max_queue_delay_microseconds = batching.max_queue_delay_us
        if preferred:
            cfg.dynamic_batching.preferred_batch_size.extend(preferred)


def config_for_engine(
    name: str,
    io: EngineIO,
    batching: BatchingOptions,
    version_policy: VersionPolicy | None = None,
):
    """A ``tensorrt_plan`` ModelConfig whose dims and batch size agree with ``io``'s profiles.

    With several profiles, each gets its own instance group bound with ``profile``, so a
    request runs on an execution context that holds that profile.
    """
    pb = _pb()
    if batching.max_batch_size is None:
        # Triton sends any batch from 1 to max_batch_size: take what every profile accepts.
        lo, hi = io.batch_range()
        batching = replace(batching, max_batch_size=hi if lo <= 1 else 0)
    cfg = pb.ModelConfig(name=name, platform="tensorrt_plan")
    batched = batching.max_batch_size > 0
    _add_io(
        cfg,
        [(i.name, triton_dtype(i.dtype), engine_dims(i) if batched else _full_dims(i)) for i in io.inputs],
        [(o.name, triton_dtype(o.dtype), list(o.shape[1:] if batched else o.shape)) for o in io.outputs],
    )
    preferred = batching.preferred_batch_sizes
    if preferred is None:
        preferred = io.preferred_batch_sizes(batching.max_batch_size)
    _add_batching(cfg, batching, preferred)
    if io.num_profiles > 1:
        for k in range(io.num_profiles):
            g = cfg.instance_group.add(kind=pb.ModelInstanceGroup.KIND_GPU, count=batching.instance_count)
            g.profile.append(str(k))
    else:
        cfg.instance_group.add(kind=pb.ModelInstanceGroup.KIND_GPU, count=batching.instance_count)
    (version_policy or VersionPolicy()).apply(cfg)
    check_engine_agreement(cfg, io)
    return cfg


def _full_dims(inp: EngineInput) -> list[int]:
    return [-1 if len({p.min[d] for p in inp.profiles} | {p.max[d] for p in inp.profiles}) > 1
            else inp.profiles[0].min[d] for d in range(len(inp.profiles[0].min))]  # fmt: skip


def config_for_python_onnx(
    name: str,
    inputs: list[tuple[str, str, list[int]]],
    outputs: list[tuple[str, str, list[int]]],
    batching: BatchingOptions,
    *,
    version_policy: VersionPolicy | None = None,
    parameters: dict[str, str] | None = None,
):
    """A python-backend ModelConfig for :mod:`trt_pdk.triton.python_model` (CPU onnxruntime).

    ``inputs``/``outputs`` are ``(name, TYPE_X, dims)`` with dims excluding the batch dim
    when ``batching.max_batch_size > 0``: the same tensors the engine's config declares.
    """
    pb = _pb()
    if batching.max_batch_size is None:
        batching = replace(batching, max_batch_size=32)
    cfg = pb.ModelConfig(name=name, backend="python")
    _add_io(cfg, inputs, outputs)
    _add_batching(cfg, batching, batching.preferred_batch_sizes)
    cfg.instance_group.add(kind=pb.ModelInstanceGroup.KIND_CPU, count=batching.instance_count)
    (version_policy or VersionPolicy()).apply(cfg)
    for key, value in (parameters or {}).items():
        cfg.parameters[key].string_value = str(value)
    return cfg


# --------------------------------------------------------------------------- text form


def config_to_text(cfg) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(cfg)


def config_to_json(cfg) -> str:
    """The JSON form Triton's load API takes as a config override."""
    from google.protobuf import json_format

    return json_format.MessageToJson(cfg, preserving_proto_field_name=True)


def parse_config(text: str, source: str = "config.pbtxt"):
    """Parses config text with Triton's schema; a mistake is a UserError at ``source:line:col``."""
    from google.protobuf import text_format

    cfg = _pb().ModelConfig()
    try:
        text_format.Parse(text, cfg)
    except text_format.ParseError as exc:
        line, col = exc.GetLine(), exc.GetColumn()
        msg = str(exc).split(" : ", 1)[-1] if line else str(exc)
        where = f"{source}:{line}:{col}" if line else source
        snippet = ""
        lines = text.splitlines()
        if line and 0 < line <= len(lines):
            snippet = f' (line {line}: "{lines[line - 1].strip()}")'
        raise UserError(
            f"{where}: Triton cannot parse this model config: {msg}{snippet}. Fix the field "
            "(names and enums are those of Triton's model_config.proto)."
        ) from exc
    return cfg


def load_config(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist: every model folder needs a config.pbtxt.")
    return parse_config(path.read_text(encoding="utf-8"), str(path))


def _where(text: str | None, source: str, key: str) -> str:
    """``source:line:col`` of the first ``key`` in text, so our own errors point like parse errors."""
    if text:
        for n, line in enumerate(text.splitlines(), 1):
            m = re.search(rf"\b{re.escape(key)}\b", line)
            if m:
                return f"{source}:{n}:{m.start() + 1}"
    return source


def check_config(cfg, text: str | None = None, source: str = "config.pbtxt") -> None:
    """Checks what Triton's schema allows but serving rejects or mis-serves. Raises UserError."""
    pb = _pb()
    if not cfg.name:
        raise UserError(f"{_where(text, source, 'name')}: the config has no name.")
    if not cfg.platform and not cfg.backend:
        raise UserError(f"{source}: set `platform` (tensorrt_plan) or `backend` (python).")
    if cfg.max_batch_size < 0:
        raise UserError(f"{_where(text, source, 'max_batch_size')}: max_batch_size must be >= 0.")
    for kind, tensors in (("input", cfg.input), ("output", cfg.output)):
        if not tensors:
            raise UserError(f"{source}: the config declares no {kind}s.")
        seen = set()
        for t in tensors:
            if t.name in seen:
                raise UserError(f"{_where(text, source, t.name)}: {kind} {t.name!r} is declared twice.")
            seen.add(t.name)
            if t.data_type == pb.TYPE_INVALID:
                raise UserError(f"{_where(text, source, t.name)}: {kind} {t.name!r} has no data_type.")
            if not t.dims and not t.reshape.shape:
                raise UserError(
                    f"{_where(text, source, t.name)}: {kind} {t.name!r} has no dims. Dims exclude the "
                    "batch dim when max_batch_size > 0; use [1] for one value per batch item."
                )
            if any(d < -1 or d == 0 for d in t.dims):
                raise UserError(
                    f"{_where(text, source, t.name)}: {kind} {t.name!r} dims {list(t.dims)}: each dim is "
                    "a positive size or -1 (dynamic)."
                )
    if cfg.HasField("dynamic_batching"):
        if cfg.max_batch_size == 0:
            raise UserError(
                f"{_where(text, source, 'dynamic_batching')}: dynamic_batching needs max_batch_size > 0 "
                "(a batch dim); remove dynamic_batching or set max_batch_size."
            )
        too_big = [s for s in cfg.dynamic_batching.preferred_batch_size if s > cfg.max_batch_size or s < 1]
        if too_big:
            raise UserError(
                f"{_where(text, source, 'preferred_batch_size')}: preferred_batch_size {too_big} outside "
                f"1..max_batch_size ({cfg.max_batch_size})."
            )
    for g in cfg.instance_group:
        if g.profile and cfg.platform != "tensorrt_plan":
            raise UserError(
                f"{_where(text, source, 'profile')}: instance_group profile bindings only apply to "
                "tensorrt_plan models."
            )


def check_engine_agreement(cfg, io: EngineIO, source: str = "config.pbtxt") -> None:
    """Cross-checks a tensorrt_plan config against the engine's profiles (Triton would fail late).

    Raises UserError naming the tensor, the dim and the profile that disagree.
    """
    by_name = {i.name: i for i in io.inputs}
    out_names = {o.name for o in io.outputs}
    cfg_in = {t.name for t in cfg.input}
    if cfg_in != set(by_name):
        raise UserError(
            f"{source}: config inputs {sorted(cfg_in)} differ from the engine's {sorted(by_name)}; tensor "
            "names must match the engine's bindings exactly."
        )
    if {t.name for t in cfg.output} != out_names:
        raise UserError(
            f"{source}: config outputs {sorted(t.name for t in cfg.output)} differ from the engine's "
            f"{sorted(out_names)}."
        )
    bound = {int(p) for g in cfg.instance_group for p in g.profile} or set(range(io.num_profiles))
    if any(k >= io.num_profiles for k in bound):
        raise UserError(
            f"{source}: instance_group binds profile {max(bound)} but the engine has {io.num_profiles} "
            f"profile(s) (0..{io.num_profiles - 1})."
        )
    mbs = cfg.max_batch_size
    for t in cfg.input:
        inp = by_name[t.name]
        if triton_dtype(inp.dtype) != pb_name(t.data_type):
            raise UserError(
                f"{source}: input {t.name!r} is {pb_name(t.data_type)} in the config but "
                f"{triton_dtype(inp.dtype)} in the engine."
            )
        full = ([mbs] if mbs > 0 else []) + list(t.dims)
        for k in sorted(bound):
            p = inp.profiles[k]
            if len(p.max) != len(full):
                raise UserError(
                    f"{source}: input {t.name!r} has rank {len(full)} in the config (dims {list(t.dims)}"
                    f"{' plus the batch dim' if mbs > 0 else ''}) but rank {len(p.max)} in profile {k}."
                )
            if mbs > 0 and not (p.min[0] <= 1 and p.max[0] >= mbs):
                raise UserError(
                    f"{source}: max_batch_size {mbs} does not fit input {t.name!r} profile {k}, whose "
                    f"batch dim runs {p.min[0]}..{p.max[0]}; Triton sends any batch from 1 to "
                    f"max_batch_size. Set max_batch_size <= {p.max[0]} or rebuild the engine with "
                    "min batch 1 and a larger max."
                )
            start = 1 if mbs > 0 else 0
            for d in range(start, len(full)):
                want = full[d]
                lo, hi = p.min[d], p.max[d]
                if want == -1 and lo != hi:
                    continue
                if want == -1 and lo == hi:
                    continue  # a fixed engine dim accepts a dynamic config dim; Triton checks values
                if not lo <= want <= hi:
                    raise UserError(
                        f"{source}: input {t.name!r} dim {d} is {want} in the config but profile {k} "
                        f"accepts {lo}..{hi}."
                    )
    for t in cfg.output:
        o = next(o for o in io.outputs if o.name == t.name)
        shape = list(o.shape[1:]) if mbs > 0 else list(o.shape)
        if len(shape) != len(t.dims) or any(
            a not in (-1, b) and b != -1 for a, b in zip(t.dims, shape, strict=False)
        ):
            raise UserError(
                f"{source}: output {t.name!r} dims {list(t.dims)} disagree with the engine's {shape}."
            )


def pb_name(data_type: int) -> str:
    return _pb().DataType.Name(data_type)
