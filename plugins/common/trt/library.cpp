// Entry points of a plugin library: every op in PDK_FOR_EACH_OP (pdk_ops.inc) as an
// IPluginV2DynamicExt (when Op::kHasV2) and an IPluginV3. Compiled once per library by
// pdk_add_plugin_library(), which defines:
//   PDK_PLUGIN_NAMESPACE   namespace the creators register under, e.g. "trt_pdk"
//   PDK_LIBRARY_NAME       name reported by pdkLibraryInfo()
//   PDK_LIBRARY_BASENAME   file name stem; the file is lib<stem>_trt<major>.so
//   PDK_TRT_BUILT_VERSION  TensorRT version of the headers, e.g. "10.16.0"
//   PDK_TRT_BUILT_MAJOR    its major, e.g. 10
//
// The library never links libnvinfer: TensorRT is found at run time, so the same file
// loads under ctypes on a machine without TensorRT, through IPluginRegistry::loadLibrary /
// trtexec --dynamicPlugins (getCreators + setLoggerFinder), and through a plain dlopen or
// LD_PRELOAD into a process that already holds TensorRT (Triton), where a load-time
// constructor registers the creators.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "common/trt/plugin_v2.h"
#include "common/trt/plugin_v3.h"
#include "pdk_ops.inc"

#if !defined(PDK_PLUGIN_NAMESPACE) || !defined(PDK_LIBRARY_NAME) || !defined(PDK_LIBRARY_BASENAME) || \
    !defined(PDK_TRT_BUILT_VERSION) || !defined(PDK_TRT_BUILT_MAJOR)
#error "library.cpp is compiled by pdk_add_plugin_library(), which defines PDK_PLUGIN_NAMESPACE and friends"
#endif
static_assert(PDK_TRT_BUILT_MAJOR == NV_TENSORRT_MAJOR, "PDK_TRT_BUILT_MAJOR disagrees with NvInferVersion.h");

#define PDK_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using nvinfer1::IPluginCreatorInterface;

