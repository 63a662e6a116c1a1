"""The generic op test harness: every check for every case of every plugin.

Per plugin: the C++ fields equal the spec's attributes, the versions agree, attributes
serialize and deserialize, bad values and corrupt bytes are rejected. Per case, for
several input shapes across the case's dynamic range (min, opt, mid, max): the shape and
dtype rules match the PyTorch reference, and each backend's outputs match the PyTorch
reference within the case's tolerance: ``cpu`` (native CPU reference), ``cuda`` (the
plugin's kernel), ``onnx`` (a one-node graph on ``onnx.reference``), ``onnxruntime`` (the
one-node graph in plain onnxruntime through the spec's ``onnx_function`` body),
``tensorrt`` (an engine from a one-node graph, once per plugin version).

Used by ``trt-pdk test`` and by ``tests/test_plugins.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from trt_pdk.errors import Skipped, UserError
from trt_pdk.spec import VERSIONS, Case, PluginSpec, format_number

PASS, FAIL, SKIP = "pass", "fail", "skip"
CASE_CHECKS = ("shape_rule", "cpu", "cuda", "onnx", "onnxruntime", "tensorrt")
PLUGIN_CHECKS = ("fields", "versions", "serialize", "bad_input")


@dataclass
class CheckResult:
    """One check's outcome; errors and tolerances are set for numeric comparisons."""

    plugin: str
    case: str
    check: str
    status: str
    detail: str = ""
    max_abs: float | None = None
    max_rel: float | None = None
    atol: float | None = None
    rtol: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CheckFailed(AssertionError):  # noqa: N818 - reads as a status, like errors.Skipped
    """A check found a real disagreement."""


@dataclass
class Errors:
    max_abs: float = 0.0
    max_rel: float = 0.0

    def update(self, other: Errors) -> None:
        self.max_abs = max(self.max_abs, other.max_abs)
        self.max_rel = max(self.max_rel, other.max_rel)


# ---- data ------------------------------------------------------------------------------


def make_inputs(
    spec: PluginSpec, case: Case, shapes: tuple[tuple[int, ...], ...], max_input_mib: float | None = None
) -> list[Any]:
    """Random CPU tensors for one point: normal floats, small integers, seeded per case.

    One tensor per input the case gives (absent optional inputs are left out).
    """
    import numpy as np
    import torch

    from trt_pdk.execution.inputs import DEFAULT_MAX_INPUT_MIB, check_input_bytes
    from trt_pdk.torch_ops import TORCH_DTYPES

    # Bounded like every input generator of the kit: a case whose ranges ask for more
    # than the limit is refused before anything is allocated.
    names = [t.name for t in spec.case_inputs(case)]
    check_input_bytes(
        dict(zip(names, shapes, strict=True)),
        {n: np.dtype("uint16" if d == "bfloat16" else d) for n, d in zip(names, case.dtypes, strict=True)},
        DEFAULT_MAX_INPUT_MIB if max_input_mib is None else max_input_mib,
    )
    generator = torch.Generator().manual_seed(case.seed * 1000 + sum(sum(s) for s in shapes))
    tensors = []
    for tensor, shape, dtype in zip(spec.case_inputs(case), shapes, case.dtypes, strict=True):
        if tensor.generator is not None:
            t = tensor.generator(shape, dtype, generator)
            if tuple(t.shape) != tuple(shape) or t.dtype != TORCH_DTYPES[dtype]:
                raise CheckFailed(
                    f"the generator of input {tensor.name!r} returned {tuple(t.shape)} {t.dtype}, "
                    f"expected {tuple(shape)} {dtype}"
                )
            tensors.append(t)
            continue
        if dtype in ("float32", "float16", "bfloat16"):
            t = torch.randn(shape, generator=generator, dtype=torch.float32)
        elif dtype == "bool":
            t = torch.randint(0, 2, shape, generator=generator) > 0
        else:
            t = torch.randint(-8 if dtype != "uint8" else 0, 8, shape, generator=generator)
        tensors.append(t.to(TORCH_DTYPES[dtype]))
    return tensors


def to_numpy(tensor: Any) -> Any:
    """A CPU tensor as the native core takes it (bfloat16 as uint16)."""
    import numpy as np
    import torch

    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.uint16)
    return tensor.numpy()


