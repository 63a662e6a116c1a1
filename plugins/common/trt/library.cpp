// Entry points of a plugin library: every op in PDK_FOR_EACH_OP (pdk_ops.inc) as an
// IPluginV2DynamicExt (when Op::kHasV2) and an IPluginV3. Compiled once per library by
// pdk_add_plugin_library(), which defines:
//   PDK_PLUGIN_NAMESPACE   namespace the creators register under, e.g. "trt_pdk"
//   PDK_LIBRARY_NAME       name reported in the library's facts
//   PDK_LIBRARY_BASENAME   file name stem; the file is lib<stem>_trt<major>.so
//   PDK_TRT_BUILT_VERSION  TensorRT version of the headers, e.g. "10.16.0"
//   PDK_TRT_BUILT_MAJOR    its major, e.g. 10
// and generates pdk_library_info.inc: the library's facts (library_info.h) as the ELF
// section .trt_pdk_info, which pdkLibraryInfo() returns and tools read from the file.
//
// The library never links libnvinfer: TensorRT is found at run time, so the same file
// loads under ctypes on a machine without TensorRT, through IPluginRegistry::loadLibrary /
// trtexec --dynamicPlugins (getCreators + setLoggerFinder), and through a plain dlopen into
// a process that already holds TensorRT (Triton's backend `plugins` setting), where a
// load-time constructor registers the creators. Preloading it (LD_PRELOAD) registers
// nothing: it runs before the host has loaded TensorRT, and nothing calls it again.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "common/trt/host.h"
#include "common/trt/plugin_v2.h"
#include "common/trt/plugin_v3.h"
#include "pdk_library_info.inc"  // kPdkLibraryInfo, in section .trt_pdk_info
#include "pdk_ops.inc"

#if !defined(PDK_PLUGIN_NAMESPACE) || !defined(PDK_LIBRARY_NAME) || !defined(PDK_LIBRARY_BASENAME) || \
    !defined(PDK_TRT_BUILT_VERSION) || !defined(PDK_TRT_BUILT_MAJOR)
#error "library.cpp is compiled by pdk_add_plugin_library(), which defines PDK_PLUGIN_NAMESPACE and friends"
#endif
static_assert(PDK_TRT_BUILT_MAJOR == NV_TENSORRT_MAJOR, "PDK_TRT_BUILT_MAJOR disagrees with NvInferVersion.h");

#define PDK_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using nvinfer1::IPluginCreatorInterface;

template <class Op>
void addOp(std::vector<IPluginCreatorInterface*>& creators) {
  if constexpr (Op::kHasV2) creators.push_back(new pdk::trt::PluginCreatorV2<Op>(PDK_PLUGIN_NAMESPACE));
  creators.push_back(new pdk::trt::PluginCreatorV3<Op>(PDK_PLUGIN_NAMESPACE));
}

// Creators are never destroyed: TensorRT's registry may point at them until the process
// ends, after our static destructors would have run. The library is also linked with
// -z nodelete, so a dlclose cannot unmap code the registry still calls.
const std::vector<IPluginCreatorInterface*>& creators() {
  static const auto* list = [] {
    auto* l = new std::vector<IPluginCreatorInterface*>;
#define PDK_ADD_OP(Op) addOp<Op>(*l);
    PDK_FOR_EACH_OP(PDK_ADD_OP)
#undef PDK_ADD_OP
    return l;
  }();
  return *list;
}

#define PDK_STRINGIFY_(x) #x
#define PDK_STRINGIFY(x) PDK_STRINGIFY_(x)
#define PDK_LIBRARY_FILE "lib" PDK_LIBRARY_BASENAME "_trt" PDK_STRINGIFY(PDK_TRT_BUILT_MAJOR) ".so"
const pdk::trt::Where kLibraryWhere{"", PDK_LIBRARY_FILE, "", "(built for TensorRT " PDK_TRT_BUILT_VERSION ")"};

void logToStderr(const std::string& message) {
  pdk::trt::logToStderr(nvinfer1::ILogger::Severity::kERROR,
                        std::string(PDK_LIBRARY_FILE " (built for TensorRT " PDK_TRT_BUILT_VERSION "): ") + message);
}

// The shared object that holds `address` (its load address), or nullptr.
const void* objectOf(const void* address) {
  Dl_info info{};
  return address && dladdr(address, &info) ? info.dli_fbase : nullptr;
}

// TensorRT's C entry points in this process, looked up without linking libnvinfer.
struct TensorRT {
  using GetRegistry = nvinfer1::IPluginRegistry* (*)();
  using GetVersion = int32_t (*)();
  GetRegistry getPluginRegistry = nullptr;
  GetVersion getInferLibVersion = nullptr;
  pdk::trt::LoggerState::GetLogger getLogger = nullptr;
  std::string where;  // which library, for messages

  bool found() const { return getPluginRegistry != nullptr || getInferLibVersion != nullptr; }
};

