// MaskedCompact: the rows of x where mask is true, in order, and their number.
//   x [N, ...], mask [N] (bool)  ->  y [K, ...], count (0-D int64, = K)
// K is known only after the kernel ran, so this op exists only as an IPluginV3: count is a
// size tensor. IPluginV2DynamicExt cannot declare data-dependent output shapes.
#pragma once

#include "common/op.h"

namespace pdk {

struct MaskedCompact : OpDefaults {
  static constexpr const char* kName = "MaskedCompact";
  static constexpr bool kHasV2 = false;     // a data-dependent shape needs IPluginV3 size tensors
  static constexpr int32_t kNbInputs = 2;   // x, mask
  static constexpr int32_t kNbOutputs = 2;  // y, count
  static constexpr int32_t kNbSizeTensorOutputs = 1;

  struct Attrs {
    template <class V>
    void fields(V&) {}
  };

  // y = [K, x.d[1:]] with N / 2 rows for tuning and N at most; count is 0-D.
  template <class B>
  static void outputShapes(const Attrs&, const Shape<typename B::Expr>* in, int32_t, Shape<typename B::Expr>* out,
                           B& b) {
    PDK_CHECK(in[0].nbDims >= 1, kName, ": input x must have at least 1 dimension (rows), got ", in[0].nbDims);
    const auto rows = in[0].d[0];
    out[0] = in[0];
    out[0].d[0] = b.sizeTensor(1, b.ceilDiv(rows, b.constant(2)), rows);
    out[1].nbDims = 0;
  }

  static bool supports(const Attrs&, int32_t pos, const DType* types, int32_t, int32_t) {
    switch (pos) {
      case 0:
        return types[0] == DType::kFLOAT || types[0] == DType::kHALF || types[0] == DType::kBF16 ||
               types[0] == DType::kINT32 || types[0] == DType::kINT64;
      case 1: return types[1] == DType::kBOOL;
      case 2: return types[2] == types[0];
      default: return types[pos] == DType::kINT64;
    }
  }

  static DType outputType(const Attrs&, int32_t index, const DType* inTypes, int32_t) {
    return index == 0 ? inTypes[0] : DType::kINT64;
  }

  // The kernel counts rows per tile of kTileRows, then scans the tile counts (int32 each).
  static constexpr int64_t kTileRows = 256;
  static size_t workspaceSize(const Attrs&, const TensorDesc* in, int32_t, const TensorDesc*, int32_t) {
    const int64_t rows = in[0].nbDims >= 1 ? std::max<int64_t>(in[0].dims[0], 0) : 0;
    const int64_t tiles = (rows + kTileRows - 1) / kTileRows;
    return static_cast<size_t>((tiles * 4 + 255) / 256 * 256);
  }

  // Dimensions of -1 (not yet known while TensorRT builds) are skipped.
  static void checkInputs(const Attrs&, const TensorDesc* in, int32_t) {
    PDK_CHECK(in[0].nbDims >= 1, kName, ": input x must have at least 1 dimension (rows), got ", in[0].nbDims);
    PDK_CHECK(in[1].nbDims == 1, kName, ": input mask must be 1-D [N], got ", in[1].nbDims, " dimensions");
    const int64_t n = in[0].dims[0], m = in[1].dims[0];
    PDK_CHECK(n < 0 || m < 0 || n == m, kName, ": mask has ", m, " elements but x has ", n, " rows; they must match");
    PDK_CHECK(in[1].dtype == DType::kBOOL, kName, ": mask must be bool, got ", dtypeName(in[1].dtype));
    PDK_CHECK(n <= 0x7fffffff, kName, ": ", n, " rows are more than 2^31 - 1");
  }

  static void enqueue(const Attrs&, const TensorDesc* in, const TensorDesc* out, const void* const* inputs,
                      void* const* outputs, void* workspace, Stream stream);
  static void cpuReference(const Attrs&, const TensorDesc* in, TensorDesc* out, const void* const* inputs,
                           void* const* outputs);
};

}  // namespace pdk
