// IPluginV2DynamicExt adapter (plugin version "1") and its IPluginCreator, generic over an
// op. The interface is deprecated since TensorRT 10 and its vtable differs between 10 and
// 11, which is why the library is built per TensorRT major; it stays for hosts that still
// look plugins up through the V2 registry API.
#pragma once

#include <NvInferRuntime.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/attrs.h"
#include "common/trt/convert.h"
#include "common/trt/expr_builder.h"
#include "common/trt/host.h"
#include "common/trt/logging.h"
#include "common/trt/op_calls.h"

// Using the deprecated V2 interfaces is the point of this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace pdk::trt {

constexpr const char* kV2Version = "1";

// The bytes of a V2 plugin in an engine: the op's attributes, then, for ops with optional
// inputs, the node's input count (int32, native byte order like the attributes' numbers).
// enqueue needs that count, and a runtime that deserializes an engine built for static
// shapes may never call configurePlugin before it.
template <class Op>
std::vector<char> serializeV2(const typename Op::Attrs& attrs, int32_t nbInputs) {
  std::vector<char> bytes = pdk::serialize<Op>(attrs);
  if constexpr (kNbOptionalInputs<Op> > 0) {
    const char* p = reinterpret_cast<const char*>(&nbInputs);
    bytes.insert(bytes.end(), p, p + sizeof nbInputs);
  }
  return bytes;
}

template <class Op>
std::pair<typename Op::Attrs, int32_t> deserializeV2(const void* data, size_t length) {
  if constexpr (kNbOptionalInputs<Op> > 0) {
    PDK_CHECK(data != nullptr && length >= sizeof(int32_t), Op::kName, ": serialized plugin of ", length,
              " bytes is too short to hold its input count");
    int32_t nbInputs = 0;
    std::memcpy(&nbInputs, static_cast<const char*>(data) + length - sizeof nbInputs, sizeof nbInputs);
    PDK_CHECK(nbInputs == -1 || acceptsInputCount<Op>(nbInputs), Op::kName, ": serialized input count ", nbInputs,
              " is out of range; the engine is damaged or from another plugin");
    return {pdk::deserialize<Op>(data, length - sizeof nbInputs), nbInputs};
  } else {
    return {pdk::deserialize<Op>(data, length), -1};
  }
}

template <class Op>
class PluginV2DynamicExt final : public nvinfer1::IPluginV2DynamicExt {
  static_assert(Op::kHasV2, "PluginV2DynamicExt<Op> needs Op::kHasV2 = true");
  static_assert(Op::kNbSizeTensorOutputs == 0, "IPluginV2DynamicExt cannot produce size tensors");

 public:
  PluginV2DynamicExt(const typename Op::Attrs& attrs, const std::string& ns, int32_t nbInputs = -1)
      : attrs_(attrs), ns_(ns), nbInputs_(nbInputs) {}
  PluginV2DynamicExt(const PluginV2DynamicExt& other)
      : attrs_(other.attrs_), ns_(other.ns_), nbInputs_(other.nbInputs_) {}
  PluginV2DynamicExt& operator=(const PluginV2DynamicExt&) = delete;

  const char* getPluginType() const noexcept override { return Op::kName; }
  const char* getPluginVersion() const noexcept override { return kV2Version; }
  const char* getPluginNamespace() const noexcept override { return ns_.get(); }
  void setPluginNamespace(const char* ns) noexcept override {
    PDK_TRT_TRY ns_.set(ns);
    PDK_TRT_CATCH(where("setPluginNamespace"), )
  }
  int32_t getNbOutputs() const noexcept override { return Op::kNbOutputs; }
  int32_t initialize() noexcept override { return 0; }
  void terminate() noexcept override {}
  void destroy() noexcept override { delete this; }

  nvinfer1::IPluginV2DynamicExt* clone() const noexcept override {
    PDK_TRT_TRY return new PluginV2DynamicExt(*this);
    PDK_TRT_CATCH(where("clone"), nullptr)
  }

  size_t getSerializationSize() const noexcept override {
    PDK_TRT_TRY return serializeV2<Op>(attrs_, nbInputs_).size();
    PDK_TRT_CATCH(where("getSerializationSize"), 0)
  }
  void serialize(void* buffer) const noexcept override {
    PDK_TRT_TRY PDK_CHECK(buffer != nullptr, "serialize() got a null buffer");
    const std::vector<char> bytes = serializeV2<Op>(attrs_, nbInputs_);
    std::copy(bytes.begin(), bytes.end(), static_cast<char*>(buffer));
    PDK_TRT_CATCH(where("serialize"), )
  }

  nvinfer1::DataType getOutputDataType(int32_t index, const nvinfer1::DataType* inputTypes,
                                       int32_t nbInputs) const noexcept override {
    PDK_TRT_TRY PDK_CHECK(index >= 0 && index < Op::kNbOutputs, Op::kName, " has no output ", index);
    nvinfer1::DataType types[Op::kNbOutputs];
    outputTypesOf<Op>(attrs_, types, Op::kNbOutputs, inputTypes, nbInputs);
    return types[index];
    PDK_TRT_CATCH(where("getOutputDataType"), nvinfer1::DataType::kFLOAT)
  }

