// What a plugin library knows about the TensorRT it runs in, set by library.cpp once it
// has found TensorRT and checked its major: the running version (for features that depend
// on the minor) and interned namespace strings (creators and plugins hand out `const char*`
// that must stay valid while another thread renames them).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

namespace pdk::trt {

// getInferLibVersion() of the running TensorRT, 0 while unknown (no TensorRT found yet, or a
// test harness without one). TensorRT 10+ encodes (major * 100 + minor) * 100 + patch.
inline std::atomic<int32_t>& runningTensorRTVersion() {
  static std::atomic<int32_t> version{0};
  return version;
}

struct Version {
  int32_t major = 0, minor = 0, patch = 0;
};

// TensorRT 8 and 9 encoded major * 1000 + minor * 100 + patch (8.6.1 -> 8601, 9.3.0 -> 9300;
// NvInferRuntimeBase.h of release/8.6 and release/9.3); from 10.0 on it is
// (major * 100 + minor) * 100 + patch (10.16.0 -> 101600). So < 10000 means the old form.
inline Version decodeTensorRTVersion(int32_t v) {
  if (v < 10000) return {v / 1000, v / 100 % 10, v % 100};
  return {v / 10000, v / 100 % 100, v % 100};
}

inline std::string versionText(const Version& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch);
}

// Strings that live until the process ends, one per distinct value: a pointer handed out by
// getPluginNamespace() stays valid whatever setPluginNamespace() does afterwards.
inline const char* internString(const char* s) {
  static std::mutex mutex;
  static auto* strings = new std::set<std::string>;  // immortal, like the creators
  std::lock_guard<std::mutex> lock(mutex);
  return strings->insert(s ? s : "").first->c_str();
}

// A namespace that one thread may set while others read it.
class Namespace {
 public:
  explicit Namespace(const std::string& ns) : value_(internString(ns.c_str())) {}
  Namespace(const Namespace& other) : value_(other.get()) {}
  Namespace& operator=(const Namespace&) = delete;
  const char* get() const noexcept { return value_.load(std::memory_order_acquire); }
  void set(const char* ns) { value_.store(internString(ns), std::memory_order_release); }

 private:
  std::atomic<const char*> value_;
};

}  // namespace pdk::trt
