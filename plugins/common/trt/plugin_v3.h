// IPluginV3 adapter (plugin version "2": OneCore + OneBuild + OneRuntime) and its
// IPluginCreatorV3One, generic over an op. These plugin interfaces keep their layout from
// TensorRT 10.0 to 11; the logger, the logger finder and the plugin registry do not (11
// derives them from IVersionedInterface), which is one reason the library is still built
// per TensorRT major and checks the running major before calling any of them.
#pragma once

#include <NvInferRuntime.h>

#include <string>

#include "common/attrs.h"
#include "common/trt/convert.h"
#include "common/trt/expr_builder.h"
#include "common/trt/host.h"
#include "common/trt/logging.h"
#include "common/trt/op_calls.h"

namespace pdk::trt {

constexpr const char* kV3Version = "2";

// Size tensors are declared INT64 (Op::outputType). The headers still say size-tensor
// outputs must be kINT32; TensorRT's own sampleNonZeroPlugin declares its count kINT32 up to
// release/10.14 and kINT64 from release/10.15 (samples/sampleNonZeroPlugin/
// sampleNonZeroPlugin.cpp, getOutputDataTypes). A library built against newer 10.x headers
// loads into any 10.x, so an op with size tensors refuses, with this message, a running
// TensorRT 10 older than 10.15.
template <class Op>
void checkSizeTensorSupport() {
  if constexpr (Op::kNbSizeTensorOutputs > 0) {
    const int32_t encoded = runningTensorRTVersion().load();
    if (encoded == 0) return;  // not known: no TensorRT seen (a test harness)
    const Version v = decodeTensorRTVersion(encoded);
    PDK_CHECK(v.major > 10 || (v.major == 10 && v.minor >= 15), Op::kName,
              " has an INT64 size-tensor output (its row count), which TensorRT supports from 10.15 on; this "
              "process runs TensorRT ",
              versionText(v), ". Use TensorRT 10.15 or newer, or leave ", Op::kName, " out of the model.");
  }
}

template <class Op>
class PluginV3 final : public nvinfer1::IPluginV3,
                       public nvinfer1::IPluginV3OneCore,
                       public nvinfer1::IPluginV3OneBuild,
                       public nvinfer1::IPluginV3OneRuntime {
  static_assert(Op::kNbSizeTensorOutputs >= 0 && Op::kNbSizeTensorOutputs <= Op::kNbOutputs,
                "kNbSizeTensorOutputs counts the last outputs");

 public:
  PluginV3(const typename Op::Attrs& attrs, const std::string& ns)
      : attrs_(attrs), ns_(ns), attrsText_(attrsText<Op>(attrs)) {}
  PluginV3(const PluginV3& other)
      : attrs_(other.attrs_), ns_(other.ns_), nbInputs_(other.nbInputs_), attrsText_(other.attrsText_) {}
  PluginV3& operator=(const PluginV3&) = delete;

  // IPluginV3
  nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override {
    switch (type) {
      case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
      case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
      case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    }
    logError(__FILE__, __LINE__, where("getCapabilityInterface"), "unknown capability type");
    return nullptr;
  }
  nvinfer1::IPluginV3* clone() noexcept override {
    PDK_TRT_TRY return new PluginV3(*this);
    PDK_TRT_CATCH(where("clone"), nullptr)
  }

  // IPluginV3OneCore
  const char* getPluginName() const noexcept override { return Op::kName; }
  const char* getPluginVersion() const noexcept override { return kV3Version; }
  const char* getPluginNamespace() const noexcept override { return ns_.get(); }

  // IPluginV3OneBuild
  // Non-null keeps timing caching on: the attributes are what distinguishes two instances
  // (TensorRT adds the shapes and formats itself).
  const char* getTimingCacheID() noexcept override { return attrsText_.c_str(); }
  const char* getMetadataString() noexcept override { return attrsText_.c_str(); }
  int32_t getNbOutputs() const noexcept override { return Op::kNbOutputs; }

  int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs, const nvinfer1::DataType* inputTypes,
                             int32_t nbInputs) const noexcept override {
    PDK_TRT_TRY outputTypesOf<Op>(attrs_, outputTypes, nbOutputs, inputTypes, nbInputs);
    return 0;
    PDK_TRT_CATCH(where("getOutputDataTypes"), -1)
  }

  int32_t getOutputShapes(const nvinfer1::DimsExprs* inputs, int32_t nbInputs,
                          const nvinfer1::DimsExprs* /*shapeInputs*/, int32_t /*nbShapeInputs*/,
                          nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                          nvinfer1::IExprBuilder& exprBuilder) noexcept override {
    PDK_TRT_TRY checkCounts<Op>(nbInputs, nbOutputs);
    PDK_CHECK(outputs != nullptr, Op::kName, ": getOutputShapes got a null output array");
    outputDims<Op>(attrs_, inputs, nbInputs, outputs, exprBuilder, /*allowSizeTensors=*/true);
    for (int32_t i = Op::kNbOutputs - Op::kNbSizeTensorOutputs; i < Op::kNbOutputs; ++i)
      PDK_CHECK(outputs[i].nbDims == 0, Op::kName, ": output ", i,
                " is a size tensor and must be 0-D, the shape rule gave rank ", outputs[i].nbDims);
    return 0;
    PDK_TRT_CATCH(where("getOutputShapes"), -1)
  }