def from_numpy(array: Any, dtype: str) -> Any:
    import numpy as np
    import torch

    array = np.asarray(array, order="C")  # keeps 0-D arrays 0-D (ascontiguousarray does not)
    if dtype == "bfloat16":
        return torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(array.copy())


def compare(actual: list[Any], expected: list[Any], atol: float, rtol: float, what: str) -> Errors:
    """Compares tensors elementwise; raises CheckFailed with the worst element otherwise."""
    from trt_pdk.execution.compare import compare_arrays

    errors = Errors()
    if len(actual) != len(expected):
        raise CheckFailed(f"{what}: {len(actual)} outputs, expected {len(expected)}")
    for i, (a_in, e_in) in enumerate(zip(actual, expected, strict=True)):
        a = a_in.detach().cpu()
        e = e_in.detach().cpu()
        if tuple(a.shape) != tuple(e.shape):
            raise CheckFailed(f"{what}: output {i} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
        if a.dtype != e.dtype:
            raise CheckFailed(f"{what}: output {i} has dtype {a.dtype}, expected {e.dtype}")
        if a.numel() == 0:
            continue
        # The execution layer's comparator: one tolerance rule and one NaN rule everywhere.
        error = compare_arrays(f"output {i}", a.double().numpy(), e.double().numpy(), atol, rtol)
        if error.nan_mismatches:
            raise CheckFailed(f"{what}: output {i} has NaN where the reference has none (or the reverse)")
        errors.update(Errors(error.max_abs, error.max_rel))
        if not error.ok:
            raise CheckFailed(
                f"{what}: output {i} differs {error.reason} (max abs err {error.max_abs:.3g}, max rel err "
                f"{error.max_rel:.3g}; tolerance atol {atol:g}, rtol {rtol:g}; {error.mismatches} of "
                f"{a.numel()} elements out of tolerance)"
            )
    return errors


def _binding(spec: PluginSpec) -> Any:
    from trt_pdk.native import op_binding

    return op_binding(spec)


def _reference(spec: PluginSpec, attrs: dict[str, Any], inputs: list[Any]) -> list[Any]:
    from trt_pdk.torch_ops import run_reference

    return run_reference(spec, [t.clone() for t in inputs], attrs)


# ---- per-plugin checks -----------------------------------------------------------------


def check_fields(spec: PluginSpec) -> str:
    """The C++ field list equals the spec's attributes: names, order, types, defaults, ranges."""
    import numpy as np

    fields = _binding(spec).fields()
    cpp = [f["name"] for f in fields]
    py = [a.name for a in spec.attrs]
    if cpp != py:
        raise CheckFailed(f"C++ declares attributes {cpp} but the Python spec has {py}")
    for f, a in zip(fields, spec.attrs, strict=True):
        if f["type"] != a.type:
            raise CheckFailed(f"attribute {a.name!r}: C++ type {f['type']}, Python spec type {a.type}")
        if f["range"] != a.range_text():
            raise CheckFailed(
                f"attribute {a.name!r}: C++ range {f['range']}, Python spec range {a.range_text()}"
            )
        if a.type == "float32":
            same = np.float32(float(f["default"])) == np.float32(a.default)
        elif a.type == "int32":
            same = int(f["default"]) == a.default
        else:
            same = f["default"] == a.default
        if not same:
            raise CheckFailed(
                f"attribute {a.name!r}: C++ default {f['default']}, Python spec default {a.default!r}"
            )
    defaults = _binding(spec).validate({})
    for a in spec.attrs:
        if a.type == "float32" and np.float32(defaults[a.name]) != np.float32(a.default):
            raise CheckFailed(
                f"attribute {a.name!r}: C++ validate() fills {defaults[a.name]}, spec {a.default}"
            )
    libraries = _library_fields(spec)
    for where, lib_fields in libraries:
        got = [(f["name"], f["type"], f["range"]) for f in lib_fields]
        want = [(a.name, a.type, a.range_text()) for a in spec.attrs]
        if got != want:
            raise CheckFailed(f"{where} declares fields {got}, the Python spec {want}")
    where = f" (also in {', '.join(w for w, _ in libraries)})" if libraries else ""
    return f"{len(fields)} field(s) agree{where}: " + ", ".join(
        f"{a.name}:{a.type}={a.default!r} {a.range_text()}" for a in spec.attrs
    )


def _library_fields(spec: PluginSpec) -> list[tuple[str, list[dict[str, Any]]]]:
    """Field lists the built plugin libraries report for `spec` (via pdkLibraryInfo)."""
    from trt_pdk.native import library_info, plugin_libraries

    found = []
    for path in plugin_libraries(spec.library_package).values():
        for plugin in library_info(path).get("plugins", []):
            if plugin["name"] == spec.name:
                versions = sorted(plugin.get("versions", []))
                if versions != list(spec.versions):
                    raise CheckFailed(
                        f"{path.name} builds versions {versions}, the spec {list(spec.versions)}"
                    )
                if "fields" in plugin:
                    found.append((path.name, plugin["fields"]))
                break
        else:
            raise CheckFailed(f"{path.name} has no plugin {spec.name}; rebuild the package")
    return found


def check_versions(spec: PluginSpec) -> str:
    binding = _binding(spec)
    if bool(binding.has_v2) != spec.has_v2:
        raise CheckFailed(f"C++ has_v2={binding.has_v2} but the spec declares versions {list(spec.versions)}")
    if binding.num_inputs != len(spec.inputs) or binding.num_outputs != len(spec.outputs):
        raise CheckFailed(
            f"C++ has {binding.num_inputs} inputs/{binding.num_outputs} outputs, the spec "
            f"{len(spec.inputs)}/{len(spec.outputs)}"
        )
    cpp_optional = int(getattr(binding, "num_optional_inputs", 0))
    if cpp_optional != spec.num_optional_inputs:
        optional = [t.name for t in spec.inputs if t.optional]
        raise CheckFailed(
            f"C++ declares {cpp_optional} optional input(s) (kNbOptionalInputs), the spec "
            f"{spec.num_optional_inputs} ({optional or 'none'}; Tensor(optional=True))"
        )
    cpp_dtypes = {tuple(c) for c in _supported_dtypes(binding, spec.resolve_attrs(), len(spec.inputs))}
    for case in spec.cases:
        attrs = spec.resolve_attrs(case.attrs)
        out = tuple(binding.output_dtypes(attrs, list(case.dtypes)))
        supported = (
            cpp_dtypes
            if case.num_inputs == len(spec.inputs)
            else {tuple(c) for c in _supported_dtypes(binding, attrs, case.num_inputs)}
        )
        if (*case.dtypes, *out) not in supported:
            raise CheckFailed(
                f"case {case.name}: dtypes {case.dtypes} -> {out} are not supported by the C++ op"
            )
    interfaces = ", ".join(spec.interfaces)
    return f"versions {list(spec.versions)} ({interfaces}), {len(cpp_dtypes)} dtype combination(s)"


def _supported_dtypes(binding: Any, attrs: dict[str, Any], num_inputs: int) -> list[list[str]]:
    """``binding.supported_dtypes`` for `num_inputs` inputs present."""
    if num_inputs == binding.num_inputs:
        return binding.supported_dtypes(attrs)
    return binding.supported_dtypes(attrs, num_inputs)


def _attr_samples(spec: PluginSpec) -> list[dict[str, Any]]:
    samples = [spec.resolve_attrs()]
    for case in spec.cases:
        attrs = spec.resolve_attrs(case.attrs)
        if attrs not in samples:
            samples.append(attrs)
    return samples


def check_serialize(spec: PluginSpec) -> str:
    """serialize -> deserialize returns the same attributes; corrupt bytes are rejected."""
    import numpy as np

    binding = _binding(spec)
    samples = _attr_samples(spec)
    for attrs in samples:
        data = binding.serialize(attrs)
        back = binding.deserialize(data)
        for a in spec.attrs:
            want, got = attrs[a.name], back[a.name]
            same = np.float32(want) == np.float32(got) if a.type == "float32" else want == got
            if not same:
                raise CheckFailed(f"attribute {a.name!r} was {want!r} before serialization, {got!r} after")
        for bad in (data[: len(data) // 2], b"XXXX" + data[4:], data + b"\0"):
            try:
                binding.deserialize(bad)
            except ValueError:
                continue
            raise CheckFailed(f"deserialize accepted corrupt bytes {bad!r}")
    return f"{len(samples)} attribute set(s) round-trip; truncated/foreign/padded bytes rejected"


def _out_of_range(a: Any) -> list[Any]:
    if a.type == "string":
        return ["__not_a_choice__", 1]
    values: list[Any] = ["text"]
    if a.low is not None:
        values.append(
            a.low if a.low_open else (a.low - 1 if a.type == "int32" else a.low - abs(a.low) * 0.5 - 1)
        )
    if a.high is not None:
        values.append(a.high if a.high_open else (a.high + 1 if a.type == "int32" else a.high * 2 + 1))
    return values


def check_bad_input(spec: PluginSpec) -> str:
    """Out-of-range and wrongly typed values are rejected by C++ and Python, naming the field."""
    binding = _binding(spec)
    tried = 0
    sides = (
        ("C++ validate", binding.validate, ValueError),
        ("the Python spec", spec.resolve_attrs, UserError),
    )
    for a in spec.attrs:
        for value in _out_of_range(a):
            tried += 1
            for side, validate, error in sides:
                try:
                    validate({a.name: value})
                except error as exc:
                    if a.name not in str(exc):
                        raise CheckFailed(
                            f"{side}: the message for {a.name}={value!r} does not name the field: {exc}"
                        ) from None
                else:
                    raise CheckFailed(f"{side} accepted {a.name}={value!r} (range {a.range_text()})")
    try:
        binding.validate({"__no_such_attribute__": 1})
    except ValueError:
        pass
    else:
        raise CheckFailed("C++ validate accepted an unknown attribute")
    return f"{tried} bad value(s) and an unknown attribute rejected"


# ---- per-case checks -------------------------------------------------------------------


def _points(
    spec: PluginSpec, case: Case, max_input_mib: float | None = None
) -> list[tuple[tuple[tuple[int, ...], ...], list[Any], list[Any]]]:
    attrs = spec.resolve_attrs(case.attrs)
    result = []
    for shapes in case.points():
        inputs = make_inputs(spec, case, shapes, max_input_mib)
        result.append((shapes, inputs, _reference(spec, attrs, inputs)))
    return result


def _tolerance(spec: PluginSpec, case: Case, expected: list[Any]) -> tuple[float, float]:
    from trt_pdk.torch_ops import dtype_name

    tols = [spec.tolerance_for(case, dtype_name(e.dtype)) for e in expected]
    return max(t.atol for t in tols), max(t.rtol for t in tols)


def check_shape_rule(spec: PluginSpec, case: Case, points: list[Any]) -> str:
    """Native shape and dtype rules agree with the reference's outputs at every point."""
    from trt_pdk.torch_ops import dtype_name

    binding = _binding(spec)
    attrs = spec.resolve_attrs(case.attrs)
    supported = {tuple(c) for c in _supported_dtypes(binding, attrs, case.num_inputs)}
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


def check_cpu(spec: PluginSpec, case: Case, points: list[Any]) -> Errors:
    binding = _binding(spec)
    attrs = spec.resolve_attrs(case.attrs)
    errors = Errors()
    for shapes, inputs, expected in points:
        outputs = binding.cpu(attrs, [to_numpy(t) for t in inputs], list(case.dtypes))
        out_dtypes = binding.output_dtypes(attrs, list(case.dtypes))
        actual = [from_numpy(o, d) for o, d in zip(outputs, out_dtypes, strict=True)]
        errors.update(compare(actual, expected, *_tolerance(spec, case, expected), f"cpu, inputs {shapes}"))
    return errors


def check_cuda(spec: PluginSpec, case: Case, points: list[Any]) -> Errors:
    import torch

    binding = _binding(spec)
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
        errors.update(compare(outputs, expected, *_tolerance(spec, case, expected), f"cuda, inputs {shapes}"))
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
        errors.update(compare(actual, expected, *_tolerance(spec, case, expected), f"onnx, inputs {shapes}"))
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
        errors.update(compare(actual, expected, *_tolerance(spec, case, expected), what))
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
        errors.update(compare(outputs, expected, *_tolerance(spec, case, expected), what))
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


# ---- running ---------------------------------------------------------------------------


def _run_one(
    plugin: str, case: str, check: str, func: Callable[[], Any], tolerance: tuple[float, float] | None = None
) -> CheckResult:
    result = CheckResult(plugin, case, check, PASS)
    if tolerance is not None:
        result.atol, result.rtol = tolerance
    try:
        out = func()
    except Skipped as exc:
        result.status, result.detail = SKIP, str(exc)
    except (CheckFailed, UserError, ValueError) as exc:
        result.status, result.detail = FAIL, str(exc)
    else:
        if isinstance(out, Errors):
            result.max_abs, result.max_rel = out.max_abs, out.max_rel
            result.detail = f"max abs err {out.max_abs:.3g}, max rel err {out.max_rel:.3g}"
        else:
            result.detail = str(out or "")
    return result


def plugin_checks(spec: PluginSpec, checks: Iterable[str] = PLUGIN_CHECKS) -> list[CheckResult]:
    """The checks that do not depend on a case."""
    funcs = {
        "fields": check_fields,
        "versions": check_versions,
        "serialize": check_serialize,
        "bad_input": check_bad_input,
    }
    return [_run_one(spec.name, "-", name, lambda f=funcs[name]: f(spec)) for name in checks]


def case_checks(
    spec: PluginSpec, case: Case, backends: Iterable[str] = CASE_CHECKS, max_input_mib: float | None = None
) -> list[CheckResult]:
    """Runs the chosen checks of one case; ``tensorrt`` runs once per plugin version.

    ``max_input_mib``: inputs of one point above this are refused (UserError) before they
    are made (default :data:`trt_pdk.execution.limits.DEFAULT_MAX_INPUT_MIB`).
    """
    backends = list(backends)
    unknown = sorted(set(backends) - set(CASE_CHECKS))
    if unknown:
        raise UserError(f"unknown check(s) {unknown}; choose from {', '.join(CASE_CHECKS)}")
    try:
        points = _points(spec, case, max_input_mib)
    except UserError:  # inputs past the limit: the user's choice to change, not a failed op
        raise
    except Exception as exc:  # the reference itself failing makes every check meaningless
        return [CheckResult(spec.name, case.name, "reference", FAIL, f"{type(exc).__name__}: {exc}")]
    tol = _tolerance(spec, case, points[0][2])
    results = []
    for name in backends:
        if name == "shape_rule":
            results.append(_run_one(spec.name, case.name, name, lambda: check_shape_rule(spec, case, points)))
        elif name == "tensorrt":
            for version in spec.versions:
                check = f"tensorrt[{VERSIONS[version]}]"
                func = lambda v=version: check_tensorrt(spec, case, points, v)  # noqa: E731
                results.append(_run_one(spec.name, case.name, check, func, tol))
        else:
            func = {
                "cpu": check_cpu,
                "cuda": check_cuda,
                "onnx": check_onnx,
                "onnxruntime": check_onnxruntime,
            }[name]
            results.append(_run_one(spec.name, case.name, name, lambda f=func: f(spec, case, points), tol))
    return results


def run_plugin(
    spec: PluginSpec,
    cases: Iterable[str] | None = None,
    backends: Iterable[str] = CASE_CHECKS,
    progress: Callable[[CheckResult], None] | None = None,
    max_input_mib: float | None = None,
) -> list[CheckResult]:
    """Every plugin-level check, then every (selected) case's checks (inputs bounded by
    ``max_input_mib``)."""
    selected = list(spec.cases)
    if cases:
        names = {c.name for c in spec.cases}
        missing = sorted(set(cases) - names)
        if missing:
            raise UserError(f"{spec.name} has no case(s) {missing}; its cases: {', '.join(sorted(names))}")
        selected = [c for c in spec.cases if c.name in set(cases)]
    results = []
    for r in plugin_checks(spec):
        results.append(r)
        if progress:
            progress(r)
    for case in selected:
        for r in case_checks(spec, case, backends, max_input_mib):
            results.append(r)
            if progress:
                progress(r)
    return results


def format_result(r: CheckResult) -> str:
    tol = ""
    if r.atol is not None and r.status == PASS and r.max_abs is not None:
        tol = f" (atol {format_number(r.atol)}, rtol {format_number(r.rtol or 0.0)})"
    mark = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}[r.status]
    return f"{mark:4}  {r.plugin:12} {r.case:28} {r.check:28} {r.detail}{tol}"


def summarize(results: list[CheckResult]) -> dict[str, int]:
    counts = {PASS: 0, FAIL: 0, SKIP: 0}
    for r in results:
        counts[r.status] += 1
    return counts


def assert_result(result: CheckResult) -> None:
    """For pytest: fail on FAIL, skip (with the reason) on SKIP."""
    import pytest

    if result.status == FAIL:
        pytest.fail(f"{result.plugin} {result.case} {result.check}: {result.detail}", pytrace=False)
    if result.status == SKIP:
        pytest.skip(result.detail)
    assert result.status == PASS
    assert result.max_abs is None or not math.isnan(result.max_abs)
