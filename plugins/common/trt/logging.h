// Error reporting at the TensorRT ABI boundary. Every noexcept entry point of the
// adapters wraps its body in PDK_TRT_TRY / PDK_TRT_CATCH, so no exception crosses into
// TensorRT and no failure is silent: the message goes to TensorRT's logger (found through
// the ILoggerFinder TensorRT hands to setLoggerFinder), or to stderr when there is none.
#pragma once

#include <NvInferRuntime.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>

#include "common/error.h"

namespace pdk::trt {

// One per shared library: the adapters are compiled with hidden visibility, so an outside
// plugin package loaded next to ours keeps its own finder.
inline std::atomic<nvinfer1::ILoggerFinder*>& loggerFinder() {
  static std::atomic<nvinfer1::ILoggerFinder*> finder{nullptr};
  return finder;
}

inline void log(nvinfer1::ILogger::Severity severity, const std::string& message) noexcept {
  nvinfer1::ILogger* logger = nullptr;
  try {
    if (nvinfer1::ILoggerFinder* finder = loggerFinder().load()) logger = finder->findLogger();
  } catch (...) {
    logger = nullptr;
  }
  if (logger) {
    logger->log(severity, message.c_str());
    return;
  }
  const char* level = severity <= nvinfer1::ILogger::Severity::kERROR ? "ERROR" : "WARNING";
  if (severity > nvinfer1::ILogger::Severity::kWARNING) level = "INFO";
  std::fprintf(stderr, "[trt-pdk] %s: %s\n", level, message.c_str());
}

// Who failed: plugin identity plus the entry point, e.g. "trt_pdk::RMSNorm v2 createPlugin".
struct Where {
  const char* ns;
  const char* name;
  const char* version;
  const char* entry;
};

inline void logError(const char* file, int line, const Where& where, const char* what) noexcept {
  try {
    std::ostringstream os;
    os << file << ":" << line << ": " << where.ns << (where.ns[0] ? "::" : "") << where.name;
    if (where.version[0]) os << " v" << where.version;
    os << " " << where.entry << ": " << what;
    log(nvinfer1::ILogger::Severity::kERROR, os.str());
  } catch (...) {
    std::fprintf(stderr, "[trt-pdk] ERROR: %s:%d: %s\n", file, line, what);
  }
}

}  // namespace pdk::trt

// `where` is a pdk::trt::Where built from plain pointers, so reporting itself cannot throw.
// pdk::Error carries the file/line that raised it; other exceptions report the catch site.
#define PDK_TRT_TRY try {
#define PDK_TRT_CATCH(where, errorValue)                                  \
  }                                                                       \
  catch (const ::pdk::Error& e) {                                         \
    ::pdk::trt::logError(e.file(), e.line(), where, e.what());            \
    return errorValue;                                                    \
  }                                                                       \
  catch (const std::exception& e) {                                       \
    ::pdk::trt::logError(__FILE__, __LINE__, where, e.what());            \
    return errorValue;                                                    \
  }                                                                       \
  catch (...) {                                                           \
    ::pdk::trt::logError(__FILE__, __LINE__, where, "unknown exception"); \
    return errorValue;                                                    \
  }
