"""trtexec's own option parser, compiled from the NVIDIA/TensorRT repository, as a judge of our lines.

A line we write means what trtexec makes of it, so tests feed it to trtexec's parser
(``samples/common/sampleOptions.cpp`` at the release under test, with ``logger.cpp``,
``sampleUtils.cpp``'s ``splitToStringVec`` and the ``shared/`` headers) driven by
``tests/trtexec/driver.cpp`` the way trtexec's ``main`` drives it. Nothing of that repository
is committed: the sources are archived from a local git mirror into a temporary folder and
compiled against the matching TensorRT headers; only the built driver is cached (keyed by
every input of the build).

Environment (else the caller's test is skipped with the reason):

* ``PDK_TRT_MIRROR``: a clone (bare is fine) of github.com/NVIDIA/TensorRT holding :data:`REFS`;
* optionally ``PDK_TRT_HEADERS_10`` / ``PDK_TRT_HEADERS_11``: folders holding
  ``include/NvInferVersion.h`` of the release in :data:`REFS` (``.ci/run`` sets them); unset,
  the headers are taken from the mirror at the same release;
* CUDA's headers (``CUDA_HOME``, ``CUDA_PATH``, the ``nvcc`` on PATH, or ``/usr/local/cuda``):
  the parser includes ``cuda_runtime.h``; no CUDA library is linked, its three queries are
  answered by ``tests/trtexec/cuda_runtime_standin.cpp`` (compute capability 9.0).

Use::

    parsed = parse_trtexec_line(["trtexec", "--onnx=m.onnx", ...], 10)   # or a shell line
    assert parsed["ok"], parsed["error"]
    parsed["profiles"]         # [{input: {"min": [...], "opt": [...], "max": [...]}}, ...]
    parsed["dynamic_plugins"]  # also: plugins_to_serialize, fp16 (10 only), strongly_typed, ...

``parse_trtexec_line`` and ``parse_trtexec_script`` call ``pytest.skip`` when the parser
cannot be built here (:func:`unavailable_reason` says why); a compile failure is an error.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REFS = {10: "release/10.16", 11: "main"}  # the TensorRT releases whose trtexec judges our lines
HERE = Path(__file__).resolve().parent / "trtexec"
OUR_SOURCES = [
    HERE / "driver.cpp",
    HERE / "cuda_runtime_standin.cpp",
    HERE / "safe_recorder_standin.h",
]
MARKER = "TRTEXEC_PARSED "
FLAGS = ["-std=c++17", "-O0", "-w"]  # their code, our build: quick, and their warnings are not ours
_built: dict[int, Path] = {}


def _headers(major: int) -> Path | None:
    value = os.environ.get(f"PDK_TRT_HEADERS_{major}")
    if not value:
        return None
    root = Path(value)
    return root / "include" if (root / "include" / "NvInferVersion.h").is_file() else root


def _cuda_include() -> Path | None:
    candidates = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")]
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates.append(str(Path(nvcc).resolve().parent.parent))
    candidates.append("/usr/local/cuda")
    for c in candidates:
        if c and (Path(c) / "include" / "cuda_runtime_api.h").is_file():
            return Path(c) / "include"
    return None


def _git(mirror: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", f"--git-dir={mirror}", *args], capture_output=True, check=False)


def _header_major(include: Path) -> int | None:
    text = (include / "NvInferVersion.h").read_text(errors="replace")
    m = re.search(r"#define\s+(?:TRT_MAJOR_ENTERPRISE|NV_TENSORRT_MAJOR)\s+(\d+)", text)
    return int(m.group(1)) if m else None


def unavailable_reason(major: int) -> str | None:
    """Why trtexec ``major``'s parser cannot be built here, or None when it can."""
    if major not in REFS:
        return f"no trtexec release is configured for TensorRT {major} (known: {sorted(REFS)})"
    mirror = os.environ.get("PDK_TRT_MIRROR")
    how = (
        "set PDK_TRT_MIRROR to a clone of github.com/NVIDIA/TensorRT with release/10.16 and main, "
        "optionally PDK_TRT_HEADERS_10/11 to their headers (`.ci/run` does both where the mirror is)"
    )
    if not mirror or not Path(mirror).exists():
        return f"trtexec parser for TensorRT {major}: no NVIDIA/TensorRT mirror ({mirror=}); {how}"
    if shutil.which("git") is None:
        return "trtexec parser: git is not installed"
    if _git(mirror, "rev-parse", "--verify", "--quiet", f"{REFS[major]}^{{commit}}").returncode != 0:
        return f"trtexec parser: the mirror {mirror} has no {REFS[major]}; fetch it"
    include = _headers(major)
    if include is not None:
        if not (include / "NvInferVersion.h").is_file():
            return f"trtexec parser: PDK_TRT_HEADERS_{major}={include} holds no NvInferVersion.h; {how}"
        if _header_major(include) != major:
            return f"trtexec parser: PDK_TRT_HEADERS_{major} holds TensorRT {_header_major(include)} headers"
    if _cuda_include() is None:
        return "trtexec parser: no CUDA headers (cuda_runtime_api.h); set CUDA_HOME or put nvcc on PATH"
    cxx = os.environ.get("CXX", "c++")
    if shutil.which(cxx) is None:
        return f"trtexec parser: no C++ compiler ({cxx}); set CXX"
    return None


