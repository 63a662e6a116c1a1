"""Deploy where Triton really runs: the TensorRT deployment of a run and its Kubernetes manifests.

>>> from trt_pdk.deploy import DeployOptions, deployment_from_run
>>> result = deployment_from_run("runs/demo", DeployOptions(gpu_archs=["8.0", "9.0"]))
>>> result.dockerfile, result.manifests["triton"]       # runs/demo/deploy/Dockerfile, .../k8s/triton.yaml

Every version in ``deploy/`` (image tag, TensorRT, CUDA architectures, plugin library names)
is rendered from ``deploy/lock.json`` (:class:`DeployLock`); :func:`check_deployment` reads
the files back against it (``trt-pdk doctor --against RUN_DIR/deploy``).

The options import on their own (the pipeline config uses them); the writers, which pull in
ONNX and Triton's protobufs, load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from trt_pdk.deploy.options import DeployOptions, KubernetesOptions

_LAZY = {
    "DEPLOY_DIR": "trt_pdk.deploy.deployment",
    "DeployResult": "trt_pdk.deploy.deployment",
    "deployment_from_inputs": "trt_pdk.deploy.deployment",
    "deployment_from_run": "trt_pdk.deploy.deployment",
    "engine_source_from_run": "trt_pdk.deploy.deployment",
    "manifests_from_deployment": "trt_pdk.deploy.deployment",
    "LOCK_NAME": "trt_pdk.deploy.lock",
    "DeployLock": "trt_pdk.deploy.lock",
    "lock_for_deployment": "trt_pdk.deploy.lock",
    "check_deployment": "trt_pdk.deploy.check",
    "is_deployment": "trt_pdk.deploy.check",
    "EngineSource": "trt_pdk.deploy.tensorrt",
}

__all__ = [
    "DEPLOY_DIR",
    "LOCK_NAME",
    "DeployLock",
    "DeployOptions",
    "DeployResult",
    "EngineSource",
    "KubernetesOptions",
    "check_deployment",
    "deployment_from_inputs",
    "deployment_from_run",
    "engine_source_from_run",
    "is_deployment",
    "lock_for_deployment",
    "manifests_from_deployment",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trt_pdk.deploy' has no attribute {name!r}")
