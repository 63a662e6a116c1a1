"""Real engines with every discovered plugin, two optimization profiles each (TensorRT only).

Generic over ``trt_pdk.registry.discover()``: per plugin and plugin version (V2 and V3),
a one-node graph from the plugin's first case with a dynamic input, its range split into
two profiles, the engine run in each profile on the harness's inputs and compared with the
PyTorch reference. Then one model holding a node of every plugin goes through the
pipeline's engine stage (``engine_io.json`` included) and runs in both profiles.
"""

from __future__ import annotations

import pytest

from trt_pdk.registry import discover
from trt_pdk.spec import VERSIONS

pytestmark = [pytest.mark.tensorrt, pytest.mark.cuda]

SPECS = discover()
SPLITS = 2
VERSIONED = [(name, v) for name, spec in SPECS.items() for v in spec.versions]


def _env():
    pytest.importorskip("tensorrt", reason="TensorRT is not installed here")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to torch")
    from trt_pdk.errors import UserError
    from trt_pdk.native import load_plugins

    try:
        load_plugins(sorted({s.library_package for s in SPECS.values()}))
    except UserError as exc:
        pytest.skip(str(exc))


def _dynamic_case(spec):
    case = next((c for c in spec.cases if any(r.dynamic_axes for r in c.shapes)), None)
    if case is None:
        pytest.skip(f"no case of {spec.name} has a dynamic input, so it cannot have {SPLITS} profiles")
    return case


def _points(case, k):
    """Input shapes inside profile k of ``case_profiles(spec, case, SPLITS)``: its min, opt and max."""
    ts = (k / SPLITS, (k + 0.5) / SPLITS, (k + 1) / SPLITS)
    shapes = [tuple(r.at(t) for r in case.shapes) for t in ts]
    return list(dict.fromkeys(shapes))


def _check_outputs(spec, case, inputs, outputs, what):
    from trt_pdk.testing.harness import compare
    from trt_pdk.torch_ops import dtype_name, run_reference

    expected = run_reference(spec, [t.clone() for t in inputs], spec.resolve_attrs(case.attrs))
    tols = [spec.tolerance_for(case, dtype_name(e.dtype)) for e in expected]
    compare(outputs, expected, max(t.atol for t in tols), max(t.rtol for t in tols), what)


@pytest.mark.parametrize(("name", "version"), VERSIONED, ids=[f"{n}-{VERSIONS[v]}" for n, v in VERSIONED])
def test_each_plugin_one_node_graph_in_each_profile(name, version):
    _env()
    from trt_pdk.engine import EngineRunner, serialized_engine_from_onnx
    from trt_pdk.onnx_export import one_node_model
    from trt_pdk.testing.harness import case_profiles, dynamic_dims, make_inputs

    spec = SPECS[name]
    case = _dynamic_case(spec)
    attrs = spec.resolve_attrs(case.attrs)
    model = one_node_model(spec, dynamic_dims(case), list(case.dtypes), attrs, plugin_version=version)
    profiles = case_profiles(spec, case, SPLITS)
    built = serialized_engine_from_onnx(model.SerializeToString(), profiles, workspace_mib=1024)
    assert built.io.num_profiles == SPLITS
    assert [i.name for i in built.io.inputs] == [t.name for t in spec.inputs]
    assert [o.name for o in built.io.outputs] == [t.name for t in spec.outputs]
    runner = EngineRunner(built.plan)
    assert runner.num_profiles == SPLITS
    for k in range(SPLITS):
        for shapes in _points(case, k):
            inputs = make_inputs(spec, case, shapes)
            outputs = runner.run({t.name: x.cuda() for t, x in zip(spec.inputs, inputs, strict=True)}, k)
            _check_outputs(spec, case, inputs, outputs, f"{name} {VERSIONS[version]} profile {k} {shapes}")


def _every_plugin_model(path):
    """One graph with one node of each plugin (V3), each on its own inputs; its profiles."""
    import onnx
    from onnx import compose, helper

    from trt_pdk.onnx_export import one_node_model
    from trt_pdk.testing.harness import case_profiles, dynamic_dims

    parts, profiles = [], [{} for _ in range(SPLITS)]
    for i, spec in enumerate(SPECS.values()):
        case = next((c for c in spec.cases if any(r.dynamic_axes for r in c.shapes)), None)
        if case is None:
            continue
        prefix = f"n{i}_"
        m = one_node_model(
            spec, dynamic_dims(case), list(case.dtypes), spec.resolve_attrs(case.attrs), plugin_version="2"
        )
        parts.append((prefix, spec, case, compose.add_prefix(m, prefix)))
        for k, prof in enumerate(case_profiles(spec, case, SPLITS)):
            profiles[k].update({prefix + n: r for n, r in prof.items()})
    if not parts:
        pytest.skip("no discovered plugin has a case with a dynamic input")
    opsets: dict[str, int] = {}
    for *_, m in parts:
        for o in m.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
    graph = helper.make_graph(
        [n for *_, m in parts for n in m.graph.node],
        "every_plugin",
        [vi for *_, m in parts for vi in m.graph.input],
        [vi for *_, m in parts for vi in m.graph.output],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())],
        ir_version=parts[0][3].ir_version,
    )
    onnx.save(model, str(path))
    return parts, profiles


def test_engine_stage_with_every_plugin_in_each_profile(tmp_path):
    _env()
    import torch

    from trt_pdk.engine import EngineIO, EngineRunner, engine_from_onnx
    from trt_pdk.testing.harness import make_inputs

    parts, profiles = _every_plugin_model(tmp_path / "model.onnx")
    run = tmp_path / "run"
    result = engine_from_onnx(tmp_path / "model.onnx", profiles, run, precision="fp32")()
    io = EngineIO.from_json(run / "fp32" / "engine_io.json")
    assert io.num_profiles == SPLITS and io.tensorrt_version
    assert {i.name for i in io.inputs} == {prefix + t.name for prefix, spec, *_ in parts for t in spec.inputs}
    runner = EngineRunner((run / result.engines["fp32"]).read_bytes())
    for k in range(SPLITS):
        feeds, per_node = {}, []
        for prefix, spec, case, _ in parts:
            shapes = _points(case, k)[-1]
            inputs = make_inputs(spec, case, shapes)
            feeds.update({prefix + t.name: x.cuda() for t, x in zip(spec.inputs, inputs, strict=True)})
            per_node.append((prefix, spec, case, inputs, shapes))
        outputs = dict(zip(runner.output_names, runner.run(feeds, k), strict=True))
        torch.cuda.synchronize()
        for prefix, spec, case, inputs, shapes in per_node:
            got = [outputs[prefix + t.name] for t in spec.outputs]
            _check_outputs(
                spec, case, inputs, got, f"{spec.name} in the stage's engine, profile {k} {shapes}"
            )
