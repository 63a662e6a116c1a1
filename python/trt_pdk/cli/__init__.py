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
import traceback

from trt_pdk.errors import UserError, environment_error, paragraph, write_crash_report

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
    """Runs one command; the exit code follows the rule in :mod:`trt_pdk.errors`.

    0 success; 1 findings (check, compare, verify) or an internal error, whose traceback
    goes to a file named in one line; 2 a user or environment error, one paragraph;
    130 interrupted. ``TRT_PDK_TRACEBACK=1`` also prints an internal error's traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    name = _command_name(args)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        _say(f"{name}: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say(f"{name}: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`trt-pdk test | head`); silence the final flush too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        user = environment_error(exc)
        if user is None:
            return _internal_error(name, exc, argv)
        _say(f"{name}: error: {user}")
        return user.exit_code
    except Exception as exc:
        return _internal_error(name, exc, argv)


def _command_name(args: argparse.Namespace) -> str:
    """``trt-pdk triton verify``: the command and its action, for the first words of a message."""
    words = [args.command]
    words += [v for k, v in sorted(vars(args).items()) if k.endswith("_command") and isinstance(v, str)]
    return "trt-pdk " + " ".join(words)


def _say(text: str) -> None:
    sys.stdout.flush()
    print(paragraph(text), file=sys.stderr, flush=True)


def _internal_error(name: str, exc: BaseException, argv: list[str]) -> int:
    """A bug: one line naming the error and the file holding its traceback; exit 1."""
    report = write_crash_report(exc, argv)
    where = f"the traceback is in {report}" if report else "the traceback could not be saved"
    first = paragraph(str(exc), 300).split("\n")[0]
    if os.environ.get("TRT_PDK_TRACEBACK"):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    _say(
        f"{name}: internal error (a bug in trt-pdk, not in your input): {type(exc).__name__}: {first}; "
        f"{where}. Please report it with that file."
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
