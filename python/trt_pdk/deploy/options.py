"""What a deployment is configured with: one dataclass each, the single source of the YAML keys,
CLI flags and Python arguments (the pipeline's ``deploy:`` section is :class:`DeployOptions`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trt_pdk.errors import UserError
from trt_pdk.options import option

# Object stores tritonserver reads a model repository from (--model-repository=URL).
OBJECT_STORES = ("s3://", "gs://", "as://")
AUTOSCALE_METRICS = ("queue_time", "inference_count")
_ARCH = re.compile(r"^\d{1,2}\.\d$")


def dns_name(text: str) -> str:
    """A DNS-1123 label from a model name (``My_Model`` -> ``my-model``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name or "triton"


@dataclass
class KubernetesOptions:
    """Triton on Kubernetes.

    Args:
        name: name of the Deployment, Service, autoscaler and InferenceService (default:
            the model name, made DNS-safe).
        namespace: Kubernetes namespace.
        image: repository of the image built from ``deploy/Dockerfile`` (default
            ``trt-pdk/<name>``; the tag comes from the lock: ``triton-<release>``).
        replicas: pods before the autoscaler takes over.
        gpus: ``nvidia.com/gpu`` per pod.
        cpu / memory: requests and limits per pod.
        model_repository: ``image`` (the repository and engines baked into the image),
            ``pvc:CLAIM`` (a PersistentVolumeClaim holding a repository with the engines),
            or an object-store URL (``s3://``, ``gs://``, ``as://``) tritonserver reads.
        object_store_secret: a Secret whose keys become environment variables (e.g.
            ``AWS_ACCESS_KEY_ID``) for an object-store repository.
        autoscale_metric: ``queue_time`` (average queue time per request, µs) or
            ``inference_count`` (inferences per second per pod), from Triton's metrics
            through the Prometheus adapter.
        autoscale_target: the per-pod average the autoscaler holds (default 2000 µs queue
            time, or 100 inferences/s).
        min_replicas / max_replicas: bounds of the autoscaler.
    """

    name: str | None = option(None, help="name of the Deployment/Service/autoscaler (default: the model's)")
    namespace: str = option("default", help="namespace")
    image: str | None = option(None, help="repository of the image built from deploy/Dockerfile")
    replicas: int = option(1, help="pods before the autoscaler takes over")
    gpus: int = option(1, help="nvidia.com/gpu per pod")
    cpu: str = option("4", help="CPU request/limit per pod")
    memory: str = option("16Gi", help="memory request/limit per pod")
    model_repository: str = option(
        "image", help="`image`, `pvc:CLAIM`, or an object-store URL (s3://, gs://, as://)"
    )
    object_store_secret: str | None = option(None, help="Secret with the object store's credentials")
    autoscale_metric: str = option(
        "queue_time", choices=AUTOSCALE_METRICS, help="Triton metric the autoscaler holds"
    )
    autoscale_target: int | None = option(None, help="per-pod average (µs queue time or inferences/s)")
    min_replicas: int = option(1, help="lower bound of the autoscaler")
    max_replicas: int = option(4, help="upper bound of the autoscaler")

    def check(self) -> None:
        repo = self.model_repository
        if not (
            repo == "image" or (repo.startswith("pvc:") and len(repo) > 4) or repo.startswith(OBJECT_STORES)
        ):
            raise UserError(
                f"deploy.kubernetes.model_repository {repo!r} must be `image`, `pvc:CLAIM` or an "
                f"object-store URL starting with {', '.join(OBJECT_STORES)}."
            )
        if self.autoscale_metric not in AUTOSCALE_METRICS:
            raise UserError(
                f"deploy.kubernetes.autoscale_metric {self.autoscale_metric!r} must be one of "
                f"{', '.join(AUTOSCALE_METRICS)}."
            )
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise UserError(
                f"deploy.kubernetes needs 1 <= min_replicas ({self.min_replicas}) <= max_replicas "
                f"({self.max_replicas})."
            )
        if self.gpus < 1 or self.replicas < 1:
            raise UserError(
                "deploy.kubernetes.gpus and replicas must be >= 1 (Triton serves TensorRT on GPUs)."
            )
        if self.autoscale_target is not None and self.autoscale_target < 1:
            raise UserError(f"deploy.kubernetes.autoscale_target must be >= 1, got {self.autoscale_target}.")


@dataclass
class DeployOptions:
    """The TensorRT deployment written beside every run.

    Args:
        model_name: Triton model name (default: the CPU repository's).
        triton_release: NGC Triton release (``25.09``) to deploy in; default: the one
            shipping the TensorRT that built the run's engines, else ``tensorrt``'s, else
            the newest release in the kit's table.
        tensorrt: TensorRT version to deploy with when no engine was built here (``10.13``).
        gpu_archs: compute capabilities to build engines for (``["9.0"]``); several give
            one plan each, chosen by Triton's ``cc_model_filenames``. Default: the GPU the
            engines were built on, else this machine's GPU, else 9.0.
        precision: ``fp32`` or ``fp16`` engine to serve (default: the engine stage's; its
            ``both`` serves fp16).
        max_batch_size: Triton's; default the largest batch every profile accepts.
        instance_count / preferred_batch_sizes / max_queue_delay_us: dynamic batching and
            instances per profile; default the serving search's tuned values.
        http_port / grpc_port / metrics_port: Triton's listeners in the container.
        kit_requirement: pip requirement that installs this kit in the image (default
            ``trt-pdk==<this version>``).
        bundle_sources: build sdists of the plugin packages installed from a source folder
            into ``deploy/wheels/`` (default True), so the image builds without an index.
        kubernetes: :class:`KubernetesOptions`.
    """

    model_name: str | None = option(None, help="Triton model name (default: the CPU repository's)")
    triton_release: str | None = option(None, help="NGC Triton release, e.g. 25.09")
    tensorrt: str | None = option(None, help="TensorRT version to deploy with, e.g. 10.13")
    gpu_archs: list[str] = option(
        factory=list, flag="--gpu-arch", help="compute capability, e.g. 9.0 (repeatable)"
    )
    # The command line serves one engine; the YAML also takes `both` (served as fp16).
    precision: str | None = option(None, choices=("fp32", "fp16"), help="engine precision to serve")
    max_batch_size: int | None = option(None, help="Triton's max_batch_size")
    instance_count: int | None = option(None, cli=False, help="instances per profile")
    preferred_batch_sizes: list[int] | None = option(None, cli=False, help="dynamic batching's sizes")
    max_queue_delay_us: int | None = option(None, cli=False, help="dynamic batching's queue delay")
    http_port: int = option(8000, cli=False, help="Triton's HTTP port in the container")
    grpc_port: int = option(8001, cli=False, help="Triton's gRPC port in the container")
    metrics_port: int = option(8002, cli=False, help="Triton's metrics port in the container")
    kit_requirement: str | None = option(None, help="pip requirement installing trt-pdk in the image")
    bundle_sources: bool = option(
        True, help="put sdists of the plugin packages into deploy/wheels/ (--no-bundle-sources: do not)"
    )
    kubernetes: KubernetesOptions = option(
        factory=KubernetesOptions, cli=False, help="Kubernetes (KubernetesOptions: a flag group of its own)"
    )

    def check(self) -> None:
        bad = [a for a in self.gpu_archs if not _ARCH.match(str(a))]
        if bad:
            raise UserError(
                f"deploy.gpu_archs {bad}: write compute capabilities as MAJOR.MINOR strings, e.g. "
                '["8.0", "9.0"] (A100, H100/H200).'
            )
        if self.precision not in (None, "fp32", "fp16", "both"):
            raise UserError(f"deploy.precision must be fp32 or fp16, got {self.precision!r}.")
        ports = (self.http_port, self.grpc_port, self.metrics_port)
        if len(set(ports)) != 3 or not all(0 < p < 65536 for p in ports):
            raise UserError(f"deploy ports {ports} must be three different port numbers.")
        if self.max_batch_size is not None and self.max_batch_size < 0:
            raise UserError("deploy.max_batch_size must be >= 0.")
        self.kubernetes.check()
