#include "fused_bias_gelu/fused_bias_gelu.h"
#include "fused_bias_gelu/fused_bias_gelu_math.h"

namespace pdk {
namespace {

template <bool kTanh, class T>
void run(int64_t n, int64_t d, const T* x, const T* bias, T* y) {
  if (bias == nullptr) {
    for (int64_t i = 0; i < n; ++i) y[i] = fused_bias_gelu::gelu<kTanh>(x[i]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) y[i] = fused_bias_gelu::biasGelu<kTanh>(x[i], bias[i % d]);
}

template <class T>
void dispatch(bool tanh, int64_t n, int64_t d, const void* x, const void* bias, void* y) {
  const auto* xt = static_cast<const T*>(x);
  const auto* bt = static_cast<const T*>(bias);
  auto* yt = static_cast<T*>(y);
  if (tanh)
    run<true>(n, d, xt, bt, yt);
  else
    run<false>(n, d, xt, bt, yt);
}

}  // namespace

void FusedBiasGelu::cpuReference(const Attrs& attrs, const TensorDesc* in, TensorDesc*, const void* const* inputs,
                                 void* const* outputs) {
  const int32_t nbIn = isAbsent(in[1]) ? 1 : 2;
  checkInputs(attrs, in, nbIn);
  const bool bias = hasBias(in, nbIn);
  const int64_t n = in[0].volume();
  const int64_t d = bias ? in[1].dims[0] : 1;
  if (n == 0) return;
  const void* b = bias ? inputs[1] : nullptr;
  switch (in[0].dtype) {
    case DType::kFLOAT: return dispatch<float>(attrs.tanh(), n, d, inputs[0], b, outputs[0]);
    case DType::kHALF: return dispatch<Half>(attrs.tanh(), n, d, inputs[0], b, outputs[0]);
    case DType::kBF16: return dispatch<BFloat16>(attrs.tanh(), n, d, inputs[0], b, outputs[0]);
    default: PDK_FAIL(kName, ": unsupported dtype ", dtypeName(in[0].dtype));
  }
}

}  // namespace pdk
