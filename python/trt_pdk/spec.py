"""Plugin specs: one frozen, validated description per op, shared by every stage.

A plugin package exposes one :class:`PluginSpec` per op through the ``trt_pdk.plugins``
entry point group. The spec names the op (TensorRT plugin name == ONNX ``op_type``), its
attributes with defaults and ranges, its inputs and outputs with dtypes, the PyTorch
reference, the ``torch.library`` op, the ONNX patterns it replaces and its test cases.
The native core (``native_module``) and the plugin library (``library_package``) are
named here too, so outside packages plug in exactly like the built-in ones.

Nothing in this module imports torch or the native module.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trt_pdk.errors import UserError

DTYPES = ("float32", "float16", "bfloat16", "int32", "int64", "int8", "uint8", "bool")
ATTR_TYPES = ("int32", "float32", "string")
VERSIONS = {"1": "IPluginV2DynamicExt", "2": "IPluginV3"}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _spec_error(where: str, message: str) -> UserError:
    return UserError(f"plugin spec {where}: {message}")


def _check_identifier(where: str, what: str, value: object) -> None:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise _spec_error(where, f"{what} must be an identifier (letters, digits, _), got {value!r}")


def format_number(value: float | int) -> str:
    """Formats a number like C++ ``std::ostream`` does by default (``%g``), e.g. ``1e-06``."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return f"{value:g}"


@dataclass(frozen=True)
class Attr:
    """One typed plugin attribute.

    Args:
        name: attribute name, the same in C++ fields, ONNX and the torch op.
        type: ``"int32"``, ``"float32"`` or ``"string"``.
        default: value used when the attribute is absent.
        low, high: inclusive bounds for numbers (``None``: unbounded; int32 limits for ints).
        low_open, high_open: make a bound exclusive, e.g. ``low=0, low_open=True`` is ``> 0``.
        choices: allowed values of a string attribute.
        doc: one line for the README and ``trt-pdk list``.
    """

    name: str
    type: str
    default: Any
    low: float | int | None = None
    high: float | int | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        where = f"attribute {self.name!r}"
        _check_identifier(where, "name", self.name)
        if self.type not in ATTR_TYPES:
            raise _spec_error(where, f"type must be one of {', '.join(ATTR_TYPES)}, got {self.type!r}")
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.type == "string":
            if not self.choices:
                raise _spec_error(where, "a string attribute needs `choices` (the allowed values)")
            if self.low is not None or self.high is not None:
                raise _spec_error(where, "a string attribute takes `choices`, not `low`/`high`")
        elif self.choices:
            raise _spec_error(where, f"`choices` is only for string attributes, this one is {self.type}")
        if self.type == "int32":
            for bound in ("low", "high"):
                value = getattr(self, bound)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise _spec_error(where, f"`{bound}` of an int32 attribute must be an int, got {value!r}")
            if self.low_open or self.high_open:
                raise _spec_error(where, "int32 bounds are inclusive; use low=n+1 instead of low_open")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise _spec_error(where, f"low ({self.low}) is above high ({self.high})")
        try:
            object.__setattr__(self, "default", self.coerce(self.default))
        except UserError as exc:
            raise _spec_error(where, f"the default is invalid: {exc}") from None

    @property
    def python_type(self) -> type:
        return {"int32": int, "float32": float, "string": str}[self.type]

    def range_text(self) -> str:
        """The range as the C++ core describes it, e.g. ``(0, 1]`` or ``one of a, b``."""
        if self.type == "string":
            return "one of " + ", ".join(self.choices)
        if self.type == "int32":
            low = INT32_MIN if self.low is None else self.low
            high = INT32_MAX if self.high is None else self.high
            return f"[{low}, {high}]"
        low = -math.inf if self.low is None else float(self.low)
        high = math.inf if self.high is None else float(self.high)
        return (
            f"{'(' if self.low_open else '['}{format_number(low)}, "
            f"{format_number(high)}{')' if self.high_open else ']'}"
        )

    def coerce(self, value: Any) -> Any:
        """Returns `value` as this attribute's Python type; raises UserError when it does not fit."""
        what = f"attribute {self.name!r}"
        if self.type == "string":
            if not isinstance(value, str):
                raise UserError(f"{what} must be a string ({self.range_text()}), got {value!r}")
            if value not in self.choices:
                raise UserError(f"{what} must be {self.range_text()}, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or type(value).__name__ == "bool_":
            raise UserError(
                f"{what} must be a number of type {self.type}, got {type(value).__name__} {value!r}"
            )
        if isinstance(value, numbers.Integral):
            value = int(value)
        if self.type == "int32":
            if not isinstance(value, int):
                if not float(value).is_integer():
                    raise UserError(f"{what} must be an integer, got {value!r}")
                value = int(value)
            low = INT32_MIN if self.low is None else self.low
            high = INT32_MAX if self.high is None else self.high
            if not low <= value <= high:
                raise UserError(f"{what} must be in {self.range_text()}, got {value}")
            return value
        value = float(value)
        ok = not math.isnan(value)
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        if not ok:
            raise UserError(f"{what} must be in {self.range_text()}, got {format_number(value)}")
        return value

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "range": self.range_text(),
            "doc": self.doc,
        }


