{%- set attrs = cookiecutter.attrs | pdk_attrs(cookiecutter.inputs, cookiecutter.outputs) -%}
{%- set numeric = attrs | selectattr("numeric") | list -%}
{%- set ins = cookiecutter.inputs | tensor_names("x") -%}
{%- set outs = cookiecutter.outputs | tensor_names("y") -%}
{%- set name = cookiecutter.name -%}
{%- set ns0 = namespace(z="") -%}
{%- for a in numeric %}{% set ns0.z = ns0.z ~ (" * " if loop.first else " + ") ~ a.name %}{% endfor -%}
{%- set zexpr = ns0.z -%}
{%- set pytype = {"float32": "float", "int32": "int", "string": "str"} -%}
"""{{ name }}: a scaled softplus, elementwise (the example op; reshape it).

{{ ("h = " ~ (ins | join(" + ")) ~ " (in fp32)") | wrap_text("    ") }}
{{ ("z = h" ~ zexpr) | wrap_text("    ") }}
{%- if outs | length == 1 %}
    y = softplus(z), in the dtype of the inputs
{%- else %}
    y<j> = softplus((j + 1) * z) for output j, in the dtype of the inputs
{%- endif %}

{{ ("Installed as ``" ~ cookiecutter.package_name ~ ".plugins." ~ cookiecutter.__snake ~ ".spec``; registered through the ``trt_pdk.plugins`` entry point ``" ~ cookiecutter.__snake ~ "`` in pyproject.toml.") | wrap_text("", 100) }}
"""

from __future__ import annotations

from typing import Any

from trt_pdk.spec import {{ "Attr, " if attrs }}Case, PluginSpec, ShapeRange, Tensor, Tolerance, TorchOp, dyn

FLOATS = ("float32", "float16", "bfloat16")
SHORT = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}
{{ ins | map("tojson") | py_call("INPUTS = (", ")", tuple_=true) }}
SOFTPLUS_THRESHOLD = 20.0  # softplus(t) = t above this, as in PyTorch and the C++ math


{% set params = ins + (["*"] if attrs else []) -%}
{% for a in attrs %}{% set _ = params.append(a.name ~ ": " ~ pytype[a.type] ~ " = " ~ a.py) %}{% endfor -%}
{{ params | py_call("def reference(", "):") }}
    """The PyTorch reference: computes in fp32, returns the dtype of the inputs."""
    import torch

    h = {% for x in ins %}{{ x }}.float(){{ " + " if not loop.last }}{% endfor %}
{%- set terms = [] %}
{%- for a in numeric %}{% set _ = terms.append(("h * " if loop.first else "") ~ a.name) %}{% endfor %}
{{ (terms or ["h"]) | py_sum("    z = ") }}
{%- if outs | length == 1 %}
    return torch.nn.functional.softplus(z).to({{ ins[0] }}.dtype)
{%- else %}
    return tuple(torch.nn.functional.softplus((j + 1) * z).to({{ ins[0] }}.dtype) for j in range({{ outs | length }}))
{%- endif %}


{{ params | py_call("def fake(", "):") }}
    """Shapes only, for torch.compile and torch.export: {{ "the output has" if outs | length == 1 else "each output has" }} the shape and dtype of the inputs."""
{%- if outs | length == 1 %}
    return {{ ins[0] }}.new_empty({{ ins[0] }}.shape)
{%- else %}
    return tuple({{ ins[0] }}.new_empty({{ ins[0] }}.shape) for _ in range({{ outs | length }}))
{%- endif %}

{%- if outs | length == 1 %}
{%- if numeric %}


def _scalar_coefficients(match: Any) -> str | None:
{{ numeric | map(attribute="name") | map("tojson") | py_call("    for name in (", "):", tuple_=true) }}
        if not match.is_scalar(name):
            return f"the constant that becomes {name} is not a single value"
    return None
{%- endif %}


