"""Validate an ONNX model offline: checker, shape inference, training leftovers, and
TensorRT op coverage for one TensorRT version.

Example::

    report = CheckOnnx(trt="10.16")("model.onnx")
    print(report.ok, report.as_dict()["unsupported"])

The report separates standard ops the chosen TensorRT's parser does not import (with the
discovered plugins that could replace them), plugin nodes whose plugin is not available,
and the rest ("fine"). Where ``import tensorrt`` works the real parser is asked too.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx

from trt_pdk.errors import Skipped, UserError
from trt_pdk.onnx_stages import _model, _plugins
from trt_pdk.onnx_stages.coverage import (
    SUPPORTED,
    UNCERTAIN,
    UNSUPPORTED,
    CoverageTable,
    parser_disagreements,
)
from trt_pdk.plugin_nodes import attribute_values, plugin_version_of

_MAX_NAMES = 5


@dataclass
class CheckReport:
    """What :class:`CheckOnnx` found; ``ok`` is False when anything must be fixed."""

    model: str
    trt: str
    table_certain: bool
    opset: int
    checker_error: str | None = None
    shape_inference_error: str | None = None
    training_leftovers: list[dict[str, str]] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    missing_plugins: list[dict[str, Any]] = field(default_factory=list)
    uncertain: list[dict[str, Any]] = field(default_factory=list)
    plugins: list[dict[str, Any]] = field(default_factory=list)
    fine: dict[str, int] = field(default_factory=dict)
    parser: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.checker_error
            or self.shape_inference_error
            or self.training_leftovers
            or self.unsupported
            or self.missing_plugins
            or self.parser.get("disagreements")
        )

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["ok"] = self.ok
        return out

    def text(self) -> str:
        """A short human-readable summary, one finding per line."""
        lines = [
            f"{self.model}: opset {self.opset}, TensorRT {self.trt}"
            f"{'' if self.table_certain else ' (coverage table uncertain for this version)'}: "
            f"{'OK' if self.ok else 'FINDINGS'}"
        ]
        if self.checker_error:
            lines.append(f"  onnx.checker: {self.checker_error}")
        if self.shape_inference_error:
            lines.append(f"  shape inference: {self.shape_inference_error}")
        for item in self.training_leftovers:
            lines.append(f"  training leftover: {item['node']} ({item['op_type']}): {item['why']}")
        for item in self.unsupported:
            cands = ", ".join(item["candidate_plugins"]) or "none discovered"
            lines.append(
                f"  not supported by TensorRT {self.trt}: {item['op_type']} x{item['count']} "
                f"({', '.join(item['nodes'])}); candidate plugins: {cands}"
            )
        for item in self.missing_plugins:
            lines.append(
                f"  plugin not available: {item['domain']}::{item['op_type']} x{item['count']}: {item['why']}"
            )
        for item in self.uncertain:
            lines.append(f"  uncertain: {item['op_type']} x{item['count']}: {item['note']}")
        for item in self.plugins:
            lines.append(
                f"  plugin node: {item['domain']}::{item['op_type']} x{item['count']} "
                f"(versions {item['versions']})"
            )
        if self.fine:
            lines.append(f"  fine: {sum(self.fine.values())} nodes of {len(self.fine)} op types")
        for d in self.parser.get("disagreements", []):
            lines.append(f"  table vs TensorRT parser: {d}")
        if self.parser.get("skipped"):
            lines.append(f"  {self.parser['skipped']}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _walk(graph: onnx.GraphProto):
    """Every node of `graph` and its subgraphs (If/Loop/Scan bodies)."""
    for node in graph.node:
        yield node
        for sub in _model.subgraphs(node):
            yield from _walk(sub)


def _name(node: onnx.NodeProto) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def _training_leftovers(model: onnx.ModelProto) -> list[dict[str, str]]:
    out = []
    constants = {t.name: t for t in model.graph.initializer}
    for node in _walk(model.graph):
        if node.domain not in ("", "ai.onnx"):
            continue
        attrs = attribute_values(node)
        if node.op_type == "Dropout":
            why = "Dropout left in the graph: export after model.eval()"
            if len(node.input) > 2 and node.input[2]:
                tm = constants.get(node.input[2])
                if tm is None or bool(onnx.numpy_helper.to_array(tm).item()):
                    why = "Dropout with training_mode=True: export after model.eval()"
            if len(node.output) > 1 and node.output[1]:
                why += "; its mask output is used"
            out.append({"node": _name(node), "op_type": node.op_type, "why": why})
        elif node.op_type == "BatchNormalization" and (
            attrs.get("training_mode") == 1 or sum(1 for o in node.output if o) > 1
        ):
            out.append(
                {
                    "node": _name(node),
                    "op_type": node.op_type,
                    "why": "BatchNormalization in training form (training_mode=1 or running-stat outputs): "
                    "export after model.eval()",
                }
            )
        elif attrs.get("training_mode") == 1:
            out.append({"node": _name(node), "op_type": node.op_type, "why": "training_mode=1"})
    return out


PLUGIN_OVERRIDE_SINCE = "10.15"  # OnnxParserFlag::kENABLE_PLUGIN_OVERRIDE, trtexec --enablePluginOverride


def shadowed_native_ops(model: onnx.ModelProto, table: CoverageTable, version: str, specs: Mapping[str, Any]):
    """Notes for plugins named like an ONNX op that TensorRT `version` imports natively.

    TensorRT's parser takes its native importer for such a node unless the node carries
    ``plugin_namespace`` (what ``trt-pdk rewrite`` writes) or, from TensorRT 10.15, the parser
    flag ``kENABLE_PLUGIN_OVERRIDE`` is set (trtexec ``--enablePluginOverride``): then a
    registered plugin of that name wins even without the attribute.
    """
    from trt_pdk.onnx_stages.coverage import _version_key

    nodes_by_type: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in _walk(model.graph):
        nodes_by_type[node.op_type].append(node)
    override = _version_key(version) >= _version_key(PLUGIN_OVERRIDE_SINCE)
    notes = []
    for spec in sorted(specs.values(), key=lambda s: s.name):
        nodes = nodes_by_type.get(spec.name, [])
        if not nodes or table.status(spec.name, version) != SUPPORTED:
            continue
        bare = [n for n in nodes if not any(a.name == "plugin_namespace" for a in n.attribute)]
        note = (
            f"the plugin {spec.namespace}::{spec.name} shadows TensorRT {version}'s native ONNX "
            f"{spec.name}: the parser uses the plugin for nodes with plugin_namespace "
            f"({len(nodes) - len(bare)} of {len(nodes)} here; `trt-pdk rewrite` writes it)"
        )
        if bare and override:
            note += (
                f"; the {len(bare)} without it get the native layer unless the parser flag "
                f"kENABLE_PLUGIN_OVERRIDE is set (trtexec --enablePluginOverride; "
                f"parser.set_flag(trt.OnnxParserFlag.ENABLE_PLUGIN_OVERRIDE))"
            )
        elif bare:
            note += (
                f"; the {len(bare)} without it get the native layer (TensorRT {version} has no "
                f"plugin override flag; kENABLE_PLUGIN_OVERRIDE needs TensorRT >= {PLUGIN_OVERRIDE_SINCE})"
            )
        notes.append(note)
    return notes


class CheckOnnx:
    """The validate stage.

    Args:
        trt: TensorRT version to check against (``"10.16"``, ``"11.1"``, ``"10"``); ``None``:
            the installed ``tensorrt``, else the newest version in the table.
        specs: ``{name: PluginSpec}``; default: the discovered plugins.
        ask_parser: also ask the real TensorRT parser where ``tensorrt`` imports.
    """

    def __init__(
        self, trt: str | None = None, specs: Mapping[str, Any] | None = None, ask_parser: bool = True
    ):
        self.trt = trt
        self._specs = specs
        self.ask_parser = ask_parser

    def __call__(self, path: str | os.PathLike[str]) -> CheckReport:
        table = CoverageTable.load()
        version = table.resolve_version(self.trt)
        specs = _plugins.discovered_specs() if self._specs is None else dict(self._specs)
        # onnx.checker runs below, once plugin nodes have had their more precise check.
        model = _model.load_onnx(path, check=False, keep_external_above=_model.LOAD_AT_MOST)
        opset = _model.default_opset(model)
        low, high = table.opsets(version)
        if opset is None or not low <= opset <= high:
            raise UserError(
                f"{path} uses ONNX opset {opset}; the coverage table for TensorRT {version} covers opsets "
                f"{low}-{high}. Re-export with `trt-pdk export --opset {min(max(opset or 18, low), high)}` "
                f"(18 is dynamo's own), or check against another version with --trt "
                f"({', '.join(table.versions)})."
            )
        report = CheckReport(str(path), version, table.certain(version), opset)
        _plugins.register_schemas(specs)
        by_key = _plugins.by_node_key(specs)
        # Plugin nodes are validated first: a wrong attribute type is a bad input (exit 2).
        from trt_pdk.onnx_stages.rewrite import attrs_of_plugin_node

        for node in _walk(model.graph):
            spec = by_key.get((node.domain, node.op_type))
            if spec is not None:
                attrs_of_plugin_node(spec, node)
        _model.check_model(model, Path(path))
        try:
            onnx.checker.check_model(str(path), full_check=True)  # the file: weights stay on disk
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            report.checker_error = str(exc).strip().splitlines()[0]
        try:
            onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
        except Exception as exc:  # InferenceError, or a plugin's inference rejecting its inputs
            report.shape_inference_error = str(exc).strip().splitlines()[0]
        report.training_leftovers = _training_leftovers(model)
        self._coverage(model, table, version, specs, report)
        report.notes.extend(shadowed_native_ops(model, table, version, specs))
        if self.ask_parser:
            self._ask_parser(path, model, table, version, report)
        return report

    def _coverage(self, model, table, version, specs, report: CheckReport) -> None:
        by_key = _plugins.by_node_key(specs)
        groups: dict[tuple[str, str], list[onnx.NodeProto]] = defaultdict(list)
        for node in _walk(model.graph):
            groups[("" if node.domain == "ai.onnx" else node.domain, node.op_type)].append(node)
        for (domain, op_type), nodes in sorted(groups.items()):
            names = [_name(n) for n in nodes[:_MAX_NAMES]]
            if domain == "":
                status = table.status(op_type, version)
                entry = table.entry(op_type) or {}
                if status == SUPPORTED:
                    report.fine[op_type] = len(nodes)
                elif status == UNCERTAIN:
                    report.uncertain.append(
                        {
                            "op_type": op_type,
                            "count": len(nodes),
                            "nodes": names,
                            "note": entry.get("note", ""),
                        }
                    )
                else:
                    report.unsupported.append(
                        {
                            "op_type": op_type,
                            "count": len(nodes),
                            "nodes": names,
                            "status": status if status == UNSUPPORTED else "not an op the table knows",
                            "candidate_plugins": _plugins.candidates_for(op_type, specs),
                        }
                    )
                if entry.get("restrictions") and status == SUPPORTED:
                    report.notes.append(f"{op_type}: TensorRT restriction: {entry['restrictions']}")
                continue
            spec = by_key.get((domain, op_type))
            if spec is None:
                same_name = [s for s in specs.values() if s.name == op_type]
                why = (
                    f"a plugin {op_type} exists in namespace {same_name[0].namespace!r}, not {domain!r}"
                    if same_name
                    else f"no discovered plugin provides {domain}::{op_type}; install the package that "
                    f"provides it (trt-pdk list shows the discovered ones)"
                )
                report.missing_plugins.append(
                    {"domain": domain, "op_type": op_type, "count": len(nodes), "nodes": names, "why": why}
                )
                continue
            versions = Counter()
            for n in nodes:
                versions[plugin_version_of(n)] += 1
            bad = sorted(v for v in versions if v not in spec.versions)
            if bad:
                report.missing_plugins.append(
                    {
                        "domain": domain,
                        "op_type": op_type,
                        "count": sum(versions[v] for v in bad),
                        "nodes": names,
                        "why": f"plugin_version {', '.join(bad)} is not built for {spec.name} (built: "
                        f"{', '.join(spec.versions)}); run `trt-pdk rewrite --plugin {spec.name}:2`",
                    }
                )
            missing_attr = [n for n in nodes if not any(a.name == "plugin_namespace" for a in n.attribute)]
            if missing_attr:
                report.notes.append(
                    f"{len(missing_attr)} {op_type} node(s) have no plugin_namespace attribute; TensorRT "
                    f"before 10.9 then looks in the empty namespace: run `trt-pdk rewrite`"
                )
            report.plugins.append(
                {"domain": domain, "op_type": op_type, "count": len(nodes), "versions": dict(versions)}
            )

    def _ask_parser(self, path, model, table, version, report: CheckReport) -> None:
        ops = {n.op_type for n in _walk(model.graph) if n.domain in ("", "ai.onnx")}
        from trt_pdk.onnx_stages.coverage import installed_tensorrt_version

        installed = installed_tensorrt_version()
        if installed is not None and table.resolve_version(installed) != version:
            report.parser["skipped"] = (
                f"skipped: the installed TensorRT is {installed}, not {version}; its parser was not asked"
            )
            return
        try:
            data = Path(path).read_bytes() if model.ByteSize() >= 2**31 - 1 else model.SerializeToString()
            report.parser["disagreements"] = parser_disagreements(data, table, version, ops)
        except Skipped as exc:
            report.parser["skipped"] = f"skipped: {exc}"
