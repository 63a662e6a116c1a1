"""The ``tensorrt_plan`` repository and the trtexec lines that build its engines in the image.

Everything versioned comes from the :class:`~trt_pdk.deploy.lock.DeployLock`; the trtexec
lines come from :func:`trt_pdk.engine.trtexec_command`, the function the engine stage uses.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trt_pdk.deploy.lock import DeployLock
from trt_pdk.errors import UserError
from trt_pdk.triton import config as tc
from trt_pdk.triton.repository import CONTAINER_PLUGINS, MODELS_DIR

IMAGE_ROOT = "/opt/trt_pdk"
BUILD_DIR = "build"  # deploy/build: what the builder stage needs (ONNX model, helper scripts)
WHEELS_DIR = "wheels"  # deploy/wheels: optional sdists/wheels pip may install from
ON_GPU = "on_gpu.sh"
CHECK_TENSORRT = "check_tensorrt.sh"
PLAN_VERSION = 1


@dataclass(frozen=True)
class EngineSource:
    """The engine stage's output a deployment is built from.

    Args:
        onnx: the rewritten ONNX model the engine is built from.
        profiles: the planned optimization profiles (``[{input: {min, opt, max}}]``).
        engine_io: what the engine exposes (the engine stage's ``engine_io.json``).
        precision: ``fp32`` or ``fp16``.
        fp16_onnx: the fp16 graph TensorRT 11 builds fp16 engines from (None otherwise).
        workspace_mib: the engine stage's workspace limit.
        plan: an engine really built here (None where TensorRT is absent).
    """

    onnx: Path
    profiles: list[dict[str, dict[str, list[int]]]]
    engine_io: tc.EngineIO
    precision: str = "fp32"
    fp16_onnx: Path | None = None
    workspace_mib: int | None = None
    plan: Path | None = None


def plan_names(lock: DeployLock) -> dict[str, str]:
    """``{compute capability: plan file}``: one ``model.plan`` or one ``model_sm<NN>.plan`` per arch."""
    if len(lock.cuda_archs) == 1:
        return {lock.cuda_archs[0]: "model.plan"}
    return {cc: f"model_sm{cc.replace('.', '')}.plan" for cc in lock.cuda_archs}


def container_plugins(lock: DeployLock) -> list[str]:
    return [f"{CONTAINER_PLUGINS}/{name}" for name in lock.plugin_libraries]


def tensorrt_config(name: str, source: EngineSource, lock: DeployLock, batching: tc.BatchingOptions):
    """The ``tensorrt_plan`` ModelConfig: profiles bound per instance group, batching, plans per arch."""
    cfg = tc.config_for_engine(name, source.engine_io, batching)
    names = plan_names(lock)
    if len(names) > 1:
        for cc, file in names.items():
            cfg.cc_model_filenames[cc] = file
    return cfg


def write_repository(
    out: Path, name: str, source: EngineSource, lock: DeployLock, batching
) -> dict[str, Any]:
    """``models/<name>/config.pbtxt`` (+ ``1/engine_io.json``; + ``1/model.plan`` if built here).

    Returns ``{"config", "plans_in_image": [cc, ...], "plans_here": [cc, ...]}``.
    """
    cfg = tensorrt_config(name, source, lock, batching)
    text = tc.config_to_text(cfg)
    config_path = out / MODELS_DIR / name / "config.pbtxt"
    parsed = tc.parse_config(text, f"{config_path} (generated)")
    tc.check_config(parsed, text, str(config_path))
    version = out / MODELS_DIR / name / str(PLAN_VERSION)
    version.mkdir(parents=True)
    config_path.write_text(text, encoding="utf-8")
    source.engine_io.write_json(version / tc.EngineIO.FILE_NAME)
    here = _plan_built_here(source, lock)
    if here:
        shutil.copy2(source.plan, version / plan_names(lock)[here])
    in_image = [cc for cc in lock.cuda_archs if cc != here]
    return {"config": config_path, "plans_in_image": in_image, "plans_here": [here] if here else []}


def _plan_built_here(source: EngineSource, lock: DeployLock) -> str | None:
    """The arch of a plan built here that the locked image can load as is, else None.

    Only a plan of exactly the image's TensorRT (serialization tag) on a locked arch
    qualifies; any other is rebuilt in the image (server#7613: a plan from another
    TensorRT fails to deserialize).
    """
    manifest = lock.engine_manifest or {}
    cc = (manifest.get("gpu") or {}).get("compute_capability")
    if source.plan is None or not source.plan.is_file() or cc not in lock.cuda_archs:
        return None
    return cc if manifest.get("tensorrt") == lock.tensorrt else None


def trtexec_lines(
    name: str, source: EngineSource, lock: DeployLock, archs: list[str]
) -> list[tuple[str, list[str]]]:
    """``[(compute capability, trtexec argv)]`` for the engines the image builds."""
    from trt_pdk.engine import trtexec_command

    fp16 = source.precision == "fp16"
    onnx = build_onnx(source, lock)
    names = plan_names(lock)
    lines = []
    for cc in archs:
        argv = trtexec_command(
            f"{IMAGE_ROOT}/{BUILD_DIR}/{onnx.name}",
            f"{IMAGE_ROOT}/{MODELS_DIR}/{name}/{PLAN_VERSION}/{names[cc]}",
            source.profiles,
            plugin_libraries=container_plugins(lock),
            tensorrt_major=lock.tensorrt_major,
            fp16_flag=fp16 and lock.tensorrt_major < 11,
            workspace_mib=source.workspace_mib,
        )
        lines.append((cc, argv))
    return lines


def build_onnx(source: EngineSource, lock: DeployLock) -> Path:
    """The graph the image's trtexec builds from: TensorRT 11 takes fp16 from the fp16 graph."""
    if source.precision != "fp16" or lock.tensorrt_major < 11:
        return source.onnx
    if source.fp16_onnx is None:
        raise UserError(
            "TensorRT 11 builds fp16 engines from the fp16 graph, and the engine stage wrote none; rerun "
            "the engine stage with precision fp16 or both."
        )
    return source.fp16_onnx


def tuned_batching(perf: dict[str, Any] | None) -> dict[str, Any]:
    """Dynamic batching and instances the serving search kept (``perf.json``'s tuned config)."""
    tuned = ((perf or {}).get("tuned") or {}).get("config") or {}
    return {
        k: tuned[k] for k in ("instance_count", "preferred_batch_sizes", "max_queue_delay_us") if k in tuned
    }


def describe_batching(batching: tc.BatchingOptions) -> str:
    return json.dumps(
        {
            "max_batch_size": batching.max_batch_size,
            "instance_count": batching.instance_count,
            "preferred_batch_sizes": batching.preferred_batch_sizes,
            "max_queue_delay_us": batching.max_queue_delay_us,
        }
    )
