// The facts a plugin library states about itself, as one JSON object: library name and
// namespace, the TensorRT version and major of the headers it was built against, the kit
// version, the CUDA architectures, and every plugin with its versions, interfaces and fields.
//
// pdk_add_plugin_library() compiles library_info_gen.cpp with the library's op list, runs it
// at build time, and compiles its output into library.cpp as a NUL-terminated string in the
// ELF section `.trt_pdk_info`. So the same bytes are what pdkLibraryInfo() returns at run
// time and what `trt-pdk doctor --library` / `trt-pdk lock` read from the file without
// loading it (no plugin registration, no TensorRT, any file name; the section is allocated,
// so `strip` keeps it).
#pragma once

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "common/attrs.h"

namespace pdk::trt {

// Schema of the object below; readers refuse another.
constexpr const char* kLibraryInfoSchema = "trt-pdk-library-info/1";
constexpr const char* kLibraryInfoSection = ".trt_pdk_info";

inline std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

inline std::string jsonStrings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + jsonString(items[i]);
  return out + "]";
}

// One plugin: name, plugin versions ("1" = IPluginV2DynamicExt, "2" = IPluginV3), fields.
template <class Op>
std::string pluginInfoJson(const char* v2Version, const char* v3Version) {
  std::vector<std::string> versions, interfaces;
  if (Op::kHasV2) versions.push_back(v2Version), interfaces.push_back("IPluginV2DynamicExt");
  versions.push_back(v3Version);
  interfaces.push_back("IPluginV3");
  std::ostringstream os;
  os << "{\"name\": " << jsonString(Op::kName) << ", \"versions\": " << jsonStrings(versions)
     << ", \"interfaces\": " << jsonStrings(interfaces) << ", \"size_tensor_outputs\": " << Op::kNbSizeTensorOutputs
     << ", \"fields\": [";
  const auto infos = pdk::fieldInfos<Op>();
  for (size_t i = 0; i < infos.size(); ++i) {
    os << (i ? ", " : "") << "{\"name\": " << jsonString(infos[i].name)
       << ", \"type\": " << jsonString(pdk::fieldTypeName(infos[i].type))
       << ", \"default\": " << jsonString(infos[i].defaultValue) << ", \"range\": " << jsonString(infos[i].range)
       << "}";
  }
  os << "]}";
  return os.str();
}

struct LibraryFacts {
  std::string library, ns, basename, tensorrtVersion, kitVersion;
  int tensorrtMajor = 0;
  std::vector<std::string> cudaArchs;
};

// `plugins` are pluginInfoJson() objects; `hasV2` whether any plugin has a V2 interface.
inline std::string libraryInfoJson(const LibraryFacts& f, const std::vector<std::string>& plugins, bool hasV2) {
  std::vector<std::string> interfaces;
  if (hasV2) interfaces.push_back("IPluginV2DynamicExt");
  interfaces.push_back("IPluginV3");
  std::ostringstream os;
  os << "{\"schema\": " << jsonString(kLibraryInfoSchema) << ", \"library\": " << jsonString(f.library)
     << ", \"namespace\": " << jsonString(f.ns) << ", \"file_stem\": " << jsonString(f.basename)
     << ", \"tensorrt_version\": " << jsonString(f.tensorrtVersion) << ", \"tensorrt_major\": " << f.tensorrtMajor
     << ", \"kit_version\": " << jsonString(f.kitVersion) << ", \"cuda_archs\": " << jsonStrings(f.cudaArchs)
     << ", \"interfaces\": " << jsonStrings(interfaces) << ", \"plugins\": [";
  for (size_t i = 0; i < plugins.size(); ++i) os << (i ? ", " : "") << plugins[i];
  os << "]}";
  return os.str();
}

}  // namespace pdk::trt
