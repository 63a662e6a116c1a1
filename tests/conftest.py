"""Shared fixtures: the discovered plugins and a subprocess runner for the CLI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def trtexec_parser():
    """``tests/trtexec_parser.py``: trtexec's own option parser judging a line or a script.

    ``trtexec_parser.parse_trtexec_line(argv_or_line, major)`` skips the test, with the
    reason, where the NVIDIA/TensorRT mirror or the headers are absent.
    """
    spec = importlib.util.spec_from_file_location("trtexec_parser", REPO / "tests" / "trtexec_parser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cli():
    """Runs ``python -m trt_pdk ARGS`` in a subprocess; returns the CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "trt_pdk", *args],
            capture_output=True,
            input=stdin,
            env=full_env,
            timeout=300,
            check=False,
        )

    return run


_NO_LIBRARIES = (
    "no plugin library built for TensorRT {major}: PDK_TEST_LIBRARIES (paths separated by '{sep}') "
    "lists the libraries built against each major's headers, and the installed kit has none for it. "
    ".ci/run builds both where the NVIDIA/TensorRT mirror is; by hand: "
    "cmake -S . -B build-{major} -DPDK_PYTHON=OFF -DPDK_TENSORRT=ON "
    "-DTensorRT_ROOT=<TensorRT {major} headers> && cmake --build build-{major}"
)


@pytest.fixture(scope="session")
def built_libraries() -> dict[int, Path]:
    """``{tensorrt_major: path}`` of real plugin libraries: PDK_TEST_LIBRARIES, then the installed kit's.

    The major is what each library says about itself (its .trt_pdk_info), not its file name.
    """
    from trt_pdk.lock import library_facts
    from trt_pdk.native import plugin_libraries

    paths = [Path(p) for p in os.environ.get("PDK_TEST_LIBRARIES", "").split(os.pathsep) if p]
    paths += list(plugin_libraries().values())
    found: dict[int, Path] = {}
    for path in paths:
        major = library_facts(path)["tensorrt_major"]
        if major is not None:
            found.setdefault(major, path)
    return found


@pytest.fixture
def built_library(built_libraries):
    """``built_library(major)``: the path of the real library for that major, else the test skips."""

    def get(major: int) -> Path:
        if major not in built_libraries:
            pytest.skip(_NO_LIBRARIES.format(major=major, sep=os.pathsep))
        return built_libraries[major]

    return get
