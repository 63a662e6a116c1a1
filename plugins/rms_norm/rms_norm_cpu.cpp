#include "rms_norm/rms_norm.h"
#include "rms_norm/rms_norm_math.h"

namespace pdk {
namespace {

template <class T>
void run(float eps, int64_t rows, int64_t d, const T* x, const T* w, T* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * d;
    float sum = 0.f;
    for (int64_t i = 0; i < d; ++i) sum += toFloat(xr[i]) * toFloat(xr[i]);
    const float inv = rms_norm::inverseRms(sum, d, eps);
    for (int64_t i = 0; i < d; ++i) y[r * d + i] = rms_norm::normalize(xr[i], w[i], inv);
  }
}

}  // namespace

void RmsNorm::cpuReference(const Attrs& attrs, const TensorDesc* in, TensorDesc*, const void* const* inputs,
                           void* const* outputs) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t d = in[0].dims[in[0].nbDims - 1];
  const int64_t rows = d == 0 ? 0 : in[0].volume() / d;
  switch (in[0].dtype) {
    case DType::kFLOAT:
      return run(attrs.eps, rows, d, static_cast<const float*>(inputs[0]), static_cast<const float*>(inputs[1]),
                 static_cast<float*>(outputs[0]));
    case DType::kHALF:
      return run(attrs.eps, rows, d, static_cast<const Half*>(inputs[0]), static_cast<const Half*>(inputs[1]),
                 static_cast<Half*>(outputs[0]));
    case DType::kBF16:
      return run(attrs.eps, rows, d, static_cast<const BFloat16*>(inputs[0]), static_cast<const BFloat16*>(inputs[1]),
                 static_cast<BFloat16*>(outputs[0]));
    default: PDK_FAIL(kName, ": unsupported dtype ", dtypeName(in[0].dtype));
  }
}

}  // namespace pdk
