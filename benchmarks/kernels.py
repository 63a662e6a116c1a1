"""Kernel benchmark: each op's CUDA kernel vs torch eager vs torch.compile, with the
achieved bandwidth as a fraction of a device-to-device copy measured in the same run.

    python benchmarks/kernels.py [--ops RMSNorm ...] [--quick] [-o result.json]

Prints one JSON object. Without a CUDA GPU (or a build without CUDA) it prints
{"skipped": "<why and how to enable>"} and exits 0, so it can run anywhere.

Bytes moved are the minimum an op must touch (every input read once, every output written
once); GB/s = bytes / kernel time. Ratios are taken within one run because the machines
are noisy; each time is the median of several repeats of many back-to-back launches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Targets from the issues: memory-bound ops reach 90% of copy bandwidth at large sizes and
# are at least as fast as torch.compile; search-like ops beat torch eager.
BANDWIDTH_TARGET = 0.90


@dataclass(frozen=True)
class Workload:
    """One benchmark point: inputs on the GPU, attributes, and a label."""

    label: str
    inputs: list[Any]
    attrs: dict[str, Any]
    targets: dict[str, float]


def rms_norm_workloads(quick: bool) -> list[Workload]:
    import torch

    sizes = [(4096, 1024), (16384, 4096)]
    if not quick:
        sizes += [(65536, 1024), (8192, 8192)]
    out = []
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        for rows, d in sizes:
            x = torch.randn(rows, d, device="cuda", dtype=dtype)
            w = torch.randn(d, device="cuda", dtype=dtype)
            large = rows * d >= 16384 * 4096
            targets = {"fraction_of_copy": BANDWIDTH_TARGET, "speedup_vs_compile": 1.0} if large else {}
            label = f"{str(dtype).removeprefix('torch.')} {rows}x{d}"
            out.append(Workload(label, [x, w], {"eps": 1e-6}, targets))
    return out


# op name -> workload recipe; a new op adds one line here.
WORKLOADS: dict[str, Callable[[bool], list[Workload]]] = {
    "RMSNorm": rms_norm_workloads,
}


def time_ms(fn: Callable[[], Any], iters: int, repeats: int = 5) -> float:
    """Median over `repeats` of the mean time of `iters` back-to-back calls, in ms."""
    import torch

    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / iters)
    return statistics.median(samples)


def nbytes(tensors: list[Any]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def bench_workload(spec: Any, binding: Any, w: Workload, iters: int) -> dict[str, Any]:
    import torch

    from trt_pdk.torch_ops import TORCH_DTYPES, dtype_name

    stream = torch.cuda.current_stream().cuda_stream
    in_shapes = [list(t.shape) for t in w.inputs]
    in_dtypes = [dtype_name(t.dtype) for t in w.inputs]
    out_shapes = binding.output_shapes(w.attrs, in_shapes)
    out_dtypes = binding.output_dtypes(w.attrs, in_dtypes)
    outputs = [
        torch.empty(shape, device="cuda", dtype=TORCH_DTYPES[dt])
        for shape, dt in zip(out_shapes, out_dtypes, strict=True)
    ]
    workspace_size = binding.workspace_size(w.attrs, in_shapes, in_dtypes)
    workspace = torch.empty(max(workspace_size, 1), device="cuda", dtype=torch.uint8)
    in_ptrs = [t.data_ptr() for t in w.inputs]
    out_ptrs = [t.data_ptr() for t in outputs]

    def kernel() -> None:
        binding.cuda(
            w.attrs, in_ptrs, in_shapes, in_dtypes, out_ptrs, out_shapes, workspace.data_ptr(), stream
        )

    def eager() -> Any:
        return spec.reference(*w.inputs, **w.attrs)

    compiled_fn = torch.compile(spec.reference, dynamic=False)

    def compiled() -> Any:
        return compiled_fn(*w.inputs, **w.attrs)

    moved = nbytes(w.inputs) + nbytes(outputs)
    # The copy moves the same number of bytes: it reads and writes half of them each.
    src = torch.empty(moved // 2, device="cuda", dtype=torch.uint8)
    dst = torch.empty_like(src)

    kernel_ms = time_ms(kernel, iters)
    copy_ms = time_ms(lambda: dst.copy_(src), iters)
    eager_ms = time_ms(eager, iters)
    compile_ms = time_ms(compiled, iters)

    expected = eager()
    expected = list(expected) if isinstance(expected, tuple | list) else [expected]
    max_abs = max(
        (float((o.float() - e.float()).abs().max()) if o.numel() else 0.0)
        for o, e in zip(outputs, expected, strict=True)
    )
    result = {
        "workload": w.label,
        "bytes": moved,
        "kernel_ms": kernel_ms,
        "kernel_gbps": moved / kernel_ms / 1e6,
        "copy_gbps": moved / copy_ms / 1e6,
        "fraction_of_copy": copy_ms / kernel_ms,
        "eager_ms": eager_ms,
        "compile_ms": compile_ms,
        "speedup_vs_eager": eager_ms / kernel_ms,
        "speedup_vs_compile": compile_ms / kernel_ms,
        "max_abs_err_vs_eager": max_abs,
    }
    result["targets"] = {
        name: {"target": target, "met": result[name] >= target} for name, target in w.targets.items()
    }
    return result


def why_no_gpu() -> str | None:
    try:
        import torch
    except ImportError:
        return "torch is not installed: pip install torch"
    if not torch.cuda.is_available():
        return "no CUDA GPU (torch.cuda.is_available() is False): run on a machine with an NVIDIA GPU"
    from trt_pdk import _C

    if not _C._build_info["cuda"]:
        return "trt_pdk was built without CUDA: reinstall with nvcc on PATH (PDK_CUDA=ON)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", nargs="*", default=sorted(WORKLOADS), help="ops to measure (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes")
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("-o", "--output", help="also write the JSON here")
    args = parser.parse_args(argv)

    unknown = sorted(set(args.ops) - set(WORKLOADS))
    if unknown:
        print(f"unknown op(s) {unknown}; benchmarked ops: {sorted(WORKLOADS)}", file=sys.stderr)
        return 2
    reason = why_no_gpu()
    if reason:
        report: dict[str, Any] = {"skipped": reason}
    else:
        import torch

        from trt_pdk.native import op_binding
        from trt_pdk.registry import get_spec

        report = {
            "device": torch.cuda.get_device_name(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "results": {},
        }
        for name in args.ops:
            spec = get_spec(name)
            binding = op_binding(spec)
            workloads = WORKLOADS[name](args.quick)
            report["results"][name] = [bench_workload(spec, binding, w, args.iters) for w in workloads]
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
