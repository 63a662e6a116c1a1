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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Targets from the issues: memory-bound ops reach 90% of copy bandwidth at large sizes and
# are at least as fast as torch.compile; search-like ops beat torch eager.
BANDWIDTH_TARGET = 0.90


@dataclass(frozen=True)
class Workload:
    """One benchmark point: inputs on the GPU, attributes, and a label.

    Args:
        targets: result key -> minimum value (e.g. ``{"speedup_vs_eager": 1.0}``).
        eager: what torch eager (and torch.compile) run, ``eager(*inputs)``; default: the
            spec's reference with ``attrs``.
        bytes_moved: ``bytes_moved(inputs, outputs)`` -> the bytes the op must touch, given
            the kernel's outputs cut to their valid size; default: every input read once,
            every output written once.
        dynamo_config: ``torch._dynamo.config`` values set while compiling and running the
            compiled function (e.g. ``capture_dynamic_output_shape_ops`` for ``x[mask]``).
    """

    label: str
    inputs: list[Any]
    attrs: dict[str, Any]
    targets: dict[str, float]
    eager: Callable[..., Any] | None = None
    bytes_moved: Callable[[list[Any], list[Any]], int] | None = None
    dynamo_config: dict[str, Any] = field(default_factory=dict)


def _dtype_label(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


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
            label = f"{_dtype_label(dtype)} {rows}x{d}"
            out.append(Workload(label, [x, w], {"eps": 1e-6}, targets))
    return out


def bucketize_workloads(quick: bool) -> list[Workload]:
    """Search-like: 4096x4096 values into B sorted boundaries; B = 12288 is the largest that
    fits in shared memory, 65536 takes the global-memory path."""
    import torch

    dtypes = (torch.float32, torch.int32) if quick else (torch.float32, torch.float16, torch.int32)
    counts = (128, 65536) if quick else (128, 1024, 12288, 65536)
    attr_sets = ({"right": 0, "out_dtype": "int64"}, {"right": 1, "out_dtype": "int32"})
    out = []
    for dtype in dtypes:
        if dtype == torch.int32:
            x = torch.randint(-(2**20), 2**20, (4096, 4096), device="cuda", dtype=torch.int32)
        else:
            x = torch.randn(4096, 4096, device="cuda", dtype=dtype)
        for b in counts:
            if dtype == torch.int32:
                boundaries = torch.randint(-(2**20), 2**20, (b,), device="cuda", dtype=torch.int32)
            else:
                boundaries = torch.randn(b, device="cuda").to(dtype)
            boundaries = boundaries.sort().values.contiguous()
            for attrs in attr_sets:
                label = f"{_dtype_label(dtype)} 4096x4096 B={b} right={attrs['right']} {attrs['out_dtype']}"
                out.append(Workload(label, [x, boundaries], dict(attrs), {"speedup_vs_eager": 1.0}))
    return out


def fused_bias_gelu_workloads(quick: bool) -> list[Workload]:
    import torch

    sizes = [(16384, 4096)] if quick else [(16384, 4096), (8192, 8192), (65536, 1024)]
    out = []
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        for rows, d in sizes:
            x = torch.randn(rows, d, device="cuda", dtype=dtype)
            bias = torch.randn(d, device="cuda", dtype=dtype)
            large = rows * d >= 16384 * 4096
            targets = {"fraction_of_copy": BANDWIDTH_TARGET, "speedup_vs_compile": 1.0} if large else {}
            for approximate in ("none", "tanh"):
                label = f"{_dtype_label(dtype)} {rows}x{d} {approximate}"
                out.append(Workload(label, [x, bias], {"approximate": approximate}, targets))
            if dtype == torch.float16 and (rows, d) == sizes[0]:
                # The bias-less node (one input): y = gelu(x).
                label = f"{_dtype_label(dtype)} {rows}x{d} none no-bias"
                out.append(Workload(label, [x], {"approximate": "none"}, targets))
    return out


def _masked_compact_bytes(inputs: list[Any], outputs: list[Any]) -> int:
    """Mask read (N bytes), the K kept rows read and written, the 8-byte count."""
    x, mask = inputs
    y = outputs[0]
    row_bytes = x[0].numel() * x.element_size() if x.shape[0] else 0
    return mask.numel() * mask.element_size() + 2 * y.shape[0] * row_bytes + 8


def masked_compact_workloads(quick: bool) -> list[Workload]:
    import torch

    shapes = [((1048576, 64), torch.float16), ((1048576, 64), torch.float32), ((262144, 256), torch.bfloat16)]
    if quick:
        shapes = shapes[:1]
    out = []
    for (n, d), dtype in shapes:
        x = torch.randn(n, d, device="cuda", dtype=dtype)
        for p in (0.1, 0.5, 0.9):
            mask = torch.rand(n, device="cuda") < p
            out.append(
                Workload(
                    f"{_dtype_label(dtype)} {n}x{d} p={p}",
                    [x, mask],
                    {},
                    {"speedup_vs_eager": 1.0},
                    eager=lambda x, mask: x[mask],
                    bytes_moved=_masked_compact_bytes,
                    dynamo_config={"capture_dynamic_output_shape_ops": True},
                )
            )
    return out


# op name -> workload recipe; a new op adds one line here.
WORKLOADS: dict[str, Callable[[bool], list[Workload]]] = {
    "RMSNorm": rms_norm_workloads,
    "Bucketize": bucketize_workloads,
    "FusedBiasGelu": fused_bias_gelu_workloads,
    "MaskedCompact": masked_compact_workloads,
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


def _valid_outputs(binding: Any, outputs: list[Any], out_shapes: list[list[int]]) -> list[Any]:
    """The outputs cut to what the kernel produced: data-dependent (-1) dims take the size
    in the size-tensor output (the last one, 0-D int64). Synchronizes when there are any."""
    import torch

    if not any(d < 0 for s in out_shapes for d in s):
        return outputs
    torch.cuda.synchronize()
    n_sizes = int(getattr(binding, "num_size_tensor_outputs", 1))
    if n_sizes != 1:
        raise NotImplementedError(f"{n_sizes} size-tensor outputs; this benchmark reads exactly one")
    size = int(outputs[-1].item())
    valid = []
    for out, dims in zip(outputs, out_shapes, strict=True):
        for axis, d in enumerate(dims):
            if d < 0:
                out = out.narrow(axis, 0, size)  # noqa: PLW2901 - cut step by step
        valid.append(out)
    return valid


def _max_abs_err(actual: list[Any], expected: list[Any]) -> float | str:
    if len(actual) != len(expected):
        return f"{len(actual)} outputs, the reference has {len(expected)}"
    worst = 0.0
    for i, (o, e) in enumerate(zip(actual, expected, strict=True)):
        e = e.to(o.device)  # noqa: PLW2901 - e.g. a 0-D count the reference makes on the CPU
        if tuple(o.shape) != tuple(e.shape):
            return f"output {i} has shape {tuple(o.shape)}, the reference {tuple(e.shape)}"
        if o.numel():
            worst = max(worst, float((o.double() - e.double()).abs().max()))
    return worst


def bench_workload(spec: Any, binding: Any, w: Workload, iters: int) -> dict[str, Any]:
    """Times the kernel, a copy of the same bytes, torch eager and torch.compile.

    Outputs with data-dependent dims are allocated at their upper bound and compared (and
    counted in the bytes moved) only up to the size the kernel reports.
    """
    import torch

    from trt_pdk.torch_ops import TORCH_DTYPES, dtype_name

    stream = torch.cuda.current_stream().cuda_stream
    in_shapes = [list(t.shape) for t in w.inputs]
    in_dtypes = [dtype_name(t.dtype) for t in w.inputs]
    out_shapes = [list(s) for s in binding.output_shapes(w.attrs, in_shapes)]
    alloc_shapes = out_shapes
    if any(d < 0 for s in out_shapes for d in s):
        alloc_shapes = [list(s) for s in binding.output_upper_bounds(w.attrs, in_shapes)]
    out_dtypes = binding.output_dtypes(w.attrs, in_dtypes)
    outputs = [
        torch.empty(shape, device="cuda", dtype=TORCH_DTYPES[dt])
        for shape, dt in zip(alloc_shapes, out_dtypes, strict=True)
    ]
    workspace_size = binding.workspace_size(w.attrs, in_shapes, in_dtypes)
    workspace = torch.empty(max(workspace_size, 1), device="cuda", dtype=torch.uint8)
    in_ptrs = [t.data_ptr() for t in w.inputs]
    out_ptrs = [t.data_ptr() for t in outputs]

    def kernel() -> None:
        binding.cuda(
            w.attrs, in_ptrs, in_shapes, in_dtypes, out_ptrs, alloc_shapes, workspace.data_ptr(), stream
        )

    eager_fn = w.eager or (lambda *inputs: spec.reference(*inputs, **w.attrs))

    def eager() -> Any:
        return eager_fn(*w.inputs)

    compiled_fn = torch.compile(eager_fn, dynamic=False)

    def compiled() -> Any:
        return compiled_fn(*w.inputs)

    kernel()
    torch.cuda.synchronize()
    valid = _valid_outputs(binding, outputs, out_shapes)
    moved = w.bytes_moved(w.inputs, valid) if w.bytes_moved else nbytes(w.inputs) + nbytes(valid)
    # The copy moves the same number of bytes: it reads and writes half of them each.
    src = torch.empty(max(moved // 2, 1), device="cuda", dtype=torch.uint8)
    dst = torch.empty_like(src)

    kernel_ms = time_ms(kernel, iters)
    copy_ms = time_ms(lambda: dst.copy_(src), iters)
    eager_ms = time_ms(eager, iters)
    with torch._dynamo.config.patch(**w.dynamo_config):
        compile_ms = time_ms(compiled, iters)

    # The reference the kernel must match (the op's spec, even where `eager` is a shortcut).
    expected = spec.reference(*w.inputs, **w.attrs)
    expected = list(expected) if isinstance(expected, tuple | list) else [expected]
    max_abs = _max_abs_err(_valid_outputs(binding, outputs, out_shapes), expected)
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
