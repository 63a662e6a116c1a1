// Error reporting at the TensorRT ABI boundary. Every noexcept entry point of the
// adapters wraps its body in PDK_TRT_TRY / PDK_TRT_CATCH, so no exception crosses into
// TensorRT and no failure is silent: the message goes to TensorRT's logger (the
// ILoggerFinder TensorRT hands to setLoggerFinder, or its getLogger()) once the TensorRT
// major is verified, else to stderr.
#pragma once

#include <NvInferRuntime.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>

#include "common/error.h"

namespace pdk::trt {

// Where messages go, one state per shared library (the adapters are compiled with hidden
// visibility, so an outside plugin package loaded next to ours keeps its own). ILoggerFinder
// and ILogger changed their vtables in TensorRT 11 (both derive from IVersionedInterface
// there), so neither is called before library.cpp has checked that the running TensorRT
// has the major we were built for: setLoggerFinder() only parks the finder (the first one
// offered is kept, as TensorRT's plugin/vc/vfcCommon.cpp does), and verifyLogger() makes
// it, or TensorRT's own getLogger(), the destination. Until then, and after a mismatch,
// messages go to stderr.
struct LoggerState {
  std::atomic<nvinfer1::ILoggerFinder*> pendingFinder{nullptr};
  std::atomic<bool> verified{false};
  using GetLogger = nvinfer1::ILogger* (*)();
  std::atomic<GetLogger> getLogger{nullptr};  // getLogger() of the verified TensorRT
};

inline LoggerState& loggerState() {
  static LoggerState state;
  return state;
}

// setLoggerFinder(): keep the first non-null finder; call it only once verified.
inline void offerLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept {
  nvinfer1::ILoggerFinder* none = nullptr;
  if (finder) loggerState().pendingFinder.compare_exchange_strong(none, finder);
}

// The running TensorRT has our major (or the host runs none we can see and is trusted):
// its finder may be called from now on; `getLogger` is its getLogger() when known (asked at
// each message: it returns the logger of the builder or runtime the host created last).
inline void verifyLogger(LoggerState::GetLogger getLogger) noexcept {
  if (getLogger) loggerState().getLogger.store(getLogger);
  loggerState().verified.store(true);
}

inline void logToStderr(nvinfer1::ILogger::Severity severity, const std::string& message) noexcept {
  const char* level = severity <= nvinfer1::ILogger::Severity::kERROR ? "ERROR" : "WARNING";
  if (severity > nvinfer1::ILogger::Severity::kWARNING) level = "INFO";
  std::fprintf(stderr, "[trt-pdk] %s: %s\n", level, message.c_str());
}

inline void log(nvinfer1::ILogger::Severity severity, const std::string& message) noexcept {
  nvinfer1::ILogger* logger = nullptr;
  LoggerState& state = loggerState();
  if (state.verified.load()) {
    try {
      if (nvinfer1::ILoggerFinder* finder = state.pendingFinder.load()) logger = finder->findLogger();
      if (!logger) {
        if (LoggerState::GetLogger getLogger = state.getLogger.load()) logger = getLogger();
      }
    } catch (...) {
      logger = nullptr;
    }
  }
  if (logger) {
    logger->log(severity, message.c_str());
    return;
  }
  logToStderr(severity, message);
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
