"""The deployment lock: the one place the image tag, TensorRT version, CUDA architectures and
plugin library names of a deployment come from. Every file of ``deploy/`` is rendered from it,
and :func:`trt_pdk.deploy.check.check_deployment` reads them back against it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trt_pdk.deploy.options import DeployOptions, dns_name
from trt_pdk.errors import UserError

LOCK_NAME = "lock.json"
SCHEMA = "trt-pdk.deploy-lock/1"
NGC = "nvcr.io/nvidia"


@dataclass(frozen=True)
class DeployLock:
    """Pinned facts of one deployment (``deploy/lock.json``).

    ``tensorrt`` is the TensorRT of the NGC ``triton_release`` (the kit's release table);
    the engines are built in ``nvcr.io/nvidia/tensorrt:<release>-py3`` and served in
    ``nvcr.io/nvidia/tritonserver:<release>-py3``, whose TensorRT both Dockerfile stages
    check against ``tensorrt`` before anything is built.
    """

    triton_release: str
    tensorrt: str
    release_verified: bool
    release_source: str
    cuda_archs: tuple[str, ...]
    cuda_archs_source: str
    plugin_libraries: tuple[str, ...]
    plugin_packages: dict[str, str]
    kit_version: str
    image: str
    engine_manifest: dict[str, Any] | None = None
    schema: str = SCHEMA

    @property
    def tensorrt_major(self) -> int:
        return int(self.tensorrt.split(".")[0])

    @property
    def tensorrt_library_version(self) -> str:
        """``major.minor.patch``: the suffix of ``libnvinfer.so.X.Y.Z`` in the images."""
        return ".".join(self.tensorrt.split(".")[:3])

    @property
    def triton_image(self) -> str:
        return f"{NGC}/tritonserver:{self.triton_release}-py3"

    @property
    def builder_image(self) -> str:
        return f"{NGC}/tensorrt:{self.triton_release}-py3"

    @property
    def cuda_arch_numbers(self) -> tuple[str, ...]:
        """``("80", "90")``: the CUDAARCHS spelling of :attr:`cuda_archs`."""
        return tuple(a.replace(".", "") for a in self.cuda_archs)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_file(cls, path: str | Path) -> DeployLock:
        path = Path(path)
        if path.is_dir():
            path = path / LOCK_NAME
        if not path.is_file():
            raise UserError(
                f"{path} does not exist: not a deployment folder. Write one with `trt-pdk deploy tensorrt "
                "RUN_DIR` (or `trt-pdk pipeline run`, which writes RUN_DIR/deploy)."
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} is not valid JSON ({exc}); rewrite the deployment.") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise UserError(f"{path} is not a trt-pdk deployment lock (schema {SCHEMA!r}).")
        for key in ("cuda_archs", "plugin_libraries"):
            data[key] = tuple(data[key])
        return cls(**data)


def _distribution(package: str) -> tuple[str, str]:
    """(pip name, version) of the installed distribution that provides import package `package`."""
    from importlib import metadata

    names = metadata.packages_distributions().get(package) or [package.replace("_", "-")]
    try:
        return names[0], metadata.version(names[0])
    except metadata.PackageNotFoundError:
        raise UserError(
            f"the plugin package {package!r} is not installed as a distribution, so the image cannot "
            "install it; pip install it first."
        ) from None


def _release(options: DeployOptions, built_with: str | None) -> tuple[dict[str, Any], str]:
    from trt_pdk.lock import triton_release_for
    from trt_pdk.lock._triton import triton_table

    table = triton_table()
    if options.triton_release:
        row = next((r for r in table if r["release"] == options.triton_release), None)
        if row is None and not options.tensorrt:
            known = ", ".join(r["release"] for r in table)
            raise UserError(
                f"Triton release {options.triton_release} is not in the kit's table ({known}), so its "
                "TensorRT is unknown. Also set deploy.tensorrt (the TensorRT that release ships, from "
                "https://docs.nvidia.com/deeplearning/frameworks/support-matrix/)."
            )
        if row is None:
            row = {"release": options.triton_release, "tensorrt": options.tensorrt, "sure": False}
        return row, "deploy.triton_release"
    for want, source in (
        (options.tensorrt, "deploy.tensorrt"),
        (built_with, "the TensorRT that built the engines"),
    ):
        if want:
            row = triton_release_for(want)
            if row is None:
                raise UserError(
                    f"no Triton release in the kit's table ships TensorRT {want} ({source}). Set "
                    "deploy.triton_release and deploy.tensorrt to a release that does (NGC support matrix)."
                )
            return row, source
    return max(table, key=lambda r: r["release"]), "the newest release in the kit's table"


def _archs(options: DeployOptions, manifest: dict[str, Any] | None) -> tuple[tuple[str, ...], str]:
    if options.gpu_archs:
        return tuple(sorted(set(options.gpu_archs), key=float)), "deploy.gpu_archs"
    cc = ((manifest or {}).get("gpu") or {}).get("compute_capability")
    if cc:
        return (cc,), "the GPU the engines were built on"
    from trt_pdk.lock import environment_facts

    cc = (environment_facts().get("gpu") or {}).get("compute_capability")
    if cc:
        return (cc,), "this machine's GPU"
    return ("9.0",), "default (no GPU here; set deploy.gpu_archs)"


def lock_for_deployment(
    options: DeployOptions, model_name: str, engine_manifest: dict[str, Any] | None = None
) -> DeployLock:
    """Pins the release, TensorRT, architectures and plugin libraries of a deployment.

    Args:
        options: the deployment's options.
        model_name: the served model (names the image unless ``options.kubernetes.image`` does).
        engine_manifest: the engine stage's lock (``manifest.json``) when engines were really
            built here; its TensorRT and GPU are then the defaults.
    """
    import trt_pdk
    from trt_pdk.lock._libraries import library_packages

    built_with = (engine_manifest or {}).get("tensorrt")
    row, release_source = _release(options, built_with)
    archs, archs_source = _archs(options, engine_manifest)
    major = int(str(row["tensorrt"]).split(".")[0])
    packages = library_packages()
    distributions = dict(_distribution(p) for p in packages)
    repository = options.kubernetes.image or f"trt-pdk/{dns_name(model_name)}"
    image = f"{repository}:triton-{row['release']}"
    return DeployLock(
        triton_release=str(row["release"]),
        tensorrt=str(row["tensorrt"]),
        release_verified=bool(row.get("sure", False)),
        release_source=release_source,
        cuda_archs=archs,
        cuda_archs_source=archs_source,
        plugin_libraries=tuple(f"lib{p}_plugins_trt{major}.so" for p in packages),
        plugin_packages=distributions,
        kit_version=str(getattr(trt_pdk, "__version__", distributions.get("trt-pdk", "?"))),
        image=image,
        engine_manifest=engine_manifest,
    )
