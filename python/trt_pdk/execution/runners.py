"""Runners: one interface over every way the kit runs a model.

A runner is configured up front and called with ``{input name: array}``; it returns
``{output name: array}`` and declares ``inputs`` (:class:`TensorInfo`), ``outputs``
(names) and ``engine`` (what ran, with its version, for reports).

* :class:`OnnxRuntimeRunner`: onnxruntime on CPU; plugin nodes run through their op's
  standard-ONNX body attached as a model-local function, exactly as the Triton CPU
  model serves them.
* :class:`TorchRunner`: a PyTorch module (or a ``MODULE:FACTORY`` reference).
* :class:`TensorRTRunner`: a serialized engine on the GPU (imports tensorrt lazily).
* :class:`TritonRunner`: a served model over HTTP or gRPC.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.execution.inputs import TensorInfo, model_inputs, tensors_of_onnx

Arrays = dict[str, np.ndarray]


class Runner(Protocol):
    engine: str
    inputs: list[TensorInfo]
    outputs: list[str]

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> Arrays: ...


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class OnnxRuntimeRunner:
    """An ONNX model in onnxruntime on CPU.

    Args:
        model: a ``ModelProto`` or a path to an ``.onnx`` file.
        specs: plugin specs for its plugin nodes (default: the discovered plugins). Each
            plugin node is checked by :func:`trt_pdk.plugin_nodes.check_plugin_nodes`
            (unknown plugin, unbuilt ``plugin_version``, foreign ``plugin_namespace``)
            and runs through its ONNX body.
        intra_op_threads: onnxruntime threads (default: onnxruntime's own choice).
    """

    def __init__(
        self, model: Any, specs: Iterable[Any] | None = None, *, intra_op_threads: int | None = None
    ):
        from trt_pdk import plugin_nodes
        from trt_pdk.execution.sessions import onnxruntime_session, onnxruntime_version
        from trt_pdk.onnx_stages._model import _has_external_data, load_onnx

        if isinstance(model, str | os.PathLike):
            path: Any = model
            proto = load_onnx(model, load_external_data=False)
        else:
            path, proto = None, model
        self.notes: list[str] = []
        plugin_ops = plugin_nodes.plugin_node_keys(proto)
        if plugin_ops and plugin_ops <= {(f.domain, f.name) for f in proto.functions}:
            # A served copy carries its bodies: run exactly what the Triton CPU model runs.
            self.engine = f"onnxruntime {onnxruntime_version()} (the model's own plugin bodies)"
            source = path if path is not None else proto
        elif plugin_ops:
            from trt_pdk.onnx_stages.functions import with_cpu_functions

            if specs is None:
                from trt_pdk.registry import discover

                specs = discover().values()
            specs = list(specs)
            self.notes = plugin_nodes.check_plugin_nodes(proto, specs)
            proto, covered = with_cpu_functions(proto, specs)
            self.engine = f"onnxruntime {onnxruntime_version()} (plugin ONNX bodies: {', '.join(covered)})"
            source: Any = proto
        else:
            self.engine = f"onnxruntime {onnxruntime_version()}"
            source = path if path is not None else proto
        # Weights left in external data stay there: onnxruntime reads them from the model's folder
        # (no copy of a multi-GB data file just to attach the plugin bodies).
        folder = None
        if path is not None and source is proto and _has_external_data(proto):
            folder = str(Path(path).resolve().parent)
        self.session = onnxruntime_session(
            source, intra_op_threads=intra_op_threads, external_data_dir=folder
        )
        graph = proto.graph
        self.inputs = model_inputs(proto)
        self.outputs = [o.name for o in graph.output]
        self._output_infos = tensors_of_onnx(graph.output)

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> Arrays:
        wanted = {t.name for t in self.inputs}
        try:
            values = self.session.run(self.outputs, {k: v for k, v in feeds.items() if k in wanted})
        except Exception as exc:  # onnxruntime's own exception types
            shapes = {k: list(np.shape(v)) for k, v in feeds.items()}
            raise UserError(f"onnxruntime failed on inputs {shapes}: {_first_line(exc)}") from None
        return {n: np.asarray(v) for n, v in zip(self.outputs, values, strict=True)}


class TorchRunner:
    """A PyTorch module, fed positionally in ``input_names`` order.

    Args:
        module: an ``nn.Module`` or a ``MODULE:FACTORY`` reference (the factory's module).
        input_names: names of the positional arguments, in order.
        output_names: names for the flattened outputs (default ``output_0``, ...).
    """

    def __init__(
        self, module: Any, input_names: Sequence[str], output_names: Sequence[str] | None = None
    ) -> None:
        import torch

        if isinstance(module, str):
            from trt_pdk.onnx_stages.from_torch import module_from_factory

            module, _ = module_from_factory(module)
        self.module = module
        self.engine = f"torch {torch.__version__}"
        self.inputs = [TensorInfo(n, np.dtype("float32"), ()) for n in input_names]
        self.outputs = list(output_names or [])

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> Arrays:
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(feeds[t.name])) for t in self.inputs]
        try:
            with torch.no_grad():
                out = self.module(*args)
        except Exception as exc:
            shapes = {k: list(np.shape(v)) for k, v in feeds.items()}
            raise UserError(
                f"the PyTorch module failed on inputs {shapes}: {type(exc).__name__}: {_first_line(exc)}"
            ) from None
        flat = list(out) if isinstance(out, list | tuple) else [out]
        names = self.outputs or [f"output_{i}" for i in range(len(flat))]
        if len(names) != len(flat):
            raise UserError(
                f"the PyTorch module returns {len(flat)} outputs and the model {len(names)} "
                f"({', '.join(names)}); compare models of the same interface."
            )
        arrays = [
            o.detach().float().numpy() if o.dtype == torch.bfloat16 else o.detach().numpy() for o in flat
        ]
        return dict(zip(names, arrays, strict=True))


class TensorRTRunner:
    """A serialized TensorRT engine on the GPU (``import tensorrt`` happens here).

    Args:
        plan: the engine's bytes.
        profile: the optimization profile to run in.
    """

    def __init__(self, plan: bytes, profile: int = 0) -> None:
        from trt_pdk.engine._runner import EngineRunner
        from trt_pdk.engine._tensorrt import running_tensorrt

        trt = running_tensorrt()
        if trt is None:
            from trt_pdk.engine._build import GET_TENSORRT

            raise UserError(
                f"running an engine needs TensorRT, and `import tensorrt` fails here: {GET_TENSORRT}."
            )
        self.runner = EngineRunner(plan)
        self.profile = profile
        self.engine = f"TensorRT {trt.__version__}"
        self.inputs = [TensorInfo(n, np.dtype("float32"), ()) for n in self.runner.input_names]
        self.outputs = list(self.runner.output_names)

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> Arrays:
        import torch

        cuda = {
            n: torch.from_numpy(np.ascontiguousarray(feeds[n])).to("cuda", self.runner.dtype(n))
            for n in self.runner.input_names
        }
        outs = self.runner.run(cuda, profile=self.profile)
        return {n: o.float().cpu().numpy() for n, o in zip(self.outputs, outs, strict=True)}


class TritonRunner:
    """A model served by Triton, over ``"http"`` or ``"grpc"``.

    Args:
        protocol: ``"http"`` or ``"grpc"``.
        url: ``host:port`` of that endpoint.
        model: the model's name.
        outputs: output names to ask for.
    """

    def __init__(self, protocol: str, url: str, model: str, outputs: Sequence[str]) -> None:
        if protocol not in ("http", "grpc"):
            raise UserError(f"protocol {protocol!r}: choose http or grpc.")
        self.protocol, self.url, self.model = protocol, url, model
        self.outputs = list(outputs)
        self.inputs: list[TensorInfo] = []
        self.engine = f"Triton {protocol} {url} model {model}"

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> Arrays:
        from trt_pdk.triton.config import client_datatype, triton_dtype

        if self.protocol == "http":
            import tritonclient.http as mod
        else:
            import tritonclient.grpc as mod
        client = mod.InferenceServerClient(self.url)
        try:
            tensors = []
            for name, arr in feeds.items():
                t = mod.InferInput(name, list(arr.shape), client_datatype(triton_dtype(arr.dtype.name)))
                t.set_data_from_numpy(np.ascontiguousarray(arr))
                tensors.append(t)
            result = client.infer(
                self.model, tensors, outputs=[mod.InferRequestedOutput(n) for n in self.outputs]
            )
            return {n: result.as_numpy(n) for n in self.outputs}
        except Exception as exc:
            # tritonclient raises InferenceServerException for wrong names, shapes, dtypes.
            raise UserError(f"{self.protocol} inference on model {self.model!r} failed: {exc}") from exc
        finally:
            client.close()
