// FusedBiasGelu: y = gelu(x + bias) in one pass (one read of x, one write of y), with
// approximate = "none" (erf) or "tanh". The bias input is optional: without it, y = gelu(x).
#pragma once

#include "common/op.h"

namespace pdk {

// Output: the shape and dtype of x (float32, float16 or bfloat16); no workspace.
struct FusedBiasGelu : OpDefaults, FloatSameAsFirstInput<FusedBiasGelu> {
  static constexpr const char* kName = "FusedBiasGelu";
  static constexpr int32_t kNbInputs = 2;  // x, bias
  static constexpr int32_t kNbOptionalInputs = 1;
  static constexpr int32_t kNbOutputs = 1;

  struct Attrs {
    std::string approximate = "none";
    template <class V>
    void fields(V& v) {
      v.choice("approximate", approximate, {"none", "tanh"},
               "GELU formula: none = exact (erf), tanh = tanh approximation");
    }
    bool tanh() const { return approximate == "tanh"; }
  };

  static bool hasBias(const TensorDesc* in, int32_t nbIn) { return nbIn > 1 && !isAbsent(in[1]); }

  // Dimensions of -1 (not yet known while TensorRT builds) are skipped.
  static void checkInputs(const Attrs&, const TensorDesc* in, int32_t nbIn) {
    checkInputCount<FusedBiasGelu>(nbIn);
    if (!hasBias(in, nbIn)) return;
    PDK_CHECK(in[0].nbDims >= 1, kName, ": with a bias, input x must have at least 1 dimension, got ", in[0].nbDims);
    checkLastAxisVector(kName, in[0], in[1], "bias");
  }

  static void enqueue(const Attrs&, const TensorDesc* in, const TensorDesc* out, const void* const* inputs,
                      void* const* outputs, void* workspace, Stream stream);
  static void cpuReference(const Attrs&, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                           void* const* outputs);
};

}  // namespace pdk
