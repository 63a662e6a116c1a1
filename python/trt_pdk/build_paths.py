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
