"""The ``trt-pdk`` command line: one module per subcommand, one line each in COMMANDS.

A subcommand module defines ``register(subparsers) -> None`` which adds its parser and
sets ``func`` (``args -> int`` exit code). A module whose imports fail shows up in
``--help`` as "unavailable: why" instead of breaking the whole CLI.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from trt_pdk.errors import UserError

# name -> module under trt_pdk.cli; keep heavy imports (torch, tensorrt) inside functions.
COMMANDS: dict[str, str] = {
    "list": "trt_pdk.cli.list_cmd",
    "test": "trt_pdk.cli.test_cmd",
    "doctor": "trt_pdk.cli.doctor_cmd",
    "profiles": "trt_pdk.cli.profiles_cmd",
    "engine": "trt_pdk.cli.engine_cmd",
    "lock": "trt_pdk.cli.lock_cmd",
    "attrs": "trt_pdk.cli.attrs_cmd",
    "export": "trt_pdk.cli.export_cmd",
    "check": "trt_pdk.cli.check_cmd",
    "simplify": "trt_pdk.cli.simplify_cmd",
    "rewrite": "trt_pdk.cli.rewrite_cmd",
    "compare": "trt_pdk.cli.compare_cmd",
    "triton": "trt_pdk.cli.triton_cmd",
    "perf": "trt_pdk.cli.perf_cmd",
    "new": "trt_pdk.cli.new_cmd",
    "pipeline": "trt_pdk.cli.pipeline_cmd",
    "deploy": "trt_pdk.cli.deploy_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trt-pdk",
        description="Plugin development kit for custom TensorRT ops.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            why = f"unavailable: {exc}"
            p = sub.add_parser(name, help=why, description=why)
            p.set_defaults(func=_unavailable(name, why))
            continue
        module.register(sub)
    return parser


def _unavailable(name: str, why: str):
    def run(_args: argparse.Namespace) -> int:
        raise UserError(f"`trt-pdk {name}` is {why}. Reinstall trt-pdk with its dependencies.")

    return run


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"trt-pdk {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`trt-pdk test | head`); silence the final flush too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
