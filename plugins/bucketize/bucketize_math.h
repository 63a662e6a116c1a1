// The binary search of Bucketize, shared by the CPU reference and the CUDA kernel. It
// is torch's own formulation, so NaN lands where torch puts it (past the last boundary).
#pragma once

#include <stdint.h>

#include "common/dtype.h"

namespace pdk {
namespace bucketize {

// Values are compared as Key<T>: fp16 exactly as float, int32 as int32.
template <class T>
struct Key {
  using type = T;
};
template <>
struct Key<Half> {
  using type = float;
};

PDK_HD inline float key(Half v) {
  return toFloat(v);
}
PDK_HD inline float key(float v) {
  return v;
}
PDK_HD inline int32_t key(int32_t v) {
  return v;
}

// The number of boundaries b with b < v (right = false) or b <= v (right = true).
template <bool kRight, class K, class Load>
PDK_HD inline int64_t search(Load boundary, int64_t n, K v) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = lo + ((hi - lo) >> 1);
    const K b = boundary(mid);
    const bool goRight = kRight ? !(b > v) : !(b >= v);
    if (goRight)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// Sorted means non-decreasing; a NaN boundary is not checked (it compares false).
template <class K>
PDK_HD inline bool outOfOrder(K previous, K next) {
  return next < previous;
}

}  // namespace bucketize
}  // namespace pdk
