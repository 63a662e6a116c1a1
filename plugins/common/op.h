// The op concept. An op is a struct with only static members; the TensorRT adapters,
// the Python bindings and the tests are generic over it:
//
//   struct MyOp {
//     static constexpr const char* kName = "MyOp";       // TensorRT plugin name = ONNX op_type
//     static constexpr bool kHasV2 = true;               // IPluginV2DynamicExt version "1"
//     static constexpr int32_t kNbInputs = 2, kNbOutputs = 1;
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
// `supports` follows TensorRT's convention: types[0..pos] are decided, answer for `pos`
// in terms of the earlier ones. Formats are always linear; the adapters enforce that.
// Errors are thrown as pdk::Error (PDK_CHECK / PDK_FAIL); adapters catch them at the ABI.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/attrs.h"
#include "common/dtype.h"
#include "common/error.h"
#include "common/tensor.h"

namespace pdk {

// Integer evaluation of an op's shape rule, with a check of the input count first.
template <class Op>
std::vector<Shape<int64_t>> outputShapes(const typename Op::Attrs& attrs, const std::vector<Shape<int64_t>>& inputs,
                                         std::vector<int64_t>* upperBounds = nullptr) {
  PDK_CHECK(static_cast<int32_t>(inputs.size()) == Op::kNbInputs, Op::kName, " takes ", Op::kNbInputs, " inputs, got ",
            inputs.size());
  std::vector<Shape<int64_t>> out(Op::kNbOutputs);
  IntExprBuilder builder;
  Op::outputShapes(attrs, inputs.data(), Op::kNbInputs, out.data(), builder);
  if (upperBounds) upperBounds->assign(1, builder.lastUpperBound);
  return out;
}

// The dtypes the op accepts as a list of full combinations (inputs then outputs), found
// by walking `supports` position by position like TensorRT's builder does.
template <class Op>
std::vector<std::vector<DType>> supportedCombinations(const typename Op::Attrs& attrs) {
  constexpr int32_t n = Op::kNbInputs + Op::kNbOutputs;
  std::vector<std::vector<DType>> result;
  std::vector<DType> current(n);
  auto walk = [&](auto&& self, int32_t pos) -> void {
    if (pos == n) {
      result.push_back(current);
      return;
    }
    for (DType t : {DType::kFLOAT, DType::kHALF, DType::kBF16, DType::kINT32, DType::kINT64, DType::kBOOL, DType::kINT8,
                    DType::kUINT8}) {
      current[pos] = t;
      if (Op::supports(attrs, pos, current.data(), Op::kNbInputs, Op::kNbOutputs)) self(self, pos + 1);
    }
  };
  walk(walk, 0);
  return result;
}

}  // namespace pdk
