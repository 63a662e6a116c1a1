"""`compare_precisions`: FP32 and FP16 engines vs the CPU ONNX reference, per profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.execution.compare import compare_arrays, tolerance_for
from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB

# Engine precision -> the dtype whose tolerance applies (outputs come back as float32).
PRECISION_DTYPES = {"fp32": "float32", "fp16": "float16"}
TOLERANCES = {p: tolerance_for(d) for p, d in PRECISION_DTYPES.items()}  # (atol, rtol)


def error_stats(got: np.ndarray, ref: np.ndarray, atol: float, rtol: float) -> dict[str, Any]:
    """Max abs/rel error; pass iff |got - ref| <= atol + rtol * |ref| everywhere, under the
    execution layer's NaN rule (a NaN matches only a NaN at the same position)."""
    error = compare_arrays("", got, ref, atol, rtol)
    return {
        "max_abs": error.max_abs,
        "max_rel": error.max_rel,
        "atol": atol,
        "rtol": rtol,
        "mismatches": error.mismatches,
        "nan_mismatches": error.nan_mismatches,
        "pass": error.ok,
    }


def compare_precisions(
    run_dir: str | Path, iterations: int = 50, seed: int = 0, max_input_mib: float = DEFAULT_MAX_INPUT_MIB
) -> dict[str, Any]:
    """Runs every engine of a run folder in every profile against onnxruntime on CPU.

    The environment is checked against the run's manifest first, so a mismatched TensorRT,
    GPU or plugin library stops with a message instead of a deserialization crash.

    Returns:
        ``{"profiles": [{"profile": i, "shapes": {...}, "engines": {prec: {"latency_ms",
        "outputs": {name: {max_abs, max_rel, atol, rtol, pass}}}}}], "pass": bool}``.
    """
    from trt_pdk.engine._runner import EngineRunner
    from trt_pdk.engine._tensorrt import running_tensorrt
    from trt_pdk.lock import MANIFEST, require_matching_environment
    from trt_pdk.lock._libraries import load_plugin_libraries
    from trt_pdk.native import GET_TENSORRT

    run_dir = Path(run_dir)
    build_path = run_dir / "build.json"
    if not build_path.is_file():
        raise UserError(
            f"{run_dir} has no build.json; make it with `trt-pdk engine build MODEL.onnx -o {run_dir}`."
        )
    build = json.loads(build_path.read_text(encoding="utf-8"))
    if build.get("dry_run"):
        raise UserError(
            f"{run_dir} is a dry run (no engines); build without --dry-run where TensorRT is installed."
        )
    trt = running_tensorrt()
    if trt is None:
        raise UserError(
            f"Comparing engines needs TensorRT, and `import tensorrt` fails here: {GET_TENSORRT}."
        )
    require_matching_environment(run_dir / MANIFEST)
    import torch

    from trt_pdk.execution import OnnxRuntimeRunner, random_inputs

    if not torch.cuda.is_available():
        raise UserError(
            "Comparing engines needs a CUDA GPU visible to torch (torch.cuda.is_available() is False)."
        )
    load_plugin_libraries(trt, [Path(p) for p in build.get("plugin_libraries", [])])
    reference = OnnxRuntimeRunner(build["model"])
    runners = {p: EngineRunner((run_dir / rel).read_bytes()) for p, rel in build["engines"].items()}
    results, all_pass = [], True
    stream = torch.cuda.current_stream()
    for i, prof in enumerate(build["profiles"]):
        shapes = {n: prof[n]["opt"] for n in prof}
        feeds = random_inputs(
            reference.inputs, shapes=shapes, seed=seed + i, max_input_mib=max_input_mib, high=8
        )
        ref = reference(feeds)
        entry = {"profile": i, "shapes": {n: prof[n]["opt"] for n in prof}, "engines": {}}
        for prec, runner in runners.items():
            cuda_feeds = {
                n: torch.from_numpy(np.ascontiguousarray(feeds[n])).to("cuda", runner.dtype(n))
                for n in runner.input_names
            }
            bound = runner.bind(cuda_feeds, profile=i, stream=stream)
            for _ in range(5):
                runner.execute(stream)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            times = []
            for _ in range(iterations):
                start.record(stream)
                runner.execute(stream)
                end.record(stream)
                end.synchronize()
                times.append(start.elapsed_time(end))
            stream.synchronize()
            outs = dict(zip(runner.output_names, runner.fetch(bound), strict=True))
            atol, rtol = TOLERANCES[prec]
            stats = {
                n: error_stats(outs[n].float().cpu().numpy(), ref[n], atol, rtol)
                for n in runner.output_names
                if n in ref
            }
            all_pass &= all(s["pass"] for s in stats.values())
            entry["engines"][prec] = {"latency_ms": float(np.median(times)), "outputs": stats}
            del bound
        results.append(entry)
    report = {"run_dir": str(run_dir), "tensorrt": trt.__version__, "profiles": results, "pass": all_pass}
    write_text_atomic(run_dir / "compare.json", json.dumps(report, indent=2) + "\n")
    return report
