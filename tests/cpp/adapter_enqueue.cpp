// Every plugin of the built library computed on the GPU through its TensorRT interface, in
// TensorRT's calling order, compared with the op's CPU reference:
//   IPluginV2DynamicExt: createPlugin -> configurePlugin -> getWorkspaceSize -> enqueue, and
//     again after serialize -> deserializePlugin (no configurePlugin: a static-shape engine)
//   IPluginV3: createPlugin(kBUILD) -> configurePlugin -> getWorkspaceSize, then
//     createPlugin(kRUNTIME, getFieldsToSerialize) -> attachToContext -> onShapeChange ->
//     getWorkspaceSize -> enqueue (MaskedCompact also writes its size-tensor count)
// for every node, case and point of adapter_cases.txt (the spec cases with all their dtypes,
// attributes as the ONNX parser passes them). Device memory comes from cudaMalloc; inputs
// are the harness's distributions (normal floats, small integers, random bools) or the
// values a spec generator made (sorted boundaries).
//
//   adapter_enqueue <plugin library> <adapter_cases.txt>
// Exits 77 (ctest SKIP_RETURN_CODE) with the reason when no CUDA device is visible.
#include <NvInferRuntime.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapter_cases.h"
#include "common/op.h"
#include "pdk_ops.inc"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // the V2 interface is under test

namespace {

constexpr int kSkip = 77;
int gRuns = 0;
int gFailures = 0;

template <class... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

void fail(const std::string& message) {
  ++gFailures;
  if (gFailures <= 50) std::printf("FAIL %s\n", message.c_str());
}

class PrintingLogger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override {
    if (severity <= Severity::kWARNING) std::printf("  [logged] %s\n", msg);
  }
};
class Finder final : public nvinfer1::ILoggerFinder {
 public:
  nvinfer1::ILogger* findLogger() override { return &logger; }
  PrintingLogger logger;
};
Finder gFinder;

bool cudaOk(cudaError_t status, const std::string& what) {
  if (status == cudaSuccess) return true;
  fail(str(what, ": ", cudaGetErrorString(status)));
  return false;
}

