"""deploy: the TensorRT deployment and Kubernetes manifests beside the CPU run (``deploy/``).

The options are :class:`trt_pdk.deploy.options.DeployOptions` (declared by the deploy
package, with its own ``check()``); ``trt-pdk deploy tensorrt|k8s`` takes its flags from them
and from ``KubernetesOptions`` (``add_options``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from trt_pdk.deploy.options import DeployOptions
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.engine import EngineResult
from trt_pdk.pipeline.stages.perf import PerfResult
from trt_pdk.pipeline.stages.repository import RepositoryResult


@dataclass(kw_only=True)
class DeploymentResult(StageResult):
    """Attributes:
    root: the deployment folder; config / dockerfile / launch / manifests / lock: its files.
    """

    root: str
    config: str
    dockerfile: str
    launch: str
    manifests: dict[str, str]
    lock: str
    triton_image: str
    image: str
    tensorrt: str
    cuda_archs: list[str]
    plugin_libraries: list[str]
    plans_in_image: list[str]
    plans_here: list[str]
    bundled: list[str]
    batching: dict[str, Any]
    trtexec: list[str]
    notes: list[str]


def run(
    ctx: StageContext,
    options: DeployOptions,
    *,
    engine: EngineResult,
    repository: RepositoryResult,
    perf: PerfResult | None,
) -> DeploymentResult:
    """Reads the engine stage's folder, the serving search (``perf/perf.json``, when perf ran)
    and the CPU repository's model name."""
    from trt_pdk.deploy import deployment_from_run

    if options.precision is None:
        options = replace(options, precision=engine.precision)
    written = deployment_from_run(ctx.root, options, model_name=repository.model)
    return DeploymentResult.from_json(written.to_dict(relative_to=ctx.root))
