"""serve: the embedded tritonserver on the repository, on 127.0.0.1 (a process, not files)."""

from __future__ import annotations

from dataclasses import dataclass

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.repository import RepositoryResult


@dataclass
class ServeOptions:
    http_port: int = option(0, help="HTTP port on 127.0.0.1 (0: a free port)")
    grpc_port: int = option(0, help="gRPC port (0: a free port)")
    metrics_port: int = option(0, help="metrics port (0: a free port)")
    ready_timeout: float = option(
        60.0, flag="--timeout", help="seconds the server and models may take to be ready"
    )

    def problems(self) -> list[tuple[str, str]]:
        out = [
            (p, f"must be 0 (free port) or a port number, got {getattr(self, p)}.")
            for p in ("http_port", "grpc_port", "metrics_port")
            if not 0 <= getattr(self, p) < 65536
        ]
        if self.ready_timeout <= 0:
            out.append(("ready_timeout", f"must be > 0 seconds, got {self.ready_timeout}."))
        return out


@dataclass(kw_only=True)
class ServeResult(StageResult):
    """The running server: what :class:`trt_pdk.triton.server.ServerState` holds."""

    log: str
    pid: int
    address: str
    http_port: int
    grpc_port: int
    metrics_port: int
    repository: str
    models: list[str]

    def state(self, ctx: StageContext) -> object:
        from trt_pdk.triton.server import ServerState

        return ServerState(
            pid=self.pid,
            http_port=self.http_port,
            grpc_port=self.grpc_port,
            metrics_port=self.metrics_port,
            repository=self.repository,
            models=self.models,
            log=str(ctx.file(self.log)),
        )


def run(ctx: StageContext, options: ServeOptions, *, repository: RepositoryResult) -> ServeResult:
    from trt_pdk.triton.server import TritonServer

    server = TritonServer(
        ctx.file(repository.deployment),
        ctx.root / "serve",
        models=[repository.model],
        http_port=options.http_port,
        grpc_port=options.grpc_port,
        metrics_port=options.metrics_port,
        ready_timeout=options.ready_timeout,
    )
    ctx.processes.append(server)
    state = server.start()
    return ServeResult(
        log=ctx.rel(state.log),
        pid=state.pid,
        address="127.0.0.1",
        http_port=state.http_port,
        grpc_port=state.grpc_port,
        metrics_port=state.metrics_port,
        repository=state.repository,
        models=state.models,
    )
