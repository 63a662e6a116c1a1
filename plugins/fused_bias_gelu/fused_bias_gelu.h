// FusedBiasGelu: y = gelu(x + bias) in one pass (one read of x, one write of y), with
// approximate = "none" (erf) or "tanh". The bias input is optional: without it, y = gelu(x).
#pragma once

#include "common/op.h"

namespace pdk {

struct FusedBiasGelu {
  static constexpr const char* kName = "FusedBiasGelu";
  static constexpr bool kHasV2 = true;
  static constexpr int32_t kNbInputs = 2;  // x, bias
  static constexpr int32_t kNbOptionalInputs = 1;
  static constexpr int32_t kNbOutputs = 1;
  static constexpr int32_t kNbSizeTensorOutputs = 0;

  struct Attrs {
    std::string approximate = "none";
    template <class V>
    void fields(V& v) {
      v.choice("approximate", approximate, {"none", "tanh"},
               "GELU formula: none = exact (erf), tanh = tanh approximation");
    }
    bool tanh() const { return approximate == "tanh"; }
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

  static bool hasBias(const TensorDesc* in, int32_t nbIn) { return nbIn > 1 && !isAbsent(in[1]); }

  // Dimensions of -1 (not yet known while TensorRT builds) are skipped.
  static void checkInputs(const Attrs&, const TensorDesc* in, int32_t nbIn) {
    checkInputCount<FusedBiasGelu>(nbIn);
    if (!hasBias(in, nbIn)) return;
    PDK_CHECK(in[0].nbDims >= 1, kName, ": with a bias, input x must have at least 1 dimension, got ", in[0].nbDims);
    PDK_CHECK(in[1].nbDims == 1, kName, ": input bias must be 1-D [D], got ", in[1].nbDims, " dimensions");
    const int64_t d = in[0].dims[in[0].nbDims - 1];
    const int64_t b = in[1].dims[0];
    PDK_CHECK(d < 0 || b < 0 || d == b, kName, ": bias has ", b, " elements but the last axis of x has ", d,
              "; they must match");
    PDK_CHECK(in[0].dtype == in[1].dtype, kName, ": bias must have the dtype of x (", dtypeName(in[0].dtype), "), got ",
              dtypeName(in[1].dtype));
  }

  static void enqueue(const Attrs&, const TensorDesc* in, const TensorDesc* out, const void* const* inputs,
                      void* const* outputs, void* workspace, Stream stream);
  static void cpuReference(const Attrs&, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                           void* const* outputs);
};

}  // namespace pdk
