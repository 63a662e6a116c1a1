// Runs trtexec's own option parsing (samples/common/sampleOptions.cpp of NVIDIA/TensorRT,
// compiled by tests/trtexec_parser.py at the TensorRT release under test) on its argv, the
// calls trtexec's main makes in the same order, and prints what trtexec understood as one
// JSON line prefixed by "TRTEXEC_PARSED ". Exit code 0 when trtexec would go on to build,
// 1 when it would stop with an error (unknown option, rejected value).
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "NvInferVersion.h"
#include "sampleOptions.h"

namespace {

std::string quoted(const std::string& s) {
  std::ostringstream out;
  out << '"';
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out << '\\' << c;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out << buf;
    } else {
      out << c;
    }
  }
  out << '"';
  return out.str();
}

std::string strings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + quoted(values[i]);
  return out + "]";
}

std::string dims(const std::vector<int64_t>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "]";
}

std::string profiles(const std::vector<sample::BuildOptions::ShapeProfile>& all) {
  const char* const selectors[] = {"min", "opt", "max"};  // OptProfileSelector kMIN, kOPT, kMAX
  std::string out = "[";
  for (size_t p = 0; p < all.size(); ++p) {
    out += p ? ",{" : "{";
    bool first = true;
    for (const auto& [name, range] : all[p]) {
      out += (first ? "" : ",") + quoted(name) + ":{";
      for (size_t s = 0; s < 3; ++s) out += (s ? "," : "") + quoted(selectors[s]) + ":" + dims(range[s]);
      out += "}";
      first = false;
    }
    out += "}";
  }
  return out + "]";
}

void report(const std::string& error, const std::vector<std::string>& unknown, const sample::AllOptions* options) {
  std::ostringstream out;
  out << "{\"trt_version\":"
      << quoted(std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
                std::to_string(NV_TENSORRT_PATCH))
      << ",\"ok\":" << (error.empty() && unknown.empty() ? "true" : "false") << ",\"error\":" << quoted(error)
      << ",\"unknown\":" << strings(unknown);
  if (options != nullptr) {
    const auto& build = options->build;
    const auto& system = options->system;
    out << ",\"model\":" << quoted(options->model.baseModel.model)
        << ",\"onnx\":" << (options->model.baseModel.format == sample::ModelFormat::kONNX ? "true" : "false")
        << ",\"save_engine\":" << quoted(build.save ? build.engine : "")
        << ",\"skip_inference\":" << (build.skipInference ? "true" : "false")
        << ",\"profiles\":" << profiles(build.optProfiles) << ",\"dynamic_plugins\":" << strings(system.dynamicPlugins)
        << ",\"plugins_to_serialize\":" << strings(system.setPluginsToSerialize)
        << ",\"plugins\":" << strings(system.plugins)
        << ",\"strongly_typed\":" << (build.stronglyTyped ? "true" : "false")
#if NV_TENSORRT_MAJOR < 11
        << ",\"fp16\":" << (build.fp16 ? "true" : "false")
#endif
        << ",\"timing_cache_file\":" << quoted(build.timingCacheFile) << ",\"workspace_mib\":" << build.workspace
        << ",\"builder_optimization_level\":" << build.builderOptimizationLevel;
  }
  out << "}";
  std::cout << "TRTEXEC_PARSED " << out.str() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  // As trtexec's main (samples/trtexec/trtexec.cpp: main at 10.16, parseArgs at 11.x).
  sample::Arguments args = sample::argsToArgumentsMap(argc, argv);
  sample::AllOptions options;
  options.system.enableStaticPlugins = true;
  if (sample::parseHelp(args)) {
    report("--help: trtexec prints its help and builds nothing", {}, nullptr);
    return 1;
  }
  try {
    options.parse(args);
  } catch (const std::invalid_argument& e) {
    report(e.what(), {}, nullptr);
    return 1;
  }
  std::vector<std::string> unknown;
  for (const auto& arg : args) unknown.push_back(arg.first + (arg.second.first.empty() ? "" : "=" + arg.second.first));
  report("", unknown, &options);
  return unknown.empty() ? 0 : 1;
}