std::string jsonString(const std::string& s) {
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

struct Library {
  std::vector<IPluginCreatorInterface*> creators;
  std::string infoJson;
};

template <class Op>
void addOp(Library& lib, std::ostringstream& plugins) {
  if constexpr (Op::kHasV2) lib.creators.push_back(new pdk::trt::PluginCreatorV2<Op>(PDK_PLUGIN_NAMESPACE));
  lib.creators.push_back(new pdk::trt::PluginCreatorV3<Op>(PDK_PLUGIN_NAMESPACE));

  if (plugins.tellp() > 0) plugins << ", ";
  plugins << "{\"name\": " << jsonString(Op::kName) << ", \"versions\": [";
  if (Op::kHasV2) plugins << jsonString(pdk::trt::kV2Version) << ", ";
  plugins << jsonString(pdk::trt::kV3Version) << "], \"interfaces\": [";
  if (Op::kHasV2) plugins << "\"IPluginV2DynamicExt\", ";
  plugins << "\"IPluginV3\"], \"fields\": [";
  const auto infos = pdk::fieldInfos<Op>();
  for (size_t i = 0; i < infos.size(); ++i) {
    plugins << (i ? ", " : "") << "{\"name\": " << jsonString(infos[i].name)
            << ", \"type\": " << jsonString(pdk::fieldTypeName(infos[i].type))
            << ", \"default\": " << jsonString(infos[i].defaultValue) << ", \"range\": " << jsonString(infos[i].range)
            << "}";
  }
  plugins << "]}";
}

// Creators are never destroyed: TensorRT's registry may point at them until the process
// ends, after our static destructors would have run. The library is also linked with
// -z nodelete, so a dlclose cannot unmap code the registry still calls.
const Library& library() {
  static const Library* lib = [] {
    auto* l = new Library;
    std::ostringstream plugins;
#define PDK_ADD_OP(Op) addOp<Op>(*l, plugins);
    PDK_FOR_EACH_OP(PDK_ADD_OP)
#undef PDK_ADD_OP
    std::ostringstream json;
    json << "{\"library\": " << jsonString(PDK_LIBRARY_NAME) << ", \"namespace\": " << jsonString(PDK_PLUGIN_NAMESPACE)
         << ", \"tensorrt_version\": " << jsonString(PDK_TRT_BUILT_VERSION)
         << ", \"tensorrt_major\": " << PDK_TRT_BUILT_MAJOR << ", \"plugins\": [" << plugins.str() << "]}";
    l->infoJson = json.str();
    return l;
  }();
  return *lib;
}

#define PDK_STRINGIFY_(x) #x
#define PDK_STRINGIFY(x) PDK_STRINGIFY_(x)
#define PDK_LIBRARY_FILE "lib" PDK_LIBRARY_BASENAME "_trt" PDK_STRINGIFY(PDK_TRT_BUILT_MAJOR) ".so"
const pdk::trt::Where kLibraryWhere{"", PDK_LIBRARY_FILE, "", "(built for TensorRT " PDK_TRT_BUILT_VERSION ")"};

// TensorRT's C entry points in this process, looked up without linking libnvinfer.
struct TensorRT {
  using GetRegistry = nvinfer1::IPluginRegistry* (*)();
  using GetVersion = int32_t (*)();
  GetRegistry getPluginRegistry = nullptr;
  GetVersion getInferLibVersion = nullptr;
  std::string where;  // which library, for messages

  bool found() const { return getPluginRegistry != nullptr || getInferLibVersion != nullptr; }
};

bool lookUp(void* handle, const std::string& where, TensorRT& trt) {
  trt.getPluginRegistry = reinterpret_cast<TensorRT::GetRegistry>(dlsym(handle, "getPluginRegistry"));
  trt.getInferLibVersion = reinterpret_cast<TensorRT::GetVersion>(dlsym(handle, "getInferLibVersion"));
  trt.where = where;
  return trt.found();
}

// RTLD_NOLOAD finds a library the host already loaded, even RTLD_LOCAL (as Triton's backend
// loads it), and never loads one. The lean and dispatch runtimes serve version-compatible
// engines and also carry a plugin registry. Other majors are probed only to name them in
// the mismatch error.
TensorRT findTensorRT() {
  TensorRT trt;
  const auto probe = [&trt](int major) {
    for (const char* base : {"libnvinfer.so.", "libnvinfer_lean.so.", "libnvinfer_dispatch.so."}) {
      const std::string name = base + std::to_string(major);
      if (void* handle = dlopen(name.c_str(), RTLD_NOLOAD | RTLD_NOW)) {
        const bool ok = lookUp(handle, name, trt);
        dlclose(handle);  // balances the NOLOAD open; the host keeps the library loaded
        if (ok) return true;
      }
    }
    return false;
  };
  if (probe(PDK_TRT_BUILT_MAJOR)) return trt;
  if (lookUp(RTLD_DEFAULT, "the process's global symbols", trt)) return trt;
  for (int major = 8; major <= 20; ++major)
    if (major != PDK_TRT_BUILT_MAJOR && probe(major)) return trt;
  return TensorRT{};
}

// A V2 plugin built for one major has the wrong vtable under another, and V3 creators
// would be registered through the wrong IPluginRegistry vtable: refuse, and say why.
bool sameMajor(const TensorRT& trt) {
  if (!trt.getInferLibVersion) {
    pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere,
                       ("found TensorRT's plugin registry in " + trt.where +
                        " but not getInferLibVersion, so its version cannot be checked; no plugins registered")
                           .c_str());
    return false;
  }
  const int32_t version = trt.getInferLibVersion();
  if (version / 10000 == PDK_TRT_BUILT_MAJOR) return true;
  std::ostringstream os;
  os << "this plugin library was built for TensorRT " << PDK_TRT_BUILT_VERSION << " (major " << PDK_TRT_BUILT_MAJOR
     << ") but the process runs TensorRT " << version / 10000 << "." << version / 100 % 100 << "." << version % 100
     << " (" << trt.where << "); no plugins registered. Use the library built for TensorRT " << version / 10000
     << " (lib" << PDK_LIBRARY_BASENAME << "_trt" << version / 10000 << ".so), or rebuild against its headers.";
  pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere, os.str().c_str());
  return false;
}

