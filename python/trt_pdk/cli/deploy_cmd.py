"""``trt-pdk deploy tensorrt|k8s RUN_DIR``: the TensorRT deployment of a run, and its Kubernetes side.

``deploy tensorrt RUN_DIR`` writes ``RUN_DIR/deploy`` (lock, ``tensorrt_plan`` repository,
Dockerfile that builds the plugin library and the engines on the pinned NGC image,
``launch.sh``, Kubernetes manifests) from the run's engine stage. ``deploy k8s RUN_DIR``
rewrites only ``RUN_DIR/deploy/k8s`` with other Kubernetes options; the image and versions
stay those of the lock. Flags mirror :class:`~trt_pdk.deploy.options.DeployOptions`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def _k8s_flags(p: argparse.ArgumentParser) -> None:
    from trt_pdk.deploy.options import AUTOSCALE_METRICS

    g = p.add_argument_group("Kubernetes")
    g.add_argument("--name", help="name of the Deployment/Service/autoscaler (default: the model's)")
    g.add_argument("--namespace", help="namespace (default: default)")
    g.add_argument("--image", help="repository of the image built from deploy/Dockerfile")
    g.add_argument("--replicas", type=int)
    g.add_argument("--gpus", type=int, help="nvidia.com/gpu per pod (default 1)")
    g.add_argument("--cpu", help="CPU request/limit per pod (default 4)")
    g.add_argument("--memory", help="memory request/limit per pod (default 16Gi)")
    g.add_argument(
        "--model-repository",
        help="`image` (default), `pvc:CLAIM`, or an object-store URL (s3://, gs://, as://)",
    )
    g.add_argument("--object-store-secret", help="Secret with the object store's credentials")
    g.add_argument("--autoscale-metric", choices=AUTOSCALE_METRICS, help="Triton metric the autoscaler holds")
    g.add_argument("--autoscale-target", type=int, help="per-pod average (µs queue time or inferences/s)")
    g.add_argument("--min-replicas", type=int)
    g.add_argument("--max-replicas", type=int)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "deploy",
        help="the TensorRT deployment of a run (Dockerfile, tensorrt_plan repository, Kubernetes)",
        description=__doc__.splitlines()[0],
    )
    sub = p.add_subparsers(dest="deploy_command", metavar="TARGET", required=True)
    t = sub.add_parser("tensorrt", help="write RUN_DIR/deploy from the run's engine stage")
    t.add_argument("run_dir", help="a pipeline run folder (with engine/)")
    t.add_argument("--model-name", help="Triton model name (default: the CPU repository's)")
    t.add_argument("--triton-release", help="NGC Triton release, e.g. 25.09")
    t.add_argument("--tensorrt", help="TensorRT version to deploy with, e.g. 10.13")
    t.add_argument(
        "--gpu-arch", action="append", dest="gpu_archs", help="compute capability, e.g. 9.0 (repeatable)"
    )
    t.add_argument("--precision", choices=("fp32", "fp16"))
    t.add_argument("--max-batch-size", type=int)
    t.add_argument("--kit-requirement", help="pip requirement installing trt-pdk in the image")
    t.add_argument(
        "--no-bundle-sources",
        dest="bundle_sources",
        action="store_false",
        default=None,
        help="do not put sdists of the plugin packages into deploy/wheels/",
    )
    t.add_argument("--json", action="store_true", help="print what was written as JSON")
    _k8s_flags(t)
    t.set_defaults(func=_tensorrt)
    k = sub.add_parser("k8s", help="rewrite RUN_DIR/deploy/k8s (Deployment, Service, HPA, KServe)")
    k.add_argument("run_dir", help="a run folder holding deploy/ (or the deploy folder itself)")
    k.add_argument("--json", action="store_true", help="print the files written as JSON")
    _k8s_flags(k)
    k.set_defaults(func=_k8s)


def _options(args: argparse.Namespace):
    from trt_pdk.deploy.options import DeployOptions, KubernetesOptions

    def given(cls) -> dict:
        return {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(cls)
            if getattr(args, f.name, None) is not None and f.name != "kubernetes"
        }

    kube = KubernetesOptions(**given(KubernetesOptions))
    top = given(DeployOptions)
    top.pop("name", None)
    return DeployOptions(**top, kubernetes=kube)


def _tensorrt(args: argparse.Namespace) -> int:
    from trt_pdk.deploy import deployment_from_run

    result = deployment_from_run(args.run_dir, _options(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    lock = result.lock
    print(
        f"wrote {result.root}: {lock.image} on {lock.triton_image} (TensorRT {lock.tensorrt}), engines for "
        f"compute capability {', '.join(lock.cuda_archs)} built in the image"
    )
    for note in result.notes:
        print(f"note: {note}")
    print(f"build: docker build -t {lock.image} {result.root}")
    print(f"kubernetes: kubectl apply -f {result.manifests['triton']}")
    return 0


def _k8s(args: argparse.Namespace) -> int:
    from trt_pdk.deploy import DEPLOY_DIR, LOCK_NAME, manifests_from_deployment

    folder = Path(args.run_dir)
    if not (folder / LOCK_NAME).is_file():
        folder = folder / DEPLOY_DIR
    options = _options(args)
    if not (folder / LOCK_NAME).is_file():
        from trt_pdk.errors import UserError

        raise UserError(
            f"{args.run_dir} holds no deployment ({folder / LOCK_NAME} is missing). Write it first with "
            f"`trt-pdk deploy tensorrt {args.run_dir}` (the pipeline writes it as its deploy stage)."
        )
    written = manifests_from_deployment(folder, options)
    if args.json:
        print(json.dumps({k: str(v) for k, v in written.items()}, indent=2))
    else:
        for key, path in written.items():
            print(f"wrote {path} ({key})")
    return 0
