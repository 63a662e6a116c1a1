"""``trt-pdk doctor [--json] [--against MANIFEST | --library PATH]``: what this installation has and lacks.

Every missing piece comes with how to fix it. Exit code 0 unless the native module itself
cannot be imported (then nothing works: 1).

With ``--against MANIFEST`` (a run's ``manifest.json`` or its folder) it instead compares
this environment with the version lock (:func:`trt_pdk.lock.check_against_manifest`): one
finding per fact (TensorRT, GPU, plugin libraries, engines, ...), exit 1 if any is an
error, 2 if the manifest is missing or not a trt-pdk manifest. Given a deployment folder
(``RUN_DIR/deploy``, holding ``lock.json``) it checks that every version in it agrees with
that lock (:func:`trt_pdk.deploy.check_deployment`).

With ``--library PATH`` it shows what a plugin library file says about itself (TensorRT
version and major it was built for, interfaces, plugins with versions and fields, kit
version, CUDA archs), read from its ``.trt_pdk_info`` section without loading it: ours or a
plugin package's, whatever the file is called. Exit 1 if the file has no such section.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="show build facts and what is missing (with fixes)",
        description=(
            "Show how trt-pdk was built (CUDA, TensorRT headers, plugin library) and what is missing."
        ),
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--against",
        metavar="MANIFEST",
        help="check this environment against a run's manifest.json (or its folder), or a deployment "
        "folder (RUN_DIR/deploy) against its lock.json; exit 1 on a mismatch",
    )
    p.add_argument(
        "--library",
        metavar="PATH",
        help="show the facts a plugin library file states about itself (read without loading it)",
    )
    p.set_defaults(func=run)


def _check(name: str, ok: bool, detail: str, fix: str = "") -> dict[str, Any]:
    return {"check": name, "ok": ok, "detail": detail, "fix": "" if ok else fix}


def _gpu() -> dict[str, Any]:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return _check("gpu", False, "torch is not installed, so the GPU was not checked", "pip install torch")
    import torch

    if torch.cuda.is_available():
        return _check("gpu", True, f"{torch.cuda.get_device_name(0)} (torch {torch.__version__})")
    return _check(
        "gpu",
        False,
        f"torch.cuda.is_available() is False (torch {torch.__version__}, "
        f"built for CUDA {torch.version.cuda})",
        "run on a machine with an NVIDIA GPU and driver, with a CUDA build of torch",
    )


def diagnose() -> dict[str, Any]:
    """Build facts and checks as a JSON-ready dict."""
    from trt_pdk.errors import UserError
    from trt_pdk.lock import library_facts
    from trt_pdk.native import (
        GET_TENSORRT,
        REBUILD_CUDA,
        REBUILD_TENSORRT,
        build_info,
        plugin_libraries,
        tensorrt_import_error,
        tensorrt_version,
    )

    checks = []
    try:
        info = build_info()
    except UserError as exc:
        return {"build": None, "checks": [_check("native module", False, str(exc), "reinstall from source")]}
    checks.append(
        _check("native module", True, f"trt_pdk._C {info['version']}, ops: {', '.join(info['ops'])}")
    )
    if info["cuda"]:
        checks.append(
            _check(
                "cuda kernels", True, f"built with CUDA {info['cuda_version']} for archs {info['cuda_archs']}"
            )
        )
    else:
        checks.append(
            _check("cuda kernels", False, "built without CUDA (no nvcc at build time)", REBUILD_CUDA)
        )
    headers = info["tensorrt_headers_version"]
    if headers:
        checks.append(
            _check(
                "tensorrt headers",
                True,
                f"plugins built against TensorRT {headers} headers (major {info['tensorrt_major']}): "
                f"{', '.join(info['interfaces'])}",
            )
        )
    else:
        checks.append(
            _check(
                "tensorrt headers",
                False,
                "built without TensorRT headers: no plugin library",
                REBUILD_TENSORRT,
            )
        )
    libraries = plugin_libraries()
    for major, path in sorted(libraries.items()):
        try:
            lib = library_facts(path)  # read from the file: loading it could register plugins
        except UserError as exc:
            checks.append(_check(f"plugin library trt{major}", False, str(exc), "reinstall trt-pdk"))
            continue
        if lib["has_info"]:
            checks.append(_check(f"plugin library trt{major}", True, f"{path} ({_plugin_list(lib)})"))
        else:
            detail = lib["problem"] or f"{path} has no .trt_pdk_info section"
            checks.append(_check(f"plugin library trt{major}", False, detail, "reinstall trt-pdk"))
    if headers and not libraries:
        checks.append(
            _check("plugin library", False, "the library is not installed in trt_pdk/lib", "reinstall")
        )
    why = tensorrt_import_error()
    if why is None:
        running = tensorrt_version() or "?"
        major = int(running.split(".")[0]) if running[0].isdigit() else None
        ok = major in libraries
        detail = f"tensorrt {running} imports"
        if not ok:
            built = ", ".join(str(m) for m in sorted(libraries)) or "none"
            detail += f", but plugin libraries exist for TensorRT major(s): {built}"
        checks.append(_check("tensorrt", ok, detail, REBUILD_TENSORRT))
    else:
        checks.append(_check("tensorrt", False, f"`import tensorrt` fails: {why}", GET_TENSORRT))
    checks.append(_gpu())
    return {"build": info, "checks": checks}


def _plugin_list(facts: dict[str, Any]) -> str:
    return ", ".join(f"{p['name']} v{'/'.join(p['versions'])}" for p in facts["plugins"])


def run_library(path: str, as_json: bool) -> int:
    """Prints a plugin library's facts (:func:`trt_pdk.lock.library_facts`); 1 if it has none."""
    from trt_pdk.lock import library_facts

    facts = library_facts(path)  # UserError (exit 2) for a missing file
    if as_json:
        print(json.dumps(facts, indent=2))
        return 0 if facts["has_info"] else 1
    print(f"{facts['name']}  ({facts['path']}, sha256 {facts['sha256'][:12]}…)")
    if not facts["has_info"]:
        print(
            "  no trt-pdk facts: "
            + (
                facts["problem"]
                or "the file has no .trt_pdk_info section, so it was not built with trt-pdk's CMake package"
            )
        )
        return 1
    print(f"  library:            {facts['library']}  namespace {facts['namespace']!r}")
    print(
        f"  built for TensorRT: {facts['tensorrt_version']} (major {facts['tensorrt_major']}; "
        f"loads only under TensorRT {facts['tensorrt_major']}.x)"
    )
    print(f"  kit version:        {facts['kit_version']}")
    print(f"  CUDA archs:         {', '.join(facts['cuda_archs']) or 'none (built without CUDA kernels)'}")
    print(f"  interfaces:         {', '.join(facts['interfaces'])}")
    print("  plugins (an ONNX node finds one by op_type, plugin_version and plugin_namespace):")
    for plugin in facts["plugins"]:
        fields = ", ".join(f"{f['name']}:{f['type']}" for f in plugin["fields"]) or "no attributes"
        for version, interface in zip(plugin["versions"], plugin["interfaces"], strict=True):
            print(f"    {plugin['name']:16} plugin_version {version!r}  {interface:20} {fields}")
    return 0


