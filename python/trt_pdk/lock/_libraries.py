"""Plugin libraries: their facts (TensorRT major, plugins, sha256) read without loading them.

A V2 plugin library built for one TensorRT major crashes under another, and the kit's
libraries self-register when dlopened into a process that holds TensorRT. So the facts are
read from the file: every library built through the kit's CMake package (ours and every
plugin package's) carries them as a JSON object in its ELF section ``.trt_pdk_info``,
written at build time from the same op list the library is compiled from
(``plugins/common/trt/library_info.h``). Nothing is loaded or registered, TensorRT is not
needed, and the file's name does not matter.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from trt_pdk.errors import UserError
from trt_pdk.lock._elf import NotElfError, read_section

INFO_SECTION = ".trt_pdk_info"
INFO_SCHEMA = "trt-pdk-library-info/1"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def embedded_info(path: str | Path) -> dict[str, Any] | None:
    """The library's ``.trt_pdk_info`` object, or None when it has no such section.

    Raises:
        UserError: the file is not an ELF shared library, or its section is not the kit's.
    """
    try:
        raw = read_section(path, INFO_SECTION)
    except NotElfError as exc:
        raise UserError(f"{path} is not a plugin library (a Linux shared object): {exc}.") from None
    if raw is None:
        return None
    try:
        info = json.loads(raw.rstrip(b"\x00").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(
            f"{path}: its {INFO_SECTION} section is not valid JSON ({exc}); rebuild the library."
        ) from None
    schema = info.get("schema") if isinstance(info, dict) else None
    if schema != INFO_SCHEMA:
        raise UserError(
            f"{path}: its {INFO_SECTION} section has schema {schema!r}, this trt-pdk reads "
            f"{INFO_SCHEMA!r}; use the trt-pdk version the library was built with, or rebuild it."
        )
    return info


def library_facts(path: str | Path) -> dict[str, Any]:
    """What a plugin library file says about itself, without loading it.

    Returns ``{"path", "name", "sha256", "has_info", "problem", "library", "namespace",
    "tensorrt_major", "tensorrt_version", "kit_version", "cuda_archs", "interfaces", "plugins"}``.
    A library not built through the kit (no ``.trt_pdk_info``) has ``has_info`` False and
    None/empty facts; a file that is not a readable ELF library also says why in ``problem``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Plugin library {path} does not exist. Reinstall the package that ships it.")
    problem = None
    try:
        info = embedded_info(path) or {}
    except UserError as exc:  # not ELF, damaged, another schema: the lock still compares hashes
        info, problem = {}, str(exc)
    major = info.get("tensorrt_major")
    return {
        "path": str(path.resolve()),
        "name": path.name,
        "sha256": sha256_file(path),
        "has_info": bool(info),
        "problem": problem,
        "library": info.get("library"),
        "namespace": info.get("namespace"),
        "tensorrt_major": int(major) if major is not None else None,
        "tensorrt_version": info.get("tensorrt_version"),
        "kit_version": info.get("kit_version"),
        "cuda_archs": info.get("cuda_archs", []),
        "interfaces": info.get("interfaces", []),
        "plugins": info.get("plugins", []),
    }


def refuse_wrong_major(path: str | Path, running_version: str) -> dict[str, Any]:
    """Raises UserError unless `path` was built for the running TensorRT major. Returns its facts."""
    facts = library_facts(path)
    running_major = int(str(running_version).split(".")[0])
    if facts["tensorrt_major"] is not None and facts["tensorrt_major"] != running_major:
        raise UserError(
            f"Plugin library {facts['name']} was built for TensorRT {facts['tensorrt_major']}"
            f"{' (' + facts['tensorrt_version'] + ')' if facts['tensorrt_version'] else ''}, but the running "
            f"TensorRT is {running_version}; it was not loaded (a V2 plugin library built for one major "
            f"crashes under another). Install or build the library for TensorRT {running_major}: "
            f"`TensorRT_ROOT=/path/to/TensorRT-{running_major}.x PDK_TENSORRT=ON "
            "pip install --no-build-isolation .`"
        )
    return facts


def library_packages() -> list[str]:
    """Packages whose plugin libraries a graph may need: the kit plus outside plugin packages."""
    packages = {"trt_pdk"}
    try:
        from trt_pdk.registry import discover

        packages |= {getattr(s, "library_package", "trt_pdk") for s in discover().values()}
    except Exception:
        pass
    return sorted(packages)


def plugin_libraries_for(major: int | None, packages: list[str] | None = None) -> list[Path]:
    """The plugin library for TensorRT `major` of each package (UserError naming what exists)."""
    from trt_pdk.native import plugin_library_path

    return [plugin_library_path(major, p) for p in (packages or library_packages())]


def load_plugin_libraries(trt: Any, paths: list[Path]) -> list[dict[str, Any]]:
    """Checks each library's TensorRT major, then loads it into TensorRT's plugin registry."""
    facts = [refuse_wrong_major(p, trt.__version__) for p in paths]
    registry = trt.get_plugin_registry()
    from trt_pdk import native

    for p in paths:
        if str(p) in native._loaded:  # loaded already (also by trt_pdk.load_plugins)
            continue
        handle = registry.load_library(str(p))
        native._loaded[str(p)] = handle
        if handle is None:
            raise UserError(
                f"TensorRT {trt.__version__} could not load the plugin library {p}; its log above says why "
                "(e.g. a CUDA driver older than the library needs)."
            )
    return facts
