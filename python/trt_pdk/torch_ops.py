"""The ``torch.library`` op of every plugin, e.g. ``torch.ops.trt_pdk.rms_norm``.

Each op is a ``torch.library.custom_op`` whose schema is generated from the spec (inputs are
Tensors, optional inputs ``Tensor?`` with default ``None``, attributes keep their types and
defaults). On CPU the op runs the spec's PyTorch reference; on CUDA it launches the plugin's
own kernel when the native module was built with CUDA. The fake implementation
(``register_fake``; used by ``torch.compile``, ``torch.export`` and the ONNX export) is the
spec's ``TorchOp.fake``: it computes output shapes and dtypes only, never the reference. A
data-dependent output size is a new unbacked symbol, ``torch.library.get_ctx().new_dynamic_size()``
(MaskedCompact); ``torch.compile(fullgraph=True)`` and ``torch.export`` trace it as it is.
"""

from __future__ import annotations

from typing import Any

import torch

from trt_pdk.errors import UserError
from trt_pdk.spec import PluginSpec

_TORCH_TYPES = {"int32": "int", "float32": "float", "string": "str"}
_registered: dict[str, Any] = {}


def schema(spec: PluginSpec) -> str:
    """The op schema, e.g. ``rms_norm(Tensor x, Tensor weight, float eps=1e-06) -> Tensor``.

    An optional input is ``Tensor? name=None``.
    """
    args = [f"Tensor? {t.name}=None" if t.optional else f"Tensor {t.name}" for t in spec.inputs]
    for a in spec.attrs:
        default = repr(a.default) if a.type != "string" else f'"{a.default}"'
        args.append(f"{_TORCH_TYPES[a.type]} {a.name}={default}")
    outputs = "Tensor" if len(spec.outputs) == 1 else "(" + ", ".join("Tensor" for _ in spec.outputs) + ")"
    return f"{spec.torch_op.name}({', '.join(args)}) -> {outputs}"


def _split(
    spec: PluginSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """(input tensors, attributes) of a call; absent (None) trailing optional inputs are dropped."""
    n = len(spec.inputs)
    tensors = list(args[:n])
    kwargs = dict(kwargs)
    for t in spec.inputs[len(tensors) :]:
        tensors.append(kwargs.pop(t.name, None))
    attrs = dict(zip((a.name for a in spec.attrs), args[n:], strict=False))
    attrs.update(kwargs)
    return present_tensors(spec, tensors), attrs


def present_tensors(spec: PluginSpec, tensors: list[Any]) -> list[Any]:
    """`tensors` without trailing ``None`` (absent optional inputs); a missing required one raises."""
    tensors = list(tensors)
    while tensors and tensors[-1] is None and spec.inputs[len(tensors) - 1].optional:
        tensors.pop()
    missing = [t.name for t, x in zip(spec.inputs, tensors, strict=False) if x is None]
    if missing:
        raise ValueError(f"{spec.name}: input(s) {missing} are None; only trailing optional inputs may be")
    spec.present_inputs(len(tensors))
    return tensors


def run_reference(spec: PluginSpec, tensors: list[torch.Tensor], attrs: dict[str, Any]) -> list[torch.Tensor]:
    """Calls the spec's PyTorch reference; always returns a list of output tensors.

    Absent optional inputs are not passed (the reference's parameter default applies).
    """
    out = spec.reference(*present_tensors(spec, tensors), **spec.resolve_attrs(attrs))
    return list(out) if isinstance(out, tuple | list) else [out]


def _wrap(spec: PluginSpec, outputs: list[torch.Tensor]) -> Any:
    return outputs[0] if len(spec.outputs) == 1 else tuple(outputs)


def _cpu_impl(spec: PluginSpec):
    def impl(*args: Any, **kwargs: Any) -> Any:
        tensors, attrs = _split(spec, args, kwargs)
        return _wrap(spec, run_reference(spec, tensors, attrs))

    return impl


def _cuda_impl(spec: PluginSpec):
    def impl(*args: Any, **kwargs: Any) -> Any:
        tensors, attrs = _split(spec, args, kwargs)
        from trt_pdk.native import op_binding

        binding = op_binding(spec)
        if not hasattr(binding, "cuda"):
            return _wrap(spec, run_reference(spec, tensors, attrs))
        return _wrap(spec, run_native_cuda(spec, binding, tensors, spec.resolve_attrs(attrs)))

    return impl


_DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int32: "int32",
    torch.int64: "int64",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}
TORCH_DTYPES = {name: dtype for dtype, name in _DTYPE_NAMES.items()}


def dtype_name(dtype: torch.dtype) -> str:
    return _DTYPE_NAMES[dtype]


