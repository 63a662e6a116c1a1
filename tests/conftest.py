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
