"""Writes tests/cpp/adapter_cases.txt: the plugin nodes our export and rewrite emit, as the
fields TensorRT's ONNX parser would hand a creator, plus every spec case's shapes and dtypes.

The C++ tests read it (test_trt_adapters `parser` mode creates each plugin from these fields;
adapter_enqueue runs each case point on the GPU). tests/test_adapter_cases.py regenerates it
and fails when the committed file is stale:

    python tests/cpp/adapter_cases.py tests/cpp/adapter_cases.txt

Nodes come from real ONNX files: the dynamo export (``trt_pdk.onnx_export.export`` of a
module calling the plugin's torch op) and the rewrite's node builder
(``onnx_stages.rewrite.plugin_node_attributes``), saved and read back with ``onnx``.

Attribute -> PluginField follows onnx-tensorrt's fallback plugin importer, main at
7ecb49a435bd881b9ac4011450315192885e5cc3 (github.com/onnx/onnx-tensorrt):
- onnxOpImporters.cpp:6359-6377 FallbackPluginImporter: the creator is looked up by
  (node.op_type, attr plugin_version default "1", attr plugin_namespace default "")
  (importerUtils.cpp:878-900 importPluginCreator -> IPluginRegistry::getCreator). Lookup by
  the node's domain, which the issue dates to TensorRT 10.10, is not in that snapshot (the
  newest stored onnx-tensorrt ref is 10.1-GA); our nodes carry domain == plugin_namespace,
  so both lookups agree.
- onnxOpImporters.cpp:6197-6206 addPluginWithCreator: only the creator's getFieldNames()
  names are read (loadFields), absent ones are skipped with a warning (6081-6088).
- onnxOpImporters.cpp:6097-6140 loadFields: FLOAT -> kFLOAT32 (1), INT -> kINT32 (1, the
  int64 value cast to int32), STRING -> kCHAR with the bytes plus a NUL (length counts it,
  copyField at 6045-6053), FLOATS -> kFLOAT32 (n), INTS -> kINT32 (n), STRINGS -> kCHAR
  (each NUL-terminated), TENSOR by element type; other attribute types are an error.

Format, one record per line, tokens separated by spaces (names never hold spaces):
    node <source> <op_type> <domain> <case>
    field <name> <PluginFieldType> <length> <hex bytes or ->
    tolerance <atol> <rtol>                   the spec's, for the case's dtypes (export nodes only)
    point <n> (<dtype> <rank> <dims...>)*n    the case's points (export nodes only)
    data <input index> <hex bytes>          values a spec generator made (e.g. sorted boundaries)
    end
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

# loadFields' TENSOR element types (onnxOpImporters.cpp:6128-6137).
_TENSOR_FIELD_TYPES = {
    TensorProto.FLOAT: "FLOAT32",
    TensorProto.INT8: "INT8",
    TensorProto.INT16: "INT16",
    TensorProto.INT32: "INT32",
    TensorProto.FLOAT16: "FLOAT16",
    TensorProto.BFLOAT16: "BF16",
    TensorProto.DOUBLE: "FLOAT64",
}


def parser_field(attr: AttributeProto) -> tuple[str, int, bytes]:
    """(PluginFieldType name, length, bytes) as onnx-tensorrt's loadFields makes them.

    Types loadFields rejects give ("UNSUPPORTED", 0, b"").
    """
    if attr.type == AttributeProto.FLOAT:
        return "FLOAT32", 1, np.float32(attr.f).tobytes()
    if attr.type == AttributeProto.INT:
        return "INT32", 1, np.int64(attr.i).astype(np.int32).tobytes()
    if attr.type == AttributeProto.STRING:
        return "CHAR", len(attr.s) + 1, attr.s + b"\x00"
    if attr.type == AttributeProto.FLOATS:
        return "FLOAT32", len(attr.floats), np.asarray(attr.floats, np.float32).tobytes()
    if attr.type == AttributeProto.INTS:
        return "INT32", len(attr.ints), np.asarray(attr.ints, np.int64).astype(np.int32).tobytes()
    if attr.type == AttributeProto.STRINGS:
        data = b"".join(s + b"\x00" for s in attr.strings)
        return "CHAR", len(data), data
    if attr.type == AttributeProto.TENSOR and attr.t.data_type in _TENSOR_FIELD_TYPES:
        array = numpy_helper.to_array(attr.t)
        return _TENSOR_FIELD_TYPES[attr.t.data_type], int(array.size), array.tobytes()
    return "UNSUPPORTED", 0, b""


def _export_node(spec: Any, case: Any, version: str) -> onnx.NodeProto:
    """The plugin node of a dynamo export of one torch-op call, read back from its file."""
    import torch

    from trt_pdk import onnx_export, torch_ops
    from trt_pdk.testing.harness import make_inputs

    op = torch_ops.register(spec)
    attrs = spec.resolve_attrs(case.attrs)
    # Export needs no data-dependent sizes: the largest point, empty dims made 2 throughout.
    shapes = tuple(tuple(d if d > 0 else 2 for d in s.max) for s in case.shapes)
    inputs = make_inputs(spec, case, shapes)

    class Call(torch.nn.Module):
        def forward(self, *tensors):
            return op(*tensors, **attrs)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        onnx_export.export(Call(), tuple(inputs), str(path), specs=[spec], plugin_version=version)
        model = onnx.load(str(path))
    (node,) = [n for n in model.graph.node if n.op_type == spec.name and n.domain == spec.namespace]
    return node


def _rewrite_node(spec: Any, case: Any, version: str) -> onnx.NodeProto:
    """The node the rewrite builds for these attributes, saved and read back."""
    from trt_pdk.onnx_stages.rewrite import plugin_node_attributes

    present = spec.present_inputs(case.num_inputs)
    node = helper.make_node(
        spec.name, [t.name for t in present], [t.name for t in spec.outputs], domain=spec.namespace
    )
    node.attribute.extend(plugin_node_attributes(spec, version, dict(case.attrs)))
    return onnx.NodeProto.FromString(node.SerializeToString())


def _point_line(case: Any, shapes: tuple[tuple[int, ...], ...]) -> str:
    parts = [str(len(shapes))]
    for dtype, shape in zip(case.dtypes, shapes, strict=True):
        parts += [dtype, str(len(shape)), *map(str, shape)]
    return "point " + " ".join(parts)


def _tolerance(spec: Any, case: Any) -> tuple[float, float]:
    """The spec's tolerance for the case's dtypes (outputs take their input's dtype or are exact)."""
    tolerances = []
    for dtype in set(case.dtypes):
        try:
            tolerances.append(spec.tolerance_for(case, dtype))
        except KeyError:  # a dtype with no tolerance entry is compared exactly
            continue
    return max([t.atol for t in tolerances], default=0.0), max([t.rtol for t in tolerances], default=0.0)


def _points(spec: Any, case: Any, make_inputs: Any, torch: Any) -> list[str]:
    lines = []
    for shapes in case.points():
        lines.append(_point_line(case, shapes))
        for index, tensor in enumerate(spec.case_inputs(case)):
            if tensor.generator is not None:
                value = make_inputs(spec, case, shapes)[index].contiguous().reshape(-1)
                lines.append(f"data {index} {value.view(torch.uint8).numpy().tobytes().hex() or '-'}")
    return lines


def records(specs: list[Any]) -> list[str]:
    import torch

    from trt_pdk.testing.harness import make_inputs

    lines: list[str] = []
    exported: dict[tuple[Any, ...], onnx.NodeProto] = {}
    for spec in specs:
        for case in spec.cases:
            for version in spec.versions:
                # One export per distinct node: attributes and input count (dtypes and shapes
                # do not enter a node's attributes).
                key = (spec.name, version, tuple(sorted(case.attrs.items())), case.num_inputs)
                if key not in exported:
                    exported[key] = _export_node(spec, case, version)
                for source, node in (
                    ("export", exported[key]),
                    ("rewrite", _rewrite_node(spec, case, version)),
                ):
                    lines.append(f"node {source} {node.op_type} {node.domain} {case.name}")
                    for attr in node.attribute:
                        kind, length, data = parser_field(attr)
                        lines.append(f"field {attr.name} {kind} {length} {data.hex() or '-'}")
                    if source == "export":  # the case's points once per plugin version
                        lines.append("tolerance {} {}".format(*_tolerance(spec, case)))
                        lines += _points(spec, case, make_inputs, torch)
                    lines.append("end")
    return lines


def main(out: str) -> None:
    from trt_pdk.registry import discover

    specs = [s for _, s in sorted(discover().items()) if s.namespace == "trt_pdk"]
    header = "# Generated by tests/cpp/adapter_cases.py; do not edit (tests/test_adapter_cases.py checks it)."
    Path(out).write_text("\n".join([header, *records(specs)]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
