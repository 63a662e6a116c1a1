"""Where the installed kit keeps what plugin packages build against."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from trt_pdk.errors import UserError


def _package_path(*parts: str) -> Path:
    path = Path(str(resources.files("trt_pdk").joinpath(*parts)))
    if not path.exists():
        raise UserError(
            f"{path} does not exist: this trt-pdk installation has no build files (was it installed "
            "from a wheel built without CMake?). Reinstall with `pip install trt-pdk` from source."
        )
    return path


def cmake_dir() -> Path:
    """The folder holding ``trt_pdkConfig.cmake``; pass it as ``-Dtrt_pdk_DIR=...``."""
    return _package_path("cmake")


def include_dir() -> Path:
    """The folder holding the op-core headers (``common/op.h`` and the adapters)."""
    return _package_path("include")


def polygraphy_dir(package: str = "trt_pdk") -> Path:
    """The Polygraphy plugin folder of `package` (default: the kit): ``<package>/plugins``,
    holding ``<op>/pattern.py`` for every op with rewrite patterns; pass it as
    ``polygraphy plugin match --plugin-dir``.
    """
    try:
        path = Path(str(resources.files(package).joinpath("plugins")))
    except ModuleNotFoundError:
        raise UserError(f"no Python package named {package!r} is installed; give a plugin package") from None
    if not any(path.glob("*/pattern.py")):
        raise UserError(
            f"{path} holds no Polygraphy plugin folder (<op>/pattern.py): {package} has no op with "
            f"rewrite patterns, or it was built before they were installed; reinstall it"
        )
    return path
