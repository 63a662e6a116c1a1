// Launch-error checking for kernel launchers; only included from .cu files.
#pragma once

#include <cuda_runtime.h>

#include "common/error.h"

#define PDK_CUDA_CHECK(expr)                                                                     \
  do {                                                                                           \
    const cudaError_t pdkStatus_ = (expr);                                                       \
    PDK_CHECK(pdkStatus_ == cudaSuccess, #expr, " failed: ", cudaGetErrorName(pdkStatus_), " (", \
              cudaGetErrorString(pdkStatus_), ")");                                              \
  } while (0)

namespace pdk {

// Sum of `value` over the block; blockDim.x must be a multiple of 32.
__device__ inline float blockSum(float value) {
  __shared__ float partial[32];
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  const unsigned warps = (blockDim.x + 31u) / 32u;
  value = threadIdx.x < warps ? partial[threadIdx.x] : 0.f;
  if (warp == 0)
    for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  __syncthreads();
  if (threadIdx.x == 0) partial[0] = value;
  __syncthreads();
  return partial[0];
}

template <class T, int kN>
struct alignas(sizeof(T) * kN) Vec {
  T v[kN];
};

}  // namespace pdk
