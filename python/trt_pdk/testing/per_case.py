"""Checks of one case, at several shapes across its dynamic range: the shape rule, the torch
op's ``opcheck``, and each backend (cpu, cuda, onnx, onnxruntime, tensorrt) against the
PyTorch reference."""

from __future__ import annotations

from typing import Any

from trt_pdk.errors import Skipped, UserError
from trt_pdk.spec import VERSIONS, Case, PluginSpec
from trt_pdk.testing.data import compare, from_numpy, make_inputs, op_binding_of, reference_outputs, to_numpy
from trt_pdk.testing.per_plugin import supported_dtypes
from trt_pdk.testing.results import CheckFailed, Errors


def points_of_case(
    spec: PluginSpec, case: Case, max_input_mib: float | None = None
) -> list[tuple[tuple[tuple[int, ...], ...], list[Any], list[Any]]]:
    attrs = spec.resolve_attrs(case.attrs)
    result = []
    for shapes in case.points():
        inputs = make_inputs(spec, case, shapes, max_input_mib)
        result.append((shapes, inputs, reference_outputs(spec, attrs, inputs)))
    return result


def tolerance_of_case(spec: PluginSpec, case: Case, expected: list[Any]) -> tuple[float, float]:
    from trt_pdk.torch_ops import dtype_name

    tols = [spec.tolerance_for(case, dtype_name(e.dtype)) for e in expected]
    return max(t.atol for t in tols), max(t.rtol for t in tols)


def check_shape_rule(spec: PluginSpec, case: Case, points: list[Any]) -> str:
    """Native shape and dtype rules agree with the reference's outputs at every point."""
    from trt_pdk.torch_ops import dtype_name

    binding = op_binding_of(spec)
    attrs = spec.resolve_attrs(case.attrs)
    supported = {tuple(c) for c in supported_dtypes(binding, attrs, case.num_inputs)}
    for shapes, _inputs, expected in points:
        binding.check_inputs(attrs, [list(s) for s in shapes], list(case.dtypes))
        rule = binding.output_shapes(attrs, [list(s) for s in shapes])
        for i, (dims, e) in enumerate(zip(rule, expected, strict=True)):
            actual = list(e.shape)
            if len(dims) != len(actual) or any(d not in (-1, a) for d, a in zip(dims, actual, strict=True)):
                raise CheckFailed(f"inputs {shapes}: shape rule gives output {i} {dims}, reference {actual}")
        out_dtypes = binding.output_dtypes(attrs, list(case.dtypes))
        ref_dtypes = [dtype_name(e.dtype) for e in expected]
        if out_dtypes != ref_dtypes:
            raise CheckFailed(f"dtype rule gives {out_dtypes}, the reference {ref_dtypes}")
        if (*case.dtypes, *out_dtypes) not in supported:
            raise CheckFailed(f"dtypes {case.dtypes} -> {out_dtypes} are not in supported_dtypes()")
    return f"{len(points)} shape(s): " + ", ".join(str([list(s) for s in p[0]]) for p in points)


def check_opcheck(spec: PluginSpec, case: Case, points: list[Any]) -> str:
    """``torch.library.opcheck`` of the plugin's torch op at every point of the case: schema,
    the shapes-only fake against the real kernel, autograd registration, AOT dispatch with
    dynamic shapes."""
    import torch

    from trt_pdk.torch_ops import register

    op = register(spec).default
    attrs = spec.resolve_attrs(case.attrs)
    for shapes, inputs, _expected in points:
        try:
            torch.library.opcheck(op, tuple(inputs), attrs)
        except Exception as exc:  # OpCheckError and what the fake or kernel raised
            raise CheckFailed(f"opcheck, inputs {shapes}: {type(exc).__name__}: {exc}") from exc
    return f"opcheck passed at {len(points)} point(s)"


def check_cpu(spec: PluginSpec, case: Case, points: list[Any]) -> Errors:
    binding = op_binding_of(spec)
    attrs = spec.resolve_attrs(case.attrs)
    errors = Errors()
    for shapes, inputs, expected in points:
        outputs = binding.cpu(attrs, [to_numpy(t) for t in inputs], list(case.dtypes))
        out_dtypes = binding.output_dtypes(attrs, list(case.dtypes))
        actual = [from_numpy(o, d) for o, d in zip(outputs, out_dtypes, strict=True)]
        errors.update(
            compare(actual, expected, *tolerance_of_case(spec, case, expected), f"cpu, inputs {shapes}")
        )
    return errors


