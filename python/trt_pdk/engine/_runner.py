"""`EngineRunner`: runs a serialized engine on torch CUDA tensors, in any optimization profile.

The one runner of the kit: the op test harness and ``trt-pdk engine compare`` both use it.
TensorRT 10/11 execution API (``IExecutionContext``): ``set_optimization_profile_async``,
``set_input_shape``, ``set_tensor_address``, ``set_output_allocator`` (data-dependent
output shapes) and ``execute_async_v3``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trt_pdk.engine._tensorrt import require_tensorrt
from trt_pdk.errors import Skipped, UserError


@dataclass
class Bound:
    """Buffers bound to the context by :meth:`EngineRunner.bind` (kept alive while it lives)."""

    profile: int
    outputs: list[Any]  # a tensor, or the output's name when TensorRT reports its shape at run time
    keep: list[Any] = field(default_factory=list)
    allocator: Any = None


class EngineRunner:
    """Runs a serialized engine on torch CUDA tensors.

    >>> runner = EngineRunner(plan)
    >>> outputs = runner.run({"x": x_cuda}, profile=1)      # list, in output_names order

    For timing, :meth:`bind` once, then :meth:`execute` (enqueue only) as often as needed
    on the same stream, synchronize, and read :meth:`fetch`.

    Raises:
        Skipped: TensorRT is absent or no CUDA GPU is visible to torch.
        UserError: the engine does not deserialize (wrong TensorRT, plugins not loaded).
    """

    def __init__(self, plan: bytes) -> None:
        trt = require_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise Skipped("no CUDA GPU: torch.cuda.is_available() is False")
        self._trt = trt
        self._torch = torch
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise UserError("TensorRT could not deserialize the engine; its log above says why")
        self.context = self.engine.create_execution_context()
        self._profile = 0  # a new context starts in profile 0
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        mode = self.engine.get_tensor_mode
        self.input_names = [n for n in names if mode(n) == trt.TensorIOMode.INPUT]
        self.output_names = [n for n in names if mode(n) == trt.TensorIOMode.OUTPUT]

    @property
    def num_profiles(self) -> int:
        return int(self.engine.num_optimization_profiles)

    def dtype(self, name: str) -> Any:
        """The torch dtype of an I/O tensor."""
        trt, torch = self._trt, self._torch
        table = {
            trt.float32: torch.float32,
            trt.float16: torch.float16,
            trt.bfloat16: torch.bfloat16,
            trt.int32: torch.int32,
            trt.int64: torch.int64,
            trt.int8: torch.int8,
            trt.uint8: torch.uint8,
            trt.bool: torch.bool,
        }
        trt_dtype = self.engine.get_tensor_dtype(name)
        if trt_dtype not in table:
            raise UserError(f"tensor {name!r} has TensorRT type {trt_dtype}, which this runner cannot hold")
        return table[trt_dtype]

    def _buffer(self, shape: Sequence[int], dtype: Any) -> tuple[Any, Any]:
        # TensorRT wants a valid address even for empty tensors: back them with one element.
        n = 1
        for d in shape:
            n *= int(d)
        backing = self._torch.empty(max(n, 1), dtype=dtype, device="cuda")
        return backing, backing[:n].view(tuple(int(d) for d in shape))

    def _select_profile(self, profile: int, stream: Any) -> None:
        if not 0 <= profile < self.num_profiles:
            raise UserError(
                f"profile {profile} does not exist: the engine has {self.num_profiles} profile(s)"
            )
        if profile != self._profile:
            if not self.context.set_optimization_profile_async(profile, stream.cuda_stream):
                raise UserError(f"TensorRT could not switch to profile {profile}; its log above says why")
            self._profile = profile

    def bind(self, feeds: Mapping[str, Any], profile: int = 0, stream: Any = None) -> Bound:
        """Selects `profile`, copies `feeds` (name -> CUDA tensor of the engine's dtype) in, binds outputs."""
        torch = self._torch
        stream = stream or torch.cuda.current_stream()
        self._select_profile(profile, stream)
        bound = Bound(profile, [])
        missing = sorted(set(self.input_names) - set(feeds))
        if missing:
            raise UserError(f"no value for the engine input(s) {missing}")
        for name in self.input_names:
            tensor = feeds[name].to("cuda").contiguous()
            want = self.dtype(name)
            if tensor.dtype != want:
                raise UserError(f"input {name} must be {want}, got {tensor.dtype}")
            backing, view = self._buffer(tensor.shape, tensor.dtype)
            view.copy_(tensor)
            bound.keep.append(backing)
            if not self.context.set_input_shape(name, tuple(tensor.shape)):
                raise UserError(
                    f"input {name} shape {tuple(tensor.shape)} is outside profile {profile} of the engine"
                )
            self.context.set_tensor_address(name, backing.data_ptr())
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                # Data-dependent shape: TensorRT asks for memory and reports the shape at run time.
                bound.allocator = bound.allocator or _output_allocator(self._trt, torch)
                self.context.set_output_allocator(name, bound.allocator)
                bound.outputs.append(name)
                continue
            dtype = self.dtype(name)
            if self.engine.is_shape_inference_io(name):
                # Shape-tensor outputs (e.g. a plugin's size tensor) live in host memory.
                host = torch.empty(tuple(shape), dtype=dtype)
                bound.keep.append(host)
                bound.outputs.append(host)
                self.context.set_tensor_address(name, host.data_ptr())
                continue
            backing, view = self._buffer(shape, dtype)
            bound.keep.append(backing)
            bound.outputs.append(view)
            self.context.set_tensor_address(name, backing.data_ptr())
        return bound

    def execute(self, stream: Any = None) -> None:
        """Enqueues one run of the bound buffers on `stream` (default: torch's current); no sync."""
        stream = stream or self._torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise UserError("TensorRT failed to run the engine; its log above says why")

    def fetch(self, bound: Bound) -> list[Any]:
        """The outputs of the last run of `bound` (call after the stream synchronized)."""
        torch = self._torch
        outputs = list(bound.outputs)
        for i, out in enumerate(outputs):
            if isinstance(out, str):
                dtype = self.dtype(out)
                shape = bound.allocator.shapes[out]
                n = 1
                for d in shape:
                    n *= int(d)
                buf = bound.allocator.buffers.get(out)
                flat = (
                    buf.view(dtype) if n and buf is not None else torch.empty(0, dtype=dtype, device="cuda")
                )
                outputs[i] = flat[:n].view(shape)
        return outputs

    def run(self, feeds: Mapping[str, Any], profile: int = 0) -> list[Any]:
        """Runs once in `profile`; returns the output tensors in :attr:`output_names` order."""
        stream = self._torch.cuda.current_stream()
        bound = self.bind(feeds, profile, stream)
        self.execute(stream)
        stream.synchronize()
        return self.fetch(bound)


def _output_allocator(trt: Any, torch: Any) -> Any:
    """An IOutputAllocator backed by torch CUDA memory (for data-dependent output shapes)."""

    class OutputAllocator(trt.IOutputAllocator):
        def __init__(self) -> None:
            trt.IOutputAllocator.__init__(self)
            self.buffers: dict[str, Any] = {}
            self.shapes: dict[str, tuple[int, ...]] = {}

        def reallocate_output(self, tensor_name: str, memory: int, size: int, alignment: int) -> int:
            current = self.buffers.get(tensor_name)
            if current is None or current.numel() < size:
                # 16 bytes more than asked keeps any element type's alignment satisfiable.
                self.buffers[tensor_name] = torch.empty(max(size, 1) + 16, dtype=torch.uint8, device="cuda")
            return self.buffers[tensor_name].data_ptr()

        def reallocate_output_async(
            self, tensor_name: str, memory: int, size: int, alignment: int, stream: int
        ) -> int:
            return self.reallocate_output(tensor_name, memory, size, alignment)

        def notify_shape(self, tensor_name: str, shape: Any) -> None:
            self.shapes[tensor_name] = tuple(int(d) for d in shape)

    return OutputAllocator()
