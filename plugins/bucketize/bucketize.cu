#include <algorithm>
#include <cstdint>

#include "bucketize/bucketize.h"
#include "bucketize/bucketize_math.h"
#include "common/cuda_check.h"

namespace pdk {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;        // grid-stride beyond this
constexpr size_t kSharedBytes = 48 * 1024;  // default dynamic shared memory limit
constexpr int64_t kUnsortedOutput = -1;     // written everywhere when boundaries are unsorted

// flag = 1 if the boundaries are not sorted; used when they do not fit in shared memory.
template <class T>
__global__ void checkSortedKernel(const T* __restrict__ b, int64_t nb, int32_t* flag) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x + 1; i < nb; i += stride)
    if (bucketize::outOfOrder(bucketize::key(b[i - 1]), bucketize::key(b[i]))) *flag = 1;
}

// One thread per element, binary search over the boundaries: in shared memory (as Key<T>,
// checked for order by the block while loading) when they fit, else in global memory
// after checkSortedKernel. Unsorted boundaries make every output -1, never plausible indices.
template <bool kRight, bool kShared, class T, class Out>
__global__ void bucketizeKernel(const T* __restrict__ x, const T* __restrict__ b, Out* __restrict__ y, int64_t n,
                                int64_t nb, const int32_t* __restrict__ unsortedFlag) {
  using K = typename bucketize::Key<T>::type;
  extern __shared__ unsigned char sharedRaw[];
  K* shared = reinterpret_cast<K*>(sharedRaw);
  bool unsorted = false;
  if constexpr (kShared) {
    for (int64_t i = threadIdx.x; i < nb; i += blockDim.x) shared[i] = bucketize::key(b[i]);
    __syncthreads();
    int bad = 0;
    for (int64_t i = threadIdx.x + 1; i < nb; i += blockDim.x) bad |= bucketize::outOfOrder(shared[i - 1], shared[i]);
    unsorted = __syncthreads_or(bad) != 0;
  } else {
    unsorted = *unsortedFlag != 0;
  }
  const auto load = [&](int64_t i) {
    if constexpr (kShared)
      return shared[i];
    else
      return bucketize::key(b[i]);
  };
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    y[i] = unsorted ? static_cast<Out>(kUnsortedOutput)
                    : static_cast<Out>(bucketize::search<kRight, K>(load, nb, bucketize::key(x[i])));
  }
}

template <bool kRight, class T, class Out>
void launch(const T* x, const T* b, Out* y, int64_t n, int64_t nb, int32_t* flag, cudaStream_t stream) {
  using K = typename bucketize::Key<T>::type;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>(kMaxBlocks, (n + kThreads - 1) / kThreads));
  const size_t sharedBytes = static_cast<size_t>(nb) * sizeof(K);
  if (sharedBytes <= kSharedBytes) {
    bucketizeKernel<kRight, true, T, Out><<<blocks, kThreads, sharedBytes, stream>>>(x, b, y, n, nb, nullptr);
  } else {
    PDK_CHECK(flag != nullptr, Bucketize::kName, ": no workspace for the order check of ", nb, " boundaries");
    PDK_CUDA_CHECK(cudaMemsetAsync(flag, 0, sizeof(int32_t), stream));
    const auto checkBlocks = static_cast<unsigned>(std::min<int64_t>(kMaxBlocks, (nb + kThreads - 1) / kThreads));
    checkSortedKernel<T><<<checkBlocks, kThreads, 0, stream>>>(b, nb, flag);
    bucketizeKernel<kRight, false, T, Out><<<blocks, kThreads, 0, stream>>>(x, b, y, n, nb, flag);
  }
  PDK_CUDA_CHECK(cudaGetLastError());
}

template <class T, class Out>
void dispatchRight(bool right, const void* x, const void* b, void* y, int64_t n, int64_t nb, int32_t* flag,
                   cudaStream_t stream) {
  const auto* xt = static_cast<const T*>(x);
  const auto* bt = static_cast<const T*>(b);
  auto* yt = static_cast<Out*>(y);
  if (right)
    launch<true>(xt, bt, yt, n, nb, flag, stream);
  else
    launch<false>(xt, bt, yt, n, nb, flag, stream);
}

template <class T>
void dispatch(const Bucketize::Attrs& attrs, DType outType, const void* x, const void* b, void* y, int64_t n,
              int64_t nb, int32_t* flag, cudaStream_t stream) {
  if (outType == DType::kINT32)
    dispatchRight<T, int32_t>(attrs.right != 0, x, b, y, n, nb, flag, stream);
  else
    dispatchRight<T, int64_t>(attrs.right != 0, x, b, y, n, nb, flag, stream);
}

}  // namespace

void Bucketize::enqueue(const Attrs& attrs, const TensorDesc* in, const TensorDesc* out, const void* const* inputs,
                        void* const* outputs, void* workspace, Stream stream) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t n = in[0].volume();
  const int64_t nb = in[1].dims[0];
  if (n == 0) return;
  PDK_CHECK(out[0].dtype == DType::kINT32 || out[0].dtype == DType::kINT64, kName,
            ": output must be int32 or int64, got ", dtypeName(out[0].dtype));
  auto* flag = static_cast<int32_t*>(workspace);
  switch (in[0].dtype) {
    case DType::kFLOAT:
      return dispatch<float>(attrs, out[0].dtype, inputs[0], inputs[1], outputs[0], n, nb, flag, stream);
    case DType::kHALF:
      return dispatch<Half>(attrs, out[0].dtype, inputs[0], inputs[1], outputs[0], n, nb, flag, stream);
    case DType::kINT32:
      return dispatch<int32_t>(attrs, out[0].dtype, inputs[0], inputs[1], outputs[0], n, nb, flag, stream);
    default: PDK_FAIL(kName, ": unsupported dtype ", dtypeName(in[0].dtype));
  }
}

}  // namespace pdk
