"""``deployment_from_run``: the TensorRT deployment of a run, written atomically into ``deploy/``.

::

    deploy/
      lock.json                  the one source of versions (DeployLock)
      models/<name>/config.pbtxt tensorrt_plan: profiles per instance group, dynamic batching
      models/<name>/1/           engine_io.json (+ model.plan when built here with the image's TensorRT)
      Dockerfile                 NGC TensorRT image builds plugin library + engines; NGC Triton serves
      launch.sh                  the image's command: TensorRT check, then tritonserver with the plugins
      build/                     ONNX model and the scripts the image build runs
      wheels/                    optional sdists/wheels for an index-less image build
      k8s/                       Deployment + Service + HPA, KServe InferenceService, adapter rules
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trt_pdk._fs import atomic_directory, write_text_atomic
from trt_pdk.deploy import image
from trt_pdk.deploy import kubernetes as k8s
from trt_pdk.deploy import tensorrt as trt
from trt_pdk.deploy.lock import LOCK_NAME, DeployLock, lock_for_deployment
from trt_pdk.deploy.options import DeployOptions
from trt_pdk.errors import UserError
from trt_pdk.triton import config as tc

DEPLOY_DIR = "deploy"


@dataclass
class DeployResult:
    """What :func:`deployment_from_run` wrote (absolute paths).

    ``plans_in_image``: compute capabilities whose engine the image build makes (with
    ``trtexec`` lines); ``plans_here``: those copied from an engine built here.
    """

    root: Path
    lock: DeployLock
    config: Path
    dockerfile: Path
    launch: Path
    manifests: dict[str, Path]
    trtexec: list[list[str]] = field(default_factory=list)
    plans_in_image: list[str] = field(default_factory=list)
    plans_here: list[str] = field(default_factory=list)
    bundled: list[str] = field(default_factory=list)
    batching: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        def rel(p: Path) -> str:
            return str(p.relative_to(relative_to)) if relative_to else str(p)

        return {
            "root": rel(self.root),
            "config": rel(self.config),
            "dockerfile": rel(self.dockerfile),
            "launch": rel(self.launch),
            "manifests": {k: rel(v) for k, v in self.manifests.items()},
            "lock": rel(self.root / LOCK_NAME),
            "triton_image": self.lock.triton_image,
            "image": self.lock.image,
            "tensorrt": self.lock.tensorrt,
            "cuda_archs": list(self.lock.cuda_archs),
            "plugin_libraries": list(self.lock.plugin_libraries),
            "plans_in_image": self.plans_in_image,
            "plans_here": self.plans_here,
            "bundled": self.bundled,
            "batching": self.batching,
            "trtexec": [shlex.join(argv) for argv in self.trtexec],
            "notes": self.notes,
        }


def engine_source_from_run(engine_dir: str | Path, precision: str | None = None) -> trt.EngineSource:
    """The :class:`~trt_pdk.deploy.tensorrt.EngineSource` of an engine stage's folder (``build.json``)."""
    engine_dir = Path(engine_dir)
    build_path = engine_dir / "build.json"
    if not build_path.is_file():
        raise UserError(
            f"{engine_dir} has no build.json: run the engine stage first (`trt-pdk engine build ... "
            "--dry-run` works without TensorRT), or pass the run folder whose engine/ it wrote."
        )
    build = json.loads(build_path.read_text(encoding="utf-8"))
    built = build.get("precisions") or ["fp32"]
    want = precision if precision not in (None, "both") else ("fp16" if "fp16" in built else built[0])
    if want not in built:
        raise UserError(
            f"deploy.precision {want} was not planned by the engine stage (it planned {', '.join(built)}); "
            "set engine.precision to include it."
        )
    # The pipeline copies the model beside the engines; a standalone build names it in build.json.
    onnx = engine_dir / "model.onnx"
    if not onnx.is_file():
        onnx = Path(build["model"])
    if not onnx.is_file():
        raise UserError(f"the engine's ONNX model {onnx} is gone; rerun the engine stage.")
    fp16 = engine_dir / build["fp16_model"] if build.get("fp16_model") else None
    io_path = engine_dir / (build.get("engine_io") or {}).get(want, f"{want}/{tc.EngineIO.FILE_NAME}")
    plan = engine_dir / build["engines"][want] if not build.get("dry_run") else None
    return trt.EngineSource(
        onnx=onnx,
        profiles=build["profiles"],
        engine_io=tc.EngineIO.from_json(io_path),
        precision=want,
        fp16_onnx=fp16,
        workspace_mib=(build.get("options") or {}).get("workspace_mib"),
        plan=plan if plan is not None and plan.is_file() else None,
    )


def _batching(
    options: DeployOptions, source: trt.EngineSource, serving: dict[str, Any]
) -> tuple[tc.BatchingOptions, list[str]]:
    notes = []
    lo, hi = source.engine_io.batch_range()
    largest = hi if lo <= 1 else 0
    mbs = options.max_batch_size if options.max_batch_size is not None else largest
    preferred = options.preferred_batch_sizes
    if preferred is None and serving.get("preferred_batch_sizes"):
        preferred = [s for s in serving["preferred_batch_sizes"] if s <= mbs]
        dropped = sorted(set(serving["preferred_batch_sizes"]) - set(preferred))
        if dropped:
            notes.append(
                f"preferred batch sizes {dropped} of the serving search exceed the profiles' max batch {mbs}"
            )
    batching = tc.BatchingOptions(
        max_batch_size=mbs,
        dynamic_batching=mbs > 0,
        preferred_batch_sizes=preferred or None,
        max_queue_delay_us=options.max_queue_delay_us or serving.get("max_queue_delay_us") or 100,
        instance_count=options.instance_count or serving.get("instance_count") or 1,
    )
    return batching, notes