@dataclass(frozen=True)
class Tensor:
    """One input or output: its name and the dtypes it may have (see :data:`DTYPES`).

    Args:
        name: the name in ONNX graphs and the torch op schema.
        dtypes: dtype names it may have.
        doc: one line for the README.
        generator: test inputs for this tensor, ``generator(shape, dtype, torch.Generator)``
            returning a CPU torch tensor (e.g. sorted values); default: normal floats,
            small integers, random bools.
        optional: the input may be absent (inputs only, and only trailing ones: after an
            optional input every input is optional). The C++ op declares as many in
            ``kNbOptionalInputs``; an absent input is left out of the node, the torch op
            (``Tensor? name=None``) and the reference call (the reference takes it as a
            keyword argument defaulting to ``None``).
    """

    name: str
    dtypes: tuple[str, ...]
    doc: str = ""
    generator: Callable[..., Any] | None = None
    optional: bool = False

    def __post_init__(self) -> None:
        where = f"tensor {self.name!r}"
        _check_identifier(where, "name", self.name)
        object.__setattr__(self, "dtypes", tuple(self.dtypes))
        if not self.dtypes:
            raise _spec_error(where, "needs at least one dtype")
        bad = [d for d in self.dtypes if d not in DTYPES]
        if bad:
            raise _spec_error(where, f"unknown dtype(s) {bad}; known: {', '.join(DTYPES)}")
        if not isinstance(self.optional, bool):
            raise _spec_error(where, f"optional must be True or False, got {self.optional!r}")


@dataclass(frozen=True)
class Tolerance:
    """Allowed error: ``|actual - expected| <= atol + rtol * |expected|`` elementwise."""

    atol: float
    rtol: float

    def __post_init__(self) -> None:
        if not (self.atol >= 0 and self.rtol >= 0):
            raise _spec_error("tolerance", f"atol and rtol must be >= 0, got {self.atol}, {self.rtol}")


@dataclass(frozen=True)
class ShapeRange:
    """The shapes one input takes in a test case, as a TensorRT optimization profile.

    A dimension whose ``min`` and ``max`` differ is dynamic (exported as a symbol).
    """

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("min", "opt", "max"):
            object.__setattr__(self, name, tuple(int(d) for d in getattr(self, name)))
        if not len(self.min) == len(self.opt) == len(self.max):
            raise _spec_error("shape range", f"min/opt/max ranks differ: {self.min} {self.opt} {self.max}")
        for lo, mid, hi in zip(self.min, self.opt, self.max, strict=True):
            if not 0 <= lo <= mid <= hi:
                raise _spec_error(
                    "shape range", f"need 0 <= min <= opt <= max, got {self.min} {self.opt} {self.max}"
                )

    @classmethod
    def static(cls, shape: tuple[int, ...]) -> ShapeRange:
        return cls(tuple(shape), tuple(shape), tuple(shape))

    @property
    def rank(self) -> int:
        return len(self.min)

    @property
    def dynamic_axes(self) -> tuple[int, ...]:
        return tuple(i for i, (lo, hi) in enumerate(zip(self.min, self.max, strict=True)) if lo != hi)

    def at(self, t: float) -> tuple[int, ...]:
        """The shape a fraction `t` of the way from ``min`` (0) to ``max`` (1)."""
        return tuple(lo + round((hi - lo) * t) for lo, hi in zip(self.min, self.max, strict=True))


def dyn(min: tuple[int, ...], max: tuple[int, ...], opt: tuple[int, ...] | None = None) -> ShapeRange:
    """Shorthand for a dynamic :class:`ShapeRange`; ``opt`` defaults to ``max``."""
    return ShapeRange(tuple(min), tuple(opt if opt is not None else max), tuple(max))


