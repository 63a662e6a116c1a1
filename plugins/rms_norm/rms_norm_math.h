// The arithmetic of RMSNorm, shared by the CPU reference and the CUDA kernel.
#pragma once

#include <math.h>

#include "common/dtype.h"

namespace pdk {
namespace rms_norm {

PDK_HD inline float inverseRms(float sumOfSquares, int64_t d, float eps) {
  return 1.0f / sqrtf(sumOfSquares / static_cast<float>(d) + eps);
}

template <class T>
PDK_HD inline T normalize(T x, T weight, float invRms) {
  return fromFloat<T>(toFloat(x) * invRms * toFloat(weight));
}

}  // namespace rms_norm
}  // namespace pdk
