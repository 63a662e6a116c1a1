// The op concept. An op is a struct with only static members; the TensorRT adapters,
// the Python bindings and the tests are generic over it:
//
//   struct MyOp {
//     static constexpr const char* kName = "MyOp";       // TensorRT plugin name = ONNX op_type
//     static constexpr bool kHasV2 = true;               // IPluginV2DynamicExt version "1"
//     static constexpr int32_t kNbInputs = 2, kNbOutputs = 1;
//     static constexpr int32_t kNbOptionalInputs = 0;    // optional: the last inputs may be absent
//     static constexpr int32_t kNbSizeTensorOutputs = 0;  // V3 size-tensor outputs (last ones)
//     struct Attrs { float eps = 1e-6f; template <class V> void fields(V& v) { ... } };
//     static void validate(const Attrs&);                // cross-field checks; throw pdk::Error
//     template <class B>
//     static void outputShapes(const Attrs&, const Shape<typename B::Expr>* in, int32_t nbIn,
//                              Shape<typename B::Expr>* out, B& builder);
//     static bool supports(const Attrs&, int32_t pos, const DType* types, int32_t nbIn, int32_t nbOut);
//     static DType outputType(const Attrs&, int32_t index, const DType* inTypes, int32_t nbIn);
//     static size_t workspaceSize(const Attrs&, const TensorDesc* in, int32_t nbIn,
//                                 const TensorDesc* out, int32_t nbOut);
//     static void checkInputs(const Attrs&, const TensorDesc* in, int32_t nbIn);  // shapes at run time
//     static void enqueue(const Attrs&, const TensorDesc* in, const TensorDesc* out,
//                         const void* const* inputs, void* const* outputs, void* workspace, Stream);
//     static void cpuReference(const Attrs&, const TensorDesc* in, TensorDesc* out,
//                              const void* const* inputs, void* const* outputs);
//   };
//
// Defaults, written once below: an op inherits them and overrides one by declaring its own
// member of that name (which hides the inherited one; the generic code calls Op::member).
//   pdk::OpDefaults                  kHasV2 = true, kNbOptionalInputs = 0,
//                                    kNbSizeTensorOutputs = 0, validate: nothing to check,
//                                    workspaceSize: 0 bytes
//   pdk::SameShapeAsFirstInput<Op>   outputShapes: every output has the shape of input 0
//   pdk::SameTypeAsFirstInput<T...>  supports: input 0 is one of T..., every other input and
//                                    output has its dtype; outputType: the dtype of input 0
//   pdk::SameAsFirstInput<Op, T...>  both of the above; pdk::FloatSameAsFirstInput<Op> with
//                                    T = float32, float16, bfloat16
// So a shape- and dtype-preserving op declares kName, the counts, Attrs, checkInputs,
// enqueue and cpuReference:
//   struct MyOp : pdk::OpDefaults, pdk::FloatSameAsFirstInput<MyOp> { ... };
// The inherited functions are templates over the attrs type (deduced from the call).
//
// Optional inputs: with kNbOptionalInputs = k, a node may have kNbInputs - k .. kNbInputs
// inputs (trailing ones absent, as ONNX allows). Functions taking `nbIn` get the actual count
// (`supports` numbers outputs from nbIn); input arrays always hold kNbInputs entries, absent
// ones with rank kAbsentRank (-1) and a null data pointer (pdk::isAbsent). Ops that neither
// declare nor inherit kNbOptionalInputs have none.
//
// `supports` follows TensorRT's convention: types[0..pos] are decided, answer for `pos`
// in terms of the earlier ones. Formats are always linear; the adapters enforce that.
// Errors are thrown as pdk::Error (PDK_CHECK / PDK_FAIL); adapters catch them at the ABI.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include "common/attrs.h"
#include "common/dtype.h"
#include "common/error.h"
#include "common/tensor.h"

namespace pdk {

namespace detail {
template <class Op, class = void>
struct OptionalInputs : std::integral_constant<int32_t, 0> {};
template <class Op>
struct OptionalInputs<Op, std::void_t<decltype(Op::kNbOptionalInputs)>>
    : std::integral_constant<int32_t, Op::kNbOptionalInputs> {};
}  // namespace detail

// How many trailing inputs of `Op` may be absent (0 unless the op declares kNbOptionalInputs).
template <class Op>
constexpr int32_t kNbOptionalInputs = detail::OptionalInputs<Op>::value;
// The fewest inputs a node of `Op` may have.
template <class Op>
constexpr int32_t kMinInputs = Op::kNbInputs - kNbOptionalInputs<Op>;

template <class Op>
constexpr bool acceptsInputCount(int64_t n) {
  static_assert(kNbOptionalInputs<Op> >= 0 && kNbOptionalInputs<Op> < Op::kNbInputs,
                "kNbOptionalInputs must leave at least one required input");
  return n >= kMinInputs<Op> && n <= Op::kNbInputs;
}

// The one message for a wrong input count, e.g. "FusedBiasGelu takes 1 or 2 inputs (...)".
template <class Op>
void checkInputCount(int64_t n) {
  if (acceptsInputCount<Op>(n)) return;
  if (kNbOptionalInputs<Op> == 0) PDK_FAIL(Op::kName, " takes ", Op::kNbInputs, " inputs, got ", n);
  PDK_FAIL(Op::kName, " takes ", kMinInputs<Op>, (kNbOptionalInputs<Op> == 1 ? " or " : " to "), Op::kNbInputs,
           " inputs (the last ", kNbOptionalInputs<Op>, " optional), got ", n);
}

// The defaults of the op concept (see the top of this file).
struct OpDefaults {
  static constexpr bool kHasV2 = true;
  static constexpr int32_t kNbOptionalInputs = 0;
  static constexpr int32_t kNbSizeTensorOutputs = 0;

