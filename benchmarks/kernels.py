"""Kernel benchmark: each op's CUDA kernel, launched the way TensorRT's enqueue launches it,
against the device's copy bandwidth and torch eager / torch.compile, all in one run.

    python benchmarks/kernels.py [--ops RMSNorm ...] [--quick] [--repeats N] [-o result.json]

Prints one JSON object (form: ``benchmarks/kernel_cases.py``, ``schema_errors``). Without a
CUDA GPU, or with a kit built without CUDA, it prints ``{"skipped": "<why, how to enable>"}``
and exits 0. A wrong result fails its case and the run exits 1; missed targets are reported.

How each point is measured (the matrix itself is in ``kernel_cases.py``):

* The kernel runs through ``Op::enqueue``, the launcher both TensorRT adapters call (via the
  binding's ``cuda``), captured in a CUDA graph: attributes are parsed and shapes checked
  once at capture, each replay only launches, as an engine's enqueue does.
* Buffer sets are rotated so one replay's working set exceeds the L2 several times
  (``rotation``); tiny cases say so (``exceeds_l2`` false).
* Outputs are poisoned (NaN, or an impossible integer) before timing and every set is
  checked against the op's PyTorch reference after it: a wrong result fails the case.
* Per point: the median and spread (min, p25, p75, max) of per-launch times over several
  graph replays; the same for a same-size device copy, ``F.rms_norm`` / ``F.gelu`` /
  ``torch.bucketize`` / ``x[mask]`` eager and their ``torch.compile``. Those baselines are
  graph-captured too, except ``x[mask]``, which syncs the host (``graph: false``).
* ``fraction_of_copy`` divides the kernel's GB/s by the run's 1 GiB device-to-device copy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel_cases import (
    LARGE_BYTES,
    MATRIX,
    SCHEMA,
    KernelCase,
    bytes_moved,
    evaluate_targets,
    kept_rows,
    launches_per_replay,
    plan,
    rotation,
    stats,
    summarize,
)

COPY_BYTES = 2**30  # the run's reference copy: 1 GiB read, 1 GiB written
DEFAULT_L2 = 60 * 10**6  # where torch does not report it (H200: 60 MB)
CHECK_CHUNK = 2**26  # elements compared at a time (keeps the float64 copies small)
INT_POISON = -1234567  # outside every op's integer results and of the inputs we draw


def why_no_gpu() -> str | None:
    try:
        import torch
    except ImportError:
        return "torch is not installed: pip install torch"
    if not torch.cuda.is_available():
        return "no CUDA GPU (torch.cuda.is_available() is False): run on a machine with an NVIDIA GPU"
    from trt_pdk import _C

    if not _C._build_info["cuda"]:
        return "trt_pdk was built without CUDA: reinstall with nvcc on PATH (PDK_CUDA=ON, CUDAARCHS=90)"
    return None


# ----------------------------------------------------------------------------- timing


def time_launches(launch: Callable[[int], Any], sets: int, launches: int, repeats: int, graph: bool) -> dict:
    """Per-launch times of ``launch(i % sets)`` for ``launches`` calls per replay, ``repeats`` replays.

    With ``graph`` the calls are captured once into a CUDA graph and replayed (host work,
    attribute parsing included, happens only at capture).
    """
    import torch

    for r in range(sets):  # warm-up: compiles, allocator, caches of the launch path
        launch(r)
    torch.cuda.synchronize()
    cuda_graph = None
    if graph:
        cuda_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(cuda_graph):
            for i in range(launches):
                launch(i % sets)
        replay = cuda_graph.replay
    else:

        def replay() -> None:
            for i in range(launches):
                launch(i % sets)

    replay()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        replay()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / launches)
    del cuda_graph
    return {"ms": stats(samples), "graph": graph}


def with_gbps(timing: dict, moved: int) -> dict:
    return {**timing, "gbps": moved / timing["ms"]["median"] / 1e6}


def device_copy(repeats: int) -> dict:
    """The run's copy bandwidth: a 1 GiB device-to-device copy (reads + writes counted)."""
    import torch

    src = torch.empty(COPY_BYTES, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    timing = time_launches(lambda _: dst.copy_(src), 1, 10, repeats, graph=True)
    return {"bytes": 2 * COPY_BYTES, **with_gbps(timing, 2 * COPY_BYTES)}


# ----------------------------------------------------------------------------- tensors


def _empty(shape: tuple[int, ...], dtype: Any, misaligned: bool) -> Any:
    """A contiguous tensor; misaligned: one element past the (256-byte aligned) allocation."""
    import math

    import torch

    if not misaligned:
        return torch.empty(shape, dtype=dtype, device="cuda")
    flat = torch.empty(math.prod(shape) + 1, dtype=dtype, device="cuda")
    return flat[1:].view(shape)


def make_inputs(case: KernelCase, generator: Any) -> list[Any]:
    import torch

    from trt_pdk.torch_ops import TORCH_DTYPES

    types = [TORCH_DTYPES[d] for d in case.dtypes]
    x = _empty(case.shapes[0], types[0], case.misaligned)
    if types[0].is_floating_point:
        x.normal_(0.0, 2.0, generator=generator)
    else:
        x.random_(-(2**20), 2**20, generator=generator)
    if case.op == "MaskedCompact":
        n = case.shapes[0][0]
        mask = torch.zeros(n, dtype=torch.bool, device="cuda")
        mask[torch.randperm(n, device="cuda", generator=generator)[: kept_rows(case)]] = True
        return [x, mask]
    rest = []
    for shape, dtype in zip(case.shapes[1:], types[1:], strict=True):
        t = torch.empty(shape, dtype=dtype, device="cuda")
        if dtype.is_floating_point:
            t.normal_(0.0, 2.0, generator=generator)
        else:
            t.random_(-(2**20), 2**20, generator=generator)
        if case.op == "Bucketize":  # boundaries: sorted (ties included)
            t = t.sort().values.contiguous()
        rest.append(t)
    return [x, *rest]


def poison(outputs: list[Any]) -> None:
    for t in outputs:
        t.fill_(float("nan") if t.dtype.is_floating_point else INT_POISON)


def mismatch(actual: Any, expected: Any, atol: float, rtol: float) -> str | None:
    """Why ``actual`` is not ``expected`` within ``atol + rtol * |expected|`` (NaN where NaN), or None."""
    import torch

    expected = expected.to(actual.device)
    if tuple(actual.shape) != tuple(expected.shape) or actual.dtype != expected.dtype:
        got, want = (tuple(actual.shape), actual.dtype), (tuple(expected.shape), expected.dtype)
        return f"got shape and dtype {got}, the reference {want}"
    a, e = actual.reshape(-1), expected.reshape(-1)
    for start in range(0, a.numel(), CHECK_CHUNK):
        ac, ec = a[start : start + CHECK_CHUNK].double(), e[start : start + CHECK_CHUNK].double()
        nan = torch.isnan(ac) != torch.isnan(ec)
        bad = nan | ((ac - ec).abs().nan_to_num(0.0) > atol + rtol * ec.abs().nan_to_num(0.0))
        if bool(bad.any()):
            i = int(torch.nonzero(bad)[0])
            return f"element {start + i}: got {float(ac[i]):.6g}, the reference {float(ec[i]):.6g}"
    return None


def check(
    spec: Any, case: KernelCase, inputs: list[Any], outputs: list[Any], count_index: int | None
) -> str | None:
    """The kernel's outputs against the op's PyTorch reference; data-dependent rows cut to the count."""
    from trt_pdk.spec import Tolerance
    from trt_pdk.torch_ops import dtype_name

    exact = Tolerance(0.0, 0.0)
    expected = spec.reference(*inputs, **case.attr_dict())
    expected = list(expected) if isinstance(expected, tuple | list) else [expected]
    actual = list(outputs)
    if count_index is not None:
        kept = int(actual[count_index].item())
        if not 0 <= kept <= actual[0].shape[0]:
            return f"count {kept} is outside 0..{actual[0].shape[0]} (output not written?)"
        actual[0] = actual[0][:kept]
    if len(actual) != len(expected):
        return f"{len(actual)} outputs, the reference has {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        tol = spec.tolerances.get(dtype_name(a.dtype), exact)  # per output dtype, as the harness does
        why = mismatch(a, e, tol.atol, tol.rtol)
        if why:
            return f"output {i}: {why}"
    return None


# ----------------------------------------------------------------------------- baselines


def baseline(case: KernelCase) -> tuple[str, Callable[..., Any], bool]:
    """(what, fn(*inputs), capturable) for torch eager; torch.compile compiles the same fn."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    attrs = case.attr_dict()
    if case.op == "RMSNorm":
        eps = attrs["eps"]
        return "F.rms_norm", lambda x, w: F.rms_norm(x, (x.shape[-1],), w, eps), True
    if case.op == "FusedBiasGelu":
        approximate = attrs["approximate"]
        return (
            "F.gelu(x + bias)",
            lambda x, b=None: F.gelu(x if b is None else x + b, approximate=approximate),
            True,
        )
    if case.op == "Bucketize":
        right, out_int32 = bool(attrs["right"]), attrs["out_dtype"] == "int32"
        return "torch.bucketize", lambda x, b: torch.bucketize(x, b, right=right, out_int32=out_int32), True
    return "x[mask] (syncs the host)", lambda x, m: x[m], False


def time_baseline(
    fn: Callable[..., Any], sets: list[list[Any]], launches: int, repeats: int, graph: bool
) -> dict:
    try:
        return time_launches(lambda r: fn(*sets[r]), len(sets), launches, repeats, graph)
    except Exception as exc:  # a baseline that cannot be captured is timed without a graph
        if not graph:
            raise
        import torch

        torch.cuda.synchronize()
        timing = time_launches(lambda r: fn(*sets[r]), len(sets), launches, repeats, graph=False)
        return {**timing, "note": f"not capturable in a CUDA graph ({type(exc).__name__}: {exc})"[:300]}


# ----------------------------------------------------------------------------- one case


def run_case(
    spec: Any, binding: Any, case: KernelCase, *, copy_gbps: float, l2: int, repeats: int, quick: bool
) -> dict:
    import torch

    from trt_pdk.torch_ops import TORCH_DTYPES

    attrs = case.attr_dict()
    sets = rotation(case, l2)
    launches = launches_per_replay(case, sets)
    in_shapes = [list(s) for s in case.shapes]
    out_shapes = [list(s) for s in binding.output_shapes(attrs, in_shapes)]
    data_dependent = any(d < 0 for s in out_shapes for d in s)
    alloc = [list(s) for s in binding.output_upper_bounds(attrs, in_shapes)] if data_dependent else out_shapes
    out_types = [TORCH_DTYPES[d] for d in binding.output_dtypes(attrs, list(case.dtypes))]
    count_index = len(alloc) - 1 if data_dependent else None

    generator = torch.Generator(device="cuda").manual_seed(0)
    inputs = [make_inputs(case, generator) for _ in range(sets)]
    outputs = [
        [
            _empty(tuple(s), t, case.misaligned and i == 0)
            for i, (s, t) in enumerate(zip(alloc, out_types, strict=True))
        ]
        for _ in range(sets)
    ]
    workspace = torch.empty(
        max(binding.workspace_size(attrs, in_shapes, list(case.dtypes)), 1), dtype=torch.uint8, device="cuda"
    )
    in_ptrs = [[t.data_ptr() for t in s] for s in inputs]
    out_ptrs = [[t.data_ptr() for t in s] for s in outputs]

    def kernel(r: int) -> None:
        binding.cuda(
            attrs,
            in_ptrs[r],
            in_shapes,
            list(case.dtypes),
            out_ptrs[r],
            alloc,
            workspace.data_ptr(),
            torch.cuda.current_stream().cuda_stream,
        )

    for s in outputs:
        poison(s)
    kernel_timing = time_launches(kernel, sets, launches, repeats, graph=True)
    error = None
    for r in range(sets):
        error = check(spec, case, inputs[r], outputs[r], count_index)
        if error:
            error = f"buffer set {r}: {error}"
            break
    # MaskedCompact: the bytes of the rows it kept (its count; the plan's when that is wrong).
    kept = int(outputs[0][count_index].item()) if count_index is not None and error is None else None
    moved = bytes_moved(case, kept)

    # A copy of the same bytes, rotated the same way.
    half = max(moved // 2, 1)
    copies = [
        (
            torch.empty(half, dtype=torch.uint8, device="cuda"),
            torch.empty(half, dtype=torch.uint8, device="cuda"),
        )
        for _ in range(sets)
    ]
    copy_timing = time_launches(
        lambda r: copies[r][1].copy_(copies[r][0]), sets, launches, repeats, graph=True
    )
    copies.clear()

    what, fn, capturable = baseline(case)
    eager = {**time_baseline(fn, inputs, launches, repeats, capturable), "what": what}
    compiled = None
    if not quick or "speedup_vs_compile" in case.target_dict():
        torch._dynamo.reset()  # a fresh cache per case: no recompile limit falls back to eager
        compiled_fn = torch.compile(fn, dynamic=False)
        config = {"capture_dynamic_output_shape_ops": case.op == "MaskedCompact"}
        with torch._dynamo.config.patch(**config):
            compiled = {
                **time_baseline(compiled_fn, inputs, launches, repeats, capturable),
                "what": f"compile({what})",
            }

    kernel_ms = kernel_timing["ms"]["median"]
    result = {
        "op": case.op,
        "label": case.label,
        "kind": case.kind,
        "shapes": [list(s) for s in case.shapes],
        "dtypes": list(case.dtypes),
        "attrs": attrs,
        "bytes": moved,
        "rotation": sets,
        "working_set_bytes": sets * moved,
        "exceeds_l2": sets * moved > l2,
        "launches_per_replay": launches,
        "correct": error is None,
        "error": error,
        "kernel": with_gbps(kernel_timing, moved),
        "same_size_copy": with_gbps(copy_timing, 2 * half),
        "eager": with_gbps(eager, moved),
        "compile": with_gbps(compiled, moved) if compiled else None,
        "fraction_of_copy": moved / kernel_ms / 1e6 / copy_gbps,
        "fraction_of_same_size_copy": copy_timing["ms"]["median"] / kernel_ms,
        "speedup_vs_eager": eager["ms"]["median"] / kernel_ms,
        "speedup_vs_compile": compiled["ms"]["median"] / kernel_ms if compiled else None,
    }
    if moved < LARGE_BYTES and case.targets:  # the plan promises targets only on large shapes
        raise AssertionError(f"{case.label}: targets on a case moving {moved} bytes")
    result["targets"] = evaluate_targets(case, result, error is None)
    return result


def failed_case(case: KernelCase, exc: BaseException) -> dict:
    """A case that could not run: reported, with its targets missed."""
    return {
        "op": case.op,
        "label": case.label,
        "kind": case.kind,
        "shapes": [list(s) for s in case.shapes],
        "dtypes": list(case.dtypes),
        "attrs": case.attr_dict(),
        "bytes": bytes_moved(case),
        "rotation": 0,
        "working_set_bytes": 0,
        "exceeds_l2": False,
        "launches_per_replay": 0,
        "correct": False,
        "error": f"{type(exc).__name__}: {exc}"[:2000],
        "kernel": None,
        "same_size_copy": None,
        "eager": None,
        "compile": None,
        "fraction_of_copy": None,
        "speedup_vs_eager": None,
        "speedup_vs_compile": None,
        "targets": evaluate_targets(case, {}, correct=False),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", nargs="*", default=list(MATRIX), help="ops to measure (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="the --quick subset; torch.compile only where targeted"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="graph replays per point (default 5 quick, 11)"
    )
    parser.add_argument("-o", "--output", help="also write the JSON here")
    args = parser.parse_args(argv)

    unknown = sorted(set(args.ops) - set(MATRIX))
    if unknown:
        print(f"unknown op(s) {unknown}; benchmarked ops: {sorted(MATRIX)}", file=sys.stderr)
        return 2
    repeats = args.repeats or (5 if args.quick else 11)
    reason = why_no_gpu()
    if reason:
        report: dict[str, Any] = {"skipped": reason}
    else:
        report = run(args.ops, args.quick, repeats)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 1 if report.get("summary", {}).get("incorrect") else 0


def run(ops: list[str], quick: bool, repeats: int) -> dict[str, Any]:
    import torch

    from trt_pdk.native import op_binding
    from trt_pdk.registry import get_spec

    props = torch.cuda.get_device_properties(0)
    l2 = int(getattr(props, "L2_cache_size", 0) or DEFAULT_L2)
    started = time.perf_counter()
    copy = device_copy(repeats)
    cases = []
    for case in plan(ops, quick):
        spec = get_spec(case.op)
        print(f"[kernels] {case.op} {case.label}", file=sys.stderr, flush=True)
        try:
            cases.append(
                run_case(
                    spec, op_binding(spec), case, copy_gbps=copy["gbps"], l2=l2, repeats=repeats, quick=quick
                )
            )
        except Exception as exc:  # one failing case is reported, the others still run
            cases.append(failed_case(case, exc))
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
    return {
        "schema": SCHEMA,
        "device": {
            "name": torch.cuda.get_device_name(),
            "multiprocessors": props.multi_processor_count,
            "l2_bytes": l2,
            "memory_bytes": props.total_memory,
        },
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "quick": quick,
        "repeats": repeats,
        "seconds": time.perf_counter() - started,
        "copy": copy,
        "cases": cases,
        "summary": summarize(cases),
    }


if __name__ == "__main__":
    sys.exit(main())
