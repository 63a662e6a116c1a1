"""The one ONNX -> TensorRT engine build (parse, profiles, build), TensorRT 10.x and 11.x.

Used by the pipeline's engine stage (:class:`trt_pdk.engine.engine_from_onnx`) and by the
op test harness (one-node plugin graphs). ``tensorrt`` is imported only when these run;
plugin libraries must be loaded into TensorRT's registry before a build.

API differences handled here (Python names of the C++ API in ``NvInfer.h``):

* Networks are strongly typed: the graph's dtypes hold (fp16/bf16 plugin I/O stays what
  the graph declares). TensorRT 10 needs ``NetworkDefinitionCreationFlag.STRONGLY_TYPED``;
  TensorRT 11 is always strongly typed (the flag is deprecated and ignored, so it is not set).
* ``BuilderFlag.FP16`` exists only in TensorRT 10, and only applies to a weakly typed
  network: with ``fp16_flag`` the network is created without STRONGLY_TYPED. TensorRT 11's
  FP16 comes from the graph (the engine stage's fp16 ONNX pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trt_pdk._fs import write_bytes_atomic
from trt_pdk.engine.io import EngineIO, PlannedProfiles
from trt_pdk.errors import Skipped, UserError

# trt.DataType member names -> the numpy dtype names engine_io.json uses.
_DTYPE_NAMES = {
    "FLOAT": "float32",
    "HALF": "float16",
    "BF16": "bfloat16",
    "INT8": "int8",
    "INT32": "int32",
    "INT64": "int64",
    "UINT8": "uint8",
    "BOOL": "bool",
}


def running_tensorrt() -> Any | None:
    """The imported ``tensorrt`` module, or None when it does not import."""
    try:
        import tensorrt
    except Exception:
        return None
    return tensorrt


def require_tensorrt() -> Any:
    """Imports tensorrt or raises Skipped saying how to get it (for test harnesses)."""
    from trt_pdk.native import GET_TENSORRT, tensorrt_import_error

    why = tensorrt_import_error()
    if why is not None:
        raise Skipped(f"TensorRT is absent (`import tensorrt` failed: {why}); {GET_TENSORRT}")
    import tensorrt as trt

    return trt


def tensorrt_major(trt: Any) -> int:
    return int(str(trt.__version__).split(".")[0])


def dtype_name(trt_dtype: Any) -> str:
    """``trt.DataType.HALF`` -> ``float16`` (numpy names; unknown types lower-cased)."""
    member = str(trt_dtype).rsplit(".", 1)[-1]
    return _DTYPE_NAMES.get(member, member.lower())


@dataclass(frozen=True)
class SerializedEngine:
    """A built engine and the I/O it exposes (what ``engine_io.json`` records)."""

    plan: bytes
    io: EngineIO


def _network_flags(trt: Any, strongly_typed: bool) -> int:
    if not strongly_typed or tensorrt_major(trt) >= 11:
        return 0  # 10: weakly typed; 11: always strongly typed, the flag deprecated
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 1 << int(flag) if flag is not None else 0


def engine_io_from_network(trt: Any, network: Any, profiles: PlannedProfiles, source: str) -> EngineIO:
    """The I/O description of a parsed network and the profiles it is built with."""
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    outputs = [network.get_output(i) for i in range(network.num_outputs)]
    return EngineIO.from_planned(
        [(t.name, dtype_name(t.dtype), list(t.shape)) for t in inputs],
        [(t.name, dtype_name(t.dtype), list(t.shape)) for t in outputs],
        profiles,
        str(trt.__version__),
        source,
    )


def serialized_engine_from_onnx(
    onnx_model: bytes | str | Path,
    profiles: PlannedProfiles,
    *,
    fp16_flag: bool = False,
    timing_cache: str | Path | None = None,
    workspace_mib: int | None = None,
    optimization_level: int | None = None,
    trt: Any = None,
) -> SerializedEngine:
    """Parses an ONNX model, adds the optimization profiles and builds a serialized engine.

    Args:
        onnx_model: the model file (external data beside it is found) or its bytes.
        profiles: ``[{input: {"min", "opt", "max"}}]`` in profile order; every dynamic input
            in every profile (static inputs may be left out).
        fp16_flag: TensorRT 10 only: a weakly typed network built with ``BuilderFlag.FP16``.
            TensorRT 11 has no precision flags (UserError); build an fp16 graph instead.
        timing_cache: timing cache file, read if it exists and written back after the build.
        workspace_mib: builder workspace memory pool limit (None: TensorRT's default).
        optimization_level: builder optimization level 0-5 (None: TensorRT's default, 3).
        trt: the ``tensorrt`` module (default: imported here).

    Returns:
        The plan bytes and the engine's :class:`~trt_pdk.engine.io.EngineIO` (network I/O
        tensors with the planned profiles, the TensorRT version).

    Raises:
        UserError: TensorRT is absent, or the parser or the builder failed (with their errors).
    """
    if trt is None:
        trt = running_tensorrt()
        if trt is None:
            from trt_pdk.native import GET_TENSORRT

            raise UserError(
                f"Building an engine needs TensorRT, and `import tensorrt` fails here: {GET_TENSORRT}."
            )
    where = "the ONNX model" if isinstance(onnx_model, bytes) else str(onnx_model)
    if fp16_flag and (tensorrt_major(trt) >= 11 or not hasattr(trt.BuilderFlag, "FP16")):
        raise UserError(
            f"TensorRT {trt.__version__} has no FP16 builder flag; FP16 comes from the graph "
            "(`trt-pdk engine build --precision fp16` writes the fp16 ONNX)."
        )
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt, strongly_typed=not fp16_flag))
    parser = trt.OnnxParser(network, logger)
    ok = (
        parser.parse(onnx_model) if isinstance(onnx_model, bytes) else parser.parse_from_file(str(onnx_model))
    )
    if not ok:
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        hint = ""
        if "plugin" in errors.lower() or "creator" in errors.lower():
            hint = (
                " A plugin was not found: is its library built for this TensorRT and loaded (trt-pdk doctor)?"
            )
        raise UserError(f"TensorRT {trt.__version__}'s ONNX parser rejected {where}: {errors}.{hint}")
    names = {network.get_input(i).name for i in range(network.num_inputs)}
    io = engine_io_from_network(trt, network, profiles, where)

    config = builder.create_builder_config()
    if workspace_mib is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    if optimization_level is not None:
        config.builder_optimization_level = int(optimization_level)
    if fp16_flag:
        config.set_flag(trt.BuilderFlag.FP16)
    cache_path = Path(timing_cache) if timing_cache is not None else None
    cache_bytes = cache_path.read_bytes() if cache_path is not None and cache_path.is_file() else b""
    config.set_timing_cache(config.create_timing_cache(cache_bytes), ignore_mismatch=False)
    for i, prof in enumerate(profiles):
        p = builder.create_optimization_profile()
        for name, rng in prof.items():
            if name not in names:
                raise UserError(
                    f"Profile {i} names {name!r}, not an input of the parsed network {sorted(names)}."
                )
            p.set_shape(name, tuple(rng["min"]), tuple(rng["opt"]), tuple(rng["max"]))
        config.add_optimization_profile(p)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError(
            f"TensorRT {trt.__version__} failed to build the engine from {where}; its log above says why."
        )
    if cache_path is not None:
        write_bytes_atomic(cache_path, bytes(config.get_timing_cache().serialize()))
    plan = bytes(serialized)
    if not plan:
        raise UserError("TensorRT returned an empty engine.")
    return SerializedEngine(plan, io)
