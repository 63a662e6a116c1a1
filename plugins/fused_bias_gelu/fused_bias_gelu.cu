#include <algorithm>
#include <cstdint>

#include "common/cuda_check.h"
#include "fused_bias_gelu/fused_bias_gelu.h"
#include "fused_bias_gelu/fused_bias_gelu_math.h"

namespace pdk {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 8192;  // grid-stride beyond this

// Elementwise over kVec-wide vectors: x is read once, y written once; the bias row (D
// elements) stays in cache. With a bias, D % kVec == 0 so a vector never crosses a row.
template <bool kTanh, bool kBias, class T, int kVec>
__global__ void biasGeluKernel(const T* __restrict__ x, const T* __restrict__ bias, T* __restrict__ y, int64_t vectors,
                               int64_t d) {
  using V = Vec<T, kVec>;
  const V* xv = reinterpret_cast<const V*>(x);
  V* yv = reinterpret_cast<V*>(y);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < vectors; i += stride) {
    const V v = xv[i];
    V out;
    if constexpr (kBias) {
      const V b = *reinterpret_cast<const V*>(bias + (i * kVec) % d);
#pragma unroll
      for (int k = 0; k < kVec; ++k) out.v[k] = fused_bias_gelu::biasGelu<kTanh>(v.v[k], b.v[k]);
    } else {
#pragma unroll
      for (int k = 0; k < kVec; ++k) out.v[k] = fused_bias_gelu::gelu<kTanh>(v.v[k]);
    }
    yv[i] = out;
  }
}

template <bool kTanh, bool kBias, class T, int kVec>
void launchVec(const T* x, const T* bias, T* y, int64_t n, int64_t d, cudaStream_t stream) {
  const int64_t vectors = n / kVec;
  if (vectors > 0) {
    const auto blocks = static_cast<unsigned>(std::min<int64_t>(kMaxBlocks, (vectors + kThreads - 1) / kThreads));
    biasGeluKernel<kTanh, kBias, T, kVec><<<blocks, kThreads, 0, stream>>>(x, bias, y, vectors, d);
  }
  const int64_t done = vectors * kVec;
  if (done < n) {  // the tail that does not fill a vector (only without a bias)
    biasGeluKernel<kTanh, kBias, T, 1><<<1, kThreads, 0, stream>>>(x + done, bias, y + done, n - done, d);
  }
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

template <bool kTanh, bool kBias, class T>
void launch(const T* x, const T* bias, T* y, int64_t n, int64_t d, cudaStream_t stream) {
  constexpr int kVec = 16 / sizeof(T);
  const bool vec = aligned16(x) && aligned16(y) && (!kBias || (aligned16(bias) && d % kVec == 0));
  if (vec)
    launchVec<kTanh, kBias, T, kVec>(x, bias, y, n, d, stream);
  else
    launchVec<kTanh, kBias, T, 1>(x, bias, y, n, d, stream);
}

template <class T>
void dispatch(bool tanh, const void* x, const void* bias, void* y, int64_t n, int64_t d, cudaStream_t stream) {
  const auto* xt = static_cast<const T*>(x);
  const auto* bt = static_cast<const T*>(bias);
  auto* yt = static_cast<T*>(y);
  if (tanh) {
    if (bt)
      launch<true, true>(xt, bt, yt, n, d, stream);
    else
      launch<true, false>(xt, bt, yt, n, d, stream);
  } else {
    if (bt)
      launch<false, true>(xt, bt, yt, n, d, stream);
    else
      launch<false, false>(xt, bt, yt, n, d, stream);
  }
  PDK_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void FusedBiasGelu::enqueue(const Attrs& attrs, const TensorDesc* in, const TensorDesc*, const void* const* inputs,
                            void* const* outputs, void*, Stream stream) {
  const int32_t nbIn = isAbsent(in[1]) ? 1 : 2;
  checkInputs(attrs, in, nbIn);
  const bool bias = hasBias(in, nbIn);
  const int64_t n = in[0].volume();
  if (n == 0) return;
  const int64_t d = bias ? in[1].dims[0] : 1;
  const void* b = bias ? inputs[1] : nullptr;
  PDK_CHECK(!bias || b != nullptr, kName, ": the bias pointer is null");
  switch (in[0].dtype) {
    case DType::kFLOAT: return dispatch<float>(attrs.tanh(), inputs[0], b, outputs[0], n, d, stream);
    case DType::kHALF: return dispatch<Half>(attrs.tanh(), inputs[0], b, outputs[0], n, d, stream);
    case DType::kBF16: return dispatch<BFloat16>(attrs.tanh(), inputs[0], b, outputs[0], n, d, stream);
    default: PDK_FAIL(kName, ": unsupported dtype ", dtypeName(in[0].dtype));
  }
}

}  // namespace pdk
