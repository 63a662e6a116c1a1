"""`compare_precisions`: FP32 and FP16 engines vs the CPU ONNX reference, per profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError

TOLERANCES = {"fp32": (1e-4, 1e-3), "fp16": (1e-2, 1e-2)}  # (atol, rtol)


def error_stats(got: np.ndarray, ref: np.ndarray, atol: float, rtol: float) -> dict[str, Any]:
    """Max abs/rel error and pass iff |got - ref| <= atol + rtol * |ref| everywhere (NaN fails)."""
    got64, ref64 = got.astype(np.float64), ref.astype(np.float64)
    diff = np.abs(got64 - ref64)
    rel = diff / np.maximum(np.abs(ref64), 1e-12)
    ok = bool(np.all(diff <= atol + rtol * np.abs(ref64))) and got.shape == ref.shape
    return {
        "max_abs": float(diff.max()) if diff.size else 0.0,
        "max_rel": float(rel.max()) if rel.size else 0.0,
        "atol": atol,
        "rtol": rtol,
        "pass": ok,
    }


def _feeds(model_inputs: list[Any], profile: dict, seed: int) -> dict[str, np.ndarray]:
    from onnx import helper

    rng = np.random.default_rng(seed)
    feeds = {}
    for vi in model_inputs:
        shape = (
            profile[vi.name]["opt"]
            if vi.name in profile
            else [d.dim_value for d in vi.type.tensor_type.shape.dim]
        )
        dtype = helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        if np.issubdtype(dtype, np.floating):
            feeds[vi.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[vi.name] = rng.integers(0, 8, size=shape).astype(dtype)
    return feeds


def _reference(model: Any, where: str) -> Any:
    """feeds -> {output: array}: onnxruntime on CPU, else the plugins' native CPU references."""
    names = [o.name for o in model.graph.output]
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return lambda feeds: dict(zip(names, session.run(names, feeds), strict=True))
    except Exception as ort_error:
        try:
            from trt_pdk.onnx_cpu import run
            from trt_pdk.registry import discover

            specs = list(discover().values())
            return lambda feeds: dict(zip(names, run(model, specs, feeds), strict=True))
        except Exception:
            raise UserError(f"Cannot run the reference model {where} on CPU: {ort_error}") from None


def compare_precisions(run_dir: str | Path, iterations: int = 50, seed: int = 0) -> dict[str, Any]:
    """Runs every engine of a run folder in every profile against onnxruntime on CPU.

    The environment is checked against the run's manifest first, so a mismatched TensorRT,
    GPU or plugin library stops with a message instead of a deserialization crash.

    Returns:
        ``{"profiles": [{"profile": i, "shapes": {...}, "engines": {prec: {"latency_ms",
        "outputs": {name: {max_abs, max_rel, atol, rtol, pass}}}}}], "pass": bool}``.
    """
    from trt_pdk.engine._build import GET_TENSORRT
    from trt_pdk.engine._runner import EngineRunner
    from trt_pdk.engine._tensorrt import running_tensorrt
    from trt_pdk.lock import MANIFEST, require_matching_environment
    from trt_pdk.lock._libraries import load_plugin_libraries

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
    import onnx
    import torch

    if not torch.cuda.is_available():
        raise UserError(
            "Comparing engines needs a CUDA GPU visible to torch (torch.cuda.is_available() is False)."
        )
    load_plugin_libraries(trt, [Path(p) for p in build.get("plugin_libraries", [])])
    model = onnx.load(build["model"])
    inits = {i.name for i in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in inits]
    reference = _reference(model, build["model"])
    runners = {p: EngineRunner((run_dir / rel).read_bytes()) for p, rel in build["engines"].items()}
    results, all_pass = [], True
    stream = torch.cuda.current_stream()
    for i, prof in enumerate(build["profiles"]):
        feeds = _feeds(inputs, prof, seed + i)
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
