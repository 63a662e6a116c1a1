// Reads tests/cpp/adapter_cases.txt (written by adapter_cases.py from real exported ONNX
// files) and turns its nodes into what TensorRT's ONNX parser would hand a plugin creator.
// Shared by test_trt_adapters (`parser` mode) and adapter_enqueue.
#pragma once

#include <NvInferRuntime.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/tensor.h"

namespace cases {

struct Field {
  std::string name;
  std::string kind;  // PluginFieldType name (FLOAT32, INT32, CHAR, ...) or UNSUPPORTED
  int32_t length = 0;
  std::vector<char> data;
};

struct Point {
  std::vector<pdk::TensorDesc> inputs;
  std::vector<std::vector<char>> data;  // per input; empty: no values given (random ones are used)
};

struct Node {
  std::string source, opType, domain, caseName;
  std::vector<Field> fields;
  double atol = 0, rtol = 0;
  std::vector<Point> points;

  // A string attribute as the parser reads it (attrs.get<std::string>(name, fallback)).
  std::string text(const char* name, const char* fallback) const {
    for (const Field& f : fields)
      if (f.name == name && f.kind == "CHAR") return std::string(f.data.data());  // NUL-terminated
    return fallback;
  }
  std::string label() const { return source + " " + opType + " v" + text("plugin_version", "1") + " " + caseName; }
};

inline std::vector<char> fromHex(const std::string& hex) {
  std::vector<char> bytes;
  if (hex == "-") return bytes;
  if (hex.size() % 2) throw std::runtime_error("odd hex string in the cases file");
  for (size_t i = 0; i < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

inline pdk::DType dtypeNamed(const std::string& name) {
  for (pdk::DType t : {pdk::DType::kFLOAT, pdk::DType::kHALF, pdk::DType::kINT8, pdk::DType::kINT32, pdk::DType::kBOOL,
                       pdk::DType::kUINT8, pdk::DType::kBF16, pdk::DType::kINT64})
    if (name == pdk::dtypeName(t)) return t;
  throw std::runtime_error("unknown dtype " + name + " in the cases file");
}

inline std::vector<Node> read(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<Node> nodes;
  Node current;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "node") {
      current = Node{};
      ls >> current.source >> current.opType >> current.domain >> current.caseName;
    } else if (tag == "field") {
      Field f;
      std::string hex;
      ls >> f.name >> f.kind >> f.length >> hex;
      f.data = fromHex(hex);
      current.fields.push_back(f);
    } else if (tag == "tolerance") {
      ls >> current.atol >> current.rtol;
    } else if (tag == "point") {
      Point p;
      int n = 0;
      ls >> n;
      for (int i = 0; i < n; ++i) {
        std::string dtype;
        pdk::TensorDesc d;
        ls >> dtype >> d.nbDims;
        d.dtype = dtypeNamed(dtype);
        for (int32_t k = 0; k < d.nbDims; ++k) ls >> d.dims[k];
        p.inputs.push_back(d);
      }
      p.data.resize(static_cast<size_t>(n));
      current.points.push_back(p);
    } else if (tag == "data") {
      size_t index = 0;
      std::string hex;
      ls >> index >> hex;
      current.points.back().data.at(index) = fromHex(hex);
    } else if (tag == "end") {
      nodes.push_back(current);
    } else {
      throw std::runtime_error("unknown record '" + tag + "' in " + path);
    }
    if (!ls) throw std::runtime_error("malformed line in " + path + ": " + line);
  }
  return nodes;
}

inline nvinfer1::PluginFieldType fieldType(const std::string& kind) {
  using T = nvinfer1::PluginFieldType;
  if (kind == "FLOAT32") return T::kFLOAT32;
  if (kind == "INT32") return T::kINT32;
  if (kind == "CHAR") return T::kCHAR;
  if (kind == "FLOAT16") return T::kFLOAT16;
  if (kind == "FLOAT64") return T::kFLOAT64;
  if (kind == "INT8") return T::kINT8;
  if (kind == "INT16") return T::kINT16;
  if (kind == "BF16") return T::kBF16;
  return T::kUNKNOWN;
}

// onnx-tensorrt's loadFields (onnxOpImporters.cpp:6076-6185 at 7ecb49a, see
// adapter_cases.py): one PluginField per creator field name the node has, in the creator's
// order; names the node lacks are skipped (the creator's default applies); an attribute of a
// type the parser cannot convert is an import error, reported through `error`.
class ParserFields {
 public:
  ParserFields(const Node& node, const nvinfer1::PluginFieldCollection& fieldNames, std::string& error) {
    for (int32_t i = 0; i < fieldNames.nbFields; ++i) {
      const char* wanted = fieldNames.fields[i].name;
      for (const Field& f : node.fields) {
        if (f.name != wanted) continue;
        if (f.kind == "UNSUPPORTED") error += "attribute '" + f.name + "' has a type the ONNX parser rejects; ";
        fields_.emplace_back(f.name.c_str(), f.data.data(), fieldType(f.kind), f.length);
      }
    }
    collection_.nbFields = static_cast<int32_t>(fields_.size());
    collection_.fields = fields_.data();
  }
  ParserFields(const ParserFields&) = delete;
  ParserFields& operator=(const ParserFields&) = delete;
  const nvinfer1::PluginFieldCollection* collection() const { return &collection_; }

 private:
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection collection_{};
};

// FallbackPluginImporter's lookup (importPluginCreator -> IPluginRegistry::getCreator):
// op_type, plugin_version (default "1"), plugin_namespace (default ""), among `creators` as
// TensorRT registered them (each under its own namespace, as loadLibrary does).
inline nvinfer1::IPluginCreatorInterface* findCreator(nvinfer1::IPluginCreatorInterface* const* creators, int32_t nb,
                                                      const Node& node) {
  const std::string version = node.text("plugin_version", "1");
  const std::string ns = node.text("plugin_namespace", "");
  for (int32_t i = 0; i < nb; ++i) {
    const std::string kind = creators[i]->getInterfaceInfo().kind;
    std::string name, v, n;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    if (kind == "PLUGIN CREATOR_V1") {
      auto* c = static_cast<nvinfer1::IPluginCreator*>(creators[i]);
      name = c->getPluginName(), v = c->getPluginVersion(), n = c->getPluginNamespace();
    }
#pragma GCC diagnostic pop
    if (kind == "PLUGIN CREATOR_V3ONE") {
      auto* c = static_cast<nvinfer1::IPluginCreatorV3One*>(creators[i]);
      name = c->getPluginName(), v = c->getPluginVersion(), n = c->getPluginNamespace();
    }
    if (name == node.opType && v == version && n == ns) return creators[i];
  }
  return nullptr;
}

}  // namespace cases
