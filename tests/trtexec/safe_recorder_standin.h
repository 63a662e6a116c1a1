// Declarations only, copied to NvInferSafeRecorder.h in the parser's build folder by
// tests/trtexec_parser.py: samples/common/safeCommon.h includes that header of TensorRT's safety
// runtime, which is not in the public repository. Its inline helpers that use
// ISafeRecorder are never called by the option parser, so they only need to compile.
#pragma once
#include "NvInferRuntimeBase.h"

namespace nvinfer2 {
namespace safe {
class ISafeRecorder {
 public:
  virtual ~ISafeRecorder() = default;
  virtual void reportDebug(char const* desc) = 0;
  virtual void reportVerbose(char const* desc) = 0;
  virtual void reportInfo(char const* desc) = 0;
  virtual void reportWarn(char const* desc) = 0;
  virtual void reportError(nvinfer1::ErrorCode code, char const* desc) = 0;
};
}  // namespace safe
}  // namespace nvinfer2
