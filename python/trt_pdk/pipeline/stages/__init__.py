"""The stage table: the pipeline's stages in the order they run.

Each row names a stage module's ``run``; the annotations of ``run`` declare its options,
the results it reads (its data edges) and the result it returns
(:class:`trt_pdk.pipeline.stage.Stage`). A new stage is one module here and one row below.
"""

from __future__ import annotations

from trt_pdk.pipeline.stage import Stage
from trt_pdk.pipeline.stages import (
    check,
    compare,
    deploy,
    engine,
    export,
    perf,
    profiles,
    repository,
    rewrite,
    serve,
    simplify,
    verify,
)

STAGES: tuple[Stage, ...] = (
    Stage(
        "export",
        export.run,
        section="model",
        sources=lambda cfg: export.sources(cfg.model, cfg.source.parent),
    ),
    Stage("check", check.run),
    Stage("simplify", simplify.run),
    Stage("rewrite", rewrite.run),
    Stage("compare", compare.run),
    Stage("profiles", profiles.run, sources=lambda cfg: {"traffic": cfg.path(cfg.traffic)}),
    Stage("engine", engine.run),
    Stage("repository", repository.run),
    Stage("serve", serve.run, process=True),
    Stage("verify", verify.run),
    Stage("perf", perf.run, sources=lambda cfg: {"traffic": cfg.path(cfg.traffic)}),
    Stage("deploy", deploy.run),
)
