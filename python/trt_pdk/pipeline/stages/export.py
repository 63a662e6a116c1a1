"""export: the PyTorch model to ONNX twice, with the kit's translations and without them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult


@dataclass
class ExportOptions:
    """The PyTorch model and how it is exported (YAML section ``model``)."""

    factory: str = option(
        "",
        help="FILE.py:FUNCTION or module:function returning (module, example_inputs)",
        positional=True,
        metavar="MODULE:FACTORY",
    )
    checkpoint: str | None = option(None, help="state_dict loaded with weights_only=True into the module")
    dynamic: list[str] = option(
        factory=list,
        help="a dynamic axis INPUT:AXIS=LABEL; repeatable (axis 0 is the axis Triton batches on)",
        metavar="INPUT:AXIS=LABEL",
    )
    opset: int = option(18, help="ONNX opset (18 is dynamo's own)")
    legacy: bool = option(False, help="use the TorchScript exporter (no plugin translations)", yaml=False)
    plugin_version: str = option(
        "2", help="plugin nodes' version: 2 = IPluginV3, 1 = IPluginV2DynamicExt", choices=("1", "2")
    )


@dataclass(kw_only=True)
class ExportResult(StageResult):
    """Attributes:
    model: the kit's export; plain: the export without plugin translations.
    factory / checkpoint: what was exported, resolved (later stages rebuild the module).
    """

    model: str
    plain: str
    factory: str
    checkpoint: str | None
    nodes: int
    ops: dict[str, int]
    plain_nodes: int
    plain_ops: dict[str, int]
    opset: int
    inputs: Any
    outputs: Any


def resolved_factory(options: ExportOptions, config_dir: Path) -> str:
    """``FILE.py:FUNC`` with FILE resolved against the config's folder; module names as given."""
    module, _, attr = options.factory.rpartition(":")
    if not module.endswith(".py"):
        return options.factory
    path = Path(module)
    return f"{path if path.is_absolute() else config_dir / path}:{attr}"


def sources(options: ExportOptions, config_dir: Path) -> dict[str, Path]:
    """The factory's file and the checkpoint: their content is part of the export's key."""
    module = resolved_factory(options, config_dir).rpartition(":")[0]
    out = {"factory": Path(module)} if module.endswith(".py") else {}
    if options.checkpoint:
        out["checkpoint"] = config_dir / options.checkpoint
    return out


def exporter(options: ExportOptions, factory: str, checkpoint: Path | None, specs: Any = None) -> Any:
    from trt_pdk.onnx_stages.from_torch import OnnxFromTorch

    return OnnxFromTorch(
        factory,
        checkpoint=checkpoint,
        opset=options.opset,
        dynamic=options.dynamic,
        legacy=options.legacy,
        plugin_version=options.plugin_version,
        specs=specs,
    )


def run(ctx: StageContext, options: ExportOptions) -> ExportResult:
    out = ctx.root / "export"
    factory = resolved_factory(options, ctx.config_dir)
    checkpoint = ctx.path(options.checkpoint) if options.checkpoint else None
    kit = exporter(options, factory, checkpoint)(out / "model.onnx")
    # The plain path a user takes without the kit: dynamo with no plugin translations.
    plain = exporter(options, factory, checkpoint, specs=[])(out / "plain.onnx")
    return ExportResult(
        model=ctx.rel(out / "model.onnx"),
        plain=ctx.rel(out / "plain.onnx"),
        factory=factory,
        checkpoint=str(checkpoint) if checkpoint else None,
        nodes=kit["nodes"],
        ops=kit["ops"],
        plain_nodes=plain["nodes"],
        plain_ops=plain["ops"],
        opset=kit["opset"],
        inputs=kit["inputs"],
        outputs=kit["outputs"],
    )
