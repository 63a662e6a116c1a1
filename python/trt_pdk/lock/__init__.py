"""The version lock: a manifest beside every engine, checked before an engine is loaded.

>>> from trt_pdk.lock import lock_run, check_against_manifest, require_matching_environment
>>> lock_run("runs/bert")                        # writes runs/bert/manifest.json
>>> findings = check_against_manifest("runs/bert/manifest.json")
>>> require_matching_environment("runs/bert/manifest.json")   # UserError on a mismatch
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.lock._env import environment_facts
from trt_pdk.lock._libraries import library_facts, refuse_wrong_major, sha256_file
from trt_pdk.lock._triton import triton_release_for

MANIFEST = "manifest.json"
SCHEMA = "trt-pdk.manifest/1"

__all__ = [
    "MANIFEST",
    "SCHEMA",
    "Finding",
    "check_against_manifest",
    "environment_facts",
    "library_facts",
    "load_manifest",
    "lock_run",
    "manifest_for_run",
    "refuse_wrong_major",
    "require_matching_environment",
    "triton_container_of",
    "triton_release_for",
]


@dataclass(frozen=True)
class Finding:
    """One check: ``status`` is ok, warn, error or skip; ``fix`` says what to do (or "")."""

    check: str
    status: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def manifest_for_run(run_dir: str | Path, env: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of a run folder written by ``trt-pdk engine build`` (environment facts now)."""
    run_dir = Path(run_dir)
    build_path = run_dir / "build.json"
    if not build_path.is_file():
        raise UserError(f"{run_dir} has no build.json: it is not a `trt-pdk engine build` run folder.")
    build = json.loads(build_path.read_text(encoding="utf-8"))
    env = env if env is not None else environment_facts()
    engines = []
    for prec, rel in build.get("engines", {}).items():
        path = run_dir / rel
        if path.is_file():
            engines.append({"precision": prec, "file": rel, "sha256": sha256_file(path)})
    if not engines:
        raise UserError(
            f"{run_dir} has no engines yet (a dry run?); build them first with `trt-pdk engine build`."
        )
    libs = [library_facts(p) for p in build.get("plugin_libraries", [])]
    trt_version = env.get("tensorrt")
    opset = None
    try:
        import onnx

        model = onnx.load(build["model"], load_external_data=False)
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    except Exception:
        pass
    return {
        "schema": SCHEMA,
        **env,
        "opset": opset,
        "model": build.get("model"),
        "plugin_libraries": libs,
        "profiles": build.get("profiles"),
        "precisions": build.get("precisions"),
        "engines": engines,
        "triton_container": triton_release_for(trt_version) if trt_version else None,
    }


