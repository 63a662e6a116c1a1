"""The image's build context: the Dockerfile (NGC TensorRT image builds the plugin library and the
engines, NGC Triton image of the same release serves them), ``launch.sh``, the scripts both run,
and sdists of the plugin packages. Every version in them comes from the lock."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

from trt_pdk.deploy.lock import DeployLock
from trt_pdk.deploy.tensorrt import (
    BUILD_DIR,
    CHECK_TENSORRT,
    IMAGE_ROOT,
    ON_GPU,
    PLAN_VERSION,
    WHEELS_DIR,
    EngineSource,
    build_onnx,
    container_plugins,
    plan_names,
    trtexec_lines,
)
from trt_pdk.triton.repository import CONTAINER_PLUGINS, CONTAINER_REPOSITORY, MODELS_DIR, launch_command


def _shell(argv: list[str]) -> str:
    return " \\\n    ".join(shlex.quote(a) for a in argv)


def dockerfile(
    name: str, lock: DeployLock, builds: list[tuple[str, list[str]]], kit_requirement: str, ports
) -> str:
    """Two stages: the NGC TensorRT image builds the plugin library and the engines; the NGC Triton
    image of the same release serves them. Both check their TensorRT against the lock first."""
    archs = ";".join(lock.cuda_arch_numbers)
    requirements = " ".join(shlex.quote(r) for r in _requirements(lock, kit_requirement))
    no_binary = ",".join(lock.plugin_packages)
    copy_libs = " && ".join(
        f"cp \"$(python3 -c 'from trt_pdk.native import plugin_library_path as p; "
        f'print(p({lock.tensorrt_major}, "{package}"))\')" {CONTAINER_PLUGINS}/{lib}'
        for package, lib in zip(_import_names(lock), lock.plugin_libraries, strict=True)
    )
    http, grpc, metrics = ports
    lines = [
        f"# Written by trt-pdk from lock.json: Triton {lock.triton_release} with TensorRT {lock.tensorrt}, "
        f"engines for compute capability {', '.join(lock.cuda_archs)}.",
        f"#   docker build -t {lock.image} .",
        "# The engines are built at image build time, so the build needs the target GPU: use the classic",
        "# builder with the NVIDIA runtime as Docker's default runtime (DOCKER_BUILDKIT=0,",
        '# /etc/docker/daemon.json "default-runtime": "nvidia"). A host with no GPU of a locked',
        "# architecture stops the build at that engine, saying which GPU it needs.",
    ]
    if not lock.release_verified:
        lines.append(
            "# The kit's table marks this release's TensorRT as unverified; check_tensorrt.sh stops the build"
        )
        lines.append("# if the image ships another TensorRT (see the NGC frameworks support matrix).")
    lines += [
        "",
        f"FROM {lock.builder_image} AS build",
        "ARG PIP_INDEX_URL",
        "ARG PIP_EXTRA_INDEX_URL",
        "ENV PIP_BREAK_SYSTEM_PACKAGES=1",
        "ENV PATH=/usr/src/tensorrt/bin:/opt/tensorrt/bin:$PATH",
        f"COPY {BUILD_DIR}/ {IMAGE_ROOT}/{BUILD_DIR}/",
        f"RUN sh {IMAGE_ROOT}/{BUILD_DIR}/{CHECK_TENSORRT} {lock.tensorrt}",
        f"COPY {WHEELS_DIR}/ /tmp/wheels/",
        "# The plugin library, compiled against this image's TensorRT headers for the locked architectures.",
        f"RUN mkdir -p {CONTAINER_PLUGINS} && PDK_TENSORRT=ON PDK_CUDA=ON CUDAARCHS='{archs}' \\",
        f"    python3 -m pip install --no-cache-dir --no-binary {no_binary} --find-links /tmp/wheels \\",
        f"    {requirements} \\",
        f"    && {copy_libs}",
    ]
    for cc, argv in builds:
        lines.append(f"# Engine for compute capability {cc} (trtexec, the engine stage's build line).")
        lines.append(f"RUN mkdir -p {IMAGE_ROOT}/{MODELS_DIR}/{name}/{PLAN_VERSION} && \\")
        lines.append(f"    sh {IMAGE_ROOT}/{BUILD_DIR}/{ON_GPU} {cc} \\\n    {_shell(argv)}")
    lines += [
        "",
        f"FROM {lock.triton_image}",
        f"COPY {BUILD_DIR}/{CHECK_TENSORRT} {IMAGE_ROOT}/{BUILD_DIR}/{CHECK_TENSORRT}",
        f"RUN sh {IMAGE_ROOT}/{BUILD_DIR}/{CHECK_TENSORRT} {lock.tensorrt}",
        f"COPY --from=build {CONTAINER_PLUGINS}/ {CONTAINER_PLUGINS}/",
        f"COPY {MODELS_DIR}/ {CONTAINER_REPOSITORY}/",
    ]
    if builds:
        lines.append(f"COPY --from=build {IMAGE_ROOT}/{MODELS_DIR}/ {CONTAINER_REPOSITORY}/")
    lines += [
        f"COPY lock.json launch.sh {IMAGE_ROOT}/",
        f"ENV MODEL_REPOSITORY={CONTAINER_REPOSITORY}",
        f"EXPOSE {http} {grpc} {metrics}",
        f'CMD ["{IMAGE_ROOT}/launch.sh"]',
    ]
    return "\n".join(lines) + "\n"


def _import_names(lock: DeployLock) -> list[str]:
    # lib<package>_plugins_trt<major>.so -> <package>
    return [lib.removeprefix("lib").rsplit("_plugins_trt", 1)[0] for lib in lock.plugin_libraries]


def _requirements(lock: DeployLock, kit_requirement: str) -> list[str]:
    out = [kit_requirement]
    out += [f"{dist}=={version}" for dist, version in lock.plugin_packages.items() if dist != "trt-pdk"]
    return out


def launch_script(lock: DeployLock, ports) -> str:
    """The container's command: checks the image's TensorRT against the lock, then serves."""
    http, grpc, metrics = ports
    argv = launch_command(
        "$MODEL_REPOSITORY",
        container_plugins(lock),
        [f"--http-port={http}", f"--grpc-port={grpc}", f"--metrics-port={metrics}"],
    )
    quoted = " ".join('"' + a + '"' if "$" in a or ";" in a else shlex.quote(a) for a in argv)
    return (
        "#!/bin/sh\n"
        f"# Written by trt-pdk from lock.json: Triton {lock.triton_release}, TensorRT {lock.tensorrt}.\n"
        "# The image's command; MODEL_REPOSITORY may name a folder or an object store (s3://, gs://, as://).\n"
        "# Plugins load through the TensorRT backend's option, after TensorRT itself: under LD_PRELOAD\n"
        "# they would load before it and find no plugin registry to join.\n"
        "set -e\n"
        f'MODEL_REPOSITORY="${{MODEL_REPOSITORY:-{CONTAINER_REPOSITORY}}}"\n'
        f"sh {IMAGE_ROOT}/{BUILD_DIR}/{CHECK_TENSORRT} {lock.tensorrt}\n"
        f'exec {quoted} "$@"\n'
    )


CHECK_TENSORRT_SCRIPT = """#!/bin/sh
# Written by trt-pdk: stops unless this image's TensorRT is the locked one (an engine only
# deserializes in the TensorRT that built it; a plugin library only loads under its major).
want="$1"
want3=$(echo "$want" | cut -d. -f1-3)
found=$(find /usr /opt -name 'libnvinfer.so.*.*.*' 2>/dev/null | sed 's/.*libnvinfer\\.so\\.//' | sort -u)
for v in $found; do
  if [ "$v" = "$want3" ]; then echo "TensorRT $want3 found, as locked"; exit 0; fi