  bool supportsFormatCombination(int32_t pos, const nvinfer1::DynamicPluginTensorDesc* inOut, int32_t nbInputs,
                                 int32_t nbOutputs) noexcept override {
    PDK_TRT_TRY return supportsCombination<Op>(attrs_, pos, inOut, nbInputs, nbOutputs, &descOfDynamic);
    PDK_TRT_CATCH(where("supportsFormatCombination"), false)
  }

  int32_t configurePlugin(const nvinfer1::DynamicPluginTensorDesc* in, int32_t nbInputs,
                          const nvinfer1::DynamicPluginTensorDesc* /*out*/, int32_t nbOutputs) noexcept override {
    PDK_TRT_TRY nbInputs_ = checkConfiguredInputs<Op>(attrs_, in, nbInputs, nbOutputs, &descOfDynamicPlain);
    return 0;
    PDK_TRT_CATCH(where("configurePlugin"), -1)
  }

  size_t getWorkspaceSize(const nvinfer1::DynamicPluginTensorDesc* inputs, int32_t nbInputs,
                          const nvinfer1::DynamicPluginTensorDesc* outputs, int32_t nbOutputs) const noexcept override {
    PDK_TRT_TRY return workspaceSizeOf<Op>(attrs_, inputs, nbInputs, outputs, nbOutputs, &toTensorDescAtMax);
    PDK_TRT_CATCH(where("getWorkspaceSize"), 0)
  }

  // IPluginV3OneRuntime
  int32_t onShapeChange(const nvinfer1::PluginTensorDesc* in, int32_t nbInputs,
                        const nvinfer1::PluginTensorDesc* /*out*/, int32_t nbOutputs) noexcept override {
    PDK_TRT_TRY nbInputs_ = checkConfiguredInputs<Op>(attrs_, in, nbInputs, nbOutputs, &descOfPlainTensor);
    return 0;
    PDK_TRT_CATCH(where("onShapeChange"), -1)
  }

  int32_t enqueue(const nvinfer1::PluginTensorDesc* inputDesc, const nvinfer1::PluginTensorDesc* outputDesc,
                  const void* const* inputs, void* const* outputs, void* workspace,
                  cudaStream_t stream) noexcept override {
    PDK_TRT_TRY enqueueOp<Op>(attrs_, nbInputs_, inputDesc, outputDesc, inputs, outputs, workspace, stream);
    return 0;
    PDK_TRT_CATCH(where("enqueue"), -1)
  }

  // Ops hold no per-context resources, so each execution context gets a plain copy.
  nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept override {
    return clone();
  }

  const nvinfer1::PluginFieldCollection* getFieldsToSerialize() noexcept override {
    PDK_TRT_TRY return serializedFields_.update(attrs_);
    PDK_TRT_CATCH(where("getFieldsToSerialize"), nullptr)
  }

  const typename Op::Attrs& attrs() const { return attrs_; }

 private:
  Where where(const char* entry) const noexcept { return Where{ns_.get(), Op::kName, kV3Version, entry}; }

  typename Op::Attrs attrs_;
  Namespace ns_;
  int32_t nbInputs_ = -1;              // from configurePlugin/onShapeChange; optional inputs may be absent
  const std::string attrsText_;        // getTimingCacheID / getMetadataString
  SerializedFields serializedFields_;  // views into attrs_, rebuilt per call
};

template <class Op>
class PluginCreatorV3 final : public nvinfer1::IPluginCreatorV3One {
 public:
  explicit PluginCreatorV3(const std::string& ns) : ns_(ns), fieldNames_(pdk::fieldInfos<Op>()) {}

  const char* getPluginName() const noexcept override { return Op::kName; }
  const char* getPluginVersion() const noexcept override { return kV3Version; }
  const char* getPluginNamespace() const noexcept override { return ns_.get(); }
  // Not part of IPluginCreatorV3One (TensorRT passes the namespace to registerCreator), but
  // kept so both creator kinds can be renamed the same way before registration.
  void setPluginNamespace(const char* ns) { ns_.set(ns); }
  const nvinfer1::PluginFieldCollection* getFieldNames() noexcept override { return fieldNames_.collection(); }

  // Both phases build from fields: at run time they are the ones getFieldsToSerialize gave.
  nvinfer1::IPluginV3* createPlugin(const char* /*name*/, const nvinfer1::PluginFieldCollection* fc,
                                    nvinfer1::TensorRTPhase /*phase*/) noexcept override {
    PDK_TRT_TRY checkSizeTensorSupport<Op>();
    return new PluginV3<Op>(attrsFromCollection<Op>(fc), ns_.get());
    PDK_TRT_CATCH(where("createPlugin"), nullptr)
  }

 private:
  Where where(const char* entry) const noexcept { return Where{ns_.get(), Op::kName, kV3Version, entry}; }

  Namespace ns_;
  FieldNames fieldNames_;
};

}  // namespace pdk::trt
