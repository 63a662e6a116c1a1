"""verify: the served model over HTTP and gRPC against the PyTorch model, on golden inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trt_pdk.errors import UserError
from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.export import ExportResult
from trt_pdk.pipeline.stages.profiles import ProfilesResult
from trt_pdk.pipeline.stages.repository import RepositoryResult
from trt_pdk.pipeline.stages.serve import ServeResult


@dataclass
class VerifyOptions:
    batch: int = option(
        2, cli=False, help="batch size of the golden request (other dims: the traffic's most common shape)"
    )
    atol: float = option(1e-4, help="absolute tolerance of the served answer")
    rtol: float = option(1e-3, help="relative tolerance of the served answer (times |reference|)")
    seed: int = option(1, cli=False, help="seed of the golden inputs")

    def problems(self) -> list[tuple[str, str]]:
        out = [] if self.batch >= 1 else [("batch", "must be >= 1.")]
        out += [
            (k, f"must be >= 0, got {getattr(self, k)}.") for k in ("atol", "rtol") if getattr(self, k) < 0
        ]
        return out


@dataclass(kw_only=True)
class VerifyResult(StageResult):
    passed: bool
    protocols: list[str]
    max_abs_err: float
    atol: float
    rtol: float
    outputs: dict[str, Any]
    inputs: dict[str, list[int]]
    reference: str


def request_inputs(
    ctx: StageContext, cpu_model: str, request: dict[str, list[int]], batch: int, seed: int
) -> dict:
    """Inputs of the served model: the traffic's most common request with batch `batch`."""
    import numpy as np
    import onnx

    model = onnx.load(str(ctx.file(cpu_model)), load_external_data=False)
    rng = np.random.default_rng(seed)
    inits = {i.name for i in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        if vi.name not in request:
            raise UserError(
                f"{ctx.sources.get('traffic', 'the traffic log')} has no shapes for the model input "
                f"{vi.name!r} (it has {', '.join(request)}); log the shapes of every input."
            )
        shape = [batch, *request[vi.name][1:]]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        if np.issubdtype(dtype, np.floating):
            feeds[vi.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[vi.name] = rng.integers(0, 4, shape).astype(dtype)
    return feeds


def torch_reference(export: ExportResult, output_names: list[str]) -> Callable[[dict], dict]:
    import numpy as np
    import torch

    from trt_pdk.onnx_stages.from_torch import module_from_factory

    module, _ = module_from_factory(export.factory, export.checkpoint)

    def reference(feeds: dict) -> dict:
        with torch.no_grad():
            out = module(*(torch.from_numpy(np.ascontiguousarray(v)) for v in feeds.values()))
        flat = list(out) if isinstance(out, list | tuple) else [out]
        return {n: o.detach().numpy() for n, o in zip(output_names, flat, strict=True)}

    return reference


def run(
    ctx: StageContext,
    options: VerifyOptions,
    *,
    export: ExportResult,
    repository: RepositoryResult,
    profiles: ProfilesResult,
    serve: ServeResult,
) -> VerifyResult:
    import onnx

    from trt_pdk.triton.verify import VerifyServing

    inputs = request_inputs(ctx, repository.cpu_model, profiles.request, options.batch, options.seed)
    graph = onnx.load(str(ctx.file(repository.cpu_model)), load_external_data=False).graph
    reference = torch_reference(export, [o.name for o in graph.output])
    got = VerifyServing(
        serve.state(ctx), repository.model, inputs, reference, atol=options.atol, rtol=options.rtol
    )()
    result = VerifyResult(
        passed=got["passed"],
        protocols=got["protocols"],
        max_abs_err=got["max_abs_err"],
        atol=got["atol"],
        rtol=got["rtol"],
        outputs=got["outputs"],
        inputs={k: list(a.shape) for k, a in inputs.items()},
        reference="PyTorch (the factory's module)",
    )
    if not result.passed:
        result.status = "failed"
        result.reason = (
            f"the served answer differs from PyTorch by {result.max_abs_err:.3g} (tolerance atol "
            f"{options.atol:g} + rtol {options.rtol:g}·|ref|); per output: {result.outputs}"
        )
    return result