done
echo "error: the lock pins TensorRT $want, this image has: ${found:-no libnvinfer}." >&2
echo "Fix deploy.triton_release / deploy.tensorrt (NGC support matrix) and rewrite the deployment." >&2
exit 1
"""

ON_GPU_SCRIPT = """#!/bin/sh
# Written by trt-pdk: runs a command on a visible GPU of compute capability $1 (an engine is
# built for the GPU that builds it), or stops saying which GPU the build needs.
want="$1"; shift
gpu=$(nvidia-smi --query-gpu=index,compute_cap --format=csv,noheader 2>/dev/null \\
      | awk -F', *' -v cc="$want" '$2 == cc { print $1; exit }')
if [ -z "$gpu" ]; then
  echo "error: this engine is for compute capability $want and the build sees no such GPU" >&2
  echo "($(nvidia-smi -L 2>/dev/null || echo 'no GPU at all')). Build on a host with that GPU, with" >&2
  echo "DOCKER_BUILDKIT=0 and the NVIDIA runtime as Docker's default runtime." >&2
  exit 1
fi
CUDA_VISIBLE_DEVICES="$gpu" exec "$@"
"""


def write_build_context(
    out: Path,
    name: str,
    source: EngineSource,
    lock: DeployLock,
    *,
    kit_requirement: str,
    ports,
    bundle: bool = True,
) -> dict[str, Any]:
    """Dockerfile, launch.sh, build/ (ONNX + scripts) and wheels/ under ``out``."""
    build = out / BUILD_DIR
    build.mkdir(parents=True)
    repo = out / MODELS_DIR / name / str(PLAN_VERSION)
    in_image = [cc for cc in lock.cuda_archs if not any(repo.glob(plan_names(lock)[cc]))]
    lines = trtexec_lines(name, source, lock, in_image)
    if lines:
        model = build_onnx(source, lock)
        shutil.copy2(model, build / model.name)
        for rel in _external_data(model):
            (build / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(model.parent / rel, build / rel)
    (build / CHECK_TENSORRT).write_text(CHECK_TENSORRT_SCRIPT, encoding="utf-8")
    (build / ON_GPU).write_text(ON_GPU_SCRIPT, encoding="utf-8")
    wheels = out / WHEELS_DIR
    wheels.mkdir()
    (wheels / "README.txt").write_text(
        "Put sdists or wheels of the plugin packages here to build the image without a package index:\n"
        + "".join(f"  {d}=={v}\n" for d, v in lock.plugin_packages.items())
        + "(e.g. `python -m build --sdist` in the trt-pdk checkout). With an index, pass\n"
        "--build-arg PIP_INDEX_URL=... instead.\n",
        encoding="utf-8",
    )
    bundled, notes = bundle_sources(wheels, lock.plugin_packages) if bundle else ([], [])
    text = dockerfile(name, lock, lines, kit_requirement, ports)
    (out / "Dockerfile").write_text(text, encoding="utf-8")
    launch = out / "launch.sh"
    launch.write_text(launch_script(lock, ports), encoding="utf-8")
    launch.chmod(0o755)
    return {
        "dockerfile": out / "Dockerfile",
        "launch": launch,
        "trtexec": [argv for _, argv in lines],
        "bundled": bundled,
        "notes": notes,
    }


def _external_data(path: Path) -> list[str]:
    import onnx
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    model = onnx.load(str(path), load_external_data=False)
    return sorted(
        {
            next(e.value for e in t.external_data if e.key == "location")
            for t in _get_all_tensors(model)
            if uses_external_data(t)
        }
    )


def bundle_sources(wheels: Path, distributions: dict[str, str]) -> tuple[list[str], list[str]]:
    """sdists of the plugin distributions installed from a local source folder, into ``wheels``.

    Lets ``docker build`` install them without a package index. Returns (sdist names, notes
    for those it could not bundle).
    """
    import re
    import subprocess
    import sys
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    bundled, notes = [], []
    for dist in distributions:
        try:
            origin = json.loads(metadata.distribution(dist).read_text("direct_url.json") or "{}")
        except metadata.PackageNotFoundError:
            origin = {}
        url = urlparse(origin.get("url", ""))
        src = Path(unquote(url.path)) if url.scheme == "file" and "dir_info" in origin else None
        if src is None or not (src / "pyproject.toml").is_file():
            notes.append(
                f"{dist} was not installed from a source folder: put its sdist in deploy/{WHEELS_DIR}/"
            )
            continue
        # PEP 517's build-backend key (tomllib is 3.11+; the kit supports 3.10).
        found = re.search(r'^build-backend\s*=\s*"([^"]+)"', (src / "pyproject.toml").read_text(), re.M)
        module, _, obj = (found[1] if found else "setuptools.build_meta").partition(":")
        hook = (
            f"import {module} as b; b = getattr(b, {obj!r}) if {obj!r} else b; "
            f"print(b.build_sdist({str(wheels)!r}))"
        )
        done = subprocess.run(
            [sys.executable, "-c", hook], cwd=src, capture_output=True, text=True, timeout=300, check=False
        )
        name = done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout.strip() else ""
        if name and (wheels / name).is_file():
            bundled.append(name)
        else:
            why = (done.stderr.strip().splitlines() or ["no sdist written"])[-1]
            notes.append(
                f"could not build an sdist of {dist} from {src} ({why}); put one in deploy/{WHEELS_DIR}/"
            )
    return bundled, notes