def _split_to_string_vec(sample_utils: str) -> str:
    # The one function of sampleUtils.cpp the parser needs; the rest of that file pulls in
    # nlohmann/json (11.x) and most of the samples.
    start = re.search(r"^std::vector<std::string> splitToStringVec\(", sample_utils, re.M)
    if start is None:
        raise RuntimeError("sampleUtils.cpp no longer defines splitToStringVec; update trtexec_parser.py")
    depth, i = 0, sample_utils.index("{", start.start())
    for j in range(i, len(sample_utils)):
        depth += {"{": 1, "}": -1}.get(sample_utils[j], 0)
        if depth == 0:
            body = sample_utils[start.start() : j + 1]
            return f'#include "sampleUtils.h"\nnamespace sample\n{{\n{body}\n}}\n'
    raise RuntimeError("unbalanced braces in splitToStringVec of sampleUtils.cpp")


def _cache_key(major: int, mirror: str, include: Path | None, cuda: Path, cxx: str) -> str:
    h = hashlib.sha256()
    commit = _git(mirror, "rev-parse", f"{REFS[major]}^{{commit}}").stdout.strip()
    h.update(commit + b"\0" + cxx.encode() + b"\0" + " ".join(FLAGS).encode() + str(cuda).encode())
    headers = sorted(include.rglob("*.h")) if include else []  # else: the commit's own
    for path in [*headers, *OUR_SOURCES, Path(__file__)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:20]


def _compile(cxx: str, includes: list[Path], source: Path, obj: Path) -> None:
    cmd = [cxx, *FLAGS, *[f"-I{p}" for p in includes], "-c", str(source), "-o", str(obj)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"compiling trtexec's parser failed: {' '.join(cmd)}\n{done.stderr[-4000:]}")


