"""What a pipeline stage is: a function typed by its options, the results it reads and the
result it returns.

A stage module defines an options dataclass (:mod:`trt_pdk.options`), a result dataclass
(:class:`StageResult`) and ``run(ctx, options, *, inputs...) -> Result``. The types of the
inputs are the data edges: ``def run(ctx, options: EngineOptions, *, rewrite: RewriteResult,
profiles: ProfilesResult) -> EngineResult`` reads the rewrite and profiles stages' results,
and nothing names another stage by a string. :class:`Stage` reads those annotations, so a new stage is one
module plus one row in :data:`trt_pdk.pipeline.stages.STAGES`.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(kw_only=True)
class StageResult:
    """A stage's result: its artifacts (paths relative to the run folder) and figures.

    ``status`` is ``ok``, ``skipped`` (``reason``: why, and how to enable it) or ``failed``
    (``reason``: what differs). Results are JSON objects in ``state.json``.
    """

    status: str = "ok"
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("status")
        data.pop("reason")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], status: str = "ok", reason: str = "") -> Any:
        names = {f.name for f in dataclasses.fields(cls)} - {"status", "reason"}
        missing = names - set(data)
        if missing:
            raise ValueError(f"{cls.__name__} lacks {sorted(missing)}")
        return cls(**{k: data[k] for k in names}, status=status, reason=reason)


@dataclass
class StageContext:
    """What a stage may use besides its options and inputs.

    Attributes:
        root: the run folder being built (absolute); a stage writes under ``root/<stage>``.
        config_dir: where the relative paths of options resolve (the YAML file's folder).
        name: the pipeline's name.
        sources: the outside files the stage row declares (hashed into its cache key).
        processes: live processes stages started (the server), stopped by the runner.
    """

    root: Path
    config_dir: Path
    name: str
    sources: dict[str, Path] = field(default_factory=dict)
    processes: list[Any] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        """`path` relative to the run folder (how results name artifacts)."""
        return str(Path(path).absolute().relative_to(self.root.absolute()))

    def file(self, relative: str) -> Path:
        """An artifact named by a result, as a path."""
        return self.root / relative

    def path(self, relative: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.config_dir / p


@dataclass(frozen=True)
class Stage:
    """One row of the stage table.

    Args:
        name: the stage's name (its folder in the run folder, its line in the report).
        run: ``run(ctx, options, *, name: InputResult, ...) -> Result``; its annotations
            give the options class, the inputs (result types of earlier stages, passed by
            keyword) and the result type.
        section: the YAML section of its options (default: ``name``).
        sources: ``config -> {name: path}``: outside files it reads (hashed into its key).
        process: its result is a live process (the server), not files: it runs again
            whenever a stage reading it runs.
    """

    name: str
    run: Callable[..., StageResult]
    section: str = ""
    sources: Callable[[Any], dict[str, Path]] = lambda cfg: {}
    process: bool = False

    def __post_init__(self) -> None:
        if not self.section:
            object.__setattr__(self, "section", self.name)

    @property
    def _signature(self) -> tuple[type, dict[str, type], type, frozenset[str]]:
        hints = typing.get_type_hints(self.run)
        params = list(inspect.signature(self.run).parameters)
        if len(params) < 2 or "return" not in hints or set(params) - set(hints):
            raise TypeError(f"stage {self.name}: run(ctx, options, *, inputs...) -> Result, fully annotated")
        inputs, optional = {}, set()
        for p in params[2:]:
            kinds = [t for t in typing.get_args(hints[p]) if t is not type(None)]
            if typing.get_origin(hints[p]) in (typing.Union, types.UnionType) and len(kinds) == 1:
                inputs[p] = kinds[0]  # `X | None`: read when its stage ran, None when it was skipped
                optional.add(p)
            else:
                inputs[p] = hints[p]
        return hints[params[1]], inputs, hints["return"], frozenset(optional)

    @property
    def inputs(self) -> dict[str, type]:
        """``{run's parameter: result type it reads}``."""
        return self._signature[1]

    @property
    def optional(self) -> frozenset[str]:
        """The inputs annotated ``X | None``: the stage also runs when their stage was skipped."""
        return self._signature[3]

    @property
    def required(self) -> tuple[type, ...]:
        """The result types it cannot run without."""
        return tuple(t for p, t in self.inputs.items() if p not in self.optional)

    @property
    def options(self) -> type:
        return self._signature[0]

    @property
    def needs(self) -> tuple[type, ...]:
        return tuple(self.inputs.values())

    @property
    def result(self) -> type:
        return self._signature[2]