  nvinfer1::DimsExprs getOutputDimensions(int32_t outputIndex, const nvinfer1::DimsExprs* inputs, int32_t nbInputs,
                                          nvinfer1::IExprBuilder& exprBuilder) noexcept override {
    PDK_TRT_TRY PDK_CHECK(outputIndex >= 0 && outputIndex < Op::kNbOutputs, Op::kName, " has no output ", outputIndex);
    nvinfer1::DimsExprs outputs[Op::kNbOutputs];
    outputDims<Op>(attrs_, inputs, nbInputs, outputs, exprBuilder, /*allowSizeTensors=*/false);
    return outputs[outputIndex];
    PDK_TRT_CATCH(where("getOutputDimensions"), nvinfer1::DimsExprs{})
  }

  bool supportsFormatCombination(int32_t pos, const nvinfer1::PluginTensorDesc* inOut, int32_t nbInputs,
                                 int32_t nbOutputs) noexcept override {
    PDK_TRT_TRY return supportsCombination<Op>(attrs_, pos, inOut, nbInputs, nbOutputs, &descOfPlain);
    PDK_TRT_CATCH(where("supportsFormatCombination"), false)
  }

  // Shapes here may hold -1 (decided by the profile); the op's check skips those.
  void configurePlugin(const nvinfer1::DynamicPluginTensorDesc* in, int32_t nbInputs,
                       const nvinfer1::DynamicPluginTensorDesc* /*out*/, int32_t nbOutputs) noexcept override {
    PDK_TRT_TRY nbInputs_ = checkConfiguredInputs<Op>(attrs_, in, nbInputs, nbOutputs, &descOfDynamicPlain);
    PDK_TRT_CATCH(where("configurePlugin"), )
  }

  size_t getWorkspaceSize(const nvinfer1::PluginTensorDesc* inputs, int32_t nbInputs,
                          const nvinfer1::PluginTensorDesc* outputs, int32_t nbOutputs) const noexcept override {
    PDK_TRT_TRY return workspaceSizeOf<Op>(attrs_, inputs, nbInputs, outputs, nbOutputs, &descOfPlainTensor);
    PDK_TRT_CATCH(where("getWorkspaceSize"), 0)
  }

  int32_t enqueue(const nvinfer1::PluginTensorDesc* inputDesc, const nvinfer1::PluginTensorDesc* outputDesc,
                  const void* const* inputs, void* const* outputs, void* workspace,
                  cudaStream_t stream) noexcept override {
    PDK_TRT_TRY enqueueOp<Op>(attrs_, nbInputs_, inputDesc, outputDesc, inputs, outputs, workspace, stream);
    return 0;
    PDK_TRT_CATCH(where("enqueue"), -1)
  }

  const typename Op::Attrs& attrs() const { return attrs_; }

 private:
  Where where(const char* entry) const noexcept { return Where{ns_.get(), Op::kName, kV2Version, entry}; }

  typename Op::Attrs attrs_;
  Namespace ns_;
  int32_t nbInputs_ = -1;  // from configurePlugin or the engine; optional inputs may be absent
};

template <class Op>
class PluginCreatorV2 final : public nvinfer1::IPluginCreator {
 public:
  explicit PluginCreatorV2(const std::string& ns) : ns_(ns), fieldNames_(pdk::fieldInfos<Op>()) {}

  const char* getPluginName() const noexcept override { return Op::kName; }
  const char* getPluginVersion() const noexcept override { return kV2Version; }
  const char* getPluginNamespace() const noexcept override { return ns_.get(); }
  void setPluginNamespace(const char* ns) noexcept override {
    PDK_TRT_TRY ns_.set(ns);
    PDK_TRT_CATCH(where("setPluginNamespace"), )
  }
  const nvinfer1::PluginFieldCollection* getFieldNames() noexcept override { return fieldNames_.collection(); }

  nvinfer1::IPluginV2* createPlugin(const char* /*name*/, const nvinfer1::PluginFieldCollection* fc) noexcept override {
    PDK_TRT_TRY return new PluginV2DynamicExt<Op>(attrsFromCollection<Op>(fc), ns_.get());
    PDK_TRT_CATCH(where("createPlugin"), nullptr)
  }

  nvinfer1::IPluginV2* deserializePlugin(const char* /*name*/, const void* data, size_t length) noexcept override {
    PDK_TRT_TRY const auto [attrs, nbInputs] = deserializeV2<Op>(data, length);
    return new PluginV2DynamicExt<Op>(attrs, ns_.get(), nbInputs);
    PDK_TRT_CATCH(where("deserializePlugin"), nullptr)
  }

 private:
  Where where(const char* entry) const noexcept { return Where{ns_.get(), Op::kName, kV2Version, entry}; }

  Namespace ns_;
  FieldNames fieldNames_;
};

}  // namespace pdk::trt

#pragma GCC diagnostic pop
