{%- set attrs = cookiecutter.attrs | pdk_attrs(cookiecutter.inputs, cookiecutter.outputs) -%}
{%- set numeric = attrs | selectattr("numeric") | list -%}
{%- set ins = cookiecutter.inputs | tensor_names("x") -%}
{%- set outs = cookiecutter.outputs | tensor_names("y") -%}
{%- set name = cookiecutter.name -%}
{%- set ns0 = namespace(z="") -%}
{%- for a in numeric %}{% set ns0.z = ns0.z ~ (" * " if loop.first else " + ") ~ a.name %}{% endfor -%}
// {{ name }}: a scaled softplus, elementwise. The example op of this package: reshape it.
//
{{ ("h = " ~ (ins | join(" + ")) ~ "  (in fp32)") | wrap_text("//   ", 110) }}
{{ ("z = h" ~ ns0.z) | wrap_text("//   ", 110) }}
{%- if outs | length == 1 %}
//   y = softplus(z),  softplus(t) = log(1 + exp(t)), or t when t > 20
{%- else %}
//   y<j> = softplus((j + 1) * z),  softplus(t) = log(1 + exp(t)), or t when t > 20
{%- endif %}
//
// All inputs have one shape and one dtype (float32, float16 or bfloat16), and so has every
// output. Math shared by the CPU reference and the CUDA kernel: {{ cookiecutter.__snake }}_math.h.
#pragma once

#include <cstdint>
#include <string>

#include "common/op.h"

namespace {{ cookiecutter.package_name }} {

// Defaults from common/op.h: every output has the shape and dtype of input 0 (float32, float16 or
// bfloat16; all inputs share it), no attribute cross-checks, no workspace, V2 and V3 plugins.
// Declare a member of the same name here to change one.
{%- set head = "struct " ~ name ~ " : " %}
{%- set bases = "pdk::FloatSameAsFirstInput<" ~ name ~ "> {" %}
{%- if (head ~ "pdk::OpDefaults, " ~ bases) | length <= 120 %}
{{ head }}pdk::OpDefaults, {{ bases }}
{%- else %}
{{ head }}pdk::OpDefaults,
{{ " " * (head | length) }}{{ bases }}
{%- endif %}
  static constexpr const char* kName = "{{ name }}";
  static constexpr int32_t kNbInputs = {{ ins | length }};
  static constexpr int32_t kNbOutputs = {{ outs | length }};

  struct Attrs {
{%- for a in attrs %}
    {{ a.cpp_type }} {{ a.name }} = {{ a.cpp }};
{%- endfor %}
{%- if attrs %}
    template <class V>
    void fields(V& v) {
{%- for a in attrs %}
{%- if a.type == "float32" %}
{{ ['"' ~ a.name ~ '"', a.name, "pdk::FloatRange{}", '"' ~ a.doc ~ '"'] | cpp_call("      v.real(") }}
{%- elif a.type == "int32" %}
{{ ['"' ~ a.name ~ '"', a.name, "pdk::IntRange{}", '"' ~ a.doc ~ '"'] | cpp_call("      v.integer(") }}
{%- else %}
{{ ['"' ~ a.name ~ '"', a.name, "{" ~ (a.choices | map("tojson") | join(", ")) ~ "}", '"' ~ a.doc ~ '"'] | cpp_call("      v.choice(") }}
{%- endif %}
{%- endfor %}
    }
{%- else %}
    template <class V>
    void fields(V&) {}
{%- endif %}
  };

{%- if ins | length > 1 %}

  // Dimensions of -1 (not yet known while TensorRT builds) are skipped.
  static void checkInputs(const Attrs&, const pdk::TensorDesc* in, int32_t nbIn) {
    pdk::checkInputCount<{{ name }}>(nbIn);
    for (int32_t i = 1; i < nbIn; ++i) {
      PDK_CHECK(in[i].dtype == in[0].dtype, kName, ": input x", i, " must have the dtype of x0 (",
                pdk::dtypeName(in[0].dtype), "), got ", pdk::dtypeName(in[i].dtype));
      PDK_CHECK(in[i].nbDims == in[0].nbDims, kName, ": input x", i, " has rank ", in[i].nbDims, " but x0 has rank ",
                in[0].nbDims, "; all inputs must have one shape");
      for (int32_t k = 0; k < in[0].nbDims; ++k) {
        const int64_t a = in[0].dims[k], b = in[i].dims[k];
        PDK_CHECK(a < 0 || b < 0 || a == b, kName, ": input x", i, " has ", b, " elements on axis ", k, " but x0 has ",
                  a, "; all inputs must have one shape");
      }
    }
  }
{%- else %}

  static void checkInputs(const Attrs&, const pdk::TensorDesc*, int32_t nbIn) {
    // One input, any shape: only its count to check.
    pdk::checkInputCount<{{ name }}>(nbIn);
  }
{%- endif %}

  static void enqueue(const Attrs&, const pdk::TensorDesc* in, const pdk::TensorDesc* out, const void* const* inputs,
                      void* const* outputs, void* workspace, pdk::Stream stream);
  static void cpuReference(const Attrs&, const pdk::TensorDesc* in, pdk::TensorDesc* out, const void* const* inputs,
                           void* const* outputs);
};

}  // namespace {{ cookiecutter.package_name }}
