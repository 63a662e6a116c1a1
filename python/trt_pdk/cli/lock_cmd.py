"""`trt-pdk lock RUN_DIR`: write the version lock (manifest.json) beside the engines."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("lock", help="write RUN_DIR/manifest.json (versions, GPU, plugin hashes)")
    p.add_argument("run_dir")
    p.add_argument("--json", action="store_true", help="print the manifest")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk.lock import lock_run, triton_container_of

    path = lock_run(args.run_dir)
    if args.json:
        print(path.read_text(encoding="utf-8"))
    else:
        m = json.loads(path.read_text(encoding="utf-8"))
        tc = triton_container_of(m) or {}
        print(
            f"wrote {path}: TensorRT {m.get('tensorrt')}, GPU {(m.get('gpu') or {}).get('name')}, "
            f"{len(m.get('plugin_libraries', []))} plugin libraries, "
            f"Triton container {tc.get('release', 'unknown')}"
        )
    return 0
