#include <cstring>

#include "masked_compact/masked_compact.h"
#include "masked_compact/masked_compact_math.h"

namespace pdk {

// out[0] arrives sized for the upper bound (N rows); its first dim is set to K here.
void MaskedCompact::cpuReference(const Attrs& attrs, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                                 void* const* outputs) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t rows = in[0].dims[0];
  const int64_t bytes = masked_compact::rowBytes(in[0].dims, in[0].nbDims, dtypeSize(in[0].dtype));
  const auto* x = static_cast<const char*>(inputs[0]);
  const auto* mask = static_cast<const uint8_t*>(inputs[1]);
  auto* y = static_cast<char*>(outputs[0]);
  int64_t k = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (!masked_compact::keep(mask, r)) continue;
    if (bytes > 0) std::memcpy(y + k * bytes, x + r * bytes, static_cast<size_t>(bytes));
    ++k;
  }
  out[0].dims[0] = k;
  *static_cast<int64_t*>(outputs[1]) = k;
}

}  // namespace pdk