@dataclass(frozen=True)
class Case:
    """One test case: shape ranges and dtypes per input, attributes, optional tolerance.

    Args:
        name: unique within the plugin; used in test ids.
        shapes: one :class:`ShapeRange` (or a static shape tuple) per input present; a
            case may leave out trailing optional inputs (``Tensor(optional=True)``).
        dtypes: one dtype name per input present.
        attrs: attribute values; absent ones take their defaults.
        tolerance: overrides the spec's tolerance for the output dtype.
        seed: seed for the random inputs.
    """

    name: str
    shapes: tuple[ShapeRange, ...]
    dtypes: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    tolerance: Tolerance | None = None
    seed: int = 0

    @property
    def num_inputs(self) -> int:
        """How many inputs the case gives (trailing optional inputs may be left out)."""
        return len(self.dtypes)

    def __post_init__(self) -> None:
        shapes = tuple(s if isinstance(s, ShapeRange) else ShapeRange.static(tuple(s)) for s in self.shapes)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "dtypes", tuple(self.dtypes))
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        if len(self.shapes) != len(self.dtypes):
            raise _spec_error(
                f"case {self.name!r}", f"{len(self.shapes)} shapes but {len(self.dtypes)} dtypes"
            )

    def points(self) -> list[tuple[tuple[int, ...], ...]]:
        """Input shapes to run: min, opt, max and the midpoint (duplicates removed)."""
        result: list[tuple[tuple[int, ...], ...]] = []
        candidates = [
            tuple(s.min for s in self.shapes),
            tuple(s.opt for s in self.shapes),
            tuple(s.at(0.5) for s in self.shapes),
            tuple(s.max for s in self.shapes),
        ]
        for shapes in candidates:
            if shapes not in result:
                result.append(shapes)
        return result


@dataclass(frozen=True)
class TorchOp:
    """The ``torch.library`` op used in models: ``<namespace>::<name>``.

    Args:
        name: the op's name inside its namespace, e.g. ``rms_norm``.
        namespace: the torch library namespace; ``None`` uses the plugin namespace.
        fake: ``fake(*inputs, **attrs)``, the shapes-only implementation (``register_fake``)
            that torch.compile, torch.export and the ONNX export trace: empty tensors of the
            output shapes and dtypes, never the reference's numbers; a data-dependent size is
            ``torch.library.get_ctx().new_dynamic_size()``. Registering the op needs it.
    """

    name: str
    namespace: str | None = None
    fake: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        _check_identifier("torch op", "name", self.name)


@dataclass(frozen=True)
class ExportedGraphs:
    """What a :attr:`PluginSpec.report_note` reads (graphs without their weights).

    Attributes:
        plain: the plain dynamo export (no plugin translations), an ``onnx.ModelProto``.
        kit: the kit's export.
        plugin_nodes: this op's plugin nodes in the rewritten graph.
    """

    plain: Any
    kit: Any
    plugin_nodes: int

    @staticmethod
    def nodes_from_source(model: Any, text: str) -> int:
        """Nodes whose PyTorch source line (dynamo's stack-trace metadata) contains `text`."""
        count = 0
        for node in model.graph.node:
            trace = next((p.value for p in node.metadata_props if p.key == "pkg.torch.onnx.stack_trace"), "")
            lines = [x for x in trace.strip().splitlines() if x.strip()]
            count += bool(lines) and text in lines[-1]
        return count


