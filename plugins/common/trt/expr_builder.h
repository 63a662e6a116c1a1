// The op's shape rule, evaluated on TensorRT's symbolic dimensions: the same template the
// op core evaluates on integers, instantiated with Expr = const nvinfer1::IDimensionExpr*.
#pragma once

#include <NvInferRuntime.h>

#include "common/error.h"
#include "common/op.h"
#include "common/tensor.h"

namespace pdk::trt {

class TrtExprBuilder {
 public:
  using Expr = const nvinfer1::IDimensionExpr*;

  // Size tensors exist only for IPluginV3; the V2 adapter passes allowSizeTensors = false.
  // They are outputs [firstSizeTensor, nbOutputs) (the op's last kNbSizeTensorOutputs).
  TrtExprBuilder(nvinfer1::IExprBuilder& builder, bool allowSizeTensors, int32_t firstSizeTensor, int32_t nbOutputs)
      : builder_(builder),
        allowSizeTensors_(allowSizeTensors),
        firstSizeTensor_(firstSizeTensor),
        nbOutputs_(nbOutputs) {}

  Expr constant(int64_t v) const { return checked(builder_.constant(v), "constant"); }
  Expr sum(Expr a, Expr b) const { return op(nvinfer1::DimensionOperation::kSUM, a, b, "sum"); }
  Expr sub(Expr a, Expr b) const { return op(nvinfer1::DimensionOperation::kSUB, a, b, "sub"); }
  Expr prod(Expr a, Expr b) const { return op(nvinfer1::DimensionOperation::kPROD, a, b, "prod"); }
  Expr max(Expr a, Expr b) const { return op(nvinfer1::DimensionOperation::kMAX, a, b, "max"); }
  Expr min(Expr a, Expr b) const { return op(nvinfer1::DimensionOperation::kMIN, a, b, "min"); }
  Expr floorDiv(Expr a, Expr b) const { return op(nvinfer1::DimensionOperation::kFLOOR_DIV, a, b, "floorDiv"); }
  Expr ceilDiv(Expr a, Expr b) const { return op(nvinfer1::DimensionOperation::kCEIL_DIV, a, b, "ceilDiv"); }

  Expr sizeTensor(int32_t outputIndex, Expr opt, Expr upperBound) const {
    PDK_CHECK(allowSizeTensors_, "the shape rule declares a data-dependent size (output ", outputIndex,
              "), which IPluginV2DynamicExt cannot express; such an op must set kHasV2 = false");
    PDK_CHECK(outputIndex >= firstSizeTensor_ && outputIndex < nbOutputs_, "the shape rule declares output ",
              outputIndex, " a size tensor, but the op's size-tensor outputs are ", firstSizeTensor_, "..",
              nbOutputs_ - 1, " (kNbSizeTensorOutputs counts the last outputs)");
    PDK_CHECK(opt != nullptr && upperBound != nullptr, "sizeTensor() got a null expression");
    return checked(builder_.declareSizeTensor(outputIndex, *opt, *upperBound), "declareSizeTensor");
  }

 private:
  Expr op(nvinfer1::DimensionOperation operation, Expr a, Expr b, const char* name) const {
    PDK_CHECK(a != nullptr && b != nullptr, "shape rule passed a null expression to ", name,
              "(); every output dimension must be set");
    return checked(builder_.operation(operation, *a, *b), name);
  }
  static Expr checked(Expr e, const char* name) {
    PDK_CHECK(e != nullptr, "TensorRT's expression builder returned null for ", name, "()");
    return e;
  }
  nvinfer1::IExprBuilder& builder_;
  bool allowSizeTensors_;
  int32_t firstSizeTensor_;
  int32_t nbOutputs_;
};

inline Shape<TrtExprBuilder::Expr> toShape(const nvinfer1::DimsExprs& dims) {
  PDK_CHECK(dims.nbDims >= 0 && dims.nbDims <= kMaxDims, "tensor rank ", dims.nbDims, " is not supported (0..",
            kMaxDims, ")");
  Shape<TrtExprBuilder::Expr> shape;
  shape.nbDims = dims.nbDims;
  for (int32_t i = 0; i < dims.nbDims; ++i) shape.d[i] = dims.d[i];
  return shape;
}

inline nvinfer1::DimsExprs toDimsExprs(const Shape<TrtExprBuilder::Expr>& shape, int32_t outputIndex) {
  PDK_CHECK(shape.nbDims >= 0 && shape.nbDims <= kMaxDims, "shape rule gave output ", outputIndex, " rank ",
            shape.nbDims, " (supported: 0..", kMaxDims, ")");
  nvinfer1::DimsExprs dims{};
  dims.nbDims = shape.nbDims;
  for (int32_t i = 0; i < shape.nbDims; ++i) {
    PDK_CHECK(shape.d[i] != nullptr, "shape rule left dimension ", i, " of output ", outputIndex, " unset");
    dims.d[i] = shape.d[i];
  }
  return dims;
}

// Runs Op::outputShapes over TensorRT expressions; returns every output's dimensions.
template <class Op>
void outputDims(const typename Op::Attrs& attrs, const nvinfer1::DimsExprs* inputs, int32_t nbInputs,
                nvinfer1::DimsExprs* outputs, nvinfer1::IExprBuilder& exprBuilder, bool allowSizeTensors) {
  checkInputCount<Op>(nbInputs);
  PDK_CHECK(inputs != nullptr, Op::kName, ": got a null input shape array");
  Shape<TrtExprBuilder::Expr> in[Op::kNbInputs];
  for (int32_t i = 0; i < Op::kNbInputs; ++i) in[i].nbDims = kAbsentRank;  // absent optional inputs
  for (int32_t i = 0; i < nbInputs; ++i) in[i] = toShape(inputs[i]);
  Shape<TrtExprBuilder::Expr> out[Op::kNbOutputs];
  TrtExprBuilder builder(exprBuilder, allowSizeTensors, Op::kNbOutputs - Op::kNbSizeTensorOutputs, Op::kNbOutputs);
  Op::outputShapes(attrs, in, nbInputs, out, builder);
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) outputs[i] = toDimsExprs(out[i], i);
}

}  // namespace pdk::trt