def check_cuda(spec: PluginSpec, case: Case, points: list[Any]) -> Errors:
    import torch

    binding = op_binding_of(spec)
    if not hasattr(binding, "cuda"):
        from trt_pdk.native import REBUILD_CUDA

        raise Skipped(f"{spec.native_module} was built without CUDA; {REBUILD_CUDA}")
    if not torch.cuda.is_available():
        raise Skipped("no CUDA GPU: torch.cuda.is_available() is False")
    from trt_pdk.torch_ops import run_native_cuda

    attrs = spec.resolve_attrs(case.attrs)
    errors = Errors()
    for shapes, inputs, expected in points:
        outputs = run_native_cuda(spec, binding, [t.cuda() for t in inputs], attrs)
        torch.cuda.synchronize()
        errors.update(
            compare(outputs, expected, *tolerance_of_case(spec, case, expected), f"cuda, inputs {shapes}")
        )
    return errors


def dynamic_dims(case: Case) -> list[list[int | str]]:
    """Per input: its dims, a symbol (``in<i>_d<k>``) for each dynamic axis of the case."""
    dims: list[list[int | str]] = []
    for i, r in enumerate(case.shapes):
        dims.append([f"in{i}_d{k}" if k in r.dynamic_axes else r.min[k] for k in range(r.rank)])
    return dims


def check_onnx(spec: PluginSpec, case: Case, points: list[Any]) -> Errors:
    """A one-node graph with dynamic dims passes onnx.checker, infers types, runs on CPU."""
    import ml_dtypes
    import numpy as np

    from trt_pdk import onnx_cpu
    from trt_pdk.onnx_export import DTYPE_NAMES, one_node_model
    from trt_pdk.torch_ops import dtype_name

    attrs = spec.resolve_attrs(case.attrs)
    model = one_node_model(
        spec, dynamic_dims(case), list(case.dtypes), attrs, plugin_version=spec.versions[-1]
    )
    inferred = [DTYPE_NAMES.get(o.type.tensor_type.elem_type) for o in model.graph.output]
    run = onnx_cpu.evaluator(model, [spec])
    errors = Errors()
    for shapes, inputs, expected in points:
        if inferred != [dtype_name(e.dtype) for e in expected]:
            raise CheckFailed(
                f"ONNX type inference gives {inferred}, the reference {[str(e.dtype) for e in expected]}"
            )
        feeds = {}
        for t, x, d in zip(spec.case_inputs(case), inputs, case.dtypes, strict=True):
            a = to_numpy(x)
            feeds[t.name] = a.view(ml_dtypes.bfloat16) if d == "bfloat16" else a
        outputs = run.run(None, feeds)
        actual = []
        for out, d in zip(outputs, inferred, strict=True):
            o = np.asarray(out)
            actual.append(from_numpy(o.view(np.uint16) if d == "bfloat16" else o, d))
        errors.update(
            compare(actual, expected, *tolerance_of_case(spec, case, expected), f"onnx, inputs {shapes}")
        )
    return errors


