// Bucketize: for every element of x, the index of its bucket in the sorted 1-D boundaries,
// like torch.bucketize(x, boundaries, right=..., out_int32=...). right = 0: the first i with
// boundaries[i] >= x; right = 1: the first i with boundaries[i] > x (len(boundaries) if none).
#pragma once

#include "common/op.h"

namespace pdk {

// Output: the shape of x; its dtype is out_dtype.
struct Bucketize : OpDefaults, SameShapeAsFirstInput<Bucketize> {
  static constexpr const char* kName = "Bucketize";
  static constexpr int32_t kNbInputs = 2;  // x, boundaries
  static constexpr int32_t kNbOutputs = 1;

  struct Attrs {
    int32_t right = 0;
    std::string out_dtype = "int64";  // NOLINT: the attribute's name
    template <class V>
    void fields(V& v) {
      v.integer("right", right, IntRange{0, 1},
                "0: boundaries[i-1] < x <= boundaries[i]; 1: boundaries[i-1] <= x < boundaries[i]");
      v.choice("out_dtype", out_dtype, {"int64", "int32"}, "dtype of the indices (torch's out_int32=True is int32)");
    }
    DType outDType() const { return out_dtype == "int32" ? DType::kINT32 : DType::kINT64; }
  };

  static bool supports(const Attrs&, int32_t pos, const DType* types, int32_t, int32_t) {
    if (pos == 0) return types[0] == DType::kFLOAT || types[0] == DType::kHALF || types[0] == DType::kINT32;
    if (pos == 1) return types[1] == types[0];
    return types[pos] == DType::kINT32 || types[pos] == DType::kINT64;  // the kernels write either
  }

  // out_dtype decides the output type; the kernels write the dtype the output tensor has.
  static DType outputType(const Attrs& attrs, int32_t, const DType*, int32_t) { return attrs.outDType(); }

  // Bytes of the device flag that records unsorted boundaries (when they do not fit in
  // shared memory, a separate pass checks them).
  static size_t workspaceSize(const Attrs&, const TensorDesc*, int32_t, const TensorDesc*, int32_t) { return 16; }

  // Dimensions of -1 (not yet known while TensorRT builds) are skipped.
  static void checkInputs(const Attrs&, const TensorDesc* in, int32_t) {
    PDK_CHECK(in[1].nbDims == 1, kName, ": input boundaries must be 1-D, got ", in[1].nbDims, " dimensions");
    PDK_CHECK(in[0].dtype == in[1].dtype, kName, ": boundaries must have the dtype of x (", dtypeName(in[0].dtype),
              "), got ", dtypeName(in[1].dtype));
    PDK_CHECK(in[1].dims[0] <= 0x7fffffff, kName, ": ", in[1].dims[0], " boundaries are more than 2^31 - 1");
  }

  static void enqueue(const Attrs&, const TensorDesc* in, const TensorDesc* out, const void* const* inputs,
                      void* const* outputs, void* workspace, Stream stream);
  static void cpuReference(const Attrs&, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                           void* const* outputs);
};

}  // namespace pdk
