"""One input generator: seeded random tensors from shapes, dim ranges or profiles.

Every command that makes inputs (compare, verify, perf, the op harness, engine compare)
goes through :func:`random_inputs`. It computes every tensor's size first and refuses,
before allocating anything, when the total passes ``max_input_mib``: a typo like
``--dim b=0:99999999`` ends with one paragraph instead of the kernel's OOM killer.

Values: floats standard normal, integers uniform in ``[low, high)`` (small, so they are
valid indices for embeddings and gathers), booleans fair coins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB, MAX_INPUT_FLAG

DEFAULT_RANGE = (1, 4)
NARROW_DIMS = "Narrow the dynamic ranges (--dim)"


@dataclass(frozen=True)
class TensorInfo:
    """A tensor as a runner declares it: dims are ints (static), strings (named dynamic
    axes) or ``None`` (dynamic, unnamed)."""

    name: str
    dtype: np.dtype
    shape: tuple[int | str | None, ...]

    def concrete(self, dims: Mapping[str, int], default: int = 1) -> list[int]:
        """The shape with named axes taken from `dims` and unknown ones set to `default`."""
        out = []
        for d in self.shape:
            if isinstance(d, int) and d >= 0:
                out.append(d)
            elif isinstance(d, str):
                out.append(int(dims.get(d, default)))
            else:
                out.append(default)
        return out


def onnx_dtype(elem_type: int) -> np.dtype:
    import onnx

    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))


def tensors_of_onnx(
    values: Sequence[object], skip: set[str] | frozenset[str] = frozenset()
) -> list[TensorInfo]:
    """TensorInfo of ONNX ``ValueInfoProto``s (graph inputs or outputs), leaving out `skip`."""
    out = []
    for vi in values:
        if vi.name in skip:  # type: ignore[attr-defined]
            continue
        tt = vi.type.tensor_type  # type: ignore[attr-defined]
        shape: list[int | str | None] = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                shape.append(d.dim_value)
            else:
                shape.append(d.dim_param or None)
        out.append(TensorInfo(vi.name, onnx_dtype(tt.elem_type), tuple(shape)))  # type: ignore[attr-defined]
    return out


def model_inputs(model: object) -> list[TensorInfo]:
    """The inputs an ONNX model needs fed (graph inputs that are not initializers)."""
    graph = model.graph  # type: ignore[attr-defined]
    return tensors_of_onnx(graph.input, {t.name for t in graph.initializer})


def dim_symbols(tensors: Sequence[TensorInfo]) -> list[str]:
    """The named dynamic axes of `tensors`, in first-seen order."""
    out: list[str] = []
    for t in tensors:
        for d in t.shape:
            if isinstance(d, str) and d not in out:
                out.append(d)
    return out


def sweep_points(
    symbols: Sequence[str], ranges: Mapping[str, tuple[int, int]], default: tuple[int, int] = DEFAULT_RANGE
) -> list[dict[str, int]]:
    """Axis values at the min, middle and max of each range (duplicates dropped).

    Raises UserError for a range naming an axis the tensors do not have.
    """
    unknown = sorted(set(ranges) - set(symbols))
    if unknown:
        raise UserError(
            f"--dim {', '.join(unknown)}: the model has no such dynamic axis; it has "
            f"{', '.join(symbols) or 'none'}. Name one of those."
        )
    points: list[dict[str, int]] = []
    for t in (0.0, 0.5, 1.0):
        point = {}
        for s in symbols:
            low, high = ranges.get(s, default)
            point[s] = round(low + (high - low) * t)
        if point not in points:
            points.append(point)
    return points or [{}]


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n < 2**30 else f"{n / 2**30:,.2f} GiB"


def check_input_bytes(
    shapes: Mapping[str, Sequence[int]],
    dtypes: Mapping[str, np.dtype],
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
    flag: str = MAX_INPUT_FLAG,
    narrow: str = NARROW_DIMS,
) -> int:
    """Total bytes of the tensors; UserError before any allocation when past the limit.

    `flag` names how the limit is raised, `narrow` how the shapes are made smaller (the
    error's two ways out).
    """
    total, largest = 0, ("", [], 0)
    for name, shape in shapes.items():
        if any(int(d) < 0 for d in shape):
            raise UserError(f"input {name!r} would have shape {list(shape)}: dims must be >= 0.")
        nbytes = math.prod(int(d) for d in shape) * np.dtype(dtypes[name]).itemsize
        total += nbytes
        if nbytes >= largest[2]:
            largest = (name, list(shape), nbytes)
    limit = int(max_input_mib * 2**20)
    if total > limit:
        name, shape, nbytes = largest
        raise UserError(
            f"the generated inputs would take {_mib(total)}, over the {max_input_mib:g} MiB limit; the "
            f"largest is {name!r} with shape {shape} ({np.dtype(dtypes[name]).name}, {_mib(nbytes)}). "
            f"{narrow} or raise the limit with {flag} if the machine has the "
            f"memory (the model's activations need more on top)."
        )
    return total


def concrete_shapes(
    tensors: Sequence[TensorInfo],
    *,
    dims: Mapping[str, int] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, list[int]]:
    """Each tensor's shape: explicit `shapes` first, else its declared dims with `dims`."""
    dims, shapes = dims or {}, shapes or {}
    return {
        t.name: [int(d) for d in shapes[t.name]] if t.name in shapes else t.concrete(dims) for t in tensors
    }


def random_inputs(
    tensors: Sequence[TensorInfo],
    *,
    dims: Mapping[str, int] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    seed: int = 0,
    low: int = 0,
    high: int = 4,
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
    flag: str = MAX_INPUT_FLAG,
    narrow: str = NARROW_DIMS,
) -> dict[str, np.ndarray]:
    """Seeded random arrays for `tensors`.

    Args:
        tensors: what to make (name, dtype, declared shape).
        dims: values of named dynamic axes (others are 1).
        shapes: explicit shapes per tensor name; win over `dims`.
        seed: the generator's seed; same seed, same arrays.
        low / high: integer range ``[low, high)``.
        max_input_mib: refuse (UserError naming `flag` and `narrow`) past this many MiB in total.
    """
    concrete = concrete_shapes(tensors, dims=dims, shapes=shapes)
    check_input_bytes(concrete, {t.name: t.dtype for t in tensors}, max_input_mib, flag, narrow)
    rng = np.random.default_rng(seed)
    out = {}
    for t in tensors:
        shape = concrete[t.name]
        if t.dtype.kind == "f" or t.dtype.name == "bfloat16":
            out[t.name] = rng.standard_normal(shape, dtype=np.float32).astype(t.dtype)
        elif t.dtype.kind == "b":
            out[t.name] = rng.random(shape) < 0.5
        elif t.dtype.kind in "iu":
            out[t.name] = rng.integers(low, high, size=shape).astype(t.dtype)
        else:
            raise UserError(
                f"input {t.name!r} is {t.dtype.name}: no random values can be made for it; pass the "
                f"inputs as an .npz instead."
            )
    return out
