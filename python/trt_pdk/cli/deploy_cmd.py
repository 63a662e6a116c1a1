"""``trt-pdk deploy tensorrt|k8s RUN_DIR``: the TensorRT deployment of a run, and its Kubernetes side.

``deploy tensorrt RUN_DIR`` writes ``RUN_DIR/deploy`` (lock, ``tensorrt_plan`` repository,
Dockerfile that builds the plugin library and the engines on the pinned NGC image,
``launch.sh``, Kubernetes manifests) from the run's engine stage. ``deploy k8s RUN_DIR``
rewrites only ``RUN_DIR/deploy/k8s`` with other Kubernetes options; the image and versions
stay those of the lock. The flags come from :class:`~trt_pdk.deploy.options.DeployOptions`
and :class:`~trt_pdk.deploy.options.KubernetesOptions` (``add_options``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from trt_pdk.deploy.options import DeployOptions, KubernetesOptions
from trt_pdk.options import add_options, options_from_args


def _k8s_flags(p: argparse.ArgumentParser) -> None:
    add_options(p, KubernetesOptions, "Kubernetes")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "deploy",
        help="the TensorRT deployment of a run (Dockerfile, tensorrt_plan repository, Kubernetes)",
        description=__doc__.splitlines()[0],
    )
    sub = p.add_subparsers(dest="deploy_command", metavar="TARGET", required=True)
    t = sub.add_parser("tensorrt", help="write RUN_DIR/deploy from the run's engine stage")
    t.add_argument("run_dir", help="a pipeline run folder (with engine/)")
    add_options(t, DeployOptions, "deployment")
    t.add_argument("--json", action="store_true", help="print what was written as JSON")
    _k8s_flags(t)
    t.set_defaults(func=_tensorrt)
    k = sub.add_parser("k8s", help="rewrite RUN_DIR/deploy/k8s (Deployment, Service, HPA, KServe)")
    k.add_argument("run_dir", help="a run folder holding deploy/ (or the deploy folder itself)")
    k.add_argument("--json", action="store_true", help="print the files written as JSON")
    _k8s_flags(k)
    k.set_defaults(func=_k8s)


def _options(args: argparse.Namespace, tensorrt: bool = True):
    """DeployOptions from the flags (``deploy k8s`` has only the Kubernetes ones)."""
    kube = options_from_args(KubernetesOptions, args)
    if not tensorrt:
        return DeployOptions(kubernetes=kube)
    return dataclasses.replace(options_from_args(DeployOptions, args), kubernetes=kube)


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
    options = _options(args, tensorrt=False)
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
