#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "common/cuda_check.h"
#include "masked_compact/masked_compact.h"
#include "masked_compact/masked_compact_math.h"

namespace pdk {
namespace {

constexpr int kTile = static_cast<int>(MaskedCompact::kTileRows);  // rows per tile = threads per block
constexpr int kScanThreads = 1024;
static_assert(kTile == 256, "the kernels assume one thread per row of a 256-row tile");

// Pass 1: how many rows of each tile are kept.
__global__ void countTilesKernel(const uint8_t* __restrict__ mask, int64_t rows, int32_t* __restrict__ tileCounts) {
  using Reduce = cub::BlockReduce<int32_t, kTile>;
  __shared__ typename Reduce::TempStorage temp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kTile + threadIdx.x;
  const int32_t flag = row < rows ? masked_compact::keep(mask, row) : 0;
  const int32_t total = Reduce(temp).Sum(flag);
  if (threadIdx.x == 0) tileCounts[blockIdx.x] = total;
}

// Pass 2 (one block): exclusive prefix sum of the tile counts, in place; the total is K.
__global__ void scanTilesKernel(int32_t* __restrict__ tileCounts, int64_t tiles, int64_t* __restrict__ count) {
  using Scan = cub::BlockScan<int32_t, kScanThreads>;
  __shared__ typename Scan::TempStorage temp;
  __shared__ int32_t carry;
  if (threadIdx.x == 0) carry = 0;
  __syncthreads();
  for (int64_t base = 0; base < tiles; base += kScanThreads) {
    const int64_t i = base + threadIdx.x;
    const int32_t value = i < tiles ? tileCounts[i] : 0;
    int32_t prefix = 0, chunkTotal = 0;
    Scan(temp).ExclusiveSum(value, prefix, chunkTotal);
    if (i < tiles) tileCounts[i] = carry + prefix;
    __syncthreads();
    if (threadIdx.x == 0) carry += chunkTotal;
    __syncthreads();
  }
  if (threadIdx.x == 0) *count = carry;
}

// Pass 3: each tile scans its flags, adds its tile offset and copies the kept rows in
// units of V (the widest of 16/8/4/2/1 bytes that divides the row and the alignments).
template <class V>
__global__ void scatterKernel(const V* __restrict__ x, const uint8_t* __restrict__ mask, V* __restrict__ y,
                              int64_t rows, int64_t rowVecs, const int32_t* __restrict__ tileOffsets) {
  using Scan = cub::BlockScan<int32_t, kTile>;
  __shared__ typename Scan::TempStorage temp;
  __shared__ int32_t dest[kTile];
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t row = row0 + threadIdx.x;
  const int32_t flag = row < rows ? masked_compact::keep(mask, row) : 0;
  int32_t local = 0;
  Scan(temp).ExclusiveSum(flag, local);
  dest[threadIdx.x] = flag ? tileOffsets[blockIdx.x] + local : -1;
  __syncthreads();
  const int tileRows = static_cast<int>(rows - row0 < kTile ? rows - row0 : kTile);
  if (rowVecs >= 32) {  // long rows: the block copies one kept row at a time
    for (int r = 0; r < tileRows; ++r) {
      const int32_t d = dest[r];
      if (d < 0) continue;
      const V* src = x + (row0 + r) * rowVecs;
      V* dst = y + static_cast<int64_t>(d) * rowVecs;
      for (int64_t v = threadIdx.x; v < rowVecs; v += kTile) dst[v] = src[v];
    }
  } else {  // short rows: threads spread over (row, unit) pairs of the tile
    const int32_t units = static_cast<int32_t>(rowVecs);
    const int32_t total = tileRows * units;
    for (int32_t e = threadIdx.x; e < total; e += kTile) {
      const int32_t r = e / units;
      const int32_t d = dest[r];
      if (d >= 0) y[static_cast<int64_t>(d) * rowVecs + (e - r * units)] = x[(row0 + r) * rowVecs + (e - r * units)];
    }
  }
}

template <class V>
void scatter(const void* x, const uint8_t* mask, void* y, int64_t rows, int64_t rowBytes, unsigned tiles,
             const int32_t* tileOffsets, cudaStream_t stream) {
  const int64_t rowVecs = rowBytes / static_cast<int64_t>(sizeof(V));
  scatterKernel<V>
      <<<tiles, kTile, 0, stream>>>(static_cast<const V*>(x), mask, static_cast<V*>(y), rows, rowVecs, tileOffsets);
}

bool fits(const void* x, const void* y, int64_t rowBytes, int64_t unit) {
  return rowBytes % unit == 0 && reinterpret_cast<uintptr_t>(x) % unit == 0 &&
         reinterpret_cast<uintptr_t>(y) % unit == 0;
}

}  // namespace

// out[0]'s first dim may be the upper bound or unknown at enqueue; only inputs are used.
void MaskedCompact::enqueue(const Attrs& attrs, const TensorDesc* in, const TensorDesc*, const void* const* inputs,
                            void* const* outputs, void* workspace, Stream stream) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t rows = in[0].dims[0];
  auto* count = static_cast<int64_t*>(outputs[1]);
  PDK_CHECK(count != nullptr, kName, ": the count output pointer is null");
  if (rows == 0) {
    PDK_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(int64_t), stream));
    return;
  }
  PDK_CHECK(workspace != nullptr, kName, ": no workspace (", workspaceSize(attrs, in, kNbInputs, nullptr, 0),
            " bytes needed)");
  const auto tiles = static_cast<unsigned>((rows + kTile - 1) / kTile);
  const auto* mask = static_cast<const uint8_t*>(inputs[1]);
  auto* tileCounts = static_cast<int32_t*>(workspace);
  countTilesKernel<<<tiles, kTile, 0, stream>>>(mask, rows, tileCounts);
  scanTilesKernel<<<1, kScanThreads, 0, stream>>>(tileCounts, tiles, count);
  const int64_t rowBytes = masked_compact::rowBytes(in[0].dims, in[0].nbDims, dtypeSize(in[0].dtype));
  const void* x = inputs[0];
  void* y = outputs[0];
  if (rowBytes > 0) {
    if (fits(x, y, rowBytes, 16))
      scatter<uint4>(x, mask, y, rows, rowBytes, tiles, tileCounts, stream);
    else if (fits(x, y, rowBytes, 8))
      scatter<uint2>(x, mask, y, rows, rowBytes, tiles, tileCounts, stream);
    else if (fits(x, y, rowBytes, 4))
      scatter<uint32_t>(x, mask, y, rows, rowBytes, tiles, tileCounts, stream);
    else if (fits(x, y, rowBytes, 2))
      scatter<uint16_t>(x, mask, y, rows, rowBytes, tiles, tileCounts, stream);
    else
      scatter<uint8_t>(x, mask, y, rows, rowBytes, tiles, tileCounts, stream);
  }
  PDK_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdk
