"""verify: the served model over HTTP and gRPC against the PyTorch model, on golden inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trt_pdk.errors import UserError
from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB
from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.export import ExportResult
from trt_pdk.pipeline.stages.profiles import ProfilesResult
from trt_pdk.pipeline.stages.repository import RepositoryResult
from trt_pdk.pipeline.stages.serve import ServeResult

# verify's golden inputs are sized by the traffic, not by a flag: the limit is a YAML key.
MAX_INPUT_KEY = "`verify: max_input_mib:` in the pipeline YAML"


@dataclass
class VerifyOptions:
    batch: int = option(
        2, cli=False, help="batch size of the golden request (other dims: the traffic's most common shape)"
    )
    atol: float = option(1e-4, help="absolute tolerance of the served answer")
    rtol: float = option(1e-3, help="relative tolerance of the served answer (times |reference|)")
    seed: int = option(1, cli=False, help="seed of the golden inputs")
    max_input_mib: float = option(
        DEFAULT_MAX_INPUT_MIB,
        cli=False,
        help="refuse to generate golden inputs larger than this in total, before allocating them",
    )

    def problems(self) -> list[tuple[str, str]]:
        out = [] if self.batch >= 1 else [("batch", "must be >= 1.")]
        if not self.max_input_mib > 0:
            out.append(("max_input_mib", f"must be > 0 MiB, got {self.max_input_mib}."))
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
    ctx: StageContext, cpu_model: str, request: dict[str, list[int]], options: VerifyOptions
) -> dict:
    """Inputs of the served model: the traffic's most common request with batch
    ``options.batch``, made by the execution layer's generator (seeded by ``options.seed``,
    refused past ``options.max_input_mib`` before anything is allocated)."""
    from trt_pdk.execution import model_inputs, random_inputs
    from trt_pdk.onnx_stages._model import load_onnx

    tensors = model_inputs(load_onnx(ctx.file(cpu_model), load_external_data=False, check=False))
    missing = [t.name for t in tensors if t.name not in request]
    if missing:
        raise UserError(
            f"{ctx.sources.get('traffic', 'the traffic log')} has no shapes for the model input "
            f"{missing[0]!r} (it has {', '.join(request)}); log the shapes of every input."
        )
    shapes = {t.name: [options.batch, *request[t.name][1:]] for t in tensors}
    return random_inputs(
        tensors,
        shapes=shapes,
        seed=options.seed,
        max_input_mib=options.max_input_mib,
        flag=MAX_INPUT_KEY,
        narrow="Lower `verify: batch:`",
    )


def torch_reference(export: ExportResult, input_names: list[str], output_names: list[str]) -> Any:
    """The factory's module (with the exported checkpoint) as the execution layer's TorchRunner."""
    from trt_pdk.execution import TorchRunner
    from trt_pdk.onnx_stages.from_torch import module_from_factory

    module, _ = module_from_factory(export.factory, export.checkpoint)
    return TorchRunner(module, input_names, output_names)


def run(
    ctx: StageContext,
    options: VerifyOptions,
    *,
    export: ExportResult,
    repository: RepositoryResult,
    profiles: ProfilesResult,
    serve: ServeResult,
) -> VerifyResult:
    from trt_pdk.onnx_stages._model import load_onnx
    from trt_pdk.triton.verify import VerifyServing

    inputs = request_inputs(ctx, repository.cpu_model, profiles.request, options)
    graph = load_onnx(ctx.file(repository.cpu_model), load_external_data=False, check=False).graph
    reference = torch_reference(export, list(inputs), [o.name for o in graph.output])
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
