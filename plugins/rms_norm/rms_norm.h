// RMSNorm: y = x / sqrt(mean(x^2 over the last axis) + eps) * weight, accumulated in fp32.
#pragma once

#include "common/op.h"

namespace pdk {

// Output: the shape and dtype of x (float32, float16 or bfloat16); no workspace.
struct RmsNorm : OpDefaults, FloatSameAsFirstInput<RmsNorm> {
  static constexpr const char* kName = "RMSNorm";
  static constexpr int32_t kNbInputs = 2;
  static constexpr int32_t kNbOutputs = 1;

  struct Attrs {
    float eps = 1e-6f;
    template <class V>
    void fields(V& v) {
      v.real("eps", eps, FloatRange::positive(1.0f), "added to the mean square before the root");
    }
  };

  // Dimensions of -1 (not yet known while TensorRT builds) are skipped.
  static void checkInputs(const Attrs&, const TensorDesc* in, int32_t) {
    PDK_CHECK(in[0].nbDims >= 1, kName, ": input x must have at least 1 dimension, got ", in[0].nbDims);
    checkLastAxisVector(kName, in[0], in[1], "weight");
  }

  static void enqueue(const Attrs&, const TensorDesc* in, const TensorDesc* out, const void* const* inputs,
                      void* const* outputs, void* workspace, Stream stream);
  static void cpuReference(const Attrs&, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                           void* const* outputs);
};

}  // namespace pdk
