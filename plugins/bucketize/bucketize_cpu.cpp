#include "bucketize/bucketize.h"
#include "bucketize/bucketize_math.h"

namespace pdk {
namespace {

template <class T, class Out>
void run(bool right, int64_t n, int64_t nb, const T* x, const T* b, Out* y) {
  using K = typename bucketize::Key<T>::type;
  for (int64_t i = 1; i < nb; ++i)
    PDK_CHECK(!bucketize::outOfOrder(bucketize::key(b[i - 1]), bucketize::key(b[i])), Bucketize::kName,
              ": boundaries must be sorted (non-decreasing), but boundaries[", i, "] < boundaries[", i - 1, "]");
  const auto load = [b](int64_t i) { return bucketize::key(b[i]); };
  for (int64_t i = 0; i < n; ++i) {
    const K v = bucketize::key(x[i]);
    y[i] = static_cast<Out>(right ? bucketize::search<true, K>(load, nb, v) : bucketize::search<false, K>(load, nb, v));
  }
}

template <class T>
void dispatch(const Bucketize::Attrs& attrs, DType outType, int64_t n, int64_t nb, const void* x, const void* b,
              void* y) {
  const auto* xt = static_cast<const T*>(x);
  const auto* bt = static_cast<const T*>(b);
  if (outType == DType::kINT32)
    run(attrs.right != 0, n, nb, xt, bt, static_cast<int32_t*>(y));
  else
    run(attrs.right != 0, n, nb, xt, bt, static_cast<int64_t*>(y));
}

}  // namespace

void Bucketize::cpuReference(const Attrs& attrs, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                             void* const* outputs) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t n = in[0].volume();
  const int64_t nb = in[1].dims[0];
  PDK_CHECK(out[0].dtype == DType::kINT32 || out[0].dtype == DType::kINT64, kName,
            ": output must be int32 or int64, got ", dtypeName(out[0].dtype));
  switch (in[0].dtype) {
    case DType::kFLOAT: return dispatch<float>(attrs, out[0].dtype, n, nb, inputs[0], inputs[1], outputs[0]);
    case DType::kHALF: return dispatch<Half>(attrs, out[0].dtype, n, nb, inputs[0], inputs[1], outputs[0]);
    case DType::kINT32: return dispatch<int32_t>(attrs, out[0].dtype, n, nb, inputs[0], inputs[1], outputs[0]);
    default: PDK_FAIL(kName, ": unsupported dtype ", dtypeName(in[0].dtype));
  }
}

}  // namespace pdk