def deployment_from_inputs(
    out: str | Path,
    source: trt.EngineSource,
    options: DeployOptions,
    *,
    model_name: str,
    serving: dict[str, Any] | None = None,
    engine_manifest: dict[str, Any] | None = None,
) -> DeployResult:
    """Writes the deployment folder ``out`` (atomically: a failure leaves the old one intact).

    Args:
        out: the deployment folder (``RUN_DIR/deploy``).
        source: the engine stage's model, profiles and engine I/O.
        options: :class:`DeployOptions`.
        model_name: Triton model name (``options.model_name`` overrides it).
        serving: the serving search's tuned ``{instance_count, preferred_batch_sizes, max_queue_delay_us}``.
        engine_manifest: the engine stage's lock when engines were built here.
    """
    options.check()
    name = options.model_name or model_name
    lock = lock_for_deployment(options, name, engine_manifest)
    batching, notes = _batching(options, source, serving or {})
    kit = options.kit_requirement or f"trt-pdk=={lock.plugin_packages.get('trt-pdk', lock.kit_version)}"
    ports = (options.http_port, options.grpc_port, options.metrics_port)
    out = Path(out)
    with atomic_directory(out) as tmp:
        (tmp / LOCK_NAME).write_text(lock.to_json(), encoding="utf-8")
        repo = trt.write_repository(tmp, name, source, lock, batching)
        ctx = image.write_build_context(
            tmp, name, source, lock, kit_requirement=kit, ports=ports, bundle=options.bundle_sources
        )
        notes += ctx["notes"]
        manifests = k8s.write_manifests(tmp / k8s.K8S_DIR, lock, options, name)
    if not lock.release_verified:
        notes.append(
            f"Triton {lock.triton_release} -> TensorRT {lock.tensorrt} is unverified in the kit's table; the "
            "image build stops if it differs"
        )
    return DeployResult(
        root=out,
        lock=lock,
        config=out / repo["config"].relative_to(tmp),
        dockerfile=out / "Dockerfile",
        launch=out / "launch.sh",
        manifests={k: out / v.relative_to(tmp) for k, v in manifests.items()},
        trtexec=ctx["trtexec"],
        plans_in_image=repo["plans_in_image"],
        plans_here=repo["plans_here"],
        bundled=ctx["bundled"],
        batching=json.loads(trt.describe_batching(batching)),
        notes=notes,
    )


def deployment_from_run(
    run_dir: str | Path, options: DeployOptions | None = None, *, model_name: str | None = None
) -> DeployResult:
    """The TensorRT deployment of a pipeline run folder, written to ``RUN_DIR/deploy``.

    Reads ``engine/`` (build.json, engine_io.json, manifest.json when engines were built),
    ``perf/perf.json`` (the serving search, when there) and the CPU repository's model name.
    """
    run_dir = Path(run_dir)
    options = options or DeployOptions()
    if not run_dir.is_dir():
        raise UserError(
            f"run folder {run_dir} does not exist; pass the folder `trt-pdk pipeline run` printed."
        )
    source = engine_source_from_run(run_dir / "engine", options.precision)
    manifest_path = run_dir / "engine" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else None
    perf_path = run_dir / "perf" / "perf.json"
    serving = (
        trt.tuned_batching(json.loads(perf_path.read_text(encoding="utf-8"))) if perf_path.is_file() else {}
    )
    name = model_name or options.model_name or _cpu_model_name(run_dir) or run_dir.name
    return deployment_from_inputs(
        run_dir / DEPLOY_DIR, source, options, model_name=name, serving=serving, engine_manifest=manifest
    )


def _cpu_model_name(run_dir: Path) -> str | None:
    models = run_dir / "repository" / "deploy" / "models"
    names = (
        sorted(p.name for p in models.iterdir() if (p / "config.pbtxt").is_file()) if models.is_dir() else []
    )
    return names[0] if len(names) == 1 else None


def manifests_from_deployment(deploy_dir: str | Path, options: DeployOptions) -> dict[str, Path]:
    """Rewrites ``k8s/`` of an existing deployment from its lock with new Kubernetes options.

    The lock's image stays: only the Kubernetes side (names, replicas, GPUs, repository
    source, autoscaling) changes.
    """
    options.check()
    deploy_dir = Path(deploy_dir)
    lock = DeployLock.from_file(deploy_dir)
    models = sorted(p.name for p in (deploy_dir / "models").iterdir() if (p / "config.pbtxt").is_file())
    if len(models) != 1:
        raise UserError(f"{deploy_dir}/models should hold exactly one model, it holds {models}.")
    if options.kubernetes.image and options.kubernetes.image != lock.image.rsplit(":", 1)[0]:
        lock = replace(lock, image=f"{options.kubernetes.image}:triton-{lock.triton_release}")
    folder = deploy_dir / k8s.K8S_DIR
    with atomic_directory(folder) as tmp:
        written = k8s.write_manifests(tmp, lock, options, models[0])
    write_text_atomic(deploy_dir / LOCK_NAME, lock.to_json())
    return {key: folder / path.name for key, path in written.items()}