def run_against(manifest: str, as_json: bool) -> int:
    """Prints the findings of :func:`trt_pdk.lock.check_against_manifest`; 1 if any is an error."""
    from trt_pdk.deploy.check import check_deployment, is_deployment
    from trt_pdk.lock import check_against_manifest

    subject = "this environment"
    if is_deployment(manifest):
        findings, subject = check_deployment(manifest), "this deployment"
    else:
        findings = check_against_manifest(manifest)  # UserError (exit 2) for a missing/invalid manifest
    errors = [f for f in findings if f.status == "error"]
    if as_json:
        report = {"manifest": manifest, "ok": not errors, "findings": [f.to_json() for f in findings]}
        print(json.dumps(report, indent=2))
    else:
        width = max([len(f.check) for f in findings] + [5])
        for f in findings:
            print(f"{f.status.upper():5}  {f.check:{width}}  {f.message}")
            if f.fix and f.status != "ok":
                print(f"{'':5}  {'':{width}}  fix: {f.fix}")
        counts = {s: sum(f.status == s for f in findings) for s in ("ok", "warn", "error", "skip")}
        verdict = "does not match" if errors else "matches"
        print(
            f"{subject} {verdict} {manifest}: "
            + (", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing to check")
        )
    return 1 if errors else 0


def run(args: argparse.Namespace) -> int:
    if args.against and args.library:
        from trt_pdk.errors import UserError

        raise UserError("doctor takes --against MANIFEST or --library PATH, not both; run it twice.")
    if args.against:
        return run_against(args.against, args.json)
    if args.library:
        return run_library(args.library, args.json)
    report = diagnose()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        info = report["build"]
        if info:
            print(f"trt-pdk {info['version']}  namespace {info['namespace']}")
            print(
                f"  CUDA:               {info['cuda_version'] or 'not built'}"
                f"  archs: {info['cuda_archs'] or '-'}"
            )
            print(
                f"  TensorRT headers:   {info['tensorrt_headers_version'] or 'none'}"
                f"  (major {info['tensorrt_major'] or '-'})"
            )
            print(f"  interfaces:         {', '.join(info['interfaces']) or 'none'}")
            print(f"  plugin library:     {info['plugin_library_path'] or 'not built'}")
            print()
        for c in report["checks"]:
            print(f"{'ok' if c['ok'] else 'MISSING':8} {c['check']:20} {c['detail']}")
            if c["fix"]:
                print(f"{'':8} {'':20} fix: {c['fix']}")
    native_ok = report["checks"][0]["ok"]
    return 0 if native_ok else 1
