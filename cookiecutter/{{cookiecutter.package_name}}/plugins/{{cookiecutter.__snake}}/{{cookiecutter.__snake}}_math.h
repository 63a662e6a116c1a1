{%- set attrs = cookiecutter.attrs | pdk_attrs(cookiecutter.inputs, cookiecutter.outputs) -%}
{%- set numeric = attrs | selectattr("numeric") | list -%}
{%- set ns0 = namespace(z="") -%}
{%- for a in numeric %}{% set ns0.z = ns0.z ~ (" * " if loop.first else " + ") ~ a.name %}{% endfor -%}
// The arithmetic of {{ cookiecutter.name }}, shared by the CPU reference and the CUDA kernel.
#pragma once

#include <math.h>

#include <cstdint>

#include "common/dtype.h"
#include "{{ cookiecutter.__snake }}/{{ cookiecutter.__snake }}.h"

namespace {{ cookiecutter.package_name }} {
namespace {{ cookiecutter.__snake }}_math {

// The numeric attributes as floats: plain values that a CUDA kernel takes by value.
{%- if numeric %}
struct Coefficients {
{%- for a in numeric %}
  float {{ a.name }};
{%- endfor %}
};
{%- else %}
struct Coefficients {};
{%- endif %}

{%- if numeric %}

inline Coefficients coefficients(const {{ cookiecutter.name }}::Attrs& attrs) {
  Coefficients c{};
{%- for a in numeric %}
  c.{{ a.name }} = static_cast<float>(attrs.{{ a.name }});
{%- endfor %}
  return c;
}

// In this order, as the PyTorch reference rounds:
{{ ("z = h" ~ ns0.z) | wrap_text("// ", 110) }}
PDK_HD inline float preActivation(float h, const Coefficients& c) {
  return h{% for a in numeric %}{{ " * " if loop.first else " + " }}c.{{ a.name }}{% endfor %};
}
{%- else %}

inline Coefficients coefficients(const {{ cookiecutter.name }}::Attrs&) {
  return Coefficients{};
}

// z = h (no numeric attributes).
PDK_HD inline float preActivation(float h, const Coefficients&) {
  return h;
}
{%- endif %}

// softplus(t) = log(1 + exp(t)), and t itself above 20 where that is exact in fp32 (as PyTorch).
PDK_HD inline float softplus(float t) {
  return t > 20.0f ? t : log1pf(expf(t));
}

// Output j is softplus((j + 1) * z), rounded to T once.
template <class T>
PDK_HD inline T output(float z, int32_t j) {
  return pdk::fromFloat<T>(softplus(static_cast<float>(j + 1) * z));
}

}  // namespace {{ cookiecutter.__snake }}_math
}  // namespace {{ cookiecutter.package_name }}
