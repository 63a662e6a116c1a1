"""Access to the native parts of a plugin package: its ``_C`` module and plugin libraries.

Libraries are found inside the installed package with :mod:`importlib.resources`, never by
guessing relative paths. Importing this module imports neither torch nor tensorrt.
"""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from trt_pdk.errors import UserError

_LIBRARY_RE = re.compile(r"^lib(?P<stem>.+)_plugins_trt(?P<major>\d+)\.so$")

REBUILD_CUDA = (
    "rebuild with CUDA: install a CUDA toolkit so that `nvcc` is on PATH, then run "
    "`CUDAARCHS=<sm, e.g. 90> pip install --no-build-isolation .` in the source tree "
    "(PDK_CUDA=ON makes a missing nvcc a build error)"
)
REBUILD_TENSORRT = (
    "rebuild against TensorRT headers: `TensorRT_ROOT=/path/to/TensorRT PDK_TENSORRT=ON "
    "pip install --no-build-isolation .` (the headers of the TensorRT major you deploy with)"
)
GET_TENSORRT = (
    "install TensorRT's Python package for your CUDA version (e.g. `pip install tensorrt-cu12`) "
    "or run inside an NGC TensorRT/PyTorch container"
)


def native_module(module_name: str = "trt_pdk._C") -> ModuleType:
    """Imports a plugin package's native module; raises UserError saying how to build it."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"the native module {module_name} cannot be imported ({exc}). Install the package "
            f"from source with `pip install --no-build-isolation .` so that it is compiled."
        ) from None


def op_binding(spec: Any) -> Any:
    """The binding object ``<native_module>.ops[spec.name]`` of a plugin spec."""
    module = native_module(spec.native_module)
    ops = getattr(module, "ops", {})
    if spec.name not in ops:
        raise UserError(
            f"{spec.native_module} has no op {spec.name!r} (it has: {', '.join(sorted(ops)) or 'none'}). "
            f"Add pdk_add_plugin() for it to the package's CMakeLists.txt and rebuild."
        )
    return ops[spec.name]


def package_lib_dir(package: str = "trt_pdk") -> Path:
    """The ``lib/`` folder inside an installed plugin package (it may not exist)."""
    from importlib import resources

    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise UserError(f"the plugin package {package!r} is not installed") from None
    return Path(str(root)) / "lib"


def plugin_libraries(package: str = "trt_pdk") -> dict[int, Path]:
    """``{tensorrt_major: path}`` of the plugin libraries installed in `package`."""
    lib_dir = package_lib_dir(package)
    found: dict[int, Path] = {}
    if lib_dir.is_dir():
        for path in sorted(lib_dir.iterdir()):
            match = _LIBRARY_RE.match(path.name)
            if match:
                found[int(match["major"])] = path
    return found


def plugin_library_path(major: int | None = None, package: str = "trt_pdk") -> Path:
    """Path of `package`'s plugin library for TensorRT `major`.

    Args:
        major: the TensorRT major version; ``None`` takes the running TensorRT's major when
            ``tensorrt`` imports, else the only library that was built.
        package: the plugin package (default ``trt_pdk``).

    Raises:
        UserError: no library was built, or none for `major` (the message names what exists).
    """
    libraries = plugin_libraries(package)
    if not libraries:
        raise UserError(
            f"{package} has no TensorRT plugin library: it was built without TensorRT headers. "
            f"To get one, {REBUILD_TENSORRT}."
        )
    if major is None:
        running = tensorrt_version()
        if running is not None:
            major = int(running.split(".")[0])
        elif len(libraries) == 1:
            return next(iter(libraries.values()))
        else:
            raise UserError(
                f"{package} has plugin libraries for TensorRT {sorted(libraries)}; pass major= to pick one"
            )
    if major not in libraries:
        built = ", ".join(f"TensorRT {m} ({p.name})" for m, p in sorted(libraries.items()))
        raise UserError(
            f"{package}'s plugin library was built for {built}, not for TensorRT {major}. "
            f"A V2 plugin library only works with the TensorRT major it was built for; "
            f"{REBUILD_TENSORRT}."
        )
    return libraries[major]


def library_info(path: str | Path) -> dict[str, Any]:
    """A plugin library's facts, read from its ``.trt_pdk_info`` section without loading it.

    The same JSON object its ``pdkLibraryInfo()`` returns; reading the file instead of
    loading it registers nothing and works for a library built for any TensorRT major.

    Returns:
        ``{"schema", "library", "namespace", "tensorrt_version", "tensorrt_major",
        "kit_version", "cuda_archs", "interfaces", "plugins": [...]}``.
    """
    from trt_pdk.lock._libraries import embedded_info

    path = Path(path)
    if not path.is_file():
        raise UserError(f"plugin library {path} does not exist")
    info = embedded_info(path)
    if info is None:
        raise UserError(f"{path} has no .trt_pdk_info section; it is not a plugin library built with trt-pdk")
    return info


@functools.lru_cache(maxsize=1)
def tensorrt_version() -> str | None:
    """The version of the importable ``tensorrt`` package, or None (imports it when present)."""
    try:
        import tensorrt
    except Exception:
        return None
    return str(tensorrt.__version__)


def tensorrt_import_error() -> str | None:
    """Why ``import tensorrt`` fails, or None when it works."""
    try:
        import tensorrt  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def build_info(package: str = "trt_pdk", module_name: str | None = None) -> dict[str, Any]:
    """Build facts of a plugin package: CUDA, archs, TensorRT headers, interfaces, library path.

    Returns the native module's ``_build_info`` plus ``tensorrt_major`` (the major the
    plugins were built for, or None), ``interfaces`` (TensorRT classes built) and
    ``plugin_library_path`` (absolute, or None when no library was built).
    """
    module = native_module(module_name or f"{package}._C")
    info = dict(module._build_info)
    headers = info.get("tensorrt_headers_version")
    info["tensorrt_major"] = int(str(headers).split(".")[0]) if headers else None
    library = info.get("plugin_library") or ""
    path = package_lib_dir(package) / library if library else None
    info["plugin_library_path"] = str(path) if path is not None and path.is_file() else None
    has_v2 = any(getattr(b, "has_v2", False) for b in getattr(module, "ops", {}).values())
    interfaces = (["IPluginV2DynamicExt"] if has_v2 else []) + ["IPluginV3"]
    info["interfaces"] = interfaces if library else []
    info["ops"] = sorted(getattr(module, "ops", {}))
    return info


_loaded: dict[str, Any] = {}


def load_plugins(packages: list[str] | None = None) -> list[Path]:
    """Loads the plugin library of every discovered package into TensorRT's registry.

    Args:
        packages: library packages to load; default: every package a discovered spec names.

    Returns:
        The paths loaded (already loaded ones included).

    Raises:
        UserError: TensorRT is absent, or a package has no library for the running major.
    """
    why = tensorrt_import_error()
    if why is not None:
        raise UserError(
            f"TensorRT is absent: `import tensorrt` failed ({why}). To load the plugins, {GET_TENSORRT}."
        )
    import tensorrt as trt

    if packages is None:
        from trt_pdk.registry import discover

        packages = sorted({spec.library_package for spec in discover().values()})
    major = int(str(trt.__version__).split(".")[0])
    registry = trt.get_plugin_registry()
    loaded = []
    for package in packages:
        try:
            path = plugin_library_path(major, package)
        except UserError as exc:
            raise UserError(f"the running TensorRT is {trt.__version__}: {exc}") from None
        key = str(path)
        if key not in _loaded:
            handle = registry.load_library(key)
            if handle is None:
                raise UserError(
                    f"TensorRT {trt.__version__} could not load {path}; see TensorRT's log above "
                    f"(the library must match TensorRT {major} and the installed CUDA driver)"
                )
            _loaded[key] = handle
        loaded.append(path)
    return loaded
