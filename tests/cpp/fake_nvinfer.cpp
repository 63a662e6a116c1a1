// A stand-in for libnvinfer with only what a plugin library looks up at load time:
// getPluginRegistry() and getInferLibVersion(). It is built with the soname
// libnvinfer.so.<major> so that dlopen(..., RTLD_NOLOAD) finds it like the real one, and
// FAKE_TRT_VERSION decides which TensorRT version it claims to be. fakeLoadLibrary() does
// what IPluginRegistry::loadLibrary does after its dlopen: it calls getCreators from inside
// this library and registers what it returns.
#include <NvInferRuntime.h>
#include <dlfcn.h>

#include <cstring>
#include <string>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // the 10.x registry still declares V2 overloads

namespace {

using nvinfer1::IPluginCreatorInterface;

struct Key {
  std::string name, version, ns;
  bool operator==(const Key& o) const { return name == o.name && version == o.version && ns == o.ns; }
};

Key keyOf(const IPluginCreatorInterface& creator) {
  const char* kind = creator.getInterfaceInfo().kind;
  if (std::strcmp(kind, "PLUGIN CREATOR_V3ONE") == 0) {
    const auto& c = static_cast<const nvinfer1::IPluginCreatorV3One&>(creator);
    return {c.getPluginName(), c.getPluginVersion(), c.getPluginNamespace()};
  }
  const auto& c = static_cast<const nvinfer1::IPluginCreator&>(creator);
  return {c.getPluginName(), c.getPluginVersion(), c.getPluginNamespace()};
}

// Rejects a second creator with the same name, version and namespace, as TensorRT does.
class FakeRegistry final : public nvinfer1::IPluginRegistry {
 public:
  bool registerCreator(IPluginCreatorInterface& creator, const char* const ns) noexcept override {
    Key key = keyOf(creator);
    key.ns = ns ? ns : "";
    for (const auto& k : keys_)
      if (k == key) return false;
    keys_.push_back(key);
    creators_.push_back(&creator);
    return true;
  }
  IPluginCreatorInterface* const* getAllCreators(int32_t* const n) const noexcept override {
    *n = static_cast<int32_t>(creators_.size());
    return creators_.data();
  }
  IPluginCreatorInterface* getCreator(const char* const name, const char* const version,
                                      const char* const ns) noexcept override {
    for (size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] == Key{name, version, ns ? ns : ""}) return creators_[i];
    return nullptr;
  }
  bool deregisterCreator(const IPluginCreatorInterface& creator) noexcept override {
    for (size_t i = 0; i < creators_.size(); ++i) {
      if (creators_[i] == &creator) {
        creators_.erase(creators_.begin() + static_cast<std::ptrdiff_t>(i));
        keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    }
    return false;
  }
  IPluginCreatorInterface* const* getAllCreatorsRecursive(int32_t* const n) noexcept override {
    return getAllCreators(n);
  }
  void setErrorRecorder(nvinfer1::IErrorRecorder* const) noexcept override {}
  nvinfer1::IErrorRecorder* getErrorRecorder() const noexcept override { return nullptr; }
  bool isParentSearchEnabled() const override { return false; }
  void setParentSearchEnabled(bool const) override {}
  PluginLibraryHandle loadLibrary(const char*) noexcept override { return nullptr; }
  void deregisterLibrary(PluginLibraryHandle) noexcept override {}
  nvinfer1::IPluginResource* acquirePluginResource(const char*, nvinfer1::IPluginResource*) noexcept override {
    return nullptr;
  }
  int32_t releasePluginResource(const char*) noexcept override { return -1; }
#if NV_TENSORRT_MAJOR < 11
  bool registerCreator(nvinfer1::IPluginCreator& creator, const char* const ns) noexcept override {
    return registerCreator(static_cast<IPluginCreatorInterface&>(creator), ns);
  }
  nvinfer1::IPluginCreator* const* getPluginCreatorList(int32_t* const n) const noexcept override {
    *n = 0;
    return nullptr;
  }
  nvinfer1::IPluginCreator* getPluginCreator(const char* const, const char* const,
                                             const char* const) noexcept override {
    return nullptr;
  }
  bool deregisterCreator(const nvinfer1::IPluginCreator& creator) noexcept override {
    return deregisterCreator(static_cast<const IPluginCreatorInterface&>(creator));
  }
#endif

 private:
  std::vector<Key> keys_;
  std::vector<IPluginCreatorInterface*> creators_;
};

}  // namespace

#pragma GCC diagnostic pop

extern "C" __attribute__((visibility("default"))) nvinfer1::IPluginRegistry* getPluginRegistry() noexcept {
  static auto* registry = new FakeRegistry;
  return registry;
}

extern "C" __attribute__((visibility("default"))) int32_t getInferLibVersion() noexcept {
  return FAKE_TRT_VERSION;
}

// IPluginRegistry::loadLibrary after its dlopen: getCreators is called from this object,
// and each creator is registered under its own namespace. Returns how many were registered.
extern "C" __attribute__((visibility("default"))) int32_t fakeLoadLibrary(void* library) noexcept {
  using GetCreators = IPluginCreatorInterface* const* (*)(int32_t&);
  auto getCreators = reinterpret_cast<GetCreators>(dlsym(library, "getCreators"));
  if (!getCreators) return -1;
  int32_t n = 0;
  IPluginCreatorInterface* const* creators = getCreators(n);
  int32_t registered = 0;
  for (int32_t i = 0; creators && i < n; ++i) {
    const std::string ns = keyOf(*creators[i]).ns;
    registered += getPluginRegistry()->registerCreator(*creators[i], ns.c_str()) ? 1 : 0;
  }
  return registered;
}
