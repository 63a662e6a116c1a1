// The parts of IPluginV2DynamicExt and IPluginV3 that are the same call into the op:
// format/dtype support, output types, workspace size, and enqueue.
#pragma once

#include <NvInferRuntime.h>

#include "common/error.h"
#include "common/tensor.h"
#include "common/trt/convert.h"

namespace pdk::trt {

// TensorRT asks position by position; inOut[0..pos] are decided. Only linear layouts are
// offered, whatever the op, so ops never see formats.
template <class Op, class Desc>
bool supportsCombination(const typename Op::Attrs& attrs, int32_t pos, const Desc* inOut, int32_t nbInputs,
                         int32_t nbOutputs, const nvinfer1::PluginTensorDesc& (*descOf)(const Desc&)) {
  PDK_CHECK(nbInputs == Op::kNbInputs && nbOutputs == Op::kNbOutputs, Op::kName, " has ", Op::kNbInputs, " inputs and ",
            Op::kNbOutputs, " outputs, TensorRT asked with ", nbInputs, " and ", nbOutputs);
  PDK_CHECK(inOut != nullptr && pos >= 0 && pos < nbInputs + nbOutputs, Op::kName,
            ": supportsFormatCombination position ", pos, " out of range");
  if (descOf(inOut[pos]).format != nvinfer1::TensorFormat::kLINEAR) return false;
  DType types[Op::kNbInputs + Op::kNbOutputs] = {};
  for (int32_t i = 0; i <= pos; ++i) types[i] = toDType(descOf(inOut[i]).type);
  return Op::supports(attrs, pos, types, nbInputs, nbOutputs);
}

inline const nvinfer1::PluginTensorDesc& descOfPlain(const nvinfer1::PluginTensorDesc& d) {
  return d;
}
inline const nvinfer1::PluginTensorDesc& descOfDynamic(const nvinfer1::DynamicPluginTensorDesc& d) {
  return d.desc;
}

template <class Op>
void outputTypesOf(const typename Op::Attrs& attrs, nvinfer1::DataType* outputs, int32_t nbOutputs,
                   const nvinfer1::DataType* inputs, int32_t nbInputs) {
  PDK_CHECK(nbInputs == Op::kNbInputs && inputs != nullptr, Op::kName, " takes ", Op::kNbInputs, " inputs, got ",
            nbInputs);
  PDK_CHECK(nbOutputs == Op::kNbOutputs && outputs != nullptr, Op::kName, " has ", Op::kNbOutputs,
            " outputs, TensorRT asked for ", nbOutputs);
  DType in[Op::kNbInputs];
  for (int32_t i = 0; i < Op::kNbInputs; ++i) in[i] = toDType(inputs[i]);
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) outputs[i] = toDataType(Op::outputType(attrs, i, in, nbInputs));
}

template <class Op>
void checkCounts(int32_t nbInputs, int32_t nbOutputs) {
  PDK_CHECK(nbInputs == Op::kNbInputs && nbOutputs == Op::kNbOutputs, Op::kName, " has ", Op::kNbInputs, " inputs and ",
            Op::kNbOutputs, " outputs, got ", nbInputs, " and ", nbOutputs);
}

template <class Op>
void enqueueOp(const typename Op::Attrs& attrs, const nvinfer1::PluginTensorDesc* inputDesc,
               const nvinfer1::PluginTensorDesc* outputDesc, const void* const* inputs, void* const* outputs,
               void* workspace, cudaStream_t stream) {
  PDK_CHECK(inputDesc != nullptr && outputDesc != nullptr, Op::kName, ": enqueue got null tensor descriptions");
  TensorDesc in[Op::kNbInputs];
  TensorDesc out[Op::kNbOutputs];
  for (int32_t i = 0; i < Op::kNbInputs; ++i) in[i] = toTensorDesc(inputDesc[i]);
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) out[i] = toTensorDesc(outputDesc[i]);
  Op::checkInputs(attrs, in, Op::kNbInputs);
  Op::enqueue(attrs, in, out, inputs, outputs, workspace, stream);
}

}  // namespace pdk::trt
