// The parts of IPluginV2DynamicExt and IPluginV3 that are the same call into the op:
// format/dtype support, output types, shape checks, workspace size, attrs from fields, and
// enqueue. The adapters only translate their interface's signatures to these.
#pragma once

#include <NvInferRuntime.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/op.h"
#include "common/tensor.h"
#include "common/trt/convert.h"

namespace pdk::trt {

// TensorRT asks position by position; inOut[0..pos] are decided. Only linear layouts are
// offered, whatever the op, so ops never see formats.
template <class Op, class Desc>
bool supportsCombination(const typename Op::Attrs& attrs, int32_t pos, const Desc* inOut, int32_t nbInputs,
                         int32_t nbOutputs, const nvinfer1::PluginTensorDesc& (*descOf)(const Desc&)) {
  checkInputCount<Op>(nbInputs);
  PDK_CHECK(nbOutputs == Op::kNbOutputs, Op::kName, " has ", Op::kNbOutputs, " outputs, TensorRT asked with ",
            nbOutputs);
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
  checkInputCount<Op>(nbInputs);
  PDK_CHECK(inputs != nullptr, Op::kName, ": getOutputDataTypes got a null input type array");
  PDK_CHECK(nbOutputs == Op::kNbOutputs && outputs != nullptr, Op::kName, " has ", Op::kNbOutputs,
            " outputs, TensorRT asked for ", nbOutputs);
  DType in[Op::kNbInputs];
  for (int32_t i = 0; i < nbInputs; ++i) in[i] = toDType(inputs[i]);
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) outputs[i] = toDataType(Op::outputType(attrs, i, in, nbInputs));
}

template <class Op>
void checkCounts(int32_t nbInputs, int32_t nbOutputs) {
  checkInputCount<Op>(nbInputs);
  PDK_CHECK(nbOutputs == Op::kNbOutputs, Op::kName, " has ", Op::kNbOutputs, " outputs, got ", nbOutputs);
}

// The op sees kNbInputs descriptions; absent optional inputs are marked (pdk::absentTensor).
template <class Op>
std::vector<TensorDesc> withAbsentInputs(std::vector<TensorDesc> in) {
  in.resize(static_cast<size_t>(Op::kNbInputs), absentTensor());
  return in;
}

// configurePlugin / onShapeChange: checks the node's inputs (dims of -1, not yet decided by
// the profile, are skipped by the op) and returns its input count for enqueue.
template <class Op, class Desc, class Convert>
int32_t checkConfiguredInputs(const typename Op::Attrs& attrs, const Desc* in, int32_t nbInputs, int32_t nbOutputs,
                              Convert convert) {
  checkCounts<Op>(nbInputs, nbOutputs);
  const auto inputs = withAbsentInputs<Op>(toTensorDescs(in, nbInputs, convert));
  Op::checkInputs(attrs, inputs.data(), nbInputs);
  return nbInputs;
}

template <class Op, class Desc, class Convert>
size_t workspaceSizeOf(const typename Op::Attrs& attrs, const Desc* inputs, int32_t nbInputs, const Desc* outputs,
                       int32_t nbOutputs, Convert convert) {
  checkCounts<Op>(nbInputs, nbOutputs);
  const auto in = withAbsentInputs<Op>(toTensorDescs(inputs, nbInputs, convert));
  const auto out = toTensorDescs(outputs, nbOutputs, convert);
  return Op::workspaceSize(attrs, in.data(), nbInputs, out.data(), nbOutputs);
}

// Creators build attrs from TensorRT's fields through the same validation as every path.
template <class Op>
typename Op::Attrs attrsFromCollection(const nvinfer1::PluginFieldCollection* fc) {
  const std::vector<RawField> raw = toRawFields(fc);
  return pdk::attrsFromFields<Op>(raw.data(), static_cast<int32_t>(raw.size()));
}

// The attribute values as text, "name=value;..." in declaration order: the V3 plugin's
// metadata string and timing-cache ID (its creation state is exactly its attributes).
template <class Op>
std::string attrsText(typename Op::Attrs attrs) {
  RawFieldWriter writer;
  attrs.fields(writer);
  std::string text;
  for (const RawField& f : writer.fields) {
    text += f.name;
    text += '=';
    if (f.type == RawFieldType::kINT32) {
      text += std::to_string(*static_cast<const int32_t*>(f.data));
    } else if (f.type == RawFieldType::kFLOAT32) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(*static_cast<const float*>(f.data)));
      text += buf;
    } else {
      text.append(static_cast<const char*>(f.data), static_cast<size_t>(f.length));
    }
    text += ';';
  }
  return text;
}

inline TensorDesc descOfDynamicPlain(const nvinfer1::DynamicPluginTensorDesc& d) {
  return toTensorDesc(d.desc);
}
inline TensorDesc descOfPlainTensor(const nvinfer1::PluginTensorDesc& d) {
  return toTensorDesc(d);
}

// enqueue() is not told how many inputs the node has. Ops without optional inputs always
// have all of them; for the others the adapters remember the count from configurePlugin /
// onShapeChange, which TensorRT calls before the first enqueue (`nbInputs` < 0: not seen).
template <class Op>
int32_t inputCountForEnqueue(int32_t nbInputs) {
  if (kNbOptionalInputs<Op> == 0) return Op::kNbInputs;
  PDK_CHECK(nbInputs >= 0, Op::kName,
            ": enqueue before configurePlugin/onShapeChange, so the number of inputs (optional ones may be "
            "absent) is unknown");
  return nbInputs;
}

template <class Op>
void enqueueOp(const typename Op::Attrs& attrs, int32_t nbInputs, const nvinfer1::PluginTensorDesc* inputDesc,
               const nvinfer1::PluginTensorDesc* outputDesc, const void* const* inputs, void* const* outputs,
               void* workspace, cudaStream_t stream) {
  PDK_CHECK(inputDesc != nullptr && outputDesc != nullptr, Op::kName, ": enqueue got null tensor descriptions");
  nbInputs = inputCountForEnqueue<Op>(nbInputs);
  PDK_CHECK(inputs != nullptr || nbInputs == 0, Op::kName, ": enqueue got a null input pointer array");
  TensorDesc in[Op::kNbInputs];
  const void* data[Op::kNbInputs] = {};
  for (int32_t i = 0; i < Op::kNbInputs; ++i) {
    in[i] = i < nbInputs ? toTensorDesc(inputDesc[i]) : absentTensor();
    data[i] = i < nbInputs ? inputs[i] : nullptr;
  }
  TensorDesc out[Op::kNbOutputs];
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) out[i] = toTensorDesc(outputDesc[i]);
  Op::checkInputs(attrs, in, nbInputs);
  Op::enqueue(attrs, in, out, data, outputs, workspace, stream);
}

}  // namespace pdk::trt
