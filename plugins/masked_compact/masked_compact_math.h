// What MaskedCompact computes per row, shared by the CPU reference and the CUDA kernel.
#pragma once

#include <stdint.h>

#include "common/dtype.h"

namespace pdk {
namespace masked_compact {

// A bool element is one byte; any non-zero byte is true (TensorRT and NumPy store 0/1).
PDK_HD inline int32_t keep(const uint8_t* mask, int64_t row) {
  return mask[row] != 0 ? 1 : 0;
}

// Bytes per row of x: the product of its dims after the first, times the element size.
inline int64_t rowBytes(const int64_t* dims, int32_t nbDims, int64_t elementSize) {
  int64_t bytes = elementSize;
  for (int32_t i = 1; i < nbDims; ++i) bytes *= dims[i];
  return bytes;
}

}  // namespace masked_compact
}  // namespace pdk
