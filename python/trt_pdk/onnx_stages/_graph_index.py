"""Producers, uses and constants of one ONNX graph, built in one pass (for the rewrite)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
from onnx import numpy_helper

from trt_pdk.onnx_stages import _model

# Standard ops with graph attributes; other standard ops are not scanned for subgraphs.
_CONTROL_FLOW = frozenset({"If", "Loop", "Scan", "SequenceMap"})


class GraphIndex:
    """Producers, uses and constants of one graph, built in one pass."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.nodes = list(graph.node)
        self.op_types = [n.op_type for n in self.nodes]
        self._inputs: dict[int, list[str]] = {}
        self.producer: dict[str, int] = {}
        self.uses: Counter[str] = Counter()
        self.const_nodes: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            for out in node.output:
                if out:
                    self.producer[out] = i
            for name in node.input:
                if name:
                    self.uses[name] += 1
            op_type = self.op_types[i]
            if op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.const_nodes[node.output[0]] = i
            if op_type not in _CONTROL_FLOW and node.domain in ("", "ai.onnx"):
                continue
            for sub in _model.subgraphs(node):
                for name in outer_references(sub):
                    self.uses[name] += 1
        for out in graph.output:
            self.uses[out.name] += 1
        self.initializers = {t.name: t for t in graph.initializer}
        self.graph_inputs = {i.name for i in graph.input}
        self._values: dict[str, np.ndarray | None] = {}
        self._types: dict[str, tuple[int | None, int | None]] | None = None

    def inputs(self, i: int) -> list[str]:
        """Node `i`'s inputs without trailing empty (omitted optional) ones; cached."""
        found = self._inputs.get(i)
        if found is None:
            found = list(self.nodes[i].input)
            while found and not found[-1]:
                found.pop()
            self._inputs[i] = found
        return found

    def const_value(self, name: str) -> np.ndarray | None:
        if name in self._values:
            return self._values[name]
        value = None
        if name in self.initializers and name not in self.graph_inputs:
            value = _model.tensor_array(self.initializers[name])
        elif name in self.const_nodes:
            node = self.nodes[self.const_nodes[name]]
            attrs = {a.name: a for a in node.attribute}
            if "value" in attrs:
                value = numpy_helper.to_array(attrs["value"].t)
            elif "value_float" in attrs:
                value = np.array(attrs["value_float"].f, dtype=np.float32)
            elif "value_int" in attrs:
                value = np.array(attrs["value_int"].i, dtype=np.int64)
            elif "value_floats" in attrs:
                value = np.array(list(attrs["value_floats"].floats), dtype=np.float32)
            elif "value_ints" in attrs:
                value = np.array(list(attrs["value_ints"].ints), dtype=np.int64)
        self._values[name] = value
        return value

    def _type_map(self) -> dict[str, tuple[int | None, int | None]]:
        if self._types is None:
            types: dict[str, tuple[int | None, int | None]] = {}
            for vi in (*self.graph.input, *self.graph.value_info, *self.graph.output):
                tt = vi.type.tensor_type
                elem = tt.elem_type or None
                rank = len(tt.shape.dim) if tt.HasField("shape") else None
                types[vi.name] = (elem, rank)
            for t in self.graph.initializer:
                types[t.name] = (t.data_type, len(t.dims))
            self._types = types
        return self._types

    def rank(self, name: str) -> int | None:
        return self._type_map().get(name, (None, None))[1]

    def dtype(self, name: str) -> int | None:
        return self._type_map().get(name, (None, None))[0]


def outer_references(graph: onnx.GraphProto) -> set[str]:
    """Names a subgraph reads that it does not define (references to the outer graph)."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(n for n in node.input if n)
        for sub in _model.subgraphs(node):
            used |= outer_references(sub)
        defined.update(node.output)
    used.update(o.name for o in graph.output)
    return used - defined