// A device buffer (at least 16 bytes, so empty tensors still get a valid pointer).
struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) { cudaOk(cudaMalloc(&ptr, bytes < 16 ? 16 : bytes), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

int64_t numel(const pdk::TensorDesc& d) {
  int64_t n = 1;
  for (int32_t i = 0; i < d.nbDims; ++i) n *= d.dims[i];
  return n;
}
size_t bytesOf(const pdk::TensorDesc& d) {
  return static_cast<size_t>(numel(d) * pdk::dtypeSize(d.dtype));
}

// The harness's distributions (python/trt_pdk/testing/harness.py make_inputs).
std::vector<char> randomData(const pdk::TensorDesc& d, std::mt19937& rng) {
  std::vector<char> out(bytesOf(d));
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> small(-8, 7), bit(0, 1);
  for (int64_t i = 0; i < numel(d); ++i) {
    switch (d.dtype) {
      case pdk::DType::kFLOAT: reinterpret_cast<float*>(out.data())[i] = normal(rng); break;
      case pdk::DType::kHALF: reinterpret_cast<pdk::Half*>(out.data())[i] = pdk::toHalf(normal(rng)); break;
      case pdk::DType::kBF16: reinterpret_cast<pdk::BFloat16*>(out.data())[i] = pdk::toBFloat16(normal(rng)); break;
      case pdk::DType::kINT32: reinterpret_cast<int32_t*>(out.data())[i] = small(rng); break;
      case pdk::DType::kINT64: reinterpret_cast<int64_t*>(out.data())[i] = small(rng); break;
      case pdk::DType::kBOOL:
      case pdk::DType::kUINT8: reinterpret_cast<uint8_t*>(out.data())[i] = static_cast<uint8_t>(bit(rng)); break;
      case pdk::DType::kINT8: reinterpret_cast<int8_t*>(out.data())[i] = static_cast<int8_t>(small(rng)); break;
      default: break;
    }
  }
  return out;
}

double valueAt(const std::vector<char>& data, pdk::DType t, int64_t i) {
  switch (t) {
    case pdk::DType::kFLOAT: return reinterpret_cast<const float*>(data.data())[i];
    case pdk::DType::kHALF: return pdk::toFloat(reinterpret_cast<const pdk::Half*>(data.data())[i]);
    case pdk::DType::kBF16: return pdk::toFloat(reinterpret_cast<const pdk::BFloat16*>(data.data())[i]);
    case pdk::DType::kINT32: return reinterpret_cast<const int32_t*>(data.data())[i];
    case pdk::DType::kINT64: return static_cast<double>(reinterpret_cast<const int64_t*>(data.data())[i]);
    case pdk::DType::kINT8: return reinterpret_cast<const int8_t*>(data.data())[i];
    default: return reinterpret_cast<const uint8_t*>(data.data())[i];
  }
}

// Outputs with data-dependent dims sized at their upper bound, as TensorRT allocates them.
template <class Op>
std::vector<pdk::TensorDesc> outputsAtUpperBound(const typename Op::Attrs& attrs,
                                                 const std::vector<pdk::TensorDesc>& in) {
  std::vector<pdk::Shape<int64_t>> shapes;
  for (const auto& d : in) {
    pdk::Shape<int64_t> s;
    s.nbDims = d.nbDims;
    for (int32_t k = 0; k < d.nbDims; ++k) s.d[k] = d.dims[k];
    shapes.push_back(s);
  }
  std::vector<int64_t> upper;
  const auto outShapes = pdk::outputShapes<Op>(attrs, shapes, &upper);
  pdk::DType inTypes[Op::kNbInputs] = {};
  for (size_t i = 0; i < in.size(); ++i) inTypes[i] = in[i].dtype;
  std::vector<pdk::TensorDesc> out;
  for (int32_t o = 0; o < Op::kNbOutputs; ++o) {
    pdk::TensorDesc d;
    d.dtype = Op::outputType(attrs, o, inTypes, static_cast<int32_t>(in.size()));
    d.nbDims = outShapes[static_cast<size_t>(o)].nbDims;
    for (int32_t k = 0; k < d.nbDims; ++k) {
      const int64_t v = outShapes[static_cast<size_t>(o)].d[k];
      d.dims[k] = v == pdk::kDataDependent ? upper.at(0) : v;
    }
    out.push_back(d);
  }
  return out;
}

nvinfer1::PluginTensorDesc plain(const pdk::TensorDesc& d) {
  nvinfer1::PluginTensorDesc p{};
  p.dims.nbDims = d.nbDims;
  for (int32_t i = 0; i < d.nbDims; ++i) p.dims.d[i] = d.dims[i];
  p.type = static_cast<nvinfer1::DataType>(d.dtype);
  p.format = nvinfer1::TensorFormat::kLINEAR;
  p.scale = -1.f;
  return p;
}

nvinfer1::DynamicPluginTensorDesc dynamic(const pdk::TensorDesc& d) {
  nvinfer1::DynamicPluginTensorDesc p{};
  p.desc = plain(d);
  p.min = p.opt = p.max = p.desc.dims;
  return p;
}

// One point: host inputs, the CPU reference, and device buffers for a plugin to fill.
template <class Op>
struct Run {
  typename Op::Attrs attrs;
  std::vector<pdk::TensorDesc> in, out, expectedOut;
  std::vector<std::vector<char>> hostIn, expected;
  std::vector<std::unique_ptr<DeviceBuffer>> deviceIn;
  std::vector<nvinfer1::PluginTensorDesc> plainIn, plainOut;
  std::vector<nvinfer1::DynamicPluginTensorDesc> dynIn, dynOut;

  Run(const typename Op::Attrs& a, const cases::Point& point, std::mt19937& rng) : attrs(a), in(point.inputs) {
    out = outputsAtUpperBound<Op>(attrs, in);
    for (size_t i = 0; i < in.size(); ++i) {
      hostIn.push_back(point.data[i].empty() ? randomData(in[i], rng) : point.data[i]);
      if (hostIn.back().size() != bytesOf(in[i]))
        throw std::runtime_error(
            str("input ", i, " has ", hostIn.back().size(), " bytes of values, its shape needs ", bytesOf(in[i])));
      deviceIn.push_back(std::make_unique<DeviceBuffer>(bytesOf(in[i])));
      cudaOk(cudaMemcpy(deviceIn.back()->ptr, hostIn.back().data(), bytesOf(in[i]), cudaMemcpyHostToDevice), "copy in");
      plainIn.push_back(plain(in[i]));
      dynIn.push_back(dynamic(in[i]));
    }
    for (const auto& d : out) plainOut.push_back(plain(d)), dynOut.push_back(dynamic(d));
    // The CPU reference over absent-marked optional inputs, as the adapters call the op.
    pdk::TensorDesc refIn[Op::kNbInputs];
    const void* refData[Op::kNbInputs] = {};
    for (int32_t i = 0; i < Op::kNbInputs; ++i) {
      refIn[i] = i < static_cast<int32_t>(in.size()) ? in[static_cast<size_t>(i)] : pdk::absentTensor();
      refData[i] = i < static_cast<int32_t>(in.size()) ? hostIn[static_cast<size_t>(i)].data() : nullptr;
    }
    expectedOut = out;
    void* refOut[Op::kNbOutputs] = {};
    for (int32_t o = 0; o < Op::kNbOutputs; ++o) {
      expected.emplace_back(bytesOf(out[static_cast<size_t>(o)]) + 16);
      refOut[o] = expected.back().data();
    }
    Op::cpuReference(attrs, refIn, expectedOut.data(), refData, refOut);
  }

  int32_t nbIn() const { return static_cast<int32_t>(in.size()); }

  // Runs `enqueue(inputs, outputs, workspace, stream)` and compares with the reference.
  template <class Enqueue>
  void check(size_t workspaceBytes, Enqueue&& enqueue, const std::string& what, double atol, double rtol) {
    ++gRuns;
    std::vector<std::unique_ptr<DeviceBuffer>> deviceOut;
    std::vector<void*> outPtrs;
    std::vector<const void*> inPtrs;
    for (const auto& b : deviceIn) inPtrs.push_back(b->ptr);
    for (const auto& d : out) {
      deviceOut.push_back(std::make_unique<DeviceBuffer>(bytesOf(d)));
      cudaMemset(deviceOut.back()->ptr, 0xCD, bytesOf(d) < 16 ? 16 : bytesOf(d));  // no stale zeros
      outPtrs.push_back(deviceOut.back()->ptr);
    }
    DeviceBuffer workspace(workspaceBytes);
    cudaStream_t stream = nullptr;
    if (!cudaOk(cudaStreamCreate(&stream), what)) return;
    const int32_t status = enqueue(inPtrs.data(), outPtrs.data(), workspace.ptr, stream);
    const bool ran = cudaOk(cudaStreamSynchronize(stream), what + ": kernel") && cudaOk(cudaGetLastError(), what);
    cudaStreamDestroy(stream);
    if (status != 0) return fail(str(what, ": enqueue returned ", status));
    if (!ran) return;
    for (int32_t o = 0; o < Op::kNbOutputs; ++o) {
      const pdk::TensorDesc& want = expectedOut[static_cast<size_t>(o)];  // data-dependent dims: actual
      std::vector<char> got(bytesOf(out[static_cast<size_t>(o)]));
      cudaOk(cudaMemcpy(got.data(), outPtrs[static_cast<size_t>(o)], got.size(), cudaMemcpyDeviceToHost), what);
      int shown = 0;
      for (int64_t i = 0; i < numel(want); ++i) {
        const double e = valueAt(expected[static_cast<size_t>(o)], want.dtype, i);
        const double a = valueAt(got, want.dtype, i);
        const bool ok = (std::isnan(e) && std::isnan(a)) || std::fabs(a - e) <= atol + rtol * std::fabs(e);
        if (!ok && shown++ < 3) fail(str(what, ": output ", o, "[", i, "] = ", a, ", reference ", e));
      }
    }
  }
};

std::string shapeText(const std::vector<pdk::TensorDesc>& in) {
  std::string s;
  for (const auto& d : in) {
    s += str(pdk::dtypeName(d.dtype), "[");
    for (int32_t k = 0; k < d.nbDims; ++k) s += str(k ? "," : "", d.dims[k]);
    s += "] ";
  }
  return s;
}

template <class Op>
typename Op::Attrs attrsFrom(const nvinfer1::PluginFieldCollection* fc) {
  std::vector<pdk::RawField> raw;
  for (int32_t i = 0; i < fc->nbFields; ++i) {
    const auto& f = fc->fields[i];
    raw.push_back({f.name, f.data, static_cast<pdk::RawFieldType>(f.type), f.length});
  }
  return pdk::attrsFromFields<Op>(raw.data(), static_cast<int32_t>(raw.size()));
}

template <class Op>
void runV2(nvinfer1::IPluginCreator& creator, const cases::Node& node, std::mt19937& rng) {
  std::string error;
  cases::ParserFields fields(node, *creator.getFieldNames(), error);
  const auto attrs = attrsFrom<Op>(fields.collection());
  for (const cases::Point& point : node.points) {
    Run<Op> run(attrs, point, rng);
    const std::string what = str(node.label(), " ", shapeText(run.in));
    auto* plugin = static_cast<nvinfer1::IPluginV2DynamicExt*>(creator.createPlugin("node", fields.collection()));
    if (!plugin) return fail(what + ": createPlugin");
    plugin->configurePlugin(run.dynIn.data(), run.nbIn(), run.dynOut.data(), Op::kNbOutputs);
    const size_t ws = plugin->getWorkspaceSize(run.plainIn.data(), run.nbIn(), run.plainOut.data(), Op::kNbOutputs);
    const auto enqueueWith = [&](nvinfer1::IPluginV2DynamicExt* p) {
      return [&, p](const void* const* in, void* const* out, void* w, cudaStream_t s) {
        return p->enqueue(run.plainIn.data(), run.plainOut.data(), in, out, w, s);
      };
    };
    run.check(ws, enqueueWith(plugin), what + " (built)", node.atol, node.rtol);
    // The engine's copy: deserialized and enqueued without configurePlugin.
    std::vector<char> bytes(plugin->getSerializationSize());
    plugin->serialize(bytes.data());
    auto* restored =
        static_cast<nvinfer1::IPluginV2DynamicExt*>(creator.deserializePlugin("node", bytes.data(), bytes.size()));
    if (!restored) return fail(what + ": deserializePlugin");
    run.check(ws, enqueueWith(restored), what + " (deserialized)", node.atol, node.rtol);
    restored->destroy();
    plugin->destroy();
  }
}

template <class Op>
void runV3(nvinfer1::IPluginCreatorV3One& creator, const cases::Node& node, std::mt19937& rng) {
  using Phase = nvinfer1::TensorRTPhase;
  using Cap = nvinfer1::PluginCapabilityType;
  std::string error;
  cases::ParserFields fields(node, *creator.getFieldNames(), error);
  const auto attrs = attrsFrom<Op>(fields.collection());
  for (const cases::Point& point : node.points) {
    Run<Op> run(attrs, point, rng);
    const std::string what = str(node.label(), " ", shapeText(run.in));
    std::unique_ptr<nvinfer1::IPluginV3> built(creator.createPlugin("node", fields.collection(), Phase::kBUILD));
    if (!built) return fail(what + ": createPlugin(kBUILD)");
    auto* build = static_cast<nvinfer1::IPluginV3OneBuild*>(built->getCapabilityInterface(Cap::kBUILD));
    if (build->configurePlugin(run.dynIn.data(), run.nbIn(), run.dynOut.data(), Op::kNbOutputs) != 0)
      return fail(what + ": configurePlugin");
    build->getWorkspaceSize(run.dynIn.data(), run.nbIn(), run.dynOut.data(), Op::kNbOutputs);
    // The runtime: a plugin from the engine's fields, attached to an execution context.
    auto* builtRuntime = static_cast<nvinfer1::IPluginV3OneRuntime*>(built->getCapabilityInterface(Cap::kRUNTIME));
    std::unique_ptr<nvinfer1::IPluginV3> loaded(
        creator.createPlugin("node", builtRuntime->getFieldsToSerialize(), Phase::kRUNTIME));
    if (!loaded) return fail(what + ": createPlugin(kRUNTIME)");
    auto* loadedRuntime = static_cast<nvinfer1::IPluginV3OneRuntime*>(loaded->getCapabilityInterface(Cap::kRUNTIME));
    std::unique_ptr<nvinfer1::IPluginV3> context(loadedRuntime->attachToContext(nullptr));
    if (!context) return fail(what + ": attachToContext");
    auto* runtime = static_cast<nvinfer1::IPluginV3OneRuntime*>(context->getCapabilityInterface(Cap::kRUNTIME));
    auto* contextBuild = static_cast<nvinfer1::IPluginV3OneBuild*>(context->getCapabilityInterface(Cap::kBUILD));
    if (runtime->onShapeChange(run.plainIn.data(), run.nbIn(), run.plainOut.data(), Op::kNbOutputs) != 0)
      return fail(what + ": onShapeChange");
    const size_t ws = contextBuild->getWorkspaceSize(run.dynIn.data(), run.nbIn(), run.dynOut.data(), Op::kNbOutputs);
    run.check(
        ws,
        [&](const void* const* in, void* const* out, void* w, cudaStream_t s) {
          return runtime->enqueue(run.plainIn.data(), run.plainOut.data(), in, out, w, s);
        },
        what, node.atol, node.rtol);
  }
}

template <class Op>
void runNode(nvinfer1::IPluginCreatorInterface& creator, const cases::Node& node, std::mt19937& rng) {
  if (std::string(creator.getInterfaceInfo().kind) == "PLUGIN CREATOR_V1") {
    if constexpr (Op::kHasV2) runV2<Op>(static_cast<nvinfer1::IPluginCreator&>(creator), node, rng);
  } else {
    runV3<Op>(static_cast<nvinfer1::IPluginCreatorV3One&>(creator), node, rng);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::printf("usage: %s <plugin library> <adapter_cases.txt>\n", argv[0]);
    return 2;
  }
  int devices = 0;
  const cudaError_t probe = cudaGetDeviceCount(&devices);
  if (probe != cudaSuccess || devices == 0) {
    std::printf(
        "SKIPPED: no CUDA device visible (cudaGetDeviceCount: %s, %d devices); run this on a machine "
        "with an NVIDIA GPU and driver (scripts/gpu-check does)\n",
        probe == cudaSuccess ? "ok" : cudaGetErrorString(probe), devices);
    return kSkip;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("adapter_enqueue on %s (sm_%d%d), TensorRT %d.%d headers\n", prop.name, prop.major, prop.minor,
              NV_TENSORRT_MAJOR, NV_TENSORRT_MINOR);

  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) return std::printf("FAIL dlopen %s: %s\n", argv[1], dlerror()), 1;
  using GetCreators = nvinfer1::IPluginCreatorInterface* const* (*)(int32_t&);
  using SetFinder = void (*)(nvinfer1::ILoggerFinder*);
  auto getCreators = reinterpret_cast<GetCreators>(dlsym(lib, "getCreators"));
  auto setFinder = reinterpret_cast<SetFinder>(dlsym(lib, "setLoggerFinder"));
  if (!getCreators || !setFinder) return std::printf("FAIL: the library lacks getCreators/setLoggerFinder\n"), 1;
  setFinder(&gFinder);
  int32_t nb = 0;
  nvinfer1::IPluginCreatorInterface* const* creators = getCreators(nb);

  const auto nodes = cases::read(argv[2]);
  std::mt19937 rng(20260101);
  int nodesRun = 0;
  for (const cases::Node& node : nodes) {
    if (node.source != "export") continue;  // rewrite nodes carry the same fields, not the points
    nvinfer1::IPluginCreatorInterface* creator = cases::findCreator(creators, nb, node);
    if (!creator) {
      fail(node.label() + ": no creator");
      continue;
    }
    ++nodesRun;
    try {  // the op core's errors (pdk::Error) and bad case data: this node fails, the rest run
#define PDK_RUN_NODE(Op) \
  if (node.opType == Op::kName) runNode<Op>(*creator, node, rng);
      PDK_FOR_EACH_OP(PDK_RUN_NODE)
#undef PDK_RUN_NODE
    } catch (const std::exception& e) {
      fail(node.label() + ": " + e.what());
    }
  }
  std::printf("%s: %d nodes, %d enqueues compared with the CPU reference, %d failed\n", gFailures ? "FAILED" : "PASSED",
              nodesRun, gRuns, gFailures);
  return gFailures ? 1 : 0;
}

#pragma GCC diagnostic pop
