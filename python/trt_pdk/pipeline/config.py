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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trt_pdk.deploy.options import DeployOptions
from trt_pdk.errors import UserError


@dataclass
class ModelSection:
    """The PyTorch model and how it is exported.

    Args:
        factory: ``FILE.py:FUNCTION`` or ``module:function`` returning ``(module, example_inputs)``.
        checkpoint: optional state_dict file (loaded with ``weights_only=True``).
        dynamic: dynamic axes, ``INPUT:AXIS=LABEL``; axis 0 is the batch axis Triton batches on.
        opset: ONNX opset of the export (18 is dynamo's own).
    """

    factory: str = ""
    checkpoint: str | None = None
    dynamic: list[str] = field(default_factory=list)
    opset: int = 18


@dataclass
class CheckSection:
    """Args:
    trt: TensorRT version whose ONNX parser coverage is checked (None: newest in the table).
    """

    trt: str | None = None


@dataclass
class SimplifySection:
    """Args:
    shape_inference: run onnxslim's shape inference between passes.
    """

    shape_inference: bool = True


@dataclass
class RewriteSection:
    """Args:
    plugins: ``NAME[:VERSION]`` to rewrite into; empty: every discovered plugin.
    """

    plugins: list[str] = field(default_factory=list)


@dataclass
class CompareSection:
    """Args:
    dims: ``{axis label: [min, max]}`` for the generated inputs (min, middle, max).
    seed: seed of the generated inputs.
    """

    dims: dict[str, list[int]] = field(default_factory=dict)
    seed: int = 0


@dataclass
class ProfilesSection:
    """Args:
    k: number of optimization profiles, or ``auto``.
    cost_model: ``padded_elements`` or ``padded_fraction``.
    """

    k: int | str = "auto"
    cost_model: str = "padded_elements"


@dataclass
class EngineSection:
    """Args:
    precision: ``fp32``, ``fp16`` or ``both``.
    workspace_mib: builder workspace limit (None: TensorRT's default).
    tensorrt_major: major for the trtexec lines when TensorRT is absent (None: 10 and 11).
    """

    precision: str = "fp32"
    workspace_mib: int | None = None
    tensorrt_major: int | None = None


@dataclass
class RepositorySection:
    """Args:
    model_name: Triton model name (default: the pipeline name).
    max_batch_size: largest batch Triton forms.
    instance_count: CPU model instances in the written config.
    """

    model_name: str | None = None
    max_batch_size: int = 32
    instance_count: int = 1


@dataclass
class ServeSection:
    """Args:
    http_port / grpc_port / metrics_port: 0 picks free ports on 127.0.0.1.
    ready_timeout: seconds the server and model may take to become ready.
    """

    http_port: int = 0
    grpc_port: int = 0
    metrics_port: int = 0
    ready_timeout: float = 60.0


@dataclass
class VerifySection:
    """Args:
    batch: batch size of the golden request (its other dims: the traffic's most common shape).
    atol / rtol: tolerance of the served answer against the PyTorch reference.
    seed: seed of the golden inputs.
    """

    batch: int = 2
    atol: float = 1e-4
    rtol: float = 1e-3
    seed: int = 1


@dataclass
class PerfSection:
    """Args:
    concurrency: closed-loop client counts; must include target_concurrency.
    target_concurrency: where baseline and tuned are compared (and tuning decides).
    duration / warmup: seconds measured / discarded per level.
    protocol: ``grpc`` or ``http``.
    instance_counts / preferred_batch_sizes / max_queue_delays_us: candidates of the tuning
        steps (each one variable, kept only if it raises throughput with a p99 no worse).
    min_gain: relative throughput gain at target_concurrency a step must bring to be kept
        (raise it where run-to-run noise is larger, e.g. on a shared machine).
    p99_slack: how much worse than the best so far p99 may get in a kept step (never worse
        than the baseline's).
    """

    concurrency: list[int] = field(default_factory=lambda: [1, 16])
    target_concurrency: int = 16
    duration: float = 2.0
    warmup: float = 0.5
    protocol: str = "grpc"
    instance_counts: list[int] = field(default_factory=lambda: [2])
    preferred_batch_sizes: list[list[int]] = field(default_factory=lambda: [[4, 8, 16]])
    max_queue_delays_us: list[int] = field(default_factory=list)
    min_gain: float = 0.05
    p99_slack: float = 0.10