// What the load-time constructor registered, so getCreators can take it back.
struct SelfRegistration {
  std::mutex mutex;
  nvinfer1::IPluginRegistry* registry = nullptr;
  std::vector<IPluginCreatorInterface*> creators;
};
SelfRegistration& selfRegistration() {
  static auto* state = new SelfRegistration;  // immortal, like the creators
  return *state;
}

// TRT_PDK_NO_SELF_REGISTER=1 turns the load-time registration off, for hosts that register
// through getCreators only and must not see a registry call from inside their dlopen.
bool selfRegistrationDisabled() {
  const char* value = std::getenv("TRT_PDK_NO_SELF_REGISTER");
  return value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
}

__attribute__((constructor)) void registerOnLoad() {
  try {
    if (selfRegistrationDisabled()) return;
    const TensorRT trt = findTensorRT();
    if (!trt.found()) return;  // no TensorRT in this process (ctypes, plain Python): nothing to do
    if (!sameMajor(trt) || !trt.getPluginRegistry) return;
    nvinfer1::IPluginRegistry* registry = trt.getPluginRegistry();
    if (!registry) return;
    SelfRegistration& state = selfRegistration();
    std::lock_guard<std::mutex> lock(state.mutex);
    state.registry = registry;
    for (IPluginCreatorInterface* creator : library().creators) {
      // false means a creator of that name/version/namespace exists already (say another
      // copy of this library); TensorRT logs it, and the existing one stays in charge.
      if (registry->registerCreator(*creator, PDK_PLUGIN_NAMESPACE)) state.creators.push_back(creator);
    }
  } catch (const std::exception& e) {
    pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere, e.what());
  } catch (...) {
    pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere, "unknown exception while registering plugins");
  }
}

}  // namespace

PDK_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept {
  pdk::trt::loggerFinder().store(finder);
}

// Called by IPluginRegistry::loadLibrary (and trtexec --dynamicPlugins) right after its
// dlopen, which already ran registerOnLoad(). TensorRT then registers the returned creators
// itself and would reject duplicates, and deregisterLibrary() later removes only what it
// registered. So the self-registration is undone here and TensorRT owns the registration
// from now on: one registration either way, and deregisterLibrary leaves nothing behind.
PDK_EXPORT IPluginCreatorInterface* const* getCreators(int32_t& nbCreators) noexcept {
  nbCreators = 0;
  try {
    // No TensorRT to compare with (a test harness, a TensorRT linked statically): the
    // caller knows what it runs; otherwise the majors must agree, as in registerOnLoad.
    const TensorRT trt = findTensorRT();
    if (trt.found() && !sameMajor(trt)) return nullptr;
    SelfRegistration& state = selfRegistration();
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      for (IPluginCreatorInterface* creator : state.creators) state.registry->deregisterCreator(*creator);
      state.creators.clear();
    }
    const Library& lib = library();
    nbCreators = static_cast<int32_t>(lib.creators.size());
    return lib.creators.data();
  } catch (const std::exception& e) {
    pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere, e.what());
  } catch (...) {
    pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere, "unknown exception in getCreators");
  }
  nbCreators = 0;
  return nullptr;
}

// TensorRT-free description for Python (ctypes) and tooling: a JSON object.
PDK_EXPORT const char* pdkLibraryInfo() noexcept {
  try {
    return library().infoJson.c_str();
  } catch (...) {
    return "{\"error\": \"pdkLibraryInfo failed\"}";
  }
}
