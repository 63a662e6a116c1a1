"""Build and run TensorRT engines from ONNX (TensorRT 10 and 11 Python API).

Used by the op test harness for one-node plugin graphs; written to be reused by the
pipeline. Networks are strongly typed (TensorRT 11 requires it; in 10 it keeps fp16/bf16
plugin I/O in the precision the graph declares instead of letting the builder pick).
``tensorrt`` and ``torch`` are imported only when these functions run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trt_pdk.errors import Skipped, UserError
from trt_pdk.native import GET_TENSORRT, load_plugins, tensorrt_import_error


@dataclass(frozen=True)
class Profile:
    """min/opt/max shapes per input name for one optimization profile."""

    shapes: Mapping[str, tuple[Sequence[int], Sequence[int], Sequence[int]]]


def require_tensorrt() -> Any:
    """Imports tensorrt or raises Skipped saying how to get it."""
    why = tensorrt_import_error()
    if why is not None:
        raise Skipped(f"TensorRT is absent (`import tensorrt` failed: {why}); {GET_TENSORRT}")
    import tensorrt as trt

    return trt


def _logger(trt: Any) -> Any:
    return trt.Logger(trt.Logger.WARNING)


def engine_from_onnx(
    model_bytes: bytes,
    profiles: Sequence[Profile],
    *,
    workspace_bytes: int = 1 << 30,
    load_plugin_libraries: bool = True,
) -> bytes:
    """Parses an ONNX model and builds a serialized engine with the given profiles.

    Args:
        model_bytes: the serialized ONNX model.
        profiles: optimization profiles; every dynamic input must appear in each.
        workspace_bytes: memory pool limit for the builder's workspace.
        load_plugin_libraries: load every discovered plugin library first.

    Raises:
        Skipped: TensorRT is absent.
        UserError: the parser or the builder failed (the message carries their errors).
    """
    trt = require_tensorrt()
    if load_plugin_libraries:
        load_plugins()
    logger = _logger(trt)
    builder = trt.Builder(logger)
    flags = 0
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if strongly_typed is not None:
        flags |= 1 << int(strongly_typed)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(model_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise UserError(f"TensorRT's ONNX parser rejected the model: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    for profile in profiles:
        trt_profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in profile.shapes.items():
            trt_profile.set_shape(name, tuple(lo), tuple(opt), tuple(hi))
        config.add_optimization_profile(trt_profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError("TensorRT failed to build the engine; its log above says why")
    return bytes(serialized)


class EngineRunner:
    """Runs a serialized engine on torch CUDA tensors (profile 0)."""

    def __init__(self, engine_bytes: bytes) -> None:
        trt = require_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise Skipped("no CUDA GPU: torch.cuda.is_available() is False")
        self._trt = trt
        self._torch = torch
        self._logger = _logger(trt)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise UserError("TensorRT could not deserialize the engine; its log above says why")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]

    def _torch_dtype(self, trt_dtype: Any) -> Any:
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
        return table[trt_dtype]

    def _buffer(self, shape: Sequence[int], dtype: Any) -> tuple[Any, Any]:
        # TensorRT wants a valid address even for empty tensors: back them with one element.
        torch = self._torch
        n = 1
        for d in shape:
            n *= int(d)
        backing = torch.empty(max(n, 1), dtype=dtype, device="cuda")
        return backing, backing[:n].view(tuple(int(d) for d in shape))

    def run(self, feeds: Mapping[str, Any]) -> list[Any]:
        """Runs once; `feeds` maps input names to CUDA tensors. Returns output tensors."""
        torch = self._torch
        keep = []
        for name in self.inputs:
            tensor = feeds[name].contiguous()
            want = self._torch_dtype(self.engine.get_tensor_dtype(name))
            if tensor.dtype != want:
                raise UserError(f"input {name} must be {want}, got {tensor.dtype}")
            backing, view = self._buffer(tensor.shape, tensor.dtype)
            view.copy_(tensor)
            keep.append(backing)
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, backing.data_ptr())
        outputs: list[Any] = []
        allocator = None
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                # Data-dependent shape: TensorRT asks for memory and reports the shape at run time.
                allocator = allocator or _output_allocator(self._trt, torch)
                self.context.set_output_allocator(name, allocator)
                outputs.append(name)
                continue
            dtype = self._torch_dtype(self.engine.get_tensor_dtype(name))
            if self.engine.is_shape_inference_io(name):
                # Shape-tensor outputs (e.g. a plugin's size tensor) live in host memory.
                host = torch.empty(tuple(shape), dtype=dtype)
                keep.append(host)
                outputs.append(host)
                self.context.set_tensor_address(name, host.data_ptr())
                continue
            backing, view = self._buffer(shape, dtype)
            keep.append(backing)
            outputs.append(view)
            self.context.set_tensor_address(name, backing.data_ptr())
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise UserError("TensorRT failed to run the engine; its log above says why")
        stream.synchronize()
        for i, out in enumerate(outputs):
            if isinstance(out, str):
                dtype = self._torch_dtype(self.engine.get_tensor_dtype(out))
                shape = allocator.shapes[out]
                n = 1
                for d in shape:
                    n *= int(d)
                flat = allocator.buffers[out].view(dtype) if n else torch.empty(0, dtype=dtype, device="cuda")
                outputs[i] = flat[:n].view(shape)
        return outputs


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
