"""trt-pdk: write a custom TensorRT op once, get V2/V3 plugins, a torch op, ONNX export, tests.

The public API is imported lazily so that ``import trt_pdk`` (and ``trt-pdk --help``) does
not import torch, tensorrt or the native module:

- :func:`build_info`, :func:`load_plugins`, :func:`plugin_library_path`, :func:`library_info`
  (from :mod:`trt_pdk.native`)
- :func:`discover`, :func:`get_spec` (from :mod:`trt_pdk.registry`)
- :class:`PluginSpec`, :class:`Attr`, :class:`Tensor`, :class:`Case`, :class:`ShapeRange`,
  :class:`Tolerance`, :class:`TorchOp` (from :mod:`trt_pdk.spec`)
- :class:`UserError` (from :mod:`trt_pdk.errors`)
- :func:`cmake_dir`, :func:`include_dir` (from :mod:`trt_pdk.build_paths`): what outside plugin
  packages build against (``find_package(trt_pdk CONFIG)`` with ``trt_pdk_DIR=cmake_dir()``)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "build_info": "trt_pdk.native",
    "load_plugins": "trt_pdk.native",
    "plugin_library_path": "trt_pdk.native",
    "library_info": "trt_pdk.native",
    "discover": "trt_pdk.registry",
    "get_spec": "trt_pdk.registry",
    "PluginSpec": "trt_pdk.spec",
    "Attr": "trt_pdk.spec",
    "Tensor": "trt_pdk.spec",
    "Case": "trt_pdk.spec",
    "ShapeRange": "trt_pdk.spec",
    "Tolerance": "trt_pdk.spec",
    "TorchOp": "trt_pdk.spec",
    "UserError": "trt_pdk.errors",
    "cmake_dir": "trt_pdk.build_paths",
    "include_dir": "trt_pdk.build_paths",
}

__all__ = [
    "Attr",
    "Case",
    "PluginSpec",
    "ShapeRange",
    "Tensor",
    "Tolerance",
    "TorchOp",
    "UserError",
    "build_info",
    "cmake_dir",
    "discover",
    "get_spec",
    "include_dir",
    "library_info",
    "load_plugins",
    "plugin_library_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trt_pdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