  template <class Attrs>
  static void validate(const Attrs&) {}

  template <class Attrs>
  static size_t workspaceSize(const Attrs&, const TensorDesc*, int32_t, const TensorDesc*, int32_t) {
    return 0;
  }
};

// Every output has the shape of input 0. `Op` is the op itself (for its output count).
template <class Op>
struct SameShapeAsFirstInput {
  template <class Attrs, class B>
  static void outputShapes(const Attrs&, const Shape<typename B::Expr>* in, int32_t, Shape<typename B::Expr>* out, B&) {
    for (int32_t j = 0; j < Op::kNbOutputs; ++j) out[j] = in[0];
  }
};

// Input 0 is one of kTypes; every other input and every output has its dtype.
template <DType... kTypes>
struct SameTypeAsFirstInput {
  static_assert(sizeof...(kTypes) > 0, "SameTypeAsFirstInput needs at least one dtype");

  template <class Attrs>
  static bool supports(const Attrs&, int32_t pos, const DType* types, int32_t, int32_t) {
    if (pos == 0) return ((types[0] == kTypes) || ...);
    return types[pos] == types[0];
  }

  template <class Attrs>
  static DType outputType(const Attrs&, int32_t, const DType* inTypes, int32_t) {
    return inTypes[0];
  }
};

template <class Op, DType... kTypes>
struct SameAsFirstInput : SameShapeAsFirstInput<Op>, SameTypeAsFirstInput<kTypes...> {};

// Shape and dtype of input 0, which is float32, float16 or bfloat16.
template <class Op>
using FloatSameAsFirstInput = SameAsFirstInput<Op, DType::kFLOAT, DType::kHALF, DType::kBF16>;

// For checkInputs: `v` (named `what` in messages) is a per-channel vector of `x`: 1-D [D] with
// D the last axis of x (the caller checks that x has one), and the dtype of x. Dimensions of
// -1 (not yet known while TensorRT builds) are skipped.
inline void checkLastAxisVector(const char* op, const TensorDesc& x, const TensorDesc& v, const char* what) {
  PDK_CHECK(v.nbDims == 1, op, ": input ", what, " must be 1-D [D], got ", v.nbDims, " dimensions");
  const int64_t d = x.dims[x.nbDims - 1];
  const int64_t n = v.dims[0];
  PDK_CHECK(d < 0 || n < 0 || d == n, op, ": ", what, " has ", n, " elements but the last axis of x has ", d,
            "; they must match");
  PDK_CHECK(x.dtype == v.dtype, op, ": ", what, " must have the dtype of x (", dtypeName(x.dtype), "), got ",
            dtypeName(v.dtype));
}

// Integer evaluation of an op's shape rule, with a check of the input count first.
template <class Op>
std::vector<Shape<int64_t>> outputShapes(const typename Op::Attrs& attrs, const std::vector<Shape<int64_t>>& inputs,
                                         std::vector<int64_t>* upperBounds = nullptr) {
  checkInputCount<Op>(static_cast<int64_t>(inputs.size()));
  std::vector<Shape<int64_t>> in(inputs);
  Shape<int64_t> absent;
  absent.nbDims = kAbsentRank;
  in.resize(Op::kNbInputs, absent);
  std::vector<Shape<int64_t>> out(Op::kNbOutputs);
  IntExprBuilder builder;
  Op::outputShapes(attrs, in.data(), static_cast<int32_t>(inputs.size()), out.data(), builder);
  if (upperBounds) upperBounds->assign(1, builder.lastUpperBound);
  return out;
}

// The dtypes the op accepts as a list of full combinations (inputs then outputs), found
// by walking `supports` position by position like TensorRT's builder does. `nbInputs`
// (default: all) chooses how many of the optional inputs are present.
template <class Op>
std::vector<std::vector<DType>> supportedCombinations(const typename Op::Attrs& attrs,
                                                      int32_t nbInputs = Op::kNbInputs) {
  checkInputCount<Op>(nbInputs);
  const int32_t n = nbInputs + Op::kNbOutputs;
  std::vector<std::vector<DType>> result;
  std::vector<DType> current(static_cast<size_t>(n));
  auto walk = [&](auto&& self, int32_t pos) -> void {
    if (pos == n) {
      result.push_back(current);
      return;
    }
    for (DType t : {DType::kFLOAT, DType::kHALF, DType::kBF16, DType::kINT32, DType::kINT64, DType::kBOOL, DType::kINT8,
                    DType::kUINT8}) {
      current[static_cast<size_t>(pos)] = t;
      if (Op::supports(attrs, pos, current.data(), nbInputs, Op::kNbOutputs)) self(self, pos + 1);
    }
  };
  walk(walk, 0);
  return result;
}

}  // namespace pdk