def patterns() -> tuple[Any, ...]:
    """The unfused graphs one {{ name }} node replaces (``replaces`` for `trt-pdk rewrite`).

    The inputs added up, then{% if numeric %} multiplied and shifted by constants (captured as the
    attributes), then{% endif %} softplus: ONNX ``Softplus`` alone, or as dynamo exports
    ``torch.nn.functional.softplus`` (``Where(z > 20, z, Softplus(z))``).
    """
    from trt_pdk.patterns import {{ "Capture, " if numeric }}Const, Op, Pattern

    body = [
{%- set ns = namespace(h=ins[0], z=none) %}
{%- for x in ins[1:] %}
        Op("Add", ("{{ ns.h }}", "{{ x }}"), "h{{ loop.index }}"),
{%- set ns.h = "h" ~ loop.index %}
{%- endfor %}
{%- set ns.z = ns.h %}
{%- for a in numeric %}
        Op("{{ "Mul" if loop.first else "Add" }}", ("{{ ns.z }}", Const(capture="{{ a.name }}")), "z{{ loop.index0 }}"),
{%- set ns.z = "z" ~ loop.index0 %}
{%- endfor %}
    ]
    z = "{{ ns.z }}"
{%- set items = [] %}
{%- for a in attrs %}{% set _ = items.append('"' ~ a.name ~ '": ' ~ ('Capture("' ~ a.name ~ '")' if a.numeric else a.py)) %}{% endfor %}
{{ items | py_call("    attrs = {", "}") }}
    check = {{ "_scalar_coefficients" if numeric else "None" }}
    softplus = Op("Softplus", (z,), "y")
    where = (
        Op("Softplus", (z,), "sp"),
        Op("Greater", (z, Const(SOFTPLUS_THRESHOLD)), "big"),
        Op("Where", ("big", z, "sp"), "y"),
    )
    return (
        Pattern("{{ cookiecutter.__snake }}/dynamo", (*body, *where), INPUTS, attrs, check),
        Pattern("{{ cookiecutter.__snake }}/onnx-Softplus", (*body, softplus), INPUTS, attrs, check),
    )
{%- endif %}


def onnx_function(attrs: dict[str, Any], num_inputs: int) -> tuple[list[str], list[str], list[Any]]:
    """The op in standard ONNX ops (``onnx_function.py`` beside this file), so plain onnxruntime
    runs {{ name }} nodes on CPU; imported when first used."""
    from .onnx_function import onnx_function as body

    return body(attrs, num_inputs)


def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(label: str, shape: ShapeRange, dtype: str, **attrs: Any) -> None:
        cases.append(Case(label, (shape,) * len(INPUTS), (dtype,) * len(INPUTS), attrs))

    for dtype in FLOATS:
        add(f"2d_rows0to16_d64_{SHORT[dtype]}", dyn((0, 64), (16, 64), opt=(4, 64)), dtype)
        add(f"1d_d7_{SHORT[dtype]}", ShapeRange.static((7,)), dtype)
    add("4d_dynamic_fp32", dyn((1, 1, 1, 1), (2, 3, 4, 33)), "float32")
{%- if attrs %}
{%- set items = ['"other_attrs_fp32"', "dyn((1, 8), (4, 8))", '"float32"'] %}
{%- for a in attrs %}{% set _ = items.append(a.name ~ "=" ~ a.alt) %}{% endfor %}
{{ items | py_call("    add(", ")") }}
{%- endif %}
{%- if numeric %}
    add("large_z_fp16", dyn((1, 8), (4, 8)), "float16", {{ numeric[0].name }}={{ "30.0" if numeric[0].type == "float32" else "30" }})
{%- endif %}
    return cases


SPEC = PluginSpec(
    name="{{ name }}",
    namespace="{{ cookiecutter.__namespace }}",
    versions=("1", "2"),
    attrs=[{{ "]," if not attrs }}
{%- for a in attrs %}
{%- set items = ['"' ~ a.name ~ '"', '"' ~ a.type ~ '"', a.py] %}
{%- if a.type == "string" %}{% set _ = items.append("choices=" ~ (a.choices | map("tojson") | py_call("(", ")", tuple_=true))) %}{% endif %}
{%- set _ = items.append('doc="' ~ a.doc ~ '"') %}
{{ items | py_call("        Attr(", "),") }}
{%- endfor %}
{%- if attrs %}
    ],
{%- endif %}
    inputs=tuple(Tensor(name, FLOATS, doc="any shape; all inputs share shape and dtype") for name in INPUTS),
    outputs=[
{%- for y in outs %}
        Tensor("{{ y }}", FLOATS, doc="the shape and dtype of the inputs"),
{%- endfor %}
    ],
    reference=reference,
    torch_op=TorchOp("{{ cookiecutter.__torch_op }}", fake=fake),
    cases=tuple(_cases()),
    tolerances={
        "float32": Tolerance(atol=1e-5, rtol=1e-5),
        "float16": Tolerance(atol=1e-3, rtol=1e-3),
        "bfloat16": Tolerance(atol=1e-2, rtol=1e-2),
    },
{%- if outs | length == 1 %}
    replaces=[patterns],
{%- else %}
    # The rewrite engine replaces subgraphs with one output; this op has {{ outs | length }}.
    replaces=[],
{%- endif %}
    onnx_function=onnx_function,
    native_module="{{ cookiecutter.package_name }}._C",
    library_package="{{ cookiecutter.package_name }}",
    doc="A scaled softplus of the sum of the inputs (the example op of `trt-pdk new`).",
)