def _float_io(model: Any) -> Any:
    """`model` with its bfloat16 inputs and outputs exchanged as float32 (Cast nodes around).

    onnxruntime's Python API has no bfloat16 arrays; float32 holds every bfloat16 exactly.
    """
    from onnx import TensorProto, helper

    bf16, f32 = TensorProto.BFLOAT16, TensorProto.FLOAT
    graph = model.graph
    casts_in, casts_out = [], []
    for value in graph.input:
        if value.type.tensor_type.elem_type == bf16:
            inner = f"{value.name}__bf16"
            for node in graph.node:
                node.input[:] = [inner if n == value.name else n for n in node.input]
            casts_in.append(helper.make_node("Cast", [value.name], [inner], to=bf16))
            value.type.tensor_type.elem_type = f32
    for value in graph.output:
        if value.type.tensor_type.elem_type == bf16:
            inner = f"{value.name}__bf16"
            for node in graph.node:
                node.output[:] = [inner if n == value.name else n for n in node.output]
            casts_out.append(helper.make_node("Cast", [inner], [value.name], to=f32))
            value.type.tensor_type.elem_type = f32
    nodes = [*casts_in, *graph.node, *casts_out]
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def check_onnxruntime(spec: PluginSpec, case: Case, points: list[Any]) -> Errors:
    """The one-node graph runs in plain onnxruntime through the spec's ONNX function body."""
    if spec.onnx_function is None:
        raise Skipped(f"{spec.name} declares no ONNX function body (PluginSpec.onnx_function)")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise Skipped("onnxruntime is not installed (pip install onnxruntime)") from None
    import numpy as np
    import torch

    from trt_pdk.onnx_export import one_node_model
    from trt_pdk.onnx_stages.functions import with_cpu_functions

    attrs = spec.resolve_attrs(case.attrs)
    model = one_node_model(
        spec, dynamic_dims(case), list(case.dtypes), attrs, plugin_version=spec.versions[-1]
    )
    model, _ = with_cpu_functions(_float_io(model), [spec])
    from trt_pdk.execution.sessions import onnxruntime_session

    session = onnxruntime_session(model)
    errors = Errors()
    for shapes, inputs, expected in points:
        feeds = {
            t.name: to_numpy(x.float() if x.dtype == torch.bfloat16 else x)
            for t, x in zip(spec.case_inputs(case), inputs, strict=True)
        }
        outputs = session.run(None, feeds)
        # bfloat16 outputs come back as float32 holding bfloat16 values: exact to convert.
        actual = [torch.from_numpy(np.array(o)).to(e.dtype) for o, e in zip(outputs, expected, strict=True)]
        what = f"onnxruntime, inputs {shapes}"
        errors.update(compare(actual, expected, *tolerance_of_case(spec, case, expected), what))
    return errors


def check_tensorrt(spec: PluginSpec, case: Case, points: list[Any], version: str) -> Errors:
    """Builds an engine from a one-node graph (profile = the case's range) and runs it."""
    from trt_pdk.engine import EngineRunner, require_tensorrt, serialized_engine_from_onnx
    from trt_pdk.onnx_export import one_node_model

    require_tensorrt()
    import torch

    if not torch.cuda.is_available():
        raise Skipped("no CUDA GPU: torch.cuda.is_available() is False")
    from trt_pdk.native import load_plugins

    try:
        load_plugins(sorted({spec.library_package}))
    except UserError as exc:
        raise Skipped(str(exc)) from None
    attrs = spec.resolve_attrs(case.attrs)
    model = one_node_model(spec, dynamic_dims(case), list(case.dtypes), attrs, plugin_version=version)
    built = serialized_engine_from_onnx(
        model.SerializeToString(), case_profiles(spec, case), workspace_mib=1024
    )
    runner = EngineRunner(built.plan)
    errors = Errors()
    for shapes, inputs, expected in points:
        feeds = {t.name: x.cuda() for t, x in zip(spec.case_inputs(case), inputs, strict=True)}
        outputs = runner.run(feeds)
        what = f"tensorrt {VERSIONS[version]}, inputs {shapes}"
        errors.update(compare(outputs, expected, *tolerance_of_case(spec, case, expected), what))
    return errors


def case_profiles(spec: PluginSpec, case: Case, splits: int = 1) -> list[dict[str, dict[str, list[int]]]]:
    """Optimization profiles covering the case's shape range, for the dynamic inputs only.

    ``splits`` profiles cut each dynamic range at ``k / splits`` (``ShapeRange.at``), so
    consecutive profiles share their boundary shape; one profile is the case's own
    min/opt/max. Static inputs keep the dims the graph declares. No dynamic input: [].
    """
    dynamic = [(t, r) for t, r in zip(spec.case_inputs(case), case.shapes, strict=True) if r.dynamic_axes]
    if not dynamic:
        return []
    if splits == 1:
        return [{t.name: {"min": list(r.min), "opt": list(r.opt), "max": list(r.max)} for t, r in dynamic}]
    return [
        {
            t.name: {
                "min": list(r.at(k / splits)),
                "opt": list(r.at((k + 0.5) / splits)),
                "max": list(r.at((k + 1) / splits)),
            }
            for t, r in dynamic
        }
        for k in range(splits)
    ]
