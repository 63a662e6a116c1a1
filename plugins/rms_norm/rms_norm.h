// RMSNorm: y = x / sqrt(mean(x^2 over the last axis) + eps) * weight, accumulated in fp32.
#pragma once

#include "common/op.h"

namespace pdk {

struct RmsNorm {
  static constexpr const char* kName = "RMSNorm";
  static constexpr bool kHasV2 = true;
  static constexpr int32_t kNbInputs = 2;
  static constexpr int32_t kNbOutputs = 1;
  static constexpr int32_t kNbSizeTensorOutputs = 0;

  struct Attrs {
    float eps = 1e-6f;
    template <class V>
    void fields(V& v) {
      v.real("eps", eps, FloatRange::positive(1.0f), "added to the mean square before the root");
    }
  };

  static void validate(const Attrs&) {}

  template <class B>
  static void outputShapes(const Attrs&, const Shape<typename B::Expr>* in, int32_t, Shape<typename B::Expr>* out, B&) {
    out[0] = in[0];
  }

  static bool supports(const Attrs&, int32_t pos, const DType* types, int32_t, int32_t) {
    if (pos == 0) return types[0] == DType::kFLOAT || types[0] == DType::kHALF || types[0] == DType::kBF16;
    return types[pos] == types[0];
  }

  static DType outputType(const Attrs&, int32_t, const DType* inTypes, int32_t) { return inTypes[0]; }

  static size_t workspaceSize(const Attrs&, const TensorDesc*, int32_t, const TensorDesc*, int32_t) { return 0; }

  // Dimensions of -1 (not yet known while TensorRT builds) are skipped.
  static void checkInputs(const Attrs&, const TensorDesc* in, int32_t) {
    PDK_CHECK(in[0].nbDims >= 1, kName, ": input x must have at least 1 dimension, got ", in[0].nbDims);
    PDK_CHECK(in[1].nbDims == 1, kName, ": input weight must be 1-D [D], got ", in[1].nbDims, " dimensions");
    const int64_t d = in[0].dims[in[0].nbDims - 1];
    const int64_t w = in[1].dims[0];
    PDK_CHECK(d < 0 || w < 0 || d == w, kName, ": weight has ", w, " elements but the last axis of x has ", d,
              "; they must match");
    PDK_CHECK(in[0].dtype == in[1].dtype, kName, ": weight must have the dtype of x (", dtypeName(in[0].dtype),
              "), got ", dtypeName(in[1].dtype));
  }

  static void enqueue(const Attrs&, const TensorDesc* in, const TensorDesc* out, const void* const* inputs,
                      void* const* outputs, void* workspace, Stream stream);
  static void cpuReference(const Attrs&, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                           void* const* outputs);
};

}  // namespace pdk
