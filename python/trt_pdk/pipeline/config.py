"""Pipeline configs: typed dataclasses read from YAML and validated before any stage runs.

Every mistake names the file and line: an unknown option lists the known ones, a wrong
type says what was expected. Paths are relative to the YAML file's folder.

Example (``pipeline/demo.yaml``)::

    name: demo
    model: {factory: demo_model.py:factory, dynamic: ["x:0=batch", "x:1=seq"]}
    traffic: demo_traffic.jsonl
    perf: {concurrency: [1, 16], duration: 2.0}
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any

from trt_pdk.errors import UserError


def _section_fields() -> list[tuple[str, type, Any]]:
    from trt_pdk.pipeline.stages import STAGES

    return [(s.section, s.options, field(default_factory=s.options)) for s in STAGES]


def _path(self: Any, relative: str) -> Path:
    """A path from the YAML, resolved against the YAML file's folder."""
    p = Path(relative)
    return p if p.is_absolute() else (self.source.parent / p)


def _section(self: Any, name: str) -> dict[str, Any]:
    """A section as plain data (for hashing and the report)."""
    value = getattr(self, name)
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else {name: value}


# One section per stage, each the stage's options class: the YAML keys are its fields.
PipelineConfig = dataclasses.make_dataclass(
    "PipelineConfig",
    [
        ("name", str, field(default="")),
        ("traffic", str, field(default="")),
        ("skip", list[str], field(default_factory=list)),
        *_section_fields(),
        ("source", Path, field(default=Path("pipeline.yaml"), metadata={"internal": True})),
    ],
    namespace={"path": _path, "section": _section, "__module__": __name__},
)
PipelineConfig.__doc__ = """A whole pipeline.

    Args:
        name: run name; the default run folder is ``runs/<name>``.
        traffic: JSONL/CSV/JSON log of request shapes (profiles, golden and perf shapes).
        skip: stages not to run (e.g. ``[serve, verify, perf]`` where Triton is not
            installed); stages reading their results are skipped too, and say so.
        model, check, ... perf: one section per stage (its options class; section
            ``model`` holds the export stage's options).
    """


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_config(path: str | Path) -> Any:
    """Reads and validates a pipeline YAML; raises UserError naming file:line on any mistake."""
    import yaml

    path = Path(path)
    if not path.is_file():
        hint = "" if path.parent.is_dir() else f" (the folder {path.parent} does not exist either)"
        raise UserError(f"pipeline config {path} does not exist{hint}; pass e.g. pipeline/demo.yaml.")
    text = _read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}: not valid YAML ({problem}). Fix the syntax there.") from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise UserError(f"{path}:1: a pipeline config is a mapping of sections (name, model, traffic, ...).")
    _check_size(node, path)
    cfg = _build(PipelineConfig, node, path, "")
    cfg.source = path
    where = _where(path, node)
    if not cfg.name:
        raise UserError(f"{where('name')}: the pipeline needs a 'name' (the run folder is runs/<name>).")
    if not _NAME.match(cfg.name):
        raise UserError(
            f"{where('name')}: name {cfg.name!r} must be a plain folder name (letters, digits, _.-)."
        )
    if not cfg.model.factory:
        raise UserError(f"{where('model')}: section 'model' needs 'factory: FILE.py:FUNCTION'.")
    if not cfg.traffic:
        raise UserError(f"{where('traffic')}: the pipeline needs 'traffic: FILE.jsonl' (request shapes).")
    if not cfg.path(cfg.traffic).is_file():
        raise UserError(f"{where('traffic')}: traffic file {cfg.path(cfg.traffic)} does not exist.")
    _check_values(cfg, where)
    from trt_pdk.pipeline.stages import STAGES

    names = [s.name for s in STAGES]
    for name in cfg.skip:
        if name not in names:
            raise UserError(
                f"{where('skip')}: skip: {_quote(name)} is not a stage; stages: {', '.join(names)}."
            )
    if cfg.repository.model_name is None:
        # The served model's name is an option of the repository stage (part of its key).
        cfg.repository.model_name = cfg.name
    return cfg


MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_VALUES = 10_000


def _read_text(path: Path) -> str:
    """The config's text: bounded in size, and text at all."""
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise UserError(
            f"pipeline config {path} is {size} bytes; a config is a few KB of YAML "
            f"(at most {MAX_CONFIG_BYTES} bytes). Pass the pipeline's YAML file."
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"pipeline config {path} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}); it "
            "looks like a binary file. Pass the pipeline's YAML file, e.g. pipeline/demo.yaml."
        ) from None
    if "\0" in text:
        raise UserError(f"pipeline config {path} contains NUL bytes: it is not a YAML text file.")
    return text