def run_native_cuda(
    spec: PluginSpec, binding: Any, tensors: list[torch.Tensor], attrs: dict[str, Any]
) -> list[torch.Tensor]:
    """Runs the plugin's CUDA kernel on CUDA tensors on the current stream.

    Outputs with data-dependent dimensions (-1 in the shape rule) are allocated at their
    upper bound (``binding.output_upper_bounds``); after the launch the stream is
    synchronized, the size-tensor outputs (the last ``num_size_tensor_outputs``, 0-D int64)
    are read and those dimensions are cut to the sizes the kernel produced. Without
    data-dependent outputs the launch stays asynchronous. Absent optional inputs are left
    out of `tensors` (trailing ``None`` is dropped).
    """
    tensors = [t.contiguous() for t in present_tensors(spec, tensors)]
    shapes = [list(t.shape) for t in tensors]
    dtypes = [dtype_name(t.dtype) for t in tensors]
    out_shapes = [list(s) for s in binding.output_shapes(attrs, shapes)]
    data_dependent = any(d < 0 for s in out_shapes for d in s)
    if data_dependent:
        if not hasattr(binding, "output_upper_bounds"):
            from trt_pdk.native import REBUILD_CUDA

            raise NotImplementedError(
                f"{spec.name} has data-dependent output shapes and {spec.native_module} predates "
                f"output_upper_bounds; {REBUILD_CUDA}"
            )
        n_sizes = int(getattr(binding, "num_size_tensor_outputs", 0))
        if n_sizes != 1:
            raise NotImplementedError(
                f"{spec.name}: data-dependent outputs need exactly one size-tensor output here "
                f"(the shape rule records one upper bound), it has {n_sizes}"
            )
        alloc_shapes = [list(s) for s in binding.output_upper_bounds(attrs, shapes)]
    else:
        alloc_shapes = out_shapes
    out_dtypes = binding.output_dtypes(attrs, dtypes)
    device = tensors[0].device
    outputs = [
        torch.empty(s, dtype=TORCH_DTYPES[d], device=device)
        for s, d in zip(alloc_shapes, out_dtypes, strict=True)
    ]
    ws_size = int(binding.workspace_size(attrs, shapes, dtypes))
    workspace = torch.empty(max(ws_size, 1), dtype=torch.uint8, device=device)
    stream = torch.cuda.current_stream(device)
    binding.cuda(
        attrs,
        [t.data_ptr() for t in tensors],
        shapes,
        dtypes,
        [o.data_ptr() for o in outputs],
        alloc_shapes,
        workspace.data_ptr() if ws_size else 0,
        stream.cuda_stream,
    )
    if not data_dependent:
        return outputs
    stream.synchronize()  # the sizes are on the device; the caching allocator keeps `workspace` alive
    size = int(outputs[-1].item())
    result = []
    for full, dims, bound in zip(outputs, out_shapes, alloc_shapes, strict=True):
        out = full
        for axis, d in enumerate(dims):
            if d < 0:
                if not 0 <= size <= bound[axis]:
                    raise RuntimeError(
                        f"{spec.name}: the kernel reported size {size}, outside [0, {bound[axis]}] "
                        f"(output dims {dims})"
                    )
                out = out.narrow(axis, 0, size)
        result.append(out.contiguous())
    return result


def _fake_impl(spec: PluginSpec):
    fake = spec.torch_op.fake

    def impl(*args: Any, **kwargs: Any) -> Any:
        if fake is None:  # raised when the op is traced, so other ops still register and trace
            raise UserError(
                f"{spec.name}: TorchOp({spec.torch_op.name!r}) has no `fake`. Give it a function "
                f"`fake(*inputs, **attrs)` returning empty tensors of the output shapes and dtypes "
                f"(e.g. `x.new_empty(x.shape)`; a data-dependent size is "
                f"`torch.library.get_ctx().new_dynamic_size()`): torch.compile, torch.export and "
                f"the ONNX export trace the op through it, never through the reference"
            )
        tensors, attrs = _split(spec, args, kwargs)
        out = fake(*tensors, **spec.resolve_attrs(attrs))
        return _wrap(spec, list(out) if isinstance(out, tuple | list) else [out])

    return impl


def register(spec: PluginSpec) -> Any:
    """Defines the torch op of `spec` once (``torch.library.custom_op``); returns its
    ``OpOverloadPacket``, e.g. ``torch.ops.trt_pdk.rms_norm``."""
    qualname = spec.torch_qualname
    if qualname not in _registered:
        fake = _fake_impl(spec)
        signature = schema(spec)
        op = torch.library.custom_op(
            qualname,
            _cpu_impl(spec),
            mutates_args=(),
            device_types="cpu",
            schema=signature[signature.index("(") :],
        )
        op.register_kernel("cuda", _cuda_impl(spec))
        op.register_fake(fake)
        _registered[qualname] = getattr(getattr(torch.ops, spec.torch_namespace), spec.torch_op.name)
    return _registered[qualname]


def register_all(specs: list[PluginSpec] | None = None) -> dict[str, Any]:
    """Registers the torch op of every spec (default: every discovered plugin)."""
    if specs is None:
        from trt_pdk.registry import discover

        specs = list(discover().values())
    return {spec.name: register(spec) for spec in specs}


def op(name: str) -> Any:
    """The torch op of the plugin named `name`, registered on first use.

    Example: ``trt_pdk.torch_ops.op("RMSNorm")(x, weight, eps=1e-5)``.
    """
    from trt_pdk.registry import get_spec

    return register(get_spec(name))