@dataclass(frozen=True)
class PluginSpec:
    """Everything about one op that is not C++: the single source of truth in Python.

    Args:
        name: TensorRT plugin name == ONNX op_type == key in ``<native_module>.ops``.
        attrs: typed attributes, in the order the C++ ``fields()`` declares them.
        inputs, outputs: tensors with the dtypes they may have; trailing inputs may be
            optional (``Tensor(optional=True)``, as the C++ op's ``kNbOptionalInputs``).
        reference: the PyTorch reference, ``reference(*inputs, **attrs)`` returning a
            tensor or a tuple of tensors.
        torch_op: the ``torch.library`` op models call.
        cases: test cases the generic harness runs.
        tolerances: allowed error per output dtype; a case may override it.
        namespace: TensorRT plugin namespace and ONNX domain.
        versions: plugin versions built: ``"1"`` IPluginV2DynamicExt (optional), ``"2"`` IPluginV3.
        replaces: ONNX patterns this plugin replaces (consumed by the rewrite stage).
        aten_translations: optional ``(plugin_version) -> {aten op overload: translation}``:
            standard torch ops that export to this plugin's node instead of being decomposed
            (e.g. ``torch.ops.aten.bucketize.Tensor``), emitting ``plugin_version``; merged
            into the export translation table. (A callable taking no argument is accepted
            and then emits what it chooses.)
        onnx_function: optional ``(attrs, num_inputs) -> (inputs, outputs, nodes)``: the op
            in standard ONNX ops, as the body of an ONNX model-local function with the plugin
            node's domain and op_type, so plain onnxruntime runs plugin nodes on CPU (the
            pipeline's Triton CPU model). ``attrs`` are the node's resolved attributes (all
            present), ``num_inputs`` how many inputs the node has (optional inputs left out);
            it returns the body's formal input and output names (the first ``num_inputs``
            inputs, every output) and its ``onnx.NodeProto`` nodes (default domain, any input
            dtype the op takes). ``trt_pdk.onnx_stages.functions`` builds and attaches it; the
            harness check ``onnxruntime`` compares it with the reference for every case.
        report_note: optional ``(ExportedGraphs) -> (before, after) | None``: what the
            pipeline report says about this op in its "export reliability" row (e.g. how
            many nodes the plain export unrolled the PyTorch call into, and what the kit
            made of it); None leaves the op out.
        native_module: the module whose ``ops`` dict holds this op's binding.
        library_package: the package whose ``lib/`` holds the plugin library.
        doc: one paragraph for the README.
    """

    name: str
    attrs: tuple[Attr, ...]
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    reference: Callable[..., Any]
    torch_op: TorchOp
    cases: tuple[Case, ...]
    tolerances: Mapping[str, Tolerance]
    namespace: str = "trt_pdk"
    versions: tuple[str, ...] = ("1", "2")
    replaces: tuple[Any, ...] = ()
    aten_translations: Callable[..., Mapping[Any, Callable[..., Any]]] | None = None
    onnx_function: Callable[[dict[str, Any], int], tuple[list[str], list[str], list[Any]]] | None = None
    report_note: Callable[[ExportedGraphs], tuple[str, str] | None] | None = None
    native_module: str = "trt_pdk._C"
    library_package: str = "trt_pdk"
    doc: str = ""

    def __post_init__(self) -> None:
        where = repr(self.name)
        _check_identifier(where, "name", self.name)
        _check_identifier(where, "namespace", self.namespace)
        for name in ("attrs", "inputs", "outputs", "cases", "versions", "replaces"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "tolerances", MappingProxyType(dict(self.tolerances)))
        if "2" not in self.versions or any(v not in VERSIONS for v in self.versions):
            raise _spec_error(
                where,
                f"versions must contain '2' (IPluginV3) and optionally '1' (IPluginV2DynamicExt), "
                f"got {self.versions}",
            )
        object.__setattr__(self, "versions", tuple(sorted(set(self.versions))))
        if not callable(self.reference):
            raise _spec_error(where, "reference must be a callable (the PyTorch reference)")
        if self.onnx_function is not None and not callable(self.onnx_function):
            raise _spec_error(where, "onnx_function must be a callable (attrs, num_inputs) or None")
        if self.report_note is not None and not callable(self.report_note):
            raise _spec_error(where, "report_note must be a callable (ExportedGraphs) or None")
        if not isinstance(self.torch_op, TorchOp):
            raise _spec_error(where, f"torch_op must be a TorchOp, got {type(self.torch_op).__name__}")
        if not self.inputs or not self.outputs:
            raise _spec_error(where, "needs at least one input and one output")
        for i, t in enumerate(self.inputs):
            if not t.optional and any(u.optional for u in self.inputs[:i]):
                raise _spec_error(
                    where,
                    f"input {t.name!r} is required but follows an optional input; only trailing "
                    f"inputs can be optional",
                )
        if all(t.optional for t in self.inputs):
            raise _spec_error(where, "needs at least one required input (all inputs are optional)")
        for t in self.outputs:
            if t.optional:
                raise _spec_error(where, f"output {t.name!r} is optional; only inputs can be")
        seen: set[str] = set()
        for item in (*self.attrs, *self.inputs, *self.outputs):
            if item.name in seen:
                raise _spec_error(
                    where, f"the name {item.name!r} is used twice among attrs, inputs and outputs"
                )
            seen.add(item.name)
        from trt_pdk.plugin_nodes import RESERVED_ATTRS

        reserved = set(RESERVED_ATTRS) & {a.name for a in self.attrs}
        if reserved:
            raise _spec_error(where, f"attribute names {sorted(reserved)} are reserved for TensorRT's parser")
        names: set[str] = set()
        for case in self.cases:
            if case.name in names:
                raise _spec_error(where, f"two cases are named {case.name!r}")
            names.add(case.name)
            self._check_case(case)
        for dtype in {d for out in self.outputs for d in out.dtypes}:
            if dtype not in self.tolerances:
                raise _spec_error(where, f"no tolerance for output dtype {dtype}; add it to `tolerances`")
        for module in (self.native_module, self.library_package):
            if not all(_IDENTIFIER.match(part) for part in module.split(".")):
                raise _spec_error(where, f"{module!r} is not a module name")

    def _check_case(self, case: Case) -> None:
        where = f"{self.name!r} case {case.name!r}"
        low, high = self.num_required_inputs, len(self.inputs)
        if not low <= len(case.shapes) <= high:
            expected = (
                f"{high} inputs"
                if low == high
                else f"{low} to {high} inputs (the last {high - low} optional)"
            )
            raise _spec_error(where, f"{len(case.shapes)} shapes for {expected}")
        for tensor, dtype in zip(self.case_inputs(case), case.dtypes, strict=True):
            if dtype not in tensor.dtypes:
                raise _spec_error(where, f"input {tensor.name!r} takes {tensor.dtypes}, not {dtype}")
        try:
            self.resolve_attrs(case.attrs)
        except UserError as exc:
            raise _spec_error(where, str(exc)) from None

    @property
    def interfaces(self) -> tuple[str, ...]:
        """TensorRT class names of the built plugin versions."""
        return tuple(VERSIONS[v] for v in self.versions)

    @property
    def num_optional_inputs(self) -> int:
        """How many trailing inputs may be absent (the C++ ``kNbOptionalInputs``)."""
        return sum(1 for t in self.inputs if t.optional)

    @property
    def num_required_inputs(self) -> int:
        return len(self.inputs) - self.num_optional_inputs

    def present_inputs(self, num_inputs: int) -> tuple[Tensor, ...]:
        """The first `num_inputs` inputs; raises UserError unless that leaves out only optional ones."""
        low, high = self.num_required_inputs, len(self.inputs)
        if not low <= num_inputs <= high:
            expected = str(high) if low == high else f"{low} to {high}"
            raise UserError(f"{self.name} takes {expected} inputs, got {num_inputs}")
        return self.inputs[:num_inputs]

    def case_inputs(self, case: Case) -> tuple[Tensor, ...]:
        """The inputs `case` gives (trailing optional ones may be left out)."""
        return self.present_inputs(case.num_inputs)

    @property
    def has_v2(self) -> bool:
        return "1" in self.versions

    @property
    def torch_namespace(self) -> str:
        return self.torch_op.namespace or self.namespace

    @property
    def torch_qualname(self) -> str:
        return f"{self.torch_namespace}::{self.torch_op.name}"

    def attr(self, name: str) -> Attr:
        for a in self.attrs:
            if a.name == name:
                return a
        raise UserError(f"{self.name} has no attribute {name!r}; it takes: {self._attr_names()}")

    def _attr_names(self) -> str:
        return ", ".join(a.name for a in self.attrs) or "(none)"

    def resolve_attrs(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Checks attribute values and fills defaults; raises UserError naming field, range, value."""
        values = dict(values or {})
        unknown = sorted(set(values) - {a.name for a in self.attrs})
        if unknown:
            raise UserError(f"{self.name}: unknown attribute(s) {unknown}; it takes: {self._attr_names()}")
        out: dict[str, Any] = {}
        for a in self.attrs:
            try:
                out[a.name] = a.coerce(values[a.name]) if a.name in values else a.default
            except UserError as exc:
                raise UserError(f"{self.name}: {exc}") from None
        return out

    def tolerance_for(self, case: Case, dtype: str) -> Tolerance:
        return case.tolerance or self.tolerances[dtype]

    def summary(self, source: str = "") -> dict[str, Any]:
        """The row ``trt-pdk list --json`` prints."""
        return {
            "name": self.name,
            "versions": list(self.versions),
            "namespace": self.namespace,
            "interfaces": list(self.interfaces),
            "attrs": [a.as_dict() for a in self.attrs],
            "source": source,
        }
