"""The trtexec command lines equivalent to an engine build, for users who only have trtexec."""

from __future__ import annotations

import shlex
from pathlib import Path


def _shape_name(name: str) -> str:
    # trtexec splits a spec on ',' and the last ':'; only such names need its quotes.
    return f"'{name}'" if ("," in name or ":" in name) else name


def _shapes(profile: dict[str, dict[str, list[int]]], key: str) -> str:
    return ",".join(f"{_shape_name(name)}:{'x'.join(map(str, rng[key]))}" for name, rng in profile.items())


def trtexec_command(
    onnx_path: str,
    engine_path: str,
    profiles: list[dict[str, dict[str, list[int]]]],
    *,
    plugin_libraries: list[str],
    tensorrt_major: int,
    fp16_flag: bool = False,
    timing_cache: str | None = None,
    workspace_mib: int | None = None,
    optimization_level: int | None = None,
) -> list[str]:
    """argv of the trtexec build that matches ``engine_from_onnx`` with the same options.

    One ``--minShapes/--optShapes/--maxShapes`` group per optimization profile, in order
    (trtexec 10+ creates one profile per repeated group). ``fp16_flag`` is TensorRT 10 only:
    TensorRT 11 has no ``--fp16``; its FP16 build takes the fp16 ONNX our pass wrote.
    """
    if fp16_flag and tensorrt_major >= 11:
        raise ValueError("TensorRT 11 has no --fp16; build the fp16 ONNX instead")
    argv = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}", "--skipInference"]
    for lib in plugin_libraries:
        argv.append(f"--dynamicPlugins={lib}")
    for profile in profiles:
        argv += [
            f"--minShapes={_shapes(profile, 'min')}",
            f"--optShapes={_shapes(profile, 'opt')}",
            f"--maxShapes={_shapes(profile, 'max')}",
        ]
    if fp16_flag:
        argv.append("--fp16")
    if timing_cache:
        argv.append(f"--timingCacheFile={timing_cache}")
    if workspace_mib is not None:
        argv.append(f"--memPoolSize=workspace:{workspace_mib}M")
    if optimization_level is not None:
        argv.append(f"--builderOptimizationLevel={optimization_level}")
    return argv


def trtexec_script(commands: list[tuple[str, list[str]]], header: list[str]) -> str:
    """A bash script: one commented trtexec line per engine; variables stay unquoted-expandable."""
    lines = [
        "#!/usr/bin/env bash",
        "# Written by `trt-pdk engine build`: reproduces the build with trtexec only.",
        *[f"# {h}" for h in header],
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
        "",
    ]
    for title, argv in commands:
        lines.append(f"# {title}")
        parts = []
        for a in argv:
            # ${VAR} placeholders for libraries not installed here must expand: double-quote those.
            parts.append(f'"{a}"' if "${" in a else shlex.quote(a))
        lines.append(" \\\n    ".join(parts))
        lines.append("")
    return "\n".join(lines)


def relative(path: Path, run_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(path.resolve())
