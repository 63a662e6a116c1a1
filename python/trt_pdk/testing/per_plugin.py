"""Checks of a plugin that do not depend on a case: C++ fields equal the spec's attributes,
versions agree, attributes serialize, bad values and corrupt bytes are rejected."""

from __future__ import annotations

from typing import Any

from trt_pdk.errors import UserError
from trt_pdk.spec import PluginSpec
from trt_pdk.testing.data import op_binding_of
from trt_pdk.testing.results import CheckFailed


def check_fields(spec: PluginSpec) -> str:
    """The C++ field list equals the spec's attributes: names, order, types, defaults, ranges."""
    import numpy as np

    fields = op_binding_of(spec).fields()
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
    defaults = op_binding_of(spec).validate({})
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
    binding = op_binding_of(spec)
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
    cpp_dtypes = {tuple(c) for c in supported_dtypes(binding, spec.resolve_attrs(), len(spec.inputs))}
    for case in spec.cases:
        attrs = spec.resolve_attrs(case.attrs)
        out = tuple(binding.output_dtypes(attrs, list(case.dtypes)))
        supported = (
            cpp_dtypes
            if case.num_inputs == len(spec.inputs)
            else {tuple(c) for c in supported_dtypes(binding, attrs, case.num_inputs)}
        )
        if (*case.dtypes, *out) not in supported:
            raise CheckFailed(
                f"case {case.name}: dtypes {case.dtypes} -> {out} are not supported by the C++ op"
            )
    interfaces = ", ".join(spec.interfaces)
    return f"versions {list(spec.versions)} ({interfaces}), {len(cpp_dtypes)} dtype combination(s)"


def supported_dtypes(binding: Any, attrs: dict[str, Any], num_inputs: int) -> list[list[str]]:
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

    binding = op_binding_of(spec)
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
    binding = op_binding_of(spec)
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