def parser_driver(major: int) -> Path:
    """Path of the built parser driver for TensorRT ``major`` (built once, then cached)."""
    if major in _built:
        return _built[major]
    reason = unavailable_reason(major)
    if reason:
        pytest.skip(reason)
    mirror, include, cuda = os.environ["PDK_TRT_MIRROR"], _headers(major), _cuda_include()
    cxx = shutil.which(os.environ.get("CXX", "c++"))
    default_cache = Path(tempfile.gettempdir()) / "trt-pdk-trtexec-parser"
    cache = Path(os.environ.get("PDK_TRTEXEC_PARSER_CACHE", default_cache))
    binary = cache / f"trtexec{major}-{_cache_key(major, mirror, include, cuda, cxx)}"
    if not binary.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            work = Path(tmp)
            paths = ["samples/common", "shared", *([] if include else ["include"])]
            archive = _git(mirror, "archive", "--format=tar", REFS[major], *paths)
            if archive.returncode != 0:
                raise RuntimeError(f"git archive {REFS[major]} failed: {archive.stderr.decode()}")
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(work, filter="data")
            common = work / "samples" / "common"
            split = work / "split_to_string_vec.cpp"
            split.write_text(_split_to_string_vec((common / "sampleUtils.cpp").read_text()))
            sources = [common / "sampleOptions.cpp", common / "logger.cpp", split, *OUR_SOURCES[:2]]
            # safeCommon.h includes the safety runtime's header, which is not public: our
            # declarations-only stand-in takes its name inside the build folder only.
            standins = work / "standins"
            standins.mkdir()
            shutil.copyfile(HERE / "safe_recorder_standin.h", standins / "NvInferSafeRecorder.h")
            includes = [standins, common, work / "shared", include or work / "include", cuda]
            objects = [work / f"{s.stem}.o" for s in sources]
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda so: _compile(cxx, includes, *so), zip(sources, objects, strict=True)))
            linked = work / "driver"
            link = subprocess.run(
                [cxx, *map(str, objects), "-o", str(linked)], capture_output=True, text=True, check=False
            )
            if link.returncode != 0:
                raise RuntimeError(f"linking trtexec's parser failed:\n{link.stderr[-4000:]}")
            linked.replace(binary)  # atomic: a concurrent session sees no half-written file
    _built[major] = binary
    return binary


def _parsed(stdout: str) -> list[dict]:
    return [json.loads(line[len(MARKER) :]) for line in stdout.splitlines() if line.startswith(MARKER)]


def _trtexec_on_path(major: int, folder: Path) -> dict[str, str]:
    (folder / "trtexec").symlink_to(parser_driver(major))
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}


def parse_trtexec_line(line_or_argv: str | list[str], major: int, env: dict[str, str] | None = None) -> dict:
    """What trtexec ``major`` parses from one command line.

    Args:
        line_or_argv: An argv list (``argv[0]`` is trtexec, as written) or one shell line,
            which bash runs with ``trtexec`` on PATH being the parser (so quoting and
            ``${VAR}`` expansion are the shell's).
        major: 10 (release/10.16) or 11 (main).
        env: Extra environment for a shell line (e.g. the variables it expands).

    Returns:
        The driver's JSON: ``ok``, ``error``, ``unknown`` (options trtexec did not recognize),
        and when parsing got through: ``model``, ``onnx``, ``save_engine``, ``skip_inference``,
        ``profiles``, ``dynamic_plugins``, ``plugins_to_serialize``, ``plugins``,
        ``strongly_typed``, ``fp16`` (10 only), ``timing_cache_file``, ``workspace_mib``,
        ``builder_optimization_level``.
    """
    if isinstance(line_or_argv, str):
        with tempfile.TemporaryDirectory() as tmp:
            full_env = {**_trtexec_on_path(major, Path(tmp)), **(env or {})}
            done = subprocess.run(
                ["bash", "-c", line_or_argv], capture_output=True, text=True, env=full_env, check=False
            )
    else:
        done = subprocess.run(
            [str(parser_driver(major)), *line_or_argv[1:]], capture_output=True, text=True, check=False
        )
    parsed = _parsed(done.stdout)
    if len(parsed) != 1:
        raise AssertionError(f"expected one trtexec run, got {len(parsed)}:\n{done.stdout}\n{done.stderr}")
    return parsed[0]


def parse_trtexec_script(script: Path, major: int, env: dict[str, str] | None = None) -> list[dict]:
    """Runs a written bash script with trtexec being the parser; one parse per trtexec call.

    Raises AssertionError when the script fails for another reason than a rejected line
    (then fewer parses come back than it has trtexec calls; the caller compares counts).
    """
    with tempfile.TemporaryDirectory() as tmp:
        full_env = {**_trtexec_on_path(major, Path(tmp)), **(env or {})}
        done = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, env=full_env, check=False
        )
    parsed = _parsed(done.stdout)
    if done.returncode != 0 and (not parsed or parsed[-1]["ok"]):
        raise AssertionError(f"{script} failed outside trtexec (exit {done.returncode}):\n{done.stderr}")
    return parsed
