"""Discovery of plugin specs through the ``trt_pdk.plugins`` entry point group.

The built-in plugins register themselves in trt-pdk's own pyproject.toml, exactly like an
outside package does::

    [project.entry-points."trt_pdk.plugins"]
    my_op = "my_package.plugins.my_op.spec:SPEC"

A broken entry point (import error, wrong object, duplicate name) becomes a
:class:`BrokenPlugin` naming the distribution, so ``trt-pdk list`` still works.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import metadata

from trt_pdk.errors import UserError
from trt_pdk.spec import PluginSpec

GROUP = "trt_pdk.plugins"


@dataclass(frozen=True)
class Plugin:
    """A discovered spec and where it came from (``<distribution> <version>: <entry point>``)."""

    spec: PluginSpec
    source: str


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point that could not be loaded; `error` says why and what to do."""

    entry_point: str
    source: str
    error: str


def _source(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    where = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
    return f"{where}: {ep.value}"


@functools.lru_cache(maxsize=1)
def discover_all() -> tuple[tuple[Plugin, ...], tuple[BrokenPlugin, ...]]:
    """Loads every entry point of the group once; returns (plugins, broken) sorted by name."""
    plugins: dict[str, Plugin] = {}
    broken: list[BrokenPlugin] = []
    for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
        source = _source(ep)
        try:
            spec = ep.load()
        except Exception as exc:  # an outside package's bug must not crash discovery
            broken.append(
                BrokenPlugin(
                    ep.name,
                    source,
                    f"importing {ep.value} failed ({type(exc).__name__}: {exc}); fix or uninstall "
                    f"the package that declares it",
                )
            )
            continue
        if not isinstance(spec, PluginSpec):
            broken.append(
                BrokenPlugin(
                    ep.name,
                    source,
                    f"{ep.value} is a {type(spec).__name__}, not a trt_pdk.spec.PluginSpec",
                )
            )
            continue
        if spec.name in plugins:
            broken.append(
                BrokenPlugin(
                    ep.name,
                    source,
                    f"plugin name {spec.name!r} is already provided by {plugins[spec.name].source}",
                )
            )
            continue
        plugins[spec.name] = Plugin(spec, source)
    return tuple(plugins[n] for n in sorted(plugins)), tuple(broken)


def discover() -> dict[str, PluginSpec]:
    """Returns ``{name: spec}`` for every plugin that loaded (broken ones are left out)."""
    plugins, _ = discover_all()
    return {p.spec.name: p.spec for p in plugins}


def get_spec(name: str) -> PluginSpec:
    """Returns the spec named `name`; raises UserError listing the known names otherwise."""
    specs = discover()
    if name in specs:
        return specs[name]
    lowered = {n.lower(): n for n in specs}
    hint = f" Did you mean {lowered[name.lower()]!r}?" if name.lower() in lowered else ""
    _, broken = discover_all()
    broken_note = ""
    if broken:
        broken_note = (
            " Broken entry points: " + "; ".join(f"{b.entry_point} ({b.error})" for b in broken) + "."
        )
    known = ", ".join(sorted(specs)) or "(none; is trt-pdk installed?)"
    raise UserError(f"unknown plugin {name!r}.{hint} Known plugins: {known}.{broken_note}")


def select(names: list[str] | None) -> list[PluginSpec]:
    """The specs named in `names` (all when empty), in the given order."""
    if not names:
        return list(discover().values())
    return [get_spec(n) for n in names]
