"""Plugin libraries: their facts (TensorRT major, sha256) read without loading them.

A V2 plugin library built for one TensorRT major crashes under another, and the kit's
libraries self-register when dlopened into a process that holds TensorRT. So the guard
reads the library's info JSON (``pdkLibraryInfo()`` returns a string literal, stored as is
in the file) and its file name, and never dlopens a library it has not yet cleared.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from trt_pdk.errors import UserError

_NAME_RE = re.compile(r"_trt(?P<major>\d+)\.so(\.\d+)*$")
_INFO_MARK = b'{"library"'


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _embedded_info(data: bytes) -> dict[str, Any] | None:
    start = data.find(_INFO_MARK)
    while start >= 0:
        end = data.find(b"\x00", start)
        try:
            return json.loads(data[start : end if end > 0 else None].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            start = data.find(_INFO_MARK, start + 1)
    return None


def library_facts(path: str | Path) -> dict[str, Any]:
    """``{"path", "name", "sha256", "tensorrt_major", "tensorrt_version", "namespace", "plugins"}``.

    Works without TensorRT and without loading the library. ``tensorrt_major`` comes from
    the embedded info, else from the ``..._trt<MAJOR>.so`` file name, else None.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Plugin library {path} does not exist. Reinstall the package that ships it.")
    data = path.read_bytes()
    info = _embedded_info(data) or {}
    major = info.get("tensorrt_major")
    if major is None:
        m = _NAME_RE.search(path.name)
        major = int(m["major"]) if m else None
    return {
        "path": str(path.resolve()),
        "name": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "tensorrt_major": int(major) if major is not None else None,
        "tensorrt_version": info.get("tensorrt_version"),
        "namespace": info.get("namespace"),
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
