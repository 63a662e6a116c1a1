"""The harness's tensors: seeded, bounded inputs of a case, NumPy/torch conversion, the
comparison against the PyTorch reference (the execution layer's comparator)."""

from __future__ import annotations

from typing import Any

from trt_pdk.spec import Case, PluginSpec
from trt_pdk.testing.results import CheckFailed, Errors


def make_inputs(
    spec: PluginSpec, case: Case, shapes: tuple[tuple[int, ...], ...], max_input_mib: float | None = None
) -> list[Any]:
    """Random CPU tensors for one point: normal floats, small integers, seeded per case.

    One tensor per input the case gives (absent optional inputs are left out).
    """
    import numpy as np
    import torch

    from trt_pdk.execution.inputs import DEFAULT_MAX_INPUT_MIB, check_input_bytes
    from trt_pdk.torch_ops import TORCH_DTYPES

    # Bounded like every input generator of the kit: a case whose ranges ask for more
    # than the limit is refused before anything is allocated.
    names = [t.name for t in spec.case_inputs(case)]
    check_input_bytes(
        dict(zip(names, shapes, strict=True)),
        {n: np.dtype("uint16" if d == "bfloat16" else d) for n, d in zip(names, case.dtypes, strict=True)},
        DEFAULT_MAX_INPUT_MIB if max_input_mib is None else max_input_mib,
    )
    generator = torch.Generator().manual_seed(case.seed * 1000 + sum(sum(s) for s in shapes))
    tensors = []
    for tensor, shape, dtype in zip(spec.case_inputs(case), shapes, case.dtypes, strict=True):
        if tensor.generator is not None:
            t = tensor.generator(shape, dtype, generator)
            if tuple(t.shape) != tuple(shape) or t.dtype != TORCH_DTYPES[dtype]:
                raise CheckFailed(
                    f"the generator of input {tensor.name!r} returned {tuple(t.shape)} {t.dtype}, "
                    f"expected {tuple(shape)} {dtype}"
                )
            tensors.append(t)
            continue
        if dtype in ("float32", "float16", "bfloat16"):
            t = torch.randn(shape, generator=generator, dtype=torch.float32)
        elif dtype == "bool":
            t = torch.randint(0, 2, shape, generator=generator) > 0
        else:
            t = torch.randint(-8 if dtype != "uint8" else 0, 8, shape, generator=generator)
        tensors.append(t.to(TORCH_DTYPES[dtype]))
    return tensors


def to_numpy(tensor: Any) -> Any:
    """A CPU tensor as the native core takes it (bfloat16 as uint16)."""
    import numpy as np
    import torch

    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.uint16)
    return tensor.numpy()


def from_numpy(array: Any, dtype: str) -> Any:
    import numpy as np
    import torch

    array = np.asarray(array, order="C")  # keeps 0-D arrays 0-D (ascontiguousarray does not)
    if dtype == "bfloat16":
        return torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(array.copy())


def compare(actual: list[Any], expected: list[Any], atol: float, rtol: float, what: str) -> Errors:
    """Compares tensors elementwise; raises CheckFailed with the worst element otherwise."""
    from trt_pdk.execution.compare import compare_arrays

    errors = Errors()
    if len(actual) != len(expected):
        raise CheckFailed(f"{what}: {len(actual)} outputs, expected {len(expected)}")
    for i, (a_in, e_in) in enumerate(zip(actual, expected, strict=True)):
        a = a_in.detach().cpu()
        e = e_in.detach().cpu()
        if tuple(a.shape) != tuple(e.shape):
            raise CheckFailed(f"{what}: output {i} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
        if a.dtype != e.dtype:
            raise CheckFailed(f"{what}: output {i} has dtype {a.dtype}, expected {e.dtype}")
        if a.numel() == 0:
            continue
        # The execution layer's comparator: one tolerance rule and one NaN rule everywhere.
        error = compare_arrays(f"output {i}", a.double().numpy(), e.double().numpy(), atol, rtol)
        if error.nan_mismatches:
            raise CheckFailed(f"{what}: output {i} has NaN where the reference has none (or the reverse)")
        errors.update(Errors(error.max_abs, error.max_rel))
        if not error.ok:
            raise CheckFailed(
                f"{what}: output {i} differs {error.reason} (max abs err {error.max_abs:.3g}, max rel err "
                f"{error.max_rel:.3g}; tolerance atol {atol:g}, rtol {rtol:g}; {error.mismatches} of "
                f"{a.numel()} elements out of tolerance)"
            )
    return errors


def op_binding_of(spec: PluginSpec) -> Any:
    from trt_pdk.native import op_binding

    return op_binding(spec)


def reference_outputs(spec: PluginSpec, attrs: dict[str, Any], inputs: list[Any]) -> list[Any]:
    from trt_pdk.torch_ops import run_reference

    return run_reference(spec, [t.clone() for t in inputs], attrs)
