#include <cstdint>

#include "common/cuda_check.h"
#include "rms_norm/rms_norm.h"
#include "rms_norm/rms_norm_math.h"

namespace pdk {
namespace {

constexpr size_t kRowCacheBytes = 48 * 1024;  // default dynamic shared memory limit

// One block per row. x is read from global memory once: each thread keeps the vectors it
// loaded in shared memory (when the row fits) and normalizes them after the block sum.
template <class T, int kVec, bool kCacheRow>
__global__ void rmsNormKernel(const T* __restrict__ x, const T* __restrict__ weight, T* __restrict__ y, int64_t d,
                              float eps) {
  extern __shared__ unsigned char rowCache[];
  using V = Vec<T, kVec>;
  const int64_t row = blockIdx.x;
  const int64_t vectors = d / kVec;
  const V* xr = reinterpret_cast<const V*>(x + row * d);
  V* cache = reinterpret_cast<V*>(rowCache);

  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < vectors; i += blockDim.x) {
    const V v = xr[i];
    if (kCacheRow) cache[i] = v;
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      const float f = toFloat(v.v[k]);
      sum += f * f;
    }
  }
  const float inv = rms_norm::inverseRms(blockSum(sum), d, eps);

  const V* wv = reinterpret_cast<const V*>(weight);
  V* yr = reinterpret_cast<V*>(y + row * d);
  for (int64_t i = threadIdx.x; i < vectors; i += blockDim.x) {
    const V v = kCacheRow ? cache[i] : xr[i];
    const V w = wv[i];
    V out;
#pragma unroll
    for (int k = 0; k < kVec; ++k) out.v[k] = rms_norm::normalize(v.v[k], w.v[k], inv);
    yr[i] = out;
  }
}

template <class T, int kVec>
void launchWithVec(const T* x, const T* w, T* y, int64_t rows, int64_t d, float eps, cudaStream_t stream) {
  const int64_t vectors = d / kVec;
  const int threads = static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(32, (vectors + 31) / 32 * 32)));
  const size_t cacheBytes = static_cast<size_t>(d) * sizeof(T);
  if (cacheBytes <= kRowCacheBytes)
    rmsNormKernel<T, kVec, true><<<static_cast<unsigned>(rows), threads, cacheBytes, stream>>>(x, w, y, d, eps);
  else
    rmsNormKernel<T, kVec, false><<<static_cast<unsigned>(rows), threads, 0, stream>>>(x, w, y, d, eps);
}

template <class T>
void launch(const T* x, const T* w, T* y, int64_t rows, int64_t d, float eps, cudaStream_t stream) {
  PDK_CHECK(rows <= 0x7fffffff, RmsNorm::kName, ": ", rows, " rows exceed the grid limit");
  constexpr int kVec = 16 / sizeof(T);
  const bool aligned = d % kVec == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(w) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  if (aligned)
    launchWithVec<T, kVec>(x, w, y, rows, d, eps, stream);
  else
    launchWithVec<T, 1>(x, w, y, rows, d, eps, stream);
  PDK_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void RmsNorm::enqueue(const Attrs& attrs, const TensorDesc* in, const TensorDesc*, const void* const* inputs,
                      void* const* outputs, void*, Stream stream) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t d = in[0].dims[in[0].nbDims - 1];
  const int64_t rows = d == 0 ? 0 : in[0].volume() / d;
  if (rows == 0) return;
  switch (in[0].dtype) {
    case DType::kFLOAT:
      return launch(static_cast<const float*>(inputs[0]), static_cast<const float*>(inputs[1]),
                    static_cast<float*>(outputs[0]), rows, d, attrs.eps, stream);
    case DType::kHALF:
      return launch(static_cast<const Half*>(inputs[0]), static_cast<const Half*>(inputs[1]),
                    static_cast<Half*>(outputs[0]), rows, d, attrs.eps, stream);
    case DType::kBF16:
      return launch(static_cast<const BFloat16*>(inputs[0]), static_cast<const BFloat16*>(inputs[1]),
                    static_cast<BFloat16*>(outputs[0]), rows, d, attrs.eps, stream);
    default: PDK_FAIL(kName, ": unsupported dtype ", dtypeName(in[0].dtype));
  }
}

}  // namespace pdk
