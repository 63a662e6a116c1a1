// Conversions between TensorRT's descriptions and the op core's TensorRT-free ones.
#pragma once

#include <NvInferRuntime.h>

#include <string>
#include <vector>

#include "common/attrs.h"
#include "common/dtype.h"
#include "common/error.h"
#include "common/tensor.h"

namespace pdk::trt {

// The op core mirrors TensorRT's enums by value so that conversions are casts.
#define PDK_SAME_VALUE(a, b) static_assert(static_cast<int32_t>(a) == static_cast<int32_t>(b), #a " != " #b)
PDK_SAME_VALUE(DType::kFLOAT, nvinfer1::DataType::kFLOAT);
PDK_SAME_VALUE(DType::kHALF, nvinfer1::DataType::kHALF);
PDK_SAME_VALUE(DType::kINT8, nvinfer1::DataType::kINT8);
PDK_SAME_VALUE(DType::kINT32, nvinfer1::DataType::kINT32);
PDK_SAME_VALUE(DType::kBOOL, nvinfer1::DataType::kBOOL);
PDK_SAME_VALUE(DType::kUINT8, nvinfer1::DataType::kUINT8);
PDK_SAME_VALUE(DType::kFP8, nvinfer1::DataType::kFP8);
PDK_SAME_VALUE(DType::kBF16, nvinfer1::DataType::kBF16);
PDK_SAME_VALUE(DType::kINT64, nvinfer1::DataType::kINT64);
PDK_SAME_VALUE(RawFieldType::kFLOAT16, nvinfer1::PluginFieldType::kFLOAT16);
PDK_SAME_VALUE(RawFieldType::kFLOAT32, nvinfer1::PluginFieldType::kFLOAT32);
PDK_SAME_VALUE(RawFieldType::kFLOAT64, nvinfer1::PluginFieldType::kFLOAT64);
PDK_SAME_VALUE(RawFieldType::kINT8, nvinfer1::PluginFieldType::kINT8);
PDK_SAME_VALUE(RawFieldType::kINT16, nvinfer1::PluginFieldType::kINT16);
PDK_SAME_VALUE(RawFieldType::kINT32, nvinfer1::PluginFieldType::kINT32);
PDK_SAME_VALUE(RawFieldType::kCHAR, nvinfer1::PluginFieldType::kCHAR);
PDK_SAME_VALUE(RawFieldType::kDIMS, nvinfer1::PluginFieldType::kDIMS);
PDK_SAME_VALUE(RawFieldType::kUNKNOWN, nvinfer1::PluginFieldType::kUNKNOWN);
PDK_SAME_VALUE(RawFieldType::kBF16, nvinfer1::PluginFieldType::kBF16);
PDK_SAME_VALUE(RawFieldType::kINT64, nvinfer1::PluginFieldType::kINT64);
#undef PDK_SAME_VALUE
static_assert(kMaxDims <= nvinfer1::Dims::MAX_DIMS, "pdk::TensorDesc must fit in nvinfer1::Dims");

inline DType toDType(nvinfer1::DataType t) {
  return static_cast<DType>(static_cast<int32_t>(t));
}
inline nvinfer1::DataType toDataType(DType t) {
  return static_cast<nvinfer1::DataType>(static_cast<int32_t>(t));
}

inline TensorDesc toTensorDesc(const nvinfer1::DataType type, const nvinfer1::Dims& dims) {
  PDK_CHECK(dims.nbDims >= 0 && dims.nbDims <= kMaxDims, "tensor rank ", dims.nbDims, " is not supported (0..",
            kMaxDims, ")");
  TensorDesc desc;
  desc.dtype = toDType(type);
  desc.nbDims = dims.nbDims;
  for (int32_t i = 0; i < dims.nbDims; ++i) desc.dims[i] = dims.d[i];
  return desc;
}

inline TensorDesc toTensorDesc(const nvinfer1::PluginTensorDesc& d) {
  return toTensorDesc(d.type, d.dims);
}

// While building, a dynamic tensor's `desc.dims` holds -1 where the profile decides; the
// profile's maximum is what sizes a workspace that must fit every shape.
inline TensorDesc toTensorDescAtMax(const nvinfer1::DynamicPluginTensorDesc& d) {
  return toTensorDesc(d.desc.type, d.max);
}

template <class Desc, class Convert>
std::vector<TensorDesc> toTensorDescs(const Desc* descs, int32_t n, Convert convert) {
  PDK_CHECK(n >= 0 && (descs != nullptr || n == 0), "invalid tensor description array");
  std::vector<TensorDesc> out;
  out.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) out.push_back(convert(descs[i]));
  return out;
}

// TensorRT's PluginField is converted element by element instead of reinterpreted: the
// layouts agree today, but nothing in either header promises that they always will.
inline std::vector<RawField> toRawFields(const nvinfer1::PluginFieldCollection* fc) {
  std::vector<RawField> raw;
  if (fc == nullptr) return raw;
  PDK_CHECK(fc->nbFields >= 0 && (fc->fields != nullptr || fc->nbFields == 0), "invalid PluginFieldCollection (",
            fc->nbFields, " fields)");
  raw.reserve(static_cast<size_t>(fc->nbFields));
  for (int32_t i = 0; i < fc->nbFields; ++i) {
    const nvinfer1::PluginField& f = fc->fields[i];
    raw.push_back({f.name, f.data, static_cast<RawFieldType>(static_cast<int32_t>(f.type)), f.length});
  }
  return raw;
}

inline nvinfer1::PluginFieldType toPluginFieldType(RawFieldType t) {
  return static_cast<nvinfer1::PluginFieldType>(static_cast<int32_t>(t));
}

inline nvinfer1::PluginFieldType toPluginFieldType(FieldType t) {
  switch (t) {
    case FieldType::kInt32: return nvinfer1::PluginFieldType::kINT32;
    case FieldType::kFloat32: return nvinfer1::PluginFieldType::kFLOAT32;
    case FieldType::kString: return nvinfer1::PluginFieldType::kCHAR;
  }
  return nvinfer1::PluginFieldType::kUNKNOWN;
}

// The field list a creator advertises: names and types from the op's declaration; the
// strings live here so the PluginField pointers stay valid as long as the creator.
class FieldNames {
 public:
  explicit FieldNames(const std::vector<FieldInfo>& infos) : infos_(infos) {
    for (const auto& info : infos_) fields_.emplace_back(info.name.c_str(), nullptr, toPluginFieldType(info.type), 1);
    collection_.nbFields = static_cast<int32_t>(fields_.size());
    collection_.fields = fields_.data();
  }
  FieldNames(const FieldNames&) = delete;
  FieldNames& operator=(const FieldNames&) = delete;
  const nvinfer1::PluginFieldCollection* collection() const { return &collection_; }

 private:
  std::vector<FieldInfo> infos_;
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection collection_{};
};

// Views of an attrs object as TensorRT fields (V3 serialization); valid while the attrs
// object lives unchanged and until the next call of `update`.
class SerializedFields {
 public:
  template <class Attrs>
  const nvinfer1::PluginFieldCollection* update(Attrs& attrs) {
    RawFieldWriter writer;
    attrs.fields(writer);
    fields_.clear();
    for (const RawField& f : writer.fields) fields_.emplace_back(f.name, f.data, toPluginFieldType(f.type), f.length);
    collection_.nbFields = static_cast<int32_t>(fields_.size());
    collection_.fields = fields_.data();
    return &collection_;
  }

 private:
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection collection_{};
};

}  // namespace pdk::trt