def _check_size(root: Any, path: Path) -> None:
    """Refuses a config whose aliases expand it past MAX_CONFIG_VALUES values (an alias bomb)."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_CONFIG_VALUES:
            raise UserError(
                f"{path}: the config expands to more than {MAX_CONFIG_VALUES} values (YAML anchors and "
                "aliases repeat nodes); a pipeline config is small: write the values out."
            )
        value = getattr(node, "value", None)
        if isinstance(value, list):
            for item in value:
                stack.extend(item if isinstance(item, tuple) else (item,))


def _quote(value: Any, limit: int = 120) -> str:
    """``repr(value)`` cut to `limit` characters: an error message quotes input, it never repeats it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"


def _where(path: Path, root: Any):
    """``where("perf", "duration")`` -> ``file:line`` of that key (or of its section)."""

    def find(*keys: str) -> str:
        node, line = root, root.start_mark.line
        for key in keys:
            match = next((v for k, v in getattr(node, "value", []) if getattr(k, "value", None) == key), None)
            if match is None:
                break
            key_node = next(k for k, v in node.value if v is match)
            node, line = match, key_node.start_mark.line
        return f"{path}:{line + 1}"

    return find


def _check_values(cfg: Any, where) -> None:
    from trt_pdk.options import problems_of
    from trt_pdk.pipeline.stages import STAGES

    def need(ok: bool, keys: tuple[str, ...], message: str) -> None:
        if not ok:
            raise UserError(f"{where(*keys)}: {'.'.join(keys)} {message}")

    for stage in STAGES:
        options = getattr(cfg, stage.section)
        for name, message in problems_of(options):
            need(False, (stage.section, name), message)
        if callable(getattr(options, "check", None)):  # options declaring one check() (deploy)
            try:
                options.check()
            except UserError as exc:
                raise UserError(f"{where(stage.section)}: {exc}") from None
    # Across sections: what the pipeline's own stages rely on.
    p = cfg.perf
    need(
        p.target_concurrency in p.concurrency,
        ("perf", "target_concurrency"),
        f"{p.target_concurrency} must be one of perf.concurrency {p.concurrency}.",
    )
    k = cfg.profiles.k
    need(k == "auto" or k <= 8, ("profiles", "k"), f"must be 1..8 or auto, got {k!r}.")
    largest = cfg.repository.max_batch_size or 32
    need(cfg.verify.batch <= largest, ("verify", "batch"), f"exceeds repository.max_batch_size {largest}.")


def _build(cls: type, node: Any, path: Path, section: str) -> Any:
    import yaml

    fields = {
        f.name: f
        for f in dataclasses.fields(cls)
        if not f.metadata.get("internal") and f.metadata.get("yaml", True)
    }
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise UserError(f"{path}:{line}: an option name must be a plain word, not a list or mapping.")
        key = key_node.value
        if key not in fields:
            where = f"in section '{section}'" if section else "at the top level"
            close = _close(key, list(fields))
            raise UserError(
                f"{path}:{line}: unknown option {_quote(key)} {where}{close}; known: {', '.join(fields)}."
            )
        if key in values:
            raise UserError(f"{path}:{line}: option '{key}' is given twice.")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value_node, yaml.MappingNode):
                raise UserError(f"{path}:{line}: section '{key}' must be a mapping of options.")
            values[key] = _build(hint, value_node, path, key)
        else:
            data = yaml.safe_load(yaml.serialize(value_node))
            values[key] = _coerce(data, hint, f"{path}:{value_node.start_mark.line + 1}", section, key)
    return cls(**values)


def _close(key: str, known: list[str]) -> str:
    import difflib

    match = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _coerce(value: Any, hint: Any, where: str, section: str, key: str) -> Any:
    name = f"{section}.{key}" if section else key
    if _fits(value, hint):
        if hint is float and isinstance(value, int):
            return float(value)
        return value
    raise UserError(f"{where}: option '{name}' must be {_describe(hint)}, got {_quote(value)}.")


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict:
        k, v = typing.get_args(hint)
        return isinstance(value, dict) and all(_fits(a, k) and _fits(b, v) for a, b in value.items())
    return False


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is list:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    if origin is dict:
        k, v = typing.get_args(hint)
        return f"a mapping of {_describe(k)} to {_describe(v)}"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))