bool lookUp(void* handle, const std::string& where, TensorRT& trt) {
  trt.getPluginRegistry = reinterpret_cast<TensorRT::GetRegistry>(dlsym(handle, "getPluginRegistry"));
  trt.getInferLibVersion = reinterpret_cast<TensorRT::GetVersion>(dlsym(handle, "getInferLibVersion"));
  trt.getLogger = reinterpret_cast<pdk::trt::LoggerState::GetLogger>(dlsym(handle, "getLogger"));
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

// A V2 plugin built for one major has the wrong vtable under another, V3 creators would be
// registered through the wrong IPluginRegistry vtable, and ILoggerFinder/ILogger changed in
// 11: refuse, and say why on stderr (the host's logger is one of the things that may not
// match). On success the logger becomes usable and the running version is recorded.
bool sameMajor(const TensorRT& trt) {
  if (!trt.getInferLibVersion) {
    logToStderr("found TensorRT's plugin registry in " + trt.where +
                " but not getInferLibVersion, so its version cannot be checked; no plugins registered");
    return false;
  }
  // Under RTLD_DEFAULT the two symbols could come from different objects (a shim, two
  // runtimes): the version must be the registry's own.
  if (trt.getPluginRegistry && objectOf(reinterpret_cast<const void*>(trt.getPluginRegistry)) !=
                                   objectOf(reinterpret_cast<const void*>(trt.getInferLibVersion))) {
    logToStderr("getPluginRegistry and getInferLibVersion in " + trt.where +
                " come from different libraries, so the registry's TensorRT version is unknown; no plugins "
                "registered. Load the plugin library through IPluginRegistry::loadLibrary instead.");
    return false;
  }
  const int32_t encoded = trt.getInferLibVersion();
  const pdk::trt::Version running = pdk::trt::decodeTensorRTVersion(encoded);
  if (running.major == PDK_TRT_BUILT_MAJOR) {
    pdk::trt::runningTensorRTVersion().store(encoded);
    // getLogger only where it is the registry's object too (same reasoning as above).
    const bool loggerOk = trt.getLogger && objectOf(reinterpret_cast<const void*>(trt.getLogger)) ==
                                               objectOf(reinterpret_cast<const void*>(trt.getInferLibVersion));
    pdk::trt::verifyLogger(loggerOk ? trt.getLogger : nullptr);
    return true;
  }
  std::ostringstream os;
  os << "this plugin library was built for TensorRT " << PDK_TRT_BUILT_VERSION << " (major " << PDK_TRT_BUILT_MAJOR
     << ") but the process runs TensorRT " << pdk::trt::versionText(running) << " (" << trt.where
     << "); no plugins registered. Use the library built for TensorRT " << running.major << " (lib"
     << PDK_LIBRARY_BASENAME << "_trt" << running.major << ".so), or rebuild against its headers.";
  logToStderr(os.str());
  return false;
}

// What the load-time constructor registered, so that the TensorRT that owns that registry
// can take the registration over in getCreators.
struct SelfRegistration {
  std::mutex mutex;
  nvinfer1::IPluginRegistry* registry = nullptr;
  const void* registryObject = nullptr;  // the library whose getPluginRegistry gave `registry`
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

// Self-registration stays the default: Triton's TensorRT backend loads the libraries of its
// `plugins` setting with a plain dlopen and calls nothing else, so this is the only way its
// engines find our creators. Hosts whose registry lock could be held around dlopen, or that
// register through getCreators only, set TRT_PDK_NO_SELF_REGISTER=1.
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
    state.registryObject = objectOf(reinterpret_cast<const void*>(trt.getPluginRegistry));
    for (IPluginCreatorInterface* creator : creators()) {
      // false means a creator of that name/version/namespace exists already (say another
      // copy of this library); TensorRT logs it, and the existing one stays in charge.
      if (registry->registerCreator(*creator, PDK_PLUGIN_NAMESPACE)) state.creators.push_back(creator);
    }
  } catch (const std::exception& e) {
    logToStderr(e.what());
  } catch (...) {
    logToStderr("unknown exception while registering plugins");
  }
}

// Undoes the self-registration when `caller` (the object that called getCreators) is the
// TensorRT that owns the registry we registered with: that is IPluginRegistry::loadLibrary,
// which registers the returned creators itself and would reject duplicates, and whose
// deregisterLibrary() later removes only what it registered. Any other caller (a tool
// listing creators, a lean runtime with its own registry) leaves the registration alone, and
// the registry pointer is only used while its owner is calling us, so it cannot dangle.
void handOverTo(const void* caller) {
  SelfRegistration& state = selfRegistration();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.creators.empty() || caller == nullptr || caller != state.registryObject) return;
  for (IPluginCreatorInterface* creator : state.creators) state.registry->deregisterCreator(*creator);
  state.creators.clear();
}

}  // namespace

// Parked until the TensorRT major is verified (logging.h); the first finder is kept.
PDK_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept {
  pdk::trt::offerLoggerFinder(finder);
}

// Called by IPluginRegistry::loadLibrary (and trtexec --dynamicPlugins) right after its
// dlopen, which already ran registerOnLoad().
PDK_EXPORT __attribute__((noinline)) IPluginCreatorInterface* const* getCreators(int32_t& nbCreators) noexcept {
  nbCreators = 0;
  const void* caller = objectOf(__builtin_return_address(0));
  try {
    // No TensorRT to compare with (a test harness, a TensorRT linked statically): the
    // caller knows what it runs; otherwise the majors must agree, as in registerOnLoad.
    const TensorRT trt = findTensorRT();
    if (trt.found()) {
      if (!sameMajor(trt)) return nullptr;
    } else {
      pdk::trt::verifyLogger(nullptr);
    }
    handOverTo(caller);
    const auto& list = creators();
    nbCreators = static_cast<int32_t>(list.size());
    return list.data();
  } catch (const std::exception& e) {
    pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere, e.what());
  } catch (...) {
    pdk::trt::logError(__FILE__, __LINE__, kLibraryWhere, "unknown exception in getCreators");
  }
  nbCreators = 0;
  return nullptr;
}

// TensorRT-free description for Python (ctypes) and tooling: the JSON object of the
// .trt_pdk_info section, which tools read from the file without loading it.
PDK_EXPORT const char* pdkLibraryInfo() noexcept {
  return kPdkLibraryInfo;
}
