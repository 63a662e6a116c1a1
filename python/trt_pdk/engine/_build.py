"""`engine_from_onnx`: TensorRT engines from a rewritten ONNX model and planned profiles.

The stage around :func:`~trt_pdk.engine._tensorrt.serialized_engine_from_onnx` (the one
parse + profiles + build): precisions, the fp16 graph, plugin libraries, trtexec lines,
``engine_io.json`` beside each plan, ``build.json`` and the manifest.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trt_pdk._fs import write_bytes_atomic, write_text_atomic
from trt_pdk.engine._fp16 import PLUGIN_DOMAIN, fp16_from_onnx, fp16_support
from trt_pdk.engine._tensorrt import running_tensorrt, serialized_engine_from_onnx
from trt_pdk.engine._trtexec import (
    relative,
    require_expressible,
    trtexec_command,
    trtexec_script,
    unexpressible_inputs,
)
from trt_pdk.engine.io import ENGINE_IO, engine_io_from_onnx
from trt_pdk.errors import UserError
from trt_pdk.native import GET_TENSORRT

PRECISIONS = ("fp32", "fp16", "both")
BUILD_JSON = "build.json"
DRY_RUN_HINT = "or pass --dry-run to write only the trtexec command lines"


def _model_inputs(model: Any) -> dict[str, list[int | None]]:
    inits = {i.name for i in model.graph.initializer}
    out = {}
    for vi in model.graph.input:
        if vi.name not in inits:
            dims = vi.type.tensor_type.shape.dim
            out[vi.name] = [
                d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims
            ]
    return out


def check_profiles_fit(model_inputs: dict[str, list[int | None]], profiles: list[dict]) -> None:
    """Every dynamic input in every profile, ranks and static dims agreeing; else UserError."""
    dynamic = {n for n, dims in model_inputs.items() if any(d is None for d in dims)}
    for i, prof in enumerate(profiles):
        unknown = set(prof) - set(model_inputs)
        if unknown:
            raise UserError(
                f"Profile {i} names {sorted(unknown)}, which are not inputs of the model "
                f"(its inputs: {sorted(model_inputs)}). Re-plan with the model's input names."
            )
        missing = dynamic - set(prof)
        if missing:
            raise UserError(
                f"Profile {i} has no shapes for the dynamic inputs {sorted(missing)}; every profile "
                "needs min/opt/max for each dynamic input."
            )
        for name, rng in prof.items():
            dims = model_inputs[name]
            for key in ("min", "opt", "max"):
                shape = rng[key]
                if len(shape) != len(dims) or any(
                    d is not None and s != d for s, d in zip(shape, dims, strict=False)
                ):
                    raise UserError(
                        f"Profile {i}: {key} shape {shape} of {name!r} does not fit the model's dims "
                        f"{[d if d is not None else '?' for d in dims]}."
                    )


@dataclass
class EngineBuildResult:
    run_dir: Path
    engines: dict[str, str] = field(default_factory=dict)  # precision -> plan path (relative)
    trtexec_scripts: list[str] = field(default_factory=list)
    fp16_unsupported: list[str] = field(default_factory=list)
    kept_fp32: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class engine_from_onnx:  # noqa: N801 - a lazy stage named like Polygraphy's loaders
    """Builds TensorRT engines (configured now, run by calling the object).

    Args:
        onnx_path: The rewritten ONNX model (plugin nodes in domain ``trt_pdk``).
        profiles: Optimization profiles (``load_profiles`` output).
        run_dir: Folder for ``<precision>/model.plan`` with ``<precision>/engine_io.json``,
            ``trtexec.sh``, ``build.json``, the timing cache and the manifest.
        precision: ``fp32``, ``fp16`` or ``both``.
        workspace_mib: Builder workspace memory pool limit (None: TensorRT's default).
        optimization_level: Builder optimization level 0-5 (None: TensorRT's default, 3).
        timing_cache: Timing cache file (default ``RUN_DIR/timing.cache``), reused across builds.
        tensorrt_major: Major to write trtexec lines for when TensorRT is absent (dry run);
            default both 10 and 11.
        keep_fp32: Op types to keep in fp32 in the TensorRT 11 fp16 graph.

    Beside every ``model.plan`` goes ``engine_io.json`` (:class:`~trt_pdk.engine.io.EngineIO`:
    the network's I/O tensors, the planned profiles, the TensorRT version), which the Triton
    repository stage reads.

    Calling it with ``dry_run=True`` writes only the trtexec lines (and, for TensorRT 11
    FP16, the fp16 ONNX they need); that works without TensorRT. A dry run still writes
    ``<precision>/engine_io.json`` where the trtexec lines put each plan, derived from the
    ONNX graph instead (input dtypes and ranks from the graph, output dtypes and shapes from
    ONNX shape inference; no ``tensorrt_version`` unless TensorRT is importable), so the
    repository stage can cross-check a config before any engine exists.
    """

    onnx_path: Path
    profiles: list[dict[str, dict[str, list[int]]]]
    run_dir: Path
    precision: str = "fp32"
    workspace_mib: int | None = None
    optimization_level: int | None = None
    timing_cache: Path | None = None
    tensorrt_major: int | None = None
    keep_fp32: tuple[str, ...] = ()

    def __call__(self, dry_run: bool = False, log: Any = None) -> EngineBuildResult:
        import onnx

        log = log or (lambda msg: print(msg, file=sys.stderr))
        if self.precision not in PRECISIONS:
            raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}.")
        if self.optimization_level is not None and not 0 <= self.optimization_level <= 5:
            raise UserError(f"The builder optimization level is 0..5, got {self.optimization_level}.")
        onnx_path = Path(self.onnx_path)
        if not onnx_path.is_file():
            raise UserError(f"Model {onnx_path} does not exist. Pass the rewritten ONNX model.")
        try:
            model = onnx.load(str(onnx_path))
        except Exception as exc:
            raise UserError(f"{onnx_path} is not a readable ONNX model ({exc}).") from None
        check_profiles_fit(_model_inputs(model), self.profiles)
        if dry_run:
            require_expressible(self.profiles)  # a dry run writes only trtexec lines: refuse before writing
        trt = running_tensorrt()
        if trt is None and not dry_run:
            raise UserError(
                f"Building engines needs TensorRT, and `import tensorrt` fails here: {GET_TENSORRT}, "
                f"{DRY_RUN_HINT}."
            )
        run_dir = Path(self.run_dir)  # created only once the build can happen
        run_dir.mkdir(parents=True, exist_ok=True)
        result = EngineBuildResult(run_dir)

        if trt is not None:
            majors = [int(trt.__version__.split(".")[0])]
            if self.tensorrt_major is not None and self.tensorrt_major != majors[0] and not dry_run:
                raise UserError(
                    f"--tensorrt-major {self.tensorrt_major} differs from the running TensorRT "
                    f"{trt.__version__}; an engine is built by the TensorRT that runs the build. "
                    "Drop the option or use --dry-run."
                )
            if dry_run and self.tensorrt_major is not None:
                majors = [self.tensorrt_major]
        else:
            majors = [self.tensorrt_major] if self.tensorrt_major else [10, 11]

        precisions = ["fp32", "fp16"] if self.precision == "both" else [self.precision]
        has_plugins = any(n.domain == PLUGIN_DOMAIN for n in model.graph.node)
        if "fp16" in precisions:
            support = fp16_support(model)
            result.fp16_unsupported = [op for op, ok in support.items() if not ok]
            if result.fp16_unsupported:
                log(
                    "warning: these plugins do not support fp16 and will run in fp32 inside the FP16 engine "
                    f"(casts around them): {', '.join(result.fp16_unsupported)}"
                )
        timing_cache = Path(self.timing_cache) if self.timing_cache else run_dir / "timing.cache"

        fp16_onnx = None
        if "fp16" in precisions and any(m >= 11 for m in majors):
            fp16_model, result.kept_fp32 = fp16_from_onnx(model, self.keep_fp32)
            fp16_onnx = run_dir / "fp16" / "model.fp16.onnx"
            write_bytes_atomic(fp16_onnx, fp16_model.SerializeToString())
            if result.kept_fp32:
                log(f"fp16 graph: kept in fp32: {'; '.join(result.kept_fp32)}")

        unexpressible = unexpressible_inputs(self.profiles)
        if unexpressible:
            result.notes.append(
                f"no trtexec lines: trtexec cannot name the inputs {unexpressible} (',' or \"'\" in the name)"
            )
            log(f"note: {result.notes[-1]}")
        for major in [] if unexpressible else majors:
            libs = self._library_args(major, has_plugins, exact=not dry_run)
            commands = []
            for prec in precisions:
                src = fp16_onnx if (prec == "fp16" and major >= 11) else onnx_path
                argv = trtexec_command(
                    relative(src, run_dir),
                    f"{prec}/model.plan",
                    self.profiles,
                    plugin_libraries=libs,
                    tensorrt_major=major,
                    fp16_flag=prec == "fp16" and major < 11,
                    timing_cache=relative(timing_cache, run_dir),
                    workspace_mib=self.workspace_mib,
                    optimization_level=self.optimization_level,
                )
                commands.append((f"TensorRT {major}, {prec}", argv))
            header = [f"profiles: {len(self.profiles)}; plugin libraries for TensorRT {major}."]
            if any("${" in a for _, argv in commands for a in argv):
                header.append(
                    "Set TRT_PDK_PLUGINS_TRT<MAJOR> to the library path: "
                    f'python -c "import trt_pdk; print(trt_pdk.plugin_library_path({major}))"'
                )
            name = "trtexec.sh" if len(majors) == 1 else f"trtexec_trt{major}.sh"
            script = write_text_atomic(run_dir / name, trtexec_script(commands, header))
            script.chmod(0o755)
            result.trtexec_scripts.append(name)

        build_record = {
            "model": str(onnx_path.resolve()),
            "fp16_model": relative(fp16_onnx, run_dir) if fp16_onnx else None,
            "profiles": self.profiles,
            "precisions": precisions,
            "engines": {p: f"{p}/model.plan" for p in precisions},
            "timing_cache": relative(timing_cache, run_dir),
            "options": {
                "workspace_mib": self.workspace_mib,
                "optimization_level": self.optimization_level,
                "keep_fp32": list(self.keep_fp32),
            },
            "fp16_unsupported_plugins": result.fp16_unsupported,
            "kept_fp32": result.kept_fp32,
            "dry_run": dry_run,
            "trtexec_scripts": result.trtexec_scripts,
        }
        write_text_atomic(run_dir / "profiles.json", json.dumps({"profiles": self.profiles}, indent=2) + "\n")
        build_record["engine_io"] = {p: f"{p}/{ENGINE_IO}" for p in precisions}
        if dry_run:
            io = engine_io_from_onnx(
                model, self.profiles, str(trt.__version__) if trt is not None else None, str(onnx_path)
            )
            for prec in precisions:
                io.write_json(run_dir / prec / ENGINE_IO)
            write_text_atomic(run_dir / BUILD_JSON, json.dumps(build_record, indent=2) + "\n")
            return result

        from trt_pdk.lock._libraries import load_plugin_libraries, plugin_libraries_for

        lib_paths = plugin_libraries_for(majors[0]) if has_plugins else []
        load_plugin_libraries(trt, lib_paths)
        for prec in precisions:
            src = fp16_onnx if (prec == "fp16" and majors[0] >= 11) else onnx_path
            log(f"building {prec} engine with TensorRT {trt.__version__} ({len(self.profiles)} profiles)...")
            built = serialized_engine_from_onnx(
                Path(src),
                self.profiles,
                fp16_flag=prec == "fp16" and majors[0] < 11,
                timing_cache=timing_cache,
                workspace_mib=self.workspace_mib,
                optimization_level=self.optimization_level,
                trt=trt,
            )
            write_bytes_atomic(run_dir / prec / "model.plan", built.plan)
            built.io.write_json(run_dir / prec / ENGINE_IO)
            result.engines[prec] = f"{prec}/model.plan"
        build_record["plugin_libraries"] = [str(p) for p in lib_paths]
        write_text_atomic(run_dir / BUILD_JSON, json.dumps(build_record, indent=2) + "\n")
        from trt_pdk.lock import lock_run

        lock_run(run_dir)
        return result

    def _library_args(self, major: int, has_plugins: bool, exact: bool) -> list[str]:
        if not has_plugins:
            return []
        from trt_pdk.lock._libraries import library_packages
        from trt_pdk.native import plugin_library_path

        out = []
        for package in library_packages():
            try:
                out.append(str(plugin_library_path(major, package)))
            except UserError:
                if exact:
                    raise
                # Dry run on a machine without that library: leave a variable to fill in.
                out.append(f"${{{package.upper()}_PLUGINS_TRT{major}}}")
        return out

    def to_json(self) -> dict:
        d = asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}
