"""Stage options: one dataclass per stage is the single source of its CLI flags, YAML keys,
API arguments and defaults (Polygraphy's argument groups are the model).

A field is declared with :func:`option`: its help text, how the command line spells it and
whether it appears on the command line (``cli``) and in the pipeline YAML (``yaml``). The
``trt-pdk`` subcommand adds the flags with :func:`add_options` and reads them back with
:func:`options_from_args`; the YAML loader reads the keys of the fields with ``yaml=True``.
``tests/test_options.py`` fails if the three drift apart.

An options class may define ``problems(self) -> list[tuple[str, str]]``: ``(field, what is
wrong)`` pairs, reported against the flag on the command line and against ``file:line`` of
the key in a YAML file.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

from trt_pdk.errors import UserError

_MISSING = dataclasses.MISSING


def option(
    default: Any = _MISSING,
    *,
    help: str,
    factory: Callable[[], Any] | None = None,
    flag: str | None = None,
    positional: bool = False,
    metavar: str | None = None,
    choices: tuple[Any, ...] | None = None,
    cli: bool = True,
    yaml: bool = True,
    required: bool = False,
    form: str = "append",
    parse: Callable[[str], Any] | None = None,
    from_cli: Callable[[Any], Any] | None = None,
) -> Any:
    """A stage option: a dataclass field whose metadata generates its flag and YAML key.

    Args:
        default / factory: the default (``factory`` for lists and dicts).
        help: one line for ``--help`` (the default is appended there).
        flag: the command-line spelling (default ``--field-name``); e.g. ``-k`` or ``--cost``.
        positional: a positional argument on the command line (e.g. ``MODULE:FACTORY``).
        metavar / choices: as in argparse.
        cli / yaml: whether the option appears on the command line / in the pipeline YAML.
        required: required on the command line.
        form: how a list is written on the command line: ``append`` (repeat the flag),
            ``comma`` (``1,4,16``) or ``nargs`` (``--flag 4 8 16``).
        parse: text -> value of one command-line item (default: the item type).
        from_cli: turns the parsed command-line value into the field's value (e.g.
            ``["batch=1:8"]`` -> ``{"batch": [1, 8]}``).
    """
    meta = {
        "help": help,
        "flag": flag,
        "positional": positional,
        "metavar": metavar,
        "choices": choices,
        "cli": cli,
        "yaml": yaml,
        "required": required,
        "form": form,
        "parse": parse,
        "from_cli": from_cli,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def option_fields(cls: type, surface: str) -> list[dataclasses.Field]:
    """The fields of `cls` shown on ``surface`` (``"cli"`` or ``"yaml"``)."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get(surface, True)]


def default_of(f: dataclasses.Field) -> Any:
    if f.default_factory is not _MISSING:
        return f.default_factory()
    return None if f.default is _MISSING else f.default


def flag_of(f: dataclasses.Field) -> str:
    """How the command line spells `f` (its metavar when positional)."""
    if f.metadata.get("positional"):
        return f.metadata.get("metavar") or f.name.upper()
    if f.metadata.get("flag"):
        return f.metadata["flag"]
    prefix = "--no-" if f.type in (bool, "bool") and default_of(f) is True else "--"
    return prefix + f.name.replace("_", "-")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _base(hint: Any) -> Any:
    """``int | None`` -> ``int``; other hints unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return hint


def _item_parser(hint: Any, f: dataclasses.Field) -> Callable[[str], Any]:
    parse = f.metadata.get("parse")
    if parse is not None:
        return parse
    base = _base(hint)
    if typing.get_origin(base) is list:
        base = typing.get_args(base)[0]
    return base if base in (int, float, str) else str


def _comma_list(item: Callable[[str], Any], flag: str) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            return [item(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a comma list of numbers") from None

    return parse


def add_options(parser: argparse.ArgumentParser, cls: type, title: str | None = None) -> None:
    """Adds the command-line flags of options class `cls` to `parser`, in one argument group."""
    hints = _hints(cls)
    group = parser.add_argument_group(title or f"{cls.__name__.removesuffix('Options').lower()} options")
    for f in option_fields(cls, "cli"):
        meta, hint, default = f.metadata, hints[f.name], default_of(f)
        base = _base(hint)
        text = meta["help"]
        if not meta["positional"] and default not in (None, [], {}, False) and not meta["required"]:
            shown = ",".join(map(str, default)) if isinstance(default, list) else default
            text += f" (default: {shown})"
        kwargs: dict[str, Any] = {"help": text}
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        if meta["choices"]:
            kwargs["choices"] = list(meta["choices"])
        flag = flag_of(f)
        if meta["positional"]:
            group.add_argument(f.name, type=_item_parser(hint, f), **kwargs)
            continue
        kwargs["dest"] = f.name
        if base is bool:
            kwargs.pop("choices", None)
            kwargs["action"] = "store_false" if default is True else "store_true"
        elif typing.get_origin(base) in (list, dict):
            item = _item_parser(hint, f)
            form = meta["form"]
            if form == "comma":
                kwargs.update(type=_comma_list(item, flag), default=None)
            elif form == "nargs":
                kwargs.update(type=item, nargs="+", default=None)
            else:
                kwargs.update(type=item, action="append", default=None)
        else:
            kwargs.update(type=_item_parser(hint, f), default=default, required=meta["required"])
        group.add_argument(flag, **kwargs)


def options_from_args(cls: type, args: argparse.Namespace) -> Any:
    """The options object of `cls` from parsed command-line `args` (defaults for the rest)."""
    values = {}
    for f in dataclasses.fields(cls):
        if not f.metadata.get("cli", True):
            continue
        value = getattr(args, f.name)
        if value is None and f.default is _MISSING:  # a list flag not given
            continue
        convert = f.metadata.get("from_cli")
        values[f.name] = convert(value) if convert and value is not None else value
    opts = cls(**values)
    flags = {f.name: flag_of(f) for f in dataclasses.fields(cls)}
    for name, message in problems_of(opts):
        raise UserError(f"{flags.get(name, name)} {message}")
    return opts


def problems_of(opts: Any) -> list[tuple[str, str]]:
    check = getattr(opts, "problems", None)
    return list(check()) if check else []


def json_of(opts: Any) -> dict[str, Any]:
    """The options as plain data (hashing, reports)."""
    return dataclasses.asdict(opts)
