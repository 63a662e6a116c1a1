"""Kubernetes manifests for the image ``deploy/Dockerfile`` builds: a Deployment, a Service, a
HorizontalPodAutoscaler on a Triton metric (through the Prometheus adapter), and a KServe
``InferenceService`` for clusters that run KServe. Image and versions come from the lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trt_pdk.deploy.lock import DeployLock
from trt_pdk.deploy.options import DeployOptions, dns_name
from trt_pdk.triton.repository import CONTAINER_REPOSITORY

K8S_DIR = "k8s"
TRITON_MANIFESTS = "triton.yaml"
KSERVE_MANIFEST = "kserve.yaml"
ADAPTER_RULES = "prometheus-adapter-values.yaml"
PVC_MOUNT = "/mnt/models"

# Per-pod metrics the Prometheus adapter derives from Triton's /metrics counters.
METRICS = {
    "queue_time": {
        "name": "triton_queue_time_us_per_request",
        "series": "nv_inference_queue_duration_us",
        "query": (
            "sum(rate(nv_inference_queue_duration_us{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>) / "
            "clamp_min(sum(rate(nv_inference_request_success{<<.LabelMatchers>>}[1m])) "
            "by (<<.GroupBy>>), 1e-9)"
        ),
        "default_target": 2000,
    },
    "inference_count": {
        "name": "triton_inferences_per_second",
        "series": "nv_inference_count",
        "query": "sum(rate(nv_inference_count{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
        "default_target": 100,
    },
}


def _container(lock: DeployLock, options: DeployOptions, model_repository: str | None) -> dict[str, Any]:
    k = options.kubernetes
    env = [{"name": "MODEL_REPOSITORY", "value": model_repository}] if model_repository else []
    container: dict[str, Any] = {
        "name": "triton",
        "image": lock.image,
        "ports": [
            {"name": "http", "containerPort": options.http_port},
            {"name": "grpc", "containerPort": options.grpc_port},
            {"name": "metrics", "containerPort": options.metrics_port},
        ],
        "resources": {
            "requests": {"cpu": k.cpu, "memory": k.memory, "nvidia.com/gpu": k.gpus},
            "limits": {"cpu": k.cpu, "memory": k.memory, "nvidia.com/gpu": k.gpus},
        },
        # Ready = every model loaded (Triton's strict readiness); live = the server process answers.
        "readinessProbe": {
            "httpGet": {"path": "/v2/health/ready", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        # Loading engines takes a while; do not kill the pod before the models are in.
        "startupProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 30,
        },
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if env:
        container["env"] = env
    if k.object_store_secret:
        container["envFrom"] = [{"secretRef": {"name": k.object_store_secret}}]
    return container


def _repository(options: DeployOptions) -> tuple[str | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """(MODEL_REPOSITORY value or None for the image's, extra volumes, extra mounts)."""
    repo = options.kubernetes.model_repository
    if repo == "image":
        return None, [], []
    if repo.startswith("pvc:"):
        claim = repo.removeprefix("pvc:")
        volume = {"name": "model-repository", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        mount = {"name": "model-repository", "mountPath": PVC_MOUNT, "readOnly": True}
        return PVC_MOUNT, [volume], [mount]
    return repo, [], []


def triton_manifests(lock: DeployLock, options: DeployOptions, model: str) -> list[dict[str, Any]]:
    """Deployment, Service and HorizontalPodAutoscaler (autoscaling/v2, Pods metric)."""
    k = options.kubernetes
    name = dns_name(k.name or model)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "triton"}
    repository, volumes, mounts = _repository(options)
    container = _container(lock, options, repository)
    container["volumeMounts"] += mounts
    metric = METRICS[k.autoscale_metric]
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(options.metrics_port),
        "prometheus.io/path": "/metrics",
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": k.namespace, "labels": labels},
        "spec": {
            "replicas": k.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "containers": [container],
                    "volumes": [
                        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
                        *volumes,
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": k.namespace, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [
                {"name": p, "port": port, "targetPort": p}
                for p, port in (
                    ("http", options.http_port),
                    ("grpc", options.grpc_port),
                    ("metrics", options.metrics_port),
                )
            ],
        },
    }
    target = k.autoscale_target or metric["default_target"]
    autoscaler = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": k.namespace, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": k.min_replicas,
            "maxReplicas": k.max_replicas,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": metric["name"]},
                        "target": {"type": "AverageValue", "averageValue": str(target)},
                    },
                }
            ],
        },
    }
    return [deployment, service, autoscaler]


