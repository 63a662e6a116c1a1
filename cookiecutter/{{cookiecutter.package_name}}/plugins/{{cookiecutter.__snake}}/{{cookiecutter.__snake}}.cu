#include <algorithm>
#include <cstdint>

#include "common/cuda_check.h"
#include "{{ cookiecutter.__snake }}/{{ cookiecutter.__snake }}.h"
#include "{{ cookiecutter.__snake }}/{{ cookiecutter.__snake }}_math.h"

namespace {{ cookiecutter.package_name }} {
namespace {

using Op = {{ cookiecutter.name }};
namespace math = {{ cookiecutter.__snake }}_math;
constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 8192;  // grid-stride beyond this

// Device pointers of every input and output, passed by value.
template <class T>
struct Pointers {
  const T* in[Op::kNbInputs];
  T* out[Op::kNbOutputs];
};

// Elementwise: each element of every input is read once, each output written once.
template <class T>
__global__ void kernel(Pointers<T> p, int64_t n, math::Coefficients c) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float h = 0.0f;
#pragma unroll
    for (int32_t k = 0; k < Op::kNbInputs; ++k) h += pdk::toFloat(p.in[k][i]);
    const float z = math::preActivation(h, c);
#pragma unroll
    for (int32_t j = 0; j < Op::kNbOutputs; ++j) p.out[j][i] = math::output<T>(z, j);
  }
}

template <class T>
void launch(const math::Coefficients& c, int64_t n, const void* const* inputs, void* const* outputs,
            cudaStream_t stream) {
  Pointers<T> p{};
  for (int32_t k = 0; k < Op::kNbInputs; ++k) p.in[k] = static_cast<const T*>(inputs[k]);
  for (int32_t j = 0; j < Op::kNbOutputs; ++j) p.out[j] = static_cast<T*>(outputs[j]);
  const auto blocks = static_cast<unsigned>(std::min<int64_t>(kMaxBlocks, (n + kThreads - 1) / kThreads));
  kernel<T><<<blocks, kThreads, 0, stream>>>(p, n, c);
  PDK_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void Op::enqueue(const Attrs& attrs, const pdk::TensorDesc* in, const pdk::TensorDesc*, const void* const* inputs,
                 void* const* outputs, void*, pdk::Stream stream) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t n = in[0].volume();
  if (n == 0) return;
  const math::Coefficients c = math::coefficients(attrs);
  switch (in[0].dtype) {
    case pdk::DType::kFLOAT: return launch<float>(c, n, inputs, outputs, stream);
    case pdk::DType::kHALF: return launch<pdk::Half>(c, n, inputs, outputs, stream);
    case pdk::DType::kBF16: return launch<pdk::BFloat16>(c, n, inputs, outputs, stream);
    default: PDK_FAIL(kName, ": unsupported dtype ", pdk::dtypeName(in[0].dtype));
  }
}

}  // namespace {{ cookiecutter.package_name }}
