// Tensor descriptions and the integer side of the shape-rule abstraction. An op writes
// its shape rule once, as a template over a builder B with B::Expr; IntExprBuilder
// evaluates it on integers (tests, CPU references, Python), the TensorRT adapters pass
// a builder over IDimensionExpr.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/dtype.h"
#include "common/error.h"

struct CUstream_st;  // NOLINT: CUDA's own name, so Stream converts to cudaStream_t

namespace pdk {

constexpr int32_t kMaxDims = 8;

using Stream = ::CUstream_st*;  // cudaStream_t without the CUDA headers

struct TensorDesc {
  DType dtype = DType::kFLOAT;
  int32_t nbDims = 0;
  int64_t dims[kMaxDims] = {};

  int64_t volume() const {
    int64_t v = 1;
    for (int32_t i = 0; i < nbDims; ++i) v *= dims[i];
    return v;
  }
};

// An optional input that is absent (op.h, kNbOptionalInputs): rank -1, and its data
// pointer is null. Ops receive input arrays of kNbInputs entries with absent ones marked so.
constexpr int32_t kAbsentRank = -1;
inline TensorDesc absentTensor() {
  TensorDesc d;
  d.nbDims = kAbsentRank;
  return d;
}
inline bool isAbsent(const TensorDesc& d) {
  return d.nbDims == kAbsentRank;
}

template <class E>
struct Shape {
  int32_t nbDims = 0;
  E d[kMaxDims] = {};
};

// Marks a dimension whose value is only known after the kernel ran (a size tensor).
constexpr int64_t kDataDependent = -1;

struct IntExprBuilder {
  using Expr = int64_t;
  Expr constant(int64_t v) const { return v; }
  Expr sum(Expr a, Expr b) const { return a + b; }
  Expr sub(Expr a, Expr b) const { return a - b; }
  Expr prod(Expr a, Expr b) const { return a * b; }
  Expr max(Expr a, Expr b) const { return std::max(a, b); }
  Expr min(Expr a, Expr b) const { return std::min(a, b); }
  Expr floorDiv(Expr a, Expr b) const {
    PDK_CHECK(b != 0, "shape rule divides by zero");
    return a / b;
  }
  Expr ceilDiv(Expr a, Expr b) const {
    PDK_CHECK(b != 0, "shape rule divides by zero");
    return (a + b - 1) / b;
  }
  // A dimension known only at run time. `upperBound` is what the op can at most produce;
  // integer evaluation reports kDataDependent so callers size buffers from upperBound.
  Expr sizeTensor(int32_t /*outputIndex*/, Expr /*opt*/, Expr upperBound) {
    lastUpperBound = upperBound;
    return kDataDependent;
  }
  Expr lastUpperBound = 0;
};

}  // namespace pdk
