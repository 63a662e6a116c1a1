"""The trtexec command lines equivalent to an engine build, for users who only have trtexec."""

from __future__ import annotations

import shlex
from pathlib import Path

from trt_pdk.errors import UserError


def unexpressible_inputs(profiles: list[dict[str, dict[str, list[int]]]]) -> list[str]:
    """Input names no trtexec shape option can carry.

    trtexec (``getShapesBuild``/``splitNameAndValue`` in ``samples/common/sampleOptions.cpp``)
    splits a shape list at every ``,`` before it looks at quotes, and takes every ``'`` as a
    quote, so a name holding either cannot be written.
    """
    return sorted({name for profile in profiles for name in profile if "," in name or "'" in name})


def require_expressible(profiles: list[dict[str, dict[str, list[int]]]]) -> None:
    """UserError when a profile names an input trtexec cannot (see :func:`unexpressible_inputs`)."""
    bad = unexpressible_inputs(profiles)
    if bad:
        raise UserError(
            f"trtexec cannot name the inputs {bad} in its shape options: it splits them at ',' and "
            'reads every "\'" as a quote. Rename those inputs in the model (e.g. with onnx-graphsurgeon), '
            "or build with `trt-pdk engine build` where TensorRT is installed, which needs no trtexec line."
        )


def _shape_name(name: str) -> str:
    # trtexec splits a spec at its last ':', so "in:0:2" would also work; quoted is unambiguous.
    return f"'{name}'" if ":" in name else name


def _shapes(profile: dict[str, dict[str, list[int]]], key: str) -> str:
    return ",".join(f"{_shape_name(name)}:{'x'.join(map(str, rng[key]))}" for name, rng in profile.items())


def shape_flags(profiles: list[dict[str, dict[str, list[int]]]]) -> list[str]:
    """trtexec's optimization-profile flags, one ``--minShapes/--optShapes/--maxShapes`` group each.

    With several profiles each group is led by its ``--profile=N`` (trtexec rejects repeated
    groups without it: "Multiple --minShapes/--optShapes/--maxShapes without --profile are
    not allowed."); one profile is the plain group.
    """
    require_expressible(profiles)
    flags: list[str] = []
    for index, profile in enumerate(profiles):
        if len(profiles) > 1:
            flags.append(f"--profile={index}")
        flags += [f"--{key}Shapes={_shapes(profile, key)}" for key in ("min", "opt", "max")]
    return flags


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

    The profiles' shapes as :func:`shape_flags` writes them, in order. ``fp16_flag`` is TensorRT 10 only:
    TensorRT 11 has no ``--fp16``; its FP16 build takes the fp16 ONNX our pass wrote.
    """
    if fp16_flag and tensorrt_major >= 11:
        raise ValueError("TensorRT 11 has no --fp16; build the fp16 ONNX instead")
    argv = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}", "--skipInference"]
    for lib in plugin_libraries:
        argv.append(f"--dynamicPlugins={lib}")
    argv += shape_flags(profiles)
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
            # ${VAR} placeholders for libraries not installed here must expand, and trtexec's
            # own quotes ('in:0':1x8) read better inside double quotes: double-quote those.
            plain = not any(c in a for c in '"`\\!') and ("$" not in a or "${" in a)
            parts.append(f'"{a}"' if plain and ("${" in a or "'" in a) else shlex.quote(a))
        lines.append(" \\\n    ".join(parts))
        lines.append("")
    return "\n".join(lines)


def relative(path: Path, run_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(path.resolve())
