"""rewrite: plugin torch-op nodes and the specs' standard-op patterns into plugin nodes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.check import CheckResult, summary
from trt_pdk.pipeline.stages.simplify import SimplifyResult


@dataclass
class RewriteOptions:
    plugins: list[str] = option(
        factory=list,
        flag="--plugin",
        metavar="NAME[:VERSION]",
        help="plugin to use, version 2 = IPluginV3 (default), 1 = IPluginV2DynamicExt; repeatable; "
        "default: every discovered plugin",
    )


@dataclass(kw_only=True)
class RewriteResult(StageResult):
    """Attributes:
    model: the rewritten graph; plugin_nodes: plugin nodes in it by op type;
    check: its check against the TensorRT version the check stage used.
    """

    model: str
    nodes_before: int
    nodes_after: int
    replacement_counts: dict[str, int]
    plugin_nodes: dict[str, int]
    rejected: list[dict[str, str]]
    check: dict[str, Any]


def run(
    ctx: StageContext, options: RewriteOptions, *, simplify: SimplifyResult, check: CheckResult
) -> RewriteResult:
    import onnx

    from trt_pdk.onnx_stages import RewriteOnnx

    out = ctx.root / "rewrite" / "model.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    d = RewriteOnnx(plugins=options.plugins).run(ctx.file(simplify.model), out).as_dict()
    (out.parent / "rewrite.json").write_text(json.dumps(d, indent=2, default=str) + "\n")
    plugin_nodes: dict[str, int] = {}
    for n in onnx.load(str(out), load_external_data=False).graph.node:
        if n.domain not in ("", "ai.onnx"):
            plugin_nodes[n.op_type] = plugin_nodes.get(n.op_type, 0) + 1
    return RewriteResult(
        model=ctx.rel(out),
        nodes_before=d["nodes_before"],
        nodes_after=d["nodes_after"],
        replacement_counts=d["replacement_counts"],
        plugin_nodes=plugin_nodes,
        rejected=d["rejected"][:10],
        check=summary(check.trt, out),
    )
