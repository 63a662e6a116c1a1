"""The models' Python: which environment the python backend's stub runs, and whether it can.

The stub of the embedded server (tritonserver 2.51 from nvidia-pytriton 0.7.0) is built
against numpy 1.x. Run by an environment with numpy 2 it loads the models, but every
answer comes back empty (seen here: a [1, 3, 64] output arrives with 0 elements). So the
environment is chosen, then checked before the server starts:

* ``--python-env DIR`` (``TritonServer(python_env=...)``) when given;
* else, when ``TRT_PDK_TRITON_ROOT`` points at nvidia-pytriton installed in *another*
  environment (the way to keep numpy 2 in the kit's own), that environment: it installed
  nvidia-pytriton, whose pin keeps numpy < 2 there;
* else the running one.

The check runs the environment's ``python3`` (in-process for the running one): its
Python must be the minor version the stub was picked for, numpy must be 1.x and
onnxruntime importable (the CPU model runs the graph with it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from trt_pdk.errors import UserError

_PROBE = (
    "import json, sys\n"
    "out = {'python': '%d.%d' % sys.version_info[:2], 'prefix': sys.prefix}\n"
    "for name in ('numpy', 'onnxruntime'):\n"
    "    try:\n"
    "        out[name] = __import__(name).__version__\n"
    "    except Exception as exc:\n"
    "        out[name] = None\n"
    "        out[name + '_error'] = '%s: %s' % (type(exc).__name__, exc)\n"
    "print(json.dumps(out))\n"
)


def environment_of_triton_root(root: str | Path) -> Path | None:
    """The environment whose site-packages holds ``root`` (``.../site-packages/pytriton/tritonserver``)."""
    root = Path(root).absolute()
    site = root.parent.parent
    if site.name not in ("site-packages", "dist-packages"):
        return None
    env = site.parents[2]  # site-packages -> pythonX.Y -> lib -> env
    return env if (env / "bin" / "python3").exists() else None


def model_python(explicit: str | Path | None = None) -> Path:
    """The environment the models' Python runs from (see the module doc for the order)."""
    if explicit:
        return Path(explicit).absolute()
    root = os.environ.get("TRT_PDK_TRITON_ROOT")
    if root:
        env = environment_of_triton_root(root)
        if env is not None:
            return env
    return Path(sys.prefix)


def probe(env: Path) -> dict:
    """Python, numpy and onnxruntime versions of ``env`` (None where one does not import)."""
    if env.resolve() == Path(sys.prefix).resolve():
        import importlib.util

        import numpy

        out = {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "prefix": sys.prefix}
        out["numpy"] = numpy.__version__
        spec = importlib.util.find_spec("onnxruntime")
        out["onnxruntime"] = "importable" if spec is not None else None
        return out
    python = env / "bin" / "python3"
    if not python.exists():
        raise UserError(
            f"the models' Python environment {env} has no bin/python3. Pass --python-env with a virtual "
            "environment (or prefix) that has numpy<2 and onnxruntime."
        )
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(
            f"could not run the models' Python {python} ({exc}); pass another --python-env."
        ) from None
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise UserError(
            f"the models' Python {python} did not start (exit {done.returncode}: "
            f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}); pass another --python-env."
        ) from None


def check_model_python(env: Path, stub_python: str) -> dict:
    """Refuses an environment the stub cannot serve from; returns what :func:`probe` found."""
    found = probe(env)
    how = (
        "Pass --python-env DIR naming an environment with Python "
        f"{stub_python}, numpy<2 and onnxruntime (the one that holds nvidia-pytriton has numpy<2), "
        f"or install them in {env}."
    )
    if found["python"] != stub_python:
        raise UserError(
            f"the models' Python environment {env} runs Python {found['python']}, but the python backend "
            f"stub was picked for Python {stub_python}. {how}"
        )
    if found.get("numpy") is None:
        raise UserError(f"the models' Python environment {env} cannot import numpy. {how}")
    if int(found["numpy"].split(".")[0]) >= 2:
        raise UserError(
            f"the models' Python environment {env} has numpy {found['numpy']}; the embedded python backend "
            "stub is built for numpy 1.x and answers every request with empty tensors under numpy 2. " + how
        )
    if found.get("onnxruntime") is None:
        raise UserError(f"the models' Python environment {env} cannot import onnxruntime. {how}")
    return found
