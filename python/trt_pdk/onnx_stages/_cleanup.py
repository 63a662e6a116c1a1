"""After a rewrite: which matches may go, and what the graph no longer needs."""

from __future__ import annotations

from collections import Counter

import onnx

from trt_pdk.onnx_stages import _model
from trt_pdk.onnx_stages._graph_index import GraphIndex, outer_references


def escapes(index: GraphIndex, matched: dict[str, int], anchor: int) -> str | None:
    """A reason when a tensor inside the match is also used outside it (or is a graph output)."""
    inside = set(matched.values())
    internal_uses: Counter[str] = Counter()
    for j in inside:
        for name in index.nodes[j].input:
            internal_uses[name] += 1
    for j in inside:
        if j == anchor:
            continue
        for out in index.nodes[j].output:
            if out and index.uses[out] != internal_uses[out]:
                return f"the intermediate tensor {out!r} is also used outside the pattern"
    anchor_node = index.nodes[anchor]
    for out in anchor_node.output[1:]:
        if out and index.uses[out]:
            return f"the second output {out!r} of {anchor_node.op_type} is used"
    return None


def live_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> tuple[list[onnx.NodeProto], int]:
    """Drops nodes none of whose outputs reach a graph output (one reverse sweep)."""
    live = {o.name for o in graph.output}
    keep: list[onnx.NodeProto] = []
    for node in reversed(nodes):
        if not any(o in live for o in node.output if o):
            continue
        keep.append(node)
        live.update(n for n in node.input if n)
        for sub in _model.subgraphs(node):
            live |= outer_references(sub)
    keep.reverse()
    return keep, len(nodes) - len(keep)


def prune(graph: onnx.GraphProto) -> None:
    """Removes initializers nothing reads and value_info of tensors that no longer exist."""
    used: set[str] = {o.name for o in graph.output}
    produced: set[str] = set()
    for node in graph.node:
        used.update(node.input)
        produced.update(node.output)
        for sub in _model.subgraphs(node):
            used |= outer_references(sub)
    inputs = {i.name for i in graph.input}
    if any(t.name not in used for t in graph.initializer):
        kept = [t for t in graph.initializer if t.name in used or t.name in inputs]
        graph.ClearField("initializer")
        graph.initializer.extend(kept)
    if any(v.name not in produced for v in graph.value_info):
        kept_vi = [v for v in graph.value_info if v.name in produced]
        graph.ClearField("value_info")
        graph.value_info.extend(kept_vi)
