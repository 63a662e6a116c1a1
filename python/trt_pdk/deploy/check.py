"""Reads a deployment folder back against its lock: every version string must agree.

Used by ``trt-pdk doctor --against DEPLOY_DIR``. A finding per kind of fact; a disagreement
names the file and line and what the lock says.
"""

from __future__ import annotations

import re
from pathlib import Path

from trt_pdk.deploy.lock import LOCK_NAME, DeployLock
from trt_pdk.lock import Finding

# (check, pattern whose group 1 is the value, the lock's allowed values)
_PATTERNS = (
    (
        "triton image",
        re.compile(r"nvcr\.io/nvidia/tritonserver:([^\s\"'-]+)-py3"),
        lambda lk: {lk.triton_release},
    ),
    (
        "builder image",
        re.compile(r"nvcr\.io/nvidia/tensorrt:([^\s\"'-]+)-py3"),
        lambda lk: {lk.triton_release},
    ),
    ("image tag", re.compile(r":triton-([0-9][^\s\"',)]*)"), lambda lk: {lk.triton_release}),
    ("tensorrt version", re.compile(r"TensorRT (\d+\.\d+[\d.]*\d)"), lambda lk: {lk.tensorrt}),
    ("tensorrt version", re.compile(r"sh \S*check_tensorrt\.sh (\S+)"), lambda lk: {lk.tensorrt}),
    ("plugin library", re.compile(r"(lib\w+?_plugins_trt\d+\.so)"), lambda lk: set(lk.plugin_libraries)),
    ("cuda archs", re.compile(r"CUDAARCHS='([^']*)'"), lambda lk: {";".join(lk.cuda_arch_numbers)}),
    ("cuda archs", re.compile(r"on_gpu\.sh (\S+)"), lambda lk: set(lk.cuda_archs)),
    (
        "cuda archs",
        re.compile(r"compute capability ([\d., ]*\d)"),
        lambda lk: {", ".join(lk.cuda_archs), *lk.cuda_archs},
    ),
    ("cuda archs", re.compile(r'key: "(\d+\.\d+)"'), lambda lk: set(lk.cuda_archs)),
    ("image", re.compile(r"image: (\S+)"), lambda lk: {lk.image}),
)
# Files that must carry each check at least once.
_REQUIRED = {
    "Dockerfile": ("triton image", "builder image", "tensorrt version", "plugin library", "cuda archs"),
    "launch.sh": ("tensorrt version", "plugin library"),
    "k8s/triton.yaml": ("image", "image tag"),
    "k8s/kserve.yaml": ("image", "image tag"),
}
_TEXT_SUFFIXES = {"", ".sh", ".yaml", ".pbtxt", ".txt"}


def _files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in _TEXT_SUFFIXES and p.name != LOCK_NAME and "wheels" not in p.parts
    )


def check_deployment(path: str | Path) -> list[Finding]:
    """One finding per kind of fact (error on any disagreement with ``lock.json``, naming file:line)."""
    root = Path(path)
    lock = DeployLock.from_file(root)
    seen: dict[str, int] = {}
    found: dict[str, set[str]] = {}
    errors: dict[str, list[str]] = {}
    for file in _files(root):
        rel = file.relative_to(root).as_posix()
        for n, line in enumerate(file.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for check, pattern, allowed in _PATTERNS:
                for m in pattern.finditer(line):
                    seen[check] = seen.get(check, 0) + 1
                    found.setdefault(rel, set()).add(check)
                    if m.group(1) not in allowed(lock):
                        errors.setdefault(check, []).append(
                            f"{rel}:{n} has {m.group(1)!r}, the lock says "
                            + " or ".join(sorted(allowed(lock)))
                        )
    out = []
    for rel, checks in _REQUIRED.items():
        missing = [c for c in checks if c not in found.get(rel, set())]
        if missing:
            out.append(
                Finding(
                    f"deploy:{rel}",
                    "error",
                    f"{rel} names no {', '.join(missing)} (missing or edited by hand)",
                    "rewrite the deployment with `trt-pdk deploy tensorrt RUN_DIR`",
                )
            )
    for check in dict.fromkeys(c for c, _, _ in _PATTERNS):
        if check in errors:
            out.append(
                Finding(
                    f"deploy:{check}",
                    "error",
                    "; ".join(errors[check]),
                    "rewrite the deployment from its lock with `trt-pdk deploy tensorrt RUN_DIR`, or change "
                    "the lock's options there",
                )
            )
        elif check in seen:
            out.append(Finding(f"deploy:{check}", "ok", f"{seen[check]} mention(s) agree with {LOCK_NAME}"))
    built = (lock.engine_manifest or {}).get("tensorrt")
    if built and built.split(".")[:2] != lock.tensorrt.split(".")[:2]:
        out.append(
            Finding(
                "deploy:engine tensorrt",
                "warn",
                f"the engines here were built with TensorRT {built}; the image has {lock.tensorrt} and "
                "rebuilds them",
            )
        )
    if not lock.release_verified:
        out.append(
            Finding(
                "deploy:release table",
                "warn",
                f"Triton {lock.triton_release} -> TensorRT {lock.tensorrt} is unverified in the kit's table; "
                "the image build checks it (check_tensorrt.sh)",
            )
        )
    return out


def is_deployment(path: str | Path) -> bool:
    return (Path(path) / LOCK_NAME).is_file()