def lock_run(run_dir: str | Path, env: dict[str, Any] | None = None) -> Path:
    """Writes ``RUN_DIR/manifest.json`` atomically and returns its path."""
    manifest = manifest_for_run(run_dir, env)
    return write_text_atomic(Path(run_dir) / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def load_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest at `path` (``manifest.json`` or its run folder); UserError if it is not one."""
    return _load(path)[1]


def triton_container_of(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The Triton NGC container a manifest's engines deploy in, or None when unknown.

    ``{"release": "25.02", "tensorrt": "10.8.0.43", "sure": bool, "match": ...}``: the
    ``triton_container`` the lock recorded, else looked up from the manifest's ``tensorrt``
    (a manifest locked where TensorRT was absent records none).
    """
    recorded = manifest.get("triton_container")
    if isinstance(recorded, dict) and recorded.get("release"):
        return recorded
    built = manifest.get("tensorrt")
    return triton_release_for(built) if built else None


def _load(path: str | Path) -> tuple[Path, dict[str, Any]]:
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    if not path.is_file():
        raise UserError(f"Manifest {path} does not exist. Write one with `trt-pdk lock RUN_DIR`.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError: a binary file
        raise UserError(
            f"Manifest {path} is not valid JSON ({type(exc).__name__}: {str(exc)[:160]}). Pass the "
            "manifest.json a run wrote, or write one with `trt-pdk lock RUN_DIR`."
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UserError(f"{path} is not a trt-pdk manifest (schema {SCHEMA!r}).")
    return path, data


def _rebuild_or_container(manifest: dict[str, Any]) -> str:
    built = manifest.get("tensorrt")
    tc = triton_container_of(manifest) or {}
    container = ""
    if tc.get("release"):
        container = (
            f", or deploy in nvcr.io/nvidia/tritonserver:{tc['release']}-py3 (ships TensorRT {tc['tensorrt']}"
            f"{'' if tc.get('sure') else '; check the support matrix'})"
        )
    return (
        f"rebuild the engine here with `trt-pdk engine build` (then `trt-pdk lock`){container} "
        f"to match TensorRT {built}"
    )


def check_against_manifest(path: str | Path, env: dict[str, Any] | None = None) -> list[Finding]:
    """Compares this environment (or `env`) with a manifest; one Finding per fact checked.

    Args:
        path: ``manifest.json`` or the run folder holding it.
        env: Environment facts (default :func:`environment_facts` of this machine).
    """
    mpath, m = _load(path)
    env = env if env is not None else environment_facts()
    out: list[Finding] = []
    fix = _rebuild_or_container(m)

    built, here = m.get("tensorrt"), env.get("tensorrt")
    if here is None:
        out.append(
            Finding(
                "tensorrt",
                "skip",
                f"TensorRT is absent here; the engines need TensorRT {built}.",
                "install that TensorRT version or run where it is installed",
            )
        )
    elif built is not None:
        b, h = str(built).split("."), str(here).split(".")
        if b[:2] != h[:2]:
            out.append(
                Finding(
                    "tensorrt",
                    "error",
                    f"the engines were built with TensorRT {built}, this is TensorRT {here}",
                    fix,
                )
            )
        else:
            out.append(Finding("tensorrt", "ok", f"TensorRT {here} matches {built} (major.minor)"))

    gpu_b, gpu_h = m.get("gpu") or {}, env.get("gpu") or {}
    cc_b, cc_h = gpu_b.get("compute_capability"), gpu_h.get("compute_capability")
    if cc_h is None:
        out.append(
            Finding("gpu", "skip", f"no GPU visible here; the engines need compute capability {cc_b}.")
        )
    elif cc_b is not None and cc_b != cc_h:
        out.append(
            Finding(
                "gpu",
                "error",
                f"the engines were built for compute capability {cc_b} ({gpu_b.get('name')}), "
                f"this GPU is {cc_h} ({gpu_h.get('name')})",
                f"rebuild the engines on a {cc_h} GPU with `trt-pdk engine build`, or list one plan per "
                "GPU in Triton's cc_model_filenames",
            )
        )
    else:
        out.append(Finding("gpu", "ok", f"compute capability {cc_h} matches"))

    here_major = int(str(here).split(".")[0]) if here else None
    for lib in m.get("plugin_libraries", []):
        p = Path(lib["path"])
        name = lib.get("name", p.name)
        if not p.is_file():
            out.append(
                Finding(
                    f"plugin:{name}",
                    "error",
                    f"plugin library {p} is missing",
                    "reinstall the package that ships it (the same version), or rebuild the engines",
                )
            )
            continue
        facts = library_facts(p)
        if facts["sha256"] != lib.get("sha256"):
            out.append(
                Finding(
                    f"plugin:{name}",
                    "error",
                    f"plugin library {p} changed since the engines were built (sha256 "
                    f"{lib.get('sha256', '?')[:12]}… -> {facts['sha256'][:12]}…)",
                    "reinstall the plugin package version the engines were built with, or rebuild "
                    "the engines with `trt-pdk engine build` and re-lock",
                )
            )
        elif here_major is not None and facts["tensorrt_major"] not in (None, here_major):
            out.append(
                Finding(
                    f"plugin:{name}",
                    "error",
                    f"plugin library {name} is built for TensorRT {facts['tensorrt_major']}, "
                    f"this is TensorRT {here}; it will not be loaded",
                    f"install the library built for TensorRT {here_major}, or {fix}",
                )
            )
        else:
            out.append(Finding(f"plugin:{name}", "ok", f"plugin library {name} unchanged"))

    for eng in m.get("engines", []):
        p = mpath.parent / eng["file"]
        if not p.is_file():
            out.append(Finding(f"engine:{eng['file']}", "error", f"engine {p} is missing", "rebuild it"))
        elif sha256_file(p) != eng.get("sha256"):
            out.append(
                Finding(
                    f"engine:{eng['file']}",
                    "error",
                    f"engine {p} changed after it was locked",
                    "re-lock with `trt-pdk lock RUN_DIR` if the new engine is intended",
                )
            )
    for key in ("cuda_driver", "torch", "onnx"):
        if m.get(key) and env.get(key) and m[key] != env[key]:
            out.append(Finding(key, "warn", f"{key} is {env[key]} here, {m[key]} when built"))
    return out


def require_matching_environment(path: str | Path, env: dict[str, Any] | None = None) -> list[Finding]:
    """Raises one UserError paragraph naming every mismatch (never reaches deserialization)."""
    findings = check_against_manifest(path, env)
    errors = [f for f in findings if f.status == "error"]
    if errors:
        what = "; ".join(f.message for f in errors)
        fixes = "; ".join(dict.fromkeys(f.fix for f in errors if f.fix))
        raise UserError(f"This environment does not match the manifest {path}: {what}. To fix: {fixes}.")
    return findings