def kserve_manifest(lock: DeployLock, options: DeployOptions, model: str) -> dict[str, Any]:
    """A KServe ``InferenceService`` (serving.kserve.io/v1beta1) running the same image."""
    k = options.kubernetes
    repository, volumes, mounts = _repository(options)
    container = _container(lock, options, repository)
    # KServe routes one port to the predictor: Triton's HTTP/REST (KServe's v2 protocol).
    container["name"] = "kserve-container"
    container["ports"] = [{"name": "http1", "containerPort": options.http_port, "protocol": "TCP"}]
    container["readinessProbe"]["httpGet"]["port"] = options.http_port
    container["livenessProbe"]["httpGet"]["port"] = options.http_port
    container["startupProbe"]["httpGet"]["port"] = options.http_port
    container["volumeMounts"] += mounts
    predictor: dict[str, Any] = {
        "minReplicas": k.min_replicas,
        "maxReplicas": k.max_replicas,
        "containers": [container],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}, *volumes],
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": dns_name(k.name or model),
            "namespace": k.namespace,
            "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"},
        },
        "spec": {"predictor": predictor},
    }


def adapter_values(options: DeployOptions) -> dict[str, Any]:
    """prometheus-adapter Helm values exposing the autoscaler's metric per pod."""
    metric = METRICS[options.kubernetes.autoscale_metric]
    return {
        "rules": {
            "custom": [
                {
                    "seriesQuery": f'{metric["series"]}{{namespace!="",pod!=""}}',
                    "resources": {
                        "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
                    },
                    "name": {"matches": metric["series"], "as": metric["name"]},
                    "metricsQuery": metric["query"],
                }
            ]
        }
    }


def _dump(docs: list[dict[str, Any]], header: str) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # plain YAML: no &anchors for shared labels
            return True

    body = "---\n".join(yaml.dump(d, Dumper=Dumper, sort_keys=False) for d in docs)
    return header + body


def write_manifests(folder: Path, lock: DeployLock, options: DeployOptions, model: str) -> dict[str, Path]:
    """``triton.yaml``, ``kserve.yaml``, ``prometheus-adapter-values.yaml`` into ``folder`` (deploy/k8s)."""
    folder.mkdir(parents=True, exist_ok=True)
    head = (
        f"# Written by trt-pdk from lock.json: image {lock.image} (built from ../Dockerfile on "
        f"{lock.triton_image}).\n"
    )
    paths = {
        "triton": folder / TRITON_MANIFESTS,
        "kserve": folder / KSERVE_MANIFEST,
        "adapter": folder / ADAPTER_RULES,
    }
    paths["triton"].write_text(
        _dump(triton_manifests(lock, options, model), head + "# kubectl apply -f triton.yaml\n"),
        encoding="utf-8",
    )
    paths["kserve"].write_text(
        _dump([kserve_manifest(lock, options, model)], head + "# For clusters that run KServe.\n"),
        encoding="utf-8",
    )
    paths["adapter"].write_text(
        _dump(
            [adapter_values(options)],
            "# Helm values for prometheus-community/prometheus-adapter: the autoscaler's per-pod metric\n"
            "# from Triton's /metrics (scraped through the pod's prometheus.io annotations).\n",
        ),
        encoding="utf-8",
    )
    return paths


def model_repository_note(options: DeployOptions) -> str:
    repo = options.kubernetes.model_repository
    if repo == "image":
        return f"the repository and engines baked into the image ({CONTAINER_REPOSITORY})"
    return f"{repo} (must hold the engines the image built: copy {CONTAINER_REPOSITORY} out of it)"
