"""repository: a Triton model repository serving the rewritten graph on CPU (python backend)."""

from __future__ import annotations

from dataclasses import dataclass

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.rewrite import RewriteResult


@dataclass
class RepositoryOptions:
    model_name: str | None = option(
        None, flag="--name", required=True, help="Triton model name (pipeline default: the pipeline's name)"
    )
    max_batch_size: int | None = option(
        None, help="largest batch Triton forms (default: from the engine's profiles, or 32)"
    )
    dynamic_batching: bool = option(True, help="Triton's dynamic batcher")
    preferred_batch_sizes: list[int] | None = option(
        None,
        flag="--preferred-batch-size",
        form="nargs",
        help="batch sizes the batcher aims for (default: from the profiles)",
    )
    max_queue_delay_us: int = option(100, help="how long a request may wait for others to batch with")
    instance_count: int = option(1, flag="--instances", help="model instances per device")

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.max_batch_size is not None and self.max_batch_size < 1:
            out.append(("max_batch_size", "must be >= 1."))
        if self.instance_count < 1:
            out.append(("instance_count", "must be >= 1."))
        if self.max_queue_delay_us < 0:
            out.append(("max_queue_delay_us", "must be >= 0 microseconds."))
        return out

    def batching(self) -> object:
        from trt_pdk.triton.config import BatchingOptions

        return BatchingOptions(
            max_batch_size=self.max_batch_size,
            dynamic_batching=self.dynamic_batching,
            preferred_batch_sizes=self.preferred_batch_sizes,
            max_queue_delay_us=self.max_queue_delay_us,
            instance_count=self.instance_count,
        )


@dataclass(kw_only=True)
class RepositoryResult(StageResult):
    """Attributes:
    cpu_model: the served graph (plugin nodes with their ONNX bodies as local functions).
    deployment: the deployment folder (models/, Dockerfile, ...); model: the served model's name.
    """

    cpu_model: str
    functions: list[str]
    deployment: str
    model: str
    version: int
    config: str


def run(ctx: StageContext, options: RepositoryOptions, *, rewrite: RewriteResult) -> RepositoryResult:
    import onnx

    from trt_pdk.onnx_stages import save_onnx
    from trt_pdk.onnx_stages.functions import with_cpu_functions
    from trt_pdk.triton.repository import RepositoryFromOnnx

    out = ctx.root / "repository"
    out.mkdir(parents=True, exist_ok=True)
    model, functions = with_cpu_functions(onnx.load(str(ctx.file(rewrite.model))))
    cpu = save_onnx(model, out / "cpu.onnx")
    name = options.model_name or ctx.name
    written = RepositoryFromOnnx(cpu, out / "deploy", name, batching=options.batching())()
    return RepositoryResult(
        cpu_model=ctx.rel(cpu),
        functions=functions,
        deployment=ctx.rel(out / "deploy"),
        model=written.name,
        version=written.version,
        config=ctx.rel(written.config),
    )
