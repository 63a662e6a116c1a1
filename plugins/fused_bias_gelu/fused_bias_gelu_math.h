// The arithmetic of FusedBiasGelu, shared by the CPU reference and the CUDA kernel.
#pragma once

#include <math.h>

#include "common/dtype.h"

namespace pdk {
namespace fused_bias_gelu {

// gelu(h) = h * Phi(h), exact: 0.5 * h * (1 + erf(h / sqrt(2))).
PDK_HD inline float geluErf(float h) {
  return 0.5f * h * (1.0f + erff(h * 0.7071067811865476f));
}

// tanh approximation: 0.5 * h * (1 + tanh(sqrt(2 / pi) * (h + 0.044715 * h^3))).
PDK_HD inline float geluTanh(float h) {
  const float inner = 0.7978845608028654f * (h + 0.044715f * h * h * h);
  return 0.5f * h * (1.0f + tanhf(inner));
}

// x + bias is rounded to T first, like the unfused graph the plugin replaces (an Add in T,
// then GELU computed in fp32); the result is rounded to T once.
template <bool kTanh, class T>
PDK_HD inline T biasGelu(T x, T bias) {
  const float h = toFloat(fromFloat<T>(toFloat(x) + toFloat(bias)));
  return fromFloat<T>(kTanh ? geluTanh(h) : geluErf(h));
}

template <bool kTanh, class T>
PDK_HD inline T gelu(T x) {
  const float h = toFloat(x);
  return fromFloat<T>(kTanh ? geluTanh(h) : geluErf(h));
}

}  // namespace fused_bias_gelu
}  // namespace pdk