@dataclass
class PipelineConfig:
    """A whole pipeline.

    Args:
        name: run name; the default run folder is ``runs/<name>``.
        model: :class:`ModelSection`.
        traffic: JSONL/CSV/JSON log of request shapes (profiles, golden and perf shapes).
        check ... perf: one section per stage.
        deploy: :class:`~trt_pdk.deploy.options.DeployOptions` (the TensorRT deployment and Kubernetes).
    """

    name: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    traffic: str = ""
    check: CheckSection = field(default_factory=CheckSection)
    simplify: SimplifySection = field(default_factory=SimplifySection)
    rewrite: RewriteSection = field(default_factory=RewriteSection)
    compare: CompareSection = field(default_factory=CompareSection)
    profiles: ProfilesSection = field(default_factory=ProfilesSection)
    engine: EngineSection = field(default_factory=EngineSection)
    repository: RepositorySection = field(default_factory=RepositorySection)
    serve: ServeSection = field(default_factory=ServeSection)
    verify: VerifySection = field(default_factory=VerifySection)
    perf: PerfSection = field(default_factory=PerfSection)
    deploy: DeployOptions = field(default_factory=DeployOptions)
    source: Path = field(default=Path("pipeline.yaml"), metadata={"internal": True})

    def section(self, name: str) -> dict[str, Any]:
        """A section as plain data (for hashing and the report)."""
        value = getattr(self, name)
        return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else {name: value}

    def path(self, relative: str) -> Path:
        """A path from the YAML, resolved against the YAML file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else (self.source.parent / p)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_config(path: str | Path) -> PipelineConfig:
    """Reads and validates a pipeline YAML; raises UserError naming file:line on any mistake."""
    import yaml

    path = Path(path)
    if not path.is_file():
        hint = "" if path.parent.is_dir() else f" (the folder {path.parent} does not exist either)"
        raise UserError(f"pipeline config {path} does not exist{hint}; pass e.g. pipeline/demo.yaml.")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}: not valid YAML ({problem}). Fix the syntax there.") from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise UserError(f"{path}:1: a pipeline config is a mapping of sections (name, model, traffic, ...).")
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
    return cfg


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


def _check_values(cfg: PipelineConfig, where) -> None:
    def need(ok: bool, keys: tuple[str, ...], message: str) -> None:
        if not ok:
            raise UserError(f"{where(*keys)}: {'.'.join(keys)} {message}")

    p = cfg.perf
    need(p.duration > 0, ("perf", "duration"), f"must be > 0 seconds, got {p.duration}.")
    need(p.warmup >= 0, ("perf", "warmup"), f"must be >= 0 seconds, got {p.warmup}.")
    levels = p.concurrency
    need(
        bool(levels) and min(levels) >= 1, ("perf", "concurrency"), f"must list client counts >= 1: {levels}."
    )
    target = p.target_concurrency
    need(
        target in levels,
        ("perf", "target_concurrency"),
        f"{target} must be one of perf.concurrency {levels}.",
    )
    need(p.protocol in ("grpc", "http"), ("perf", "protocol"), f"must be grpc or http, got {p.protocol!r}.")
    need(p.min_gain >= 0, ("perf", "min_gain"), f"must be >= 0, got {p.min_gain}.")
    need(p.p99_slack >= 0, ("perf", "p99_slack"), f"must be >= 0, got {p.p99_slack}.")
    delays = p.max_queue_delays_us
    need(
        all(d >= 0 for d in delays),
        ("perf", "max_queue_delays_us"),
        f"must list delays >= 0 microseconds: {delays}.",
    )
    precision = cfg.engine.precision
    need(
        precision in ("fp32", "fp16", "both"),
        ("engine", "precision"),
        f"must be fp32/fp16/both: {precision!r}.",
    )
    need(cfg.repository.max_batch_size >= 1, ("repository", "max_batch_size"), "must be >= 1.")
    need(cfg.verify.batch >= 1, ("verify", "batch"), "must be >= 1.")
    largest = cfg.repository.max_batch_size
    need(cfg.verify.batch <= largest, ("verify", "batch"), f"exceeds repository.max_batch_size {largest}.")
    for port in ("http_port", "grpc_port", "metrics_port"):
        value = getattr(cfg.serve, port)
        need(0 <= value < 65536, ("serve", port), f"must be 0 (free port) or a port number, got {value}.")
    k = cfg.profiles.k
    need(
        k == "auto" or (isinstance(k, int) and 1 <= k <= 8),
        ("profiles", "k"),
        f"must be 1..8 or auto, got {k!r}.",
    )
    try:
        cfg.deploy.check()
    except UserError as exc:
        raise UserError(f"{where('deploy')}: {exc}") from None


def _build(cls: type, node: Any, path: Path, section: str) -> Any:
    import yaml

    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        line = key_node.start_mark.line + 1
        if key not in fields:
            where = f"in section '{section}'" if section else "at the top level"
            close = _close(key, list(fields))
            raise UserError(
                f"{path}:{line}: unknown option '{key}' {where}{close}; known: {', '.join(fields)}."
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
    raise UserError(f"{where}: option '{name}' must be {_describe(hint)}, got {value!r}.")


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
