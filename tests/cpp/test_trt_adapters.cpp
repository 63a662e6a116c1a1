// Checks the TensorRT plugin library through TensorRT's own interfaces, without
// libnvinfer: it dlopens the library, takes the creators from getCreators and drives every
// plugin the way the builder and runtime would (fields, shapes through a test expression
// builder, formats, types, workspace, serialization, clone), with a logger that records
// what the library reports.
//
//   test_trt_adapters <plugin library> plain
//   test_trt_adapters <plugin library> registry <fake libnvinfer>   (self-registration)
//   test_trt_adapters <plugin library> mismatch <fake libnvinfer>   (other TensorRT major)
//   test_trt_adapters <plugin library> optout <fake libnvinfer>     (TRT_PDK_NO_SELF_REGISTER=1)
//   test_trt_adapters <plugin library> parser <adapter_cases.txt>   (fields as the ONNX parser sends them)
#include <NvInferRuntime.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "adapter_cases.h"
#include "common/op.h"
#include "common/trt/expr_builder.h"
#include "pdk_ops.inc"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // V2 plugins are under test too

namespace {

int gChecks = 0;
int gFailures = 0;

template <class... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

void check(bool ok, const char* file, int line, const char* expr, const std::string& context) {
  ++gChecks;
  if (ok) return;
  ++gFailures;
  std::printf("FAIL %s:%d: %s  [%s]\n", file, line, expr, context.c_str());
}
#define CHECK(cond, ...) check(static_cast<bool>(cond), __FILE__, __LINE__, #cond, str(__VA_ARGS__))

// ---- a logger that keeps what it is told -------------------------------------------------

class RecordingLogger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override {
    messages.push_back(msg);
    if (severity <= Severity::kERROR && echo) std::printf("  [logged] %s\n", msg);
  }
  std::vector<std::string> messages;
  bool echo = false;
};

class RecordingFinder final : public nvinfer1::ILoggerFinder {
 public:
  nvinfer1::ILogger* findLogger() override {
    ++calls;
    return &logger;
  }
  RecordingLogger logger;
  int calls = 0;
};

RecordingFinder gFinder;

// Runs `action` and returns what the library logged meanwhile.
template <class F>
std::string loggedDuring(F&& action) {
  gFinder.logger.messages.clear();
  action();
  std::string all;
  for (const auto& m : gFinder.logger.messages) all += m + "\n";
  return all;
}

// Runs `action` and returns what it wrote to stderr (file descriptor 2).
template <class F>
std::string stderrDuring(F&& action) {
  std::fflush(stderr);
  FILE* capture = std::tmpfile();
  const int saved = dup(2);
  dup2(fileno(capture), 2);
  action();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string text;
  std::rewind(capture);
  for (int c; (c = std::fgetc(capture)) != EOF;) text += static_cast<char>(c);
  std::fclose(capture);
  std::fputs(text.c_str(), stderr);  // still shown in the test log
  return text;
}

// ---- a dimension-expression builder that evaluates on integers ---------------------------

class TestExpr final : public nvinfer1::IDimensionExpr {
 public:
  TestExpr(int64_t value, bool sizeTensor) : impl_(value, sizeTensor) { mImpl = &impl_; }

 private:
  struct Impl final : nvinfer1::apiv::VDimensionExpr {
    Impl(int64_t v, bool s) : value(v), sizeTensor(s) {}
    bool isConstant() const override { return !sizeTensor; }
    int64_t getConstantValue() const override { return value; }
    bool isSizeTensor() const override { return sizeTensor; }
    int64_t value;
    bool sizeTensor;
  };
  Impl impl_;
};

class TestExprBuilder final : public nvinfer1::IExprBuilder {
 public:
  TestExprBuilder() : impl_(*this) { mImpl = &impl_; }
  const nvinfer1::IDimensionExpr* make(int64_t value, bool sizeTensor = false) {
    exprs_.push_back(std::make_unique<TestExpr>(value, sizeTensor));
    return exprs_.back().get();
  }
  nvinfer1::DimsExprs dims(const std::vector<int64_t>& shape) {
    nvinfer1::DimsExprs d{};
    d.nbDims = static_cast<int32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) d.d[i] = make(shape[i]);
    return d;
  }

 private:
  struct Impl final : nvinfer1::apiv::VExprBuilder {
    explicit Impl(TestExprBuilder& o) : owner(o) {}
    const nvinfer1::IDimensionExpr* constant(int64_t value) override { return owner.make(value); }
    const nvinfer1::IDimensionExpr* operation(nvinfer1::DimensionOperation op, const nvinfer1::IDimensionExpr& first,
                                              const nvinfer1::IDimensionExpr& second) override {
      const int64_t a = first.getConstantValue(), b = second.getConstantValue();
      using Op = nvinfer1::DimensionOperation;
      switch (op) {
        case Op::kSUM: return owner.make(a + b);
        case Op::kPROD: return owner.make(a * b);
        case Op::kMAX: return owner.make(a > b ? a : b);
        case Op::kMIN: return owner.make(a < b ? a : b);
        case Op::kSUB: return owner.make(a - b);
        case Op::kEQUAL: return owner.make(a == b);
        case Op::kLESS: return owner.make(a < b);
        case Op::kFLOOR_DIV: return owner.make(b == 0 ? 0 : (a / b - ((a % b != 0) && ((a < 0) != (b < 0)))));
        case Op::kCEIL_DIV: return owner.make(b == 0 ? 0 : (a + b - 1) / b);
      }
      return nullptr;
    }
    const nvinfer1::IDimensionExpr* declareSizeTensor(int32_t, const nvinfer1::IDimensionExpr&,
                                                      const nvinfer1::IDimensionExpr&) override {
      return owner.make(pdk::kDataDependent, true);
    }
    TestExprBuilder& owner;
  };
  Impl impl_;
  std::vector<std::unique_ptr<TestExpr>> exprs_;
};

// ---- PluginFieldCollections that own their data ------------------------------------------

class Fields {
 public:
  Fields& real(const char* name, float v) { return add(name, &v, sizeof v, nvinfer1::PluginFieldType::kFLOAT32, 1); }
  Fields& integer(const char* name, int32_t v) { return add(name, &v, sizeof v, nvinfer1::PluginFieldType::kINT32, 1); }
  Fields& text(const char* name, const std::string& v) {
    return add(name, v.data(), v.size(), nvinfer1::PluginFieldType::kCHAR, static_cast<int32_t>(v.size()));
  }
  const nvinfer1::PluginFieldCollection* collection() {
    fields_.clear();
    for (size_t i = 0; i < names_.size(); ++i)
      fields_.emplace_back(names_[i].c_str(), data_[i].data(), types_[i], lengths_[i]);
    fc_.nbFields = static_cast<int32_t>(fields_.size());
    fc_.fields = fields_.data();
    return &fc_;
  }

 private:
  Fields& add(const char* name, const void* p, size_t n, nvinfer1::PluginFieldType type, int32_t length) {
    names_.emplace_back(name);
    data_.emplace_back(static_cast<const char*>(p), static_cast<const char*>(p) + n);
    data_.back().push_back('\0');
    types_.push_back(type);
    lengths_.push_back(length);
    return *this;
  }
  std::vector<std::string> names_;
  std::vector<std::vector<char>> data_;
  std::vector<nvinfer1::PluginFieldType> types_;
  std::vector<int32_t> lengths_;
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection fc_{};
};

// ---- the op defaults (common/op.h): inherited unless the op declares its own -------------

static_assert(pdk::RmsNorm::kHasV2 && pdk::RmsNorm::kNbSizeTensorOutputs == 0 &&
              pdk::kNbOptionalInputs<pdk::RmsNorm> == 0);
static_assert(pdk::kNbOptionalInputs<pdk::FusedBiasGelu> == 1, "declared kNbOptionalInputs hides the default");
static_assert(!pdk::MaskedCompact::kHasV2 && pdk::MaskedCompact::kNbSizeTensorOutputs == 1);

// A shape- and dtype-preserving op with two outputs that declares only what differs.
struct DefaultsOnlyOp : pdk::OpDefaults, pdk::SameAsFirstInput<DefaultsOnlyOp, pdk::DType::kFLOAT, pdk::DType::kINT32> {
  static constexpr int32_t kNbInputs = 2, kNbOutputs = 2;
  struct Attrs {};
};

void testOpDefaults() {
  const DefaultsOnlyOp::Attrs attrs{};
  pdk::TensorDesc in[2] = {};
  CHECK(DefaultsOnlyOp::workspaceSize(attrs, in, 2, nullptr, 0) == 0, "default workspace");
  CHECK(pdk::Bucketize::workspaceSize(pdk::Bucketize::Attrs{}, in, 2, nullptr, 0) == 16, "Bucketize's own workspace");
  DefaultsOnlyOp::validate(attrs);
  pdk::IntExprBuilder builder;
  pdk::Shape<int64_t> shapes[2], outs[2];
  shapes[0].nbDims = 2;
  shapes[0].d[0] = 3;
  shapes[0].d[1] = 4;
  DefaultsOnlyOp::outputShapes(attrs, shapes, 2, outs, builder);
  for (const auto& o : outs)
    CHECK(o.nbDims == 2 && o.d[0] == 3 && o.d[1] == 4, "every output has the shape of input 0");
  using T = pdk::DType;
  const T ok[4] = {T::kINT32, T::kINT32, T::kINT32, T::kINT32};
  const T mixed[4] = {T::kINT32, T::kFLOAT, T::kINT32, T::kINT32};
  const T half[1] = {T::kHALF};
  CHECK(DefaultsOnlyOp::supports(attrs, 0, ok, 2, 2) && DefaultsOnlyOp::supports(attrs, 3, ok, 2, 2), "supports");
  CHECK(!DefaultsOnlyOp::supports(attrs, 1, mixed, 2, 2), "other inputs share input 0's dtype");
  CHECK(!DefaultsOnlyOp::supports(attrs, 0, half, 2, 2), "input 0 is one of the listed dtypes");
  CHECK(DefaultsOnlyOp::outputType(attrs, 1, ok, 2) == T::kINT32, "outputType is input 0's");
  CHECK(pdk::supportedCombinations<pdk::RmsNorm>({}).size() == 3, "RMSNorm: float32, float16, bfloat16");
  // A shape rule may declare only the op's last kNbSizeTensorOutputs outputs size tensors.
  TestExprBuilder exprs;
  const pdk::trt::TrtExprBuilder sizes(exprs, /*allowSizeTensors=*/true, /*firstSizeTensor=*/1, /*nbOutputs=*/2);
  const auto* one = exprs.make(1);
  bool refused = false;
  try {
    sizes.sizeTensor(0, one, one);
  } catch (const pdk::Error& e) {
    refused = std::string(e.what()).find("output 0 a size tensor") != std::string::npos;
  }
  CHECK(refused, "sizeTensor on a non-size-tensor output must be refused");
  CHECK(sizes.sizeTensor(1, one, one) != nullptr, "sizeTensor on the size-tensor output");
  std::printf("op defaults: ok\n");
}

// ---- per-op test data: every op in the library must provide it ---------------------------

struct BadCase {
  Fields fields;
  std::string mustMention;  // the logged message must contain this (the field name)
};

template <class Op>
struct OpCases;  // a missing specialization is a compile error: each op brings its cases

template <>
struct OpCases<pdk::RmsNorm> {
  static std::vector<std::vector<int64_t>> inputShapes() { return {{2, 5, 16}, {16}}; }
  static Fields nonDefault() { return Fields().real("eps", 1e-3f); }
  static std::vector<BadCase> bad() {
    std::vector<BadCase> cases;
    cases.push_back({Fields().real("eps", -1.0f), "'eps'"});
    cases.push_back({Fields().real("eps", 2.0f), "'eps'"});
    cases.push_back({Fields().integer("eps", 1), "'eps'"});
    return cases;
  }
  static std::vector<pdk::DType> accepted() { return {pdk::DType::kFLOAT, pdk::DType::kHALF, pdk::DType::kBF16}; }
  static std::vector<pdk::DType> rejected() { return {pdk::DType::kINT32, pdk::DType::kINT8}; }
};

template <>
struct OpCases<pdk::Bucketize> {
  static std::vector<std::vector<int64_t>> inputShapes() { return {{3, 0, 7}, {5}}; }
  static Fields nonDefault() { return Fields().integer("right", 1).text("out_dtype", "int32"); }
  static std::vector<BadCase> bad() {
    std::vector<BadCase> cases;
    cases.push_back({Fields().integer("right", 3), "'right'"});
    cases.push_back({Fields().integer("right", -1), "'right'"});
    cases.push_back({Fields().real("right", 1.0f), "'right'"});
    cases.push_back({Fields().text("out_dtype", "float32"), "'out_dtype'"});
    cases.push_back({Fields().integer("out_dtype", 3), "'out_dtype'"});
    return cases;
  }
  static std::vector<pdk::DType> accepted() { return {pdk::DType::kFLOAT, pdk::DType::kHALF, pdk::DType::kINT32}; }
  static std::vector<pdk::DType> rejected() { return {pdk::DType::kBF16, pdk::DType::kINT8, pdk::DType::kBOOL}; }
};

template <>
struct OpCases<pdk::FusedBiasGelu> {
  static std::vector<std::vector<int64_t>> inputShapes() { return {{2, 5, 16}, {16}}; }
  static Fields nonDefault() { return Fields().text("approximate", "tanh"); }
  static std::vector<BadCase> bad() {
    std::vector<BadCase> cases;
    cases.push_back({Fields().text("approximate", "fast"), "'approximate'"});
    cases.push_back({Fields().text("approximate", ""), "'approximate'"});
    cases.push_back({Fields().integer("approximate", 1), "'approximate'"});
    return cases;
  }
  static std::vector<pdk::DType> accepted() { return {pdk::DType::kFLOAT, pdk::DType::kHALF, pdk::DType::kBF16}; }
  static std::vector<pdk::DType> rejected() { return {pdk::DType::kINT32, pdk::DType::kINT8}; }
};

template <>
struct OpCases<pdk::MaskedCompact> {
  static std::vector<std::vector<int64_t>> inputShapes() { return {{300, 4, 3}, {300}}; }
  static Fields nonDefault() { return Fields(); }  // no attributes
  static std::vector<BadCase> bad() { return {}; }
  static std::vector<pdk::DType> accepted() {
    return {pdk::DType::kFLOAT, pdk::DType::kHALF, pdk::DType::kBF16, pdk::DType::kINT32, pdk::DType::kINT64};
  }
  static std::vector<pdk::DType> rejected() { return {pdk::DType::kINT8, pdk::DType::kBOOL}; }
};

// ---- helpers over the op core ------------------------------------------------------------

template <class Op>
std::vector<char> bytesOf(const typename Op::Attrs& attrs) {
  return pdk::serialize<Op>(attrs);
}

// A V2 plugin's engine bytes: the attributes, then (ops with optional inputs) the int32
// input count, -1 while not configured.
template <class Op>
std::vector<char> v2BytesOf(const typename Op::Attrs& attrs, int32_t nbInputs = -1) {
  std::vector<char> bytes = bytesOf<Op>(attrs);
  if (pdk::kNbOptionalInputs<Op> > 0) {
    const char* p = reinterpret_cast<const char*>(&nbInputs);
    bytes.insert(bytes.end(), p, p + sizeof nbInputs);
  }
  return bytes;
}

template <class Op>
typename Op::Attrs attrsOf(const nvinfer1::PluginFieldCollection* fc) {
  std::vector<pdk::RawField> raw;
  for (int32_t i = 0; fc && i < fc->nbFields; ++i) {
    const auto& f = fc->fields[i];
    raw.push_back({f.name, f.data, static_cast<pdk::RawFieldType>(f.type), f.length});
  }
  return pdk::attrsFromFields<Op>(raw.data(), static_cast<int32_t>(raw.size()));
}

template <class Op>
std::vector<pdk::TensorDesc> sampleInputs(const std::vector<pdk::DType>& types) {
  std::vector<pdk::TensorDesc> descs;
  const auto shapes = OpCases<Op>::inputShapes();
  for (size_t i = 0; i < shapes.size() && i < types.size(); ++i) {
    pdk::TensorDesc d;
    d.dtype = types[i];
    d.nbDims = static_cast<int32_t>(shapes[i].size());
    for (int32_t k = 0; k < d.nbDims; ++k) d.dims[k] = shapes[i][static_cast<size_t>(k)];
    descs.push_back(d);
  }
  return descs;
}

nvinfer1::PluginTensorDesc toPlugin(const pdk::TensorDesc& d,
                                    nvinfer1::TensorFormat format = nvinfer1::TensorFormat::kLINEAR) {
  nvinfer1::PluginTensorDesc p{};
  p.dims.nbDims = d.nbDims;
  for (int32_t i = 0; i < d.nbDims; ++i) p.dims.d[i] = d.dims[i];
  p.type = static_cast<nvinfer1::DataType>(d.dtype);
  p.format = format;
  p.scale = -1.f;
  return p;
}

nvinfer1::DynamicPluginTensorDesc toDynamic(const pdk::TensorDesc& d,
                                            nvinfer1::TensorFormat format = nvinfer1::TensorFormat::kLINEAR) {
  nvinfer1::DynamicPluginTensorDesc p{};
  p.desc = toPlugin(d, format);
  p.min = p.max = p.opt = p.desc.dims;
  return p;
}

// Integer outputs of the shape rule, as the op core computes them (and output dtypes).
template <class Op>
std::vector<pdk::TensorDesc> expectedOutputs(const typename Op::Attrs& attrs, const std::vector<pdk::TensorDesc>& in) {
  std::vector<pdk::Shape<int64_t>> shapes;
  for (const auto& d : in) {
    pdk::Shape<int64_t> s;
    s.nbDims = d.nbDims;
    for (int32_t i = 0; i < d.nbDims; ++i) s.d[i] = d.dims[i];
    shapes.push_back(s);
  }
  const auto outShapes = pdk::outputShapes<Op>(attrs, shapes);
  std::vector<pdk::DType> inTypes;
  for (const auto& d : in) inTypes.push_back(d.dtype);
  std::vector<pdk::TensorDesc> out;
  const auto nbIn = static_cast<int32_t>(inTypes.size());
  inTypes.resize(Op::kNbInputs, pdk::DType::kFLOAT);
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) {
    pdk::TensorDesc d;
    d.dtype = Op::outputType(attrs, i, inTypes.data(), nbIn);
    d.nbDims = outShapes[static_cast<size_t>(i)].nbDims;
    for (int32_t k = 0; k < d.nbDims; ++k) d.dims[k] = outShapes[static_cast<size_t>(i)].d[k];
    out.push_back(d);
  }
  return out;
}

std::string interfaceKind(const nvinfer1::IVersionedInterface& i) {
  return i.getInterfaceInfo().kind;
}

template <class Creator>
void checkFieldNames(Creator& creator, const std::vector<pdk::FieldInfo>& infos, const std::string& what) {
  const nvinfer1::PluginFieldCollection* fc = creator.getFieldNames();
  CHECK(fc != nullptr, what);
  if (!fc) return;
  CHECK(fc->nbFields == static_cast<int32_t>(infos.size()), what, ": ", fc->nbFields, " fields");
  for (int32_t i = 0; i < fc->nbFields && i < static_cast<int32_t>(infos.size()); ++i) {
    const auto& info = infos[static_cast<size_t>(i)];
    CHECK(info.name == fc->fields[i].name, what, ": field ", i, " is ", fc->fields[i].name);
    const auto expected = info.type == pdk::FieldType::kInt32     ? nvinfer1::PluginFieldType::kINT32
                          : info.type == pdk::FieldType::kFloat32 ? nvinfer1::PluginFieldType::kFLOAT32
                                                                  : nvinfer1::PluginFieldType::kCHAR;
    CHECK(fc->fields[i].type == expected, what, ": field ", info.name, " type");
  }
}

// Calls `create(fc)` for each bad case and expects nullptr and a message naming the field;
// also an unknown field name.
template <class Op, class Create>
void checkRejects(Create&& create, const std::string& what) {
  auto cases = OpCases<Op>::bad();
  cases.push_back({Fields().real("pdk_no_such_field", 1.f), "'pdk_no_such_field'"});
  for (auto& c : cases) {
    bool isNull = false;
    const std::string log = loggedDuring([&] { isNull = create(c.fields.collection()); });
    CHECK(isNull, what, ": bad fields mentioning ", c.mustMention, " were accepted");
    static bool shown = false;
    if (!shown && !log.empty()) std::printf("  example of a logged rejection: %s", log.c_str());
    shown = true;
    CHECK(log.find(c.mustMention) != std::string::npos, what, ": message does not name ", c.mustMention, ": ", log);
    CHECK(log.find(Op::kName) != std::string::npos, what, ": message does not name the plugin: ", log);
  }
}

// ---- optional inputs: every smaller input count the op accepts ------------------------

// The sample inputs without the last optional ones, for each count kMinInputs..kNbInputs-1.
template <class Op, class F>
void forEachShorterInputCount(F&& f) {
  for (int32_t nb = pdk::kMinInputs<Op>; nb < Op::kNbInputs; ++nb) f(nb);
}

template <class Op>
void checkOptionalInputsV2(nvinfer1::IPluginV2DynamicExt& plugin, const std::string& what) {
  forEachShorterInputCount<Op>([&](int32_t nb) {
    const typename Op::Attrs defaults{};
    const std::string where = str(what, " with ", nb, " input(s)");
    const auto combos = pdk::supportedCombinations<Op>(defaults, nb);
    CHECK(!combos.empty(), where, ": no supported type combination");
    for (const auto& combo : combos) {
      const auto in = sampleInputs<Op>(std::vector<pdk::DType>(combo.begin(), combo.begin() + nb));
      const auto out = expectedOutputs<Op>(defaults, in);
      TestExprBuilder builder;
      std::vector<nvinfer1::DimsExprs> inDims;
      for (const auto& d : in) inDims.push_back(builder.dims(std::vector<int64_t>(d.dims, d.dims + d.nbDims)));
      for (int32_t o = 0; o < Op::kNbOutputs; ++o) {
        const nvinfer1::DimsExprs dims = plugin.getOutputDimensions(o, inDims.data(), nb, builder);
        CHECK(dims.nbDims == out[static_cast<size_t>(o)].nbDims, where, ": output ", o, " rank");
      }
      std::vector<nvinfer1::PluginTensorDesc> io;
      for (const auto& d : in) io.push_back(toPlugin(d));
      for (const auto& d : out) io.push_back(toPlugin(d));
      for (int32_t pos = 0; pos < nb + Op::kNbOutputs; ++pos)
        CHECK(plugin.supportsFormatCombination(pos, io.data(), nb, Op::kNbOutputs), where, ": pos ", pos);
      std::vector<nvinfer1::DataType> inTypes;
      for (const auto& d : in) inTypes.push_back(static_cast<nvinfer1::DataType>(d.dtype));
      for (int32_t o = 0; o < Op::kNbOutputs; ++o)
        CHECK(plugin.getOutputDataType(o, inTypes.data(), nb) ==
                  static_cast<nvinfer1::DataType>(out[static_cast<size_t>(o)].dtype),
              where, ": output type ", o);
      std::vector<nvinfer1::DynamicPluginTensorDesc> dynIn, dynOut;
      for (const auto& d : in) dynIn.push_back(toDynamic(d));
      for (const auto& d : out) dynOut.push_back(toDynamic(d));
      const std::string log =
          loggedDuring([&] { plugin.configurePlugin(dynIn.data(), nb, dynOut.data(), Op::kNbOutputs); });
      CHECK(log.empty(), where, ": configurePlugin logged: ", log);
      CHECK(plugin.getWorkspaceSize(io.data(), nb, io.data() + nb, Op::kNbOutputs) ==
                Op::workspaceSize(defaults, in.data(), nb, out.data(), Op::kNbOutputs),
            where, ": workspace size");
    }
  });
}

template <class Op>
void checkOptionalInputsV3(nvinfer1::IPluginV3OneBuild& build, nvinfer1::IPluginV3OneRuntime& runtime,
                           const std::string& what) {
  forEachShorterInputCount<Op>([&](int32_t nb) {
    const typename Op::Attrs defaults{};
    const std::string where = str(what, " with ", nb, " input(s)");
    const auto combos = pdk::supportedCombinations<Op>(defaults, nb);
    CHECK(!combos.empty(), where, ": no supported type combination");
    for (const auto& combo : combos) {
      const auto in = sampleInputs<Op>(std::vector<pdk::DType>(combo.begin(), combo.begin() + nb));
      const auto out = expectedOutputs<Op>(defaults, in);
      TestExprBuilder builder;
      std::vector<nvinfer1::DimsExprs> inDims;
      for (const auto& d : in) inDims.push_back(builder.dims(std::vector<int64_t>(d.dims, d.dims + d.nbDims)));
      std::vector<nvinfer1::DimsExprs> outDims(Op::kNbOutputs);
      CHECK(build.getOutputShapes(inDims.data(), nb, nullptr, 0, outDims.data(), Op::kNbOutputs, builder) == 0, where,
            ": getOutputShapes");
      for (int32_t o = 0; o < Op::kNbOutputs; ++o)
        CHECK(outDims[static_cast<size_t>(o)].nbDims == out[static_cast<size_t>(o)].nbDims, where, ": output ", o,
              " rank");
      std::vector<nvinfer1::DynamicPluginTensorDesc> io;
      for (const auto& d : in) io.push_back(toDynamic(d));
      for (const auto& d : out) io.push_back(toDynamic(d));
      for (int32_t pos = 0; pos < nb + Op::kNbOutputs; ++pos)
        CHECK(build.supportsFormatCombination(pos, io.data(), nb, Op::kNbOutputs), where, ": pos ", pos);
      std::vector<nvinfer1::DataType> inTypes, outTypes(Op::kNbOutputs);
      for (const auto& d : in) inTypes.push_back(static_cast<nvinfer1::DataType>(d.dtype));
      CHECK(build.getOutputDataTypes(outTypes.data(), Op::kNbOutputs, inTypes.data(), nb) == 0, where);
      for (int32_t o = 0; o < Op::kNbOutputs; ++o)
        CHECK(outTypes[static_cast<size_t>(o)] == static_cast<nvinfer1::DataType>(out[static_cast<size_t>(o)].dtype),
              where, ": output type ", o);
      CHECK(build.configurePlugin(io.data(), nb, io.data() + nb, Op::kNbOutputs) == 0, where, ": configurePlugin");
      CHECK(build.getWorkspaceSize(io.data(), nb, io.data() + nb, Op::kNbOutputs) ==
                Op::workspaceSize(defaults, in.data(), nb, out.data(), Op::kNbOutputs),
            where, ": workspace size");
      std::vector<nvinfer1::PluginTensorDesc> plain;
      for (const auto& d : io) plain.push_back(d.desc);
      CHECK(runtime.onShapeChange(plain.data(), nb, plain.data() + nb, Op::kNbOutputs) == 0, where, ": onShapeChange");
    }
  });
}

// An op with optional inputs cannot know at enqueue how many it got until configurePlugin /
// onShapeChange told it: enqueue before that must fail with a message, not guess.
template <class Op>
void checkEnqueueNeedsInputCount(nvinfer1::IPluginV3OneRuntime& fresh, const std::string& what) {
  if constexpr (pdk::kNbOptionalInputs<Op> > 0) {
    std::vector<nvinfer1::PluginTensorDesc> io(Op::kNbInputs + Op::kNbOutputs);
    const void* inputs[Op::kNbInputs] = {};
    void* outputs[Op::kNbOutputs] = {};
    int32_t status = 0;
    const std::string log = loggedDuring(
        [&] { status = fresh.enqueue(io.data(), io.data() + Op::kNbInputs, inputs, outputs, nullptr, nullptr); });
    CHECK(status != 0, what, ": enqueue before onShapeChange must fail");
    CHECK(log.find("onShapeChange") != std::string::npos, what, ": message must say why: ", log);
  }
}

// ---- IPluginV2DynamicExt -----------------------------------------------------------------

template <class Op>
void checkV2(nvinfer1::IPluginCreator& creator, const char* ns) {
  const std::string what = str(Op::kName, " v1");
  std::printf("  %s: IPluginV2DynamicExt\n", what.c_str());
  CHECK(std::string(creator.getPluginName()) == Op::kName, what);
  CHECK(std::string(creator.getPluginVersion()) == "1", what);
  CHECK(std::string(creator.getPluginNamespace()) == ns, what, ": namespace ", creator.getPluginNamespace());
  checkFieldNames(creator, pdk::fieldInfos<Op>(), what);

  using Plugin = nvinfer1::IPluginV2DynamicExt;
  const auto makeV2 = [&](const nvinfer1::PluginFieldCollection* fc) {
    return static_cast<Plugin*>(creator.createPlugin("layer", fc));
  };
  Fields none;
  Plugin* plugin = makeV2(none.collection());
  CHECK(plugin != nullptr, what, ": createPlugin with default attributes");
  if (!plugin) return;
  const typename Op::Attrs defaults{};
  CHECK(std::string(plugin->getPluginType()) == Op::kName, what);
  CHECK(std::string(plugin->getPluginVersion()) == "1", what);
  CHECK(std::string(plugin->getPluginNamespace()) == ns, what);
  CHECK(plugin->getNbOutputs() == Op::kNbOutputs, what);

  // Serialized bytes are the op core's, so attribute values are checked through them.
  const auto serialized = [](const Plugin* p) {
    std::vector<char> bytes(p->getSerializationSize());
    p->serialize(bytes.data());
    return bytes;
  };
  CHECK(serialized(plugin) == v2BytesOf<Op>(defaults), what, ": default attributes");
  Fields nonDefault = OpCases<Op>::nonDefault();
  const auto expectedAttrs = attrsOf<Op>(nonDefault.collection());
  Plugin* custom = makeV2(nonDefault.collection());
  CHECK(custom != nullptr, what, ": createPlugin with non-default attributes");
  if (custom) {
    CHECK(serialized(custom) == v2BytesOf<Op>(expectedAttrs), what, ": non-default attributes");
    CHECK(serialized(custom) != v2BytesOf<Op>(defaults), what, ": OpCases::nonDefault must differ from defaults");
  }
  checkRejects<Op>([&](const nvinfer1::PluginFieldCollection* fc) { return makeV2(fc) == nullptr; }, what);

  // Shapes: every output of the shape rule evaluated through IExprBuilder.
  std::vector<pdk::DType> floats(Op::kNbInputs, pdk::DType::kFLOAT);
  const auto inputs = sampleInputs<Op>(floats);
  const auto expected = expectedOutputs<Op>(defaults, inputs);
  TestExprBuilder builder;
  std::vector<nvinfer1::DimsExprs> inDims;
  for (const auto& d : inputs) inDims.push_back(builder.dims(std::vector<int64_t>(d.dims, d.dims + d.nbDims)));
  for (int32_t o = 0; o < Op::kNbOutputs; ++o) {
    const nvinfer1::DimsExprs out = plugin->getOutputDimensions(o, inDims.data(), Op::kNbInputs, builder);
    CHECK(out.nbDims == expected[static_cast<size_t>(o)].nbDims, what, ": output ", o, " rank");
    for (int32_t k = 0; k < out.nbDims && k < expected[static_cast<size_t>(o)].nbDims; ++k)
      CHECK(out.d[k] && out.d[k]->isConstant() &&
                out.d[k]->getConstantValue() == expected[static_cast<size_t>(o)].dims[k],
            what, ": output ", o, " dim ", k);
  }
  CHECK(!loggedDuring([&] { plugin->getOutputDimensions(0, inDims.data(), pdk::kMinInputs<Op> - 1, builder); }).empty(),
        what, ": a wrong input count must be reported");
  checkOptionalInputsV2<Op>(*plugin, what);
  if constexpr (pdk::kNbOptionalInputs<Op> > 0) {
    // The engine keeps the input count configurePlugin saw (the last call above had the
    // fewest inputs), so enqueue after deserializePlugin knows it without configurePlugin.
    const auto bytes = serialized(plugin);
    CHECK(bytes == v2BytesOf<Op>(defaults, Op::kNbInputs - 1), what, ": serialized input count");
    std::unique_ptr<Plugin, void (*)(Plugin*)> restored(
        static_cast<Plugin*>(creator.deserializePlugin("layer", bytes.data(), bytes.size())),
        [](Plugin* p) { p->destroy(); });
    CHECK(restored != nullptr && serialized(restored.get()) == bytes, what, ": input count survives the engine");
    auto damaged = bytes;
    const int32_t tooMany = Op::kNbInputs + 1;
    std::memcpy(damaged.data() + damaged.size() - sizeof tooMany, &tooMany, sizeof tooMany);
    std::string log;
    log = loggedDuring(
        [&] { CHECK(creator.deserializePlugin("layer", damaged.data(), damaged.size()) == nullptr, what); });
    CHECK(log.find("input count") != std::string::npos, what, ": a damaged input count must be reported: ", log);
  }

  // Formats and types: the op's combinations in linear format pass, anything else fails.
  constexpr int32_t n = Op::kNbInputs + Op::kNbOutputs;
  const auto combos = pdk::supportedCombinations<Op>(defaults);
  CHECK(!combos.empty(), what, ": no supported type combination");
  for (const auto& combo : combos) {
    std::vector<nvinfer1::PluginTensorDesc> io(n), nonLinear(n);
    const auto typedIn = sampleInputs<Op>(std::vector<pdk::DType>(combo.begin(), combo.begin() + Op::kNbInputs));
    const auto typedOut = expectedOutputs<Op>(defaults, typedIn);
    for (int32_t i = 0; i < n; ++i) {
      const pdk::TensorDesc& d =
          i < Op::kNbInputs ? typedIn[static_cast<size_t>(i)] : typedOut[static_cast<size_t>(i - Op::kNbInputs)];
      io[static_cast<size_t>(i)] = toPlugin(d);
      nonLinear[static_cast<size_t>(i)] = toPlugin(d, nvinfer1::TensorFormat::kCHW32);
    }
    for (int32_t pos = 0; pos < n; ++pos) {
      CHECK(plugin->supportsFormatCombination(pos, io.data(), Op::kNbInputs, Op::kNbOutputs), what, ": pos ", pos,
            " type ", pdk::dtypeName(combo[static_cast<size_t>(pos)]));
      auto mixed = io;
      mixed[static_cast<size_t>(pos)] = nonLinear[static_cast<size_t>(pos)];
      CHECK(!plugin->supportsFormatCombination(pos, mixed.data(), Op::kNbInputs, Op::kNbOutputs), what,
            ": non-linear format accepted at pos ", pos);
    }
    std::vector<nvinfer1::DataType> inTypes;
    for (int32_t i = 0; i < Op::kNbInputs; ++i) inTypes.push_back(io[static_cast<size_t>(i)].type);
    for (int32_t o = 0; o < Op::kNbOutputs; ++o)
      CHECK(plugin->getOutputDataType(o, inTypes.data(), Op::kNbInputs) ==
                io[static_cast<size_t>(Op::kNbInputs + o)].type,
            what, ": output type ", o);
    std::vector<nvinfer1::PluginTensorDesc> outs(io.begin() + Op::kNbInputs, io.end());
    CHECK(plugin->getWorkspaceSize(io.data(), Op::kNbInputs, outs.data(), Op::kNbOutputs) ==
              Op::workspaceSize(defaults, typedIn.data(), Op::kNbInputs, typedOut.data(), Op::kNbOutputs),
          what, ": workspace size");
    std::vector<nvinfer1::DynamicPluginTensorDesc> dynIn, dynOut;
    for (const auto& d : typedIn) dynIn.push_back(toDynamic(d));
    for (const auto& d : typedOut) dynOut.push_back(toDynamic(d));
    const std::string log =
        loggedDuring([&] { plugin->configurePlugin(dynIn.data(), Op::kNbInputs, dynOut.data(), Op::kNbOutputs); });
    CHECK(log.empty(), what, ": configurePlugin with valid shapes logged: ", log);
  }
  for (pdk::DType t : OpCases<Op>::accepted()) {
    bool found = false;
    for (const auto& combo : combos) found = found || combo[0] == t;
    CHECK(found, what, ": ", pdk::dtypeName(t), " must be supported");
  }
  for (pdk::DType t : OpCases<Op>::rejected()) {
    auto io = std::vector<nvinfer1::PluginTensorDesc>(n, toPlugin(sampleInputs<Op>(floats)[0]));
    io[0].type = static_cast<nvinfer1::DataType>(t);
    CHECK(!plugin->supportsFormatCombination(0, io.data(), Op::kNbInputs, Op::kNbOutputs), what, ": ",
          pdk::dtypeName(t), " must be rejected");
  }

  // Serialization round trip, then damaged bytes: nullptr and a message, never a crash.
  if (custom) {
    const auto bytes = serialized(custom);
    nvinfer1::IPluginV2* restored = creator.deserializePlugin("layer", bytes.data(), bytes.size());
    CHECK(restored != nullptr, what, ": deserializePlugin of its own bytes");
    if (restored) {
      CHECK(serialized(static_cast<Plugin*>(restored)) == bytes, what, ": round trip changed the bytes");
      restored->destroy();
    }
    for (size_t len = 0; len < bytes.size(); ++len) {
      nvinfer1::IPluginV2* p = nullptr;
      const std::string log = loggedDuring([&] { p = creator.deserializePlugin("layer", bytes.data(), len); });
      CHECK(p == nullptr, what, ": truncated to ", len, " bytes was accepted");
      CHECK(!log.empty(), what, ": truncated to ", len, " bytes logged nothing");
      if (p) p->destroy();
    }
    auto longer = bytes;
    longer.push_back('x');
    CHECK(creator.deserializePlugin("layer", longer.data(), longer.size()) == nullptr, what, ": trailing byte");
    for (size_t i = 0; i < bytes.size(); ++i) {  // every single-byte corruption: no crash
      auto damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
      nvinfer1::IPluginV2* p = creator.deserializePlugin("layer", damaged.data(), damaged.size());
      if (i < 8) CHECK(p == nullptr, what, ": corrupted header byte ", i, " was accepted");
      if (p) p->destroy();
    }
    CHECK(creator.deserializePlugin("layer", nullptr, 0) == nullptr, what, ": null bytes");
  }

  // clone keeps attributes and namespace; setPluginNamespace renames.
  plugin->setPluginNamespace("other_ns");
  Plugin* copy = plugin->clone();
  CHECK(copy != nullptr, what, ": clone");
  if (copy) {
    CHECK(std::string(copy->getPluginNamespace()) == "other_ns", what, ": clone namespace");
    CHECK(serialized(copy) == serialized(plugin), what, ": clone attributes");
    copy->destroy();
  }
  creator.setPluginNamespace("renamed");
  CHECK(std::string(creator.getPluginNamespace()) == "renamed", what);
  if (Plugin* p = makeV2(none.collection())) {
    CHECK(std::string(p->getPluginNamespace()) == "renamed", what, ": creator namespace reaches plugins");
    p->destroy();
  }
  creator.setPluginNamespace(ns);
  if (custom) custom->destroy();
  plugin->destroy();
}

// ---- IPluginV3 ---------------------------------------------------------------------------

template <class T>
T* capability(nvinfer1::IPluginV3& plugin, nvinfer1::PluginCapabilityType type, const char* kind) {
  nvinfer1::IPluginCapability* cap = plugin.getCapabilityInterface(type);
  CHECK(cap != nullptr && interfaceKind(*cap) == kind, "capability ", kind);
  return cap ? static_cast<T*>(cap) : nullptr;
}

template <class Op>
void checkV3(nvinfer1::IPluginCreatorV3One& creator, const char* ns) {
  const std::string what = str(Op::kName, " v2");
  std::printf("  %s: IPluginV3\n", what.c_str());
  CHECK(std::string(creator.getPluginName()) == Op::kName, what);
  CHECK(std::string(creator.getPluginVersion()) == "2", what);
  CHECK(std::string(creator.getPluginNamespace()) == ns, what);
  checkFieldNames(creator, pdk::fieldInfos<Op>(), what);

  using Phase = nvinfer1::TensorRTPhase;
  Fields none;
  std::unique_ptr<nvinfer1::IPluginV3> plugin(creator.createPlugin("layer", none.collection(), Phase::kBUILD));
  CHECK(plugin != nullptr, what, ": createPlugin with default attributes");
  if (!plugin) return;
  auto* core =
      capability<nvinfer1::IPluginV3OneCore>(*plugin, nvinfer1::PluginCapabilityType::kCORE, "PLUGIN_V3ONE_CORE");
  auto* build =
      capability<nvinfer1::IPluginV3OneBuild>(*plugin, nvinfer1::PluginCapabilityType::kBUILD, "PLUGIN_V3ONE_BUILD");
  auto* runtime = capability<nvinfer1::IPluginV3OneRuntime>(*plugin, nvinfer1::PluginCapabilityType::kRUNTIME,
                                                            "PLUGIN_V3ONE_RUNTIME");
  if (!core || !build || !runtime) return;
  checkEnqueueNeedsInputCount<Op>(*runtime, what);
  CHECK(std::string(core->getPluginName()) == Op::kName, what);
  CHECK(std::string(core->getPluginVersion()) == "2", what);
  CHECK(std::string(core->getPluginNamespace()) == ns, what);
  CHECK(build->getNbOutputs() == Op::kNbOutputs, what);
  // Null would turn timing caching off for the plugin; the attribute values identify it.
  const char* cacheId = build->getTimingCacheID();
  CHECK(cacheId != nullptr && build->getMetadataString() != nullptr, what, ": timing-cache ID / metadata");
  for (const auto& info : pdk::fieldInfos<Op>())
    CHECK(cacheId && std::string(cacheId).find(info.name + "=") != std::string::npos, what, ": timing-cache ID '",
          cacheId ? cacheId : "", "' lacks ", info.name);

  const auto fieldsOf = [](nvinfer1::IPluginV3OneRuntime& r) {
    return bytesOf<Op>(attrsOf<Op>(r.getFieldsToSerialize()));
  };
  const typename Op::Attrs defaults{};
  CHECK(fieldsOf(*runtime) == bytesOf<Op>(defaults), what, ": default attributes");

  Fields nonDefault = OpCases<Op>::nonDefault();
  const auto expectedBytes = bytesOf<Op>(attrsOf<Op>(nonDefault.collection()));
  std::unique_ptr<nvinfer1::IPluginV3> custom(creator.createPlugin("layer", nonDefault.collection(), Phase::kBUILD));
  CHECK(custom != nullptr, what, ": createPlugin with non-default attributes");
  checkRejects<Op>(
      [&](const nvinfer1::PluginFieldCollection* fc) {
        std::unique_ptr<nvinfer1::IPluginV3> p(creator.createPlugin("layer", fc, Phase::kBUILD));
        return p == nullptr;
      },
      what);

  if (custom) {
    auto* customRuntime = static_cast<nvinfer1::IPluginV3OneRuntime*>(
        custom->getCapabilityInterface(nvinfer1::PluginCapabilityType::kRUNTIME));
    CHECK(fieldsOf(*customRuntime) == expectedBytes, what, ": non-default attributes");
    // Engine round trip: the serialized fields create the runtime plugin.
    const nvinfer1::PluginFieldCollection* saved = customRuntime->getFieldsToSerialize();
    CHECK(saved != nullptr && saved->nbFields == static_cast<int32_t>(pdk::fieldInfos<Op>().size()), what,
          ": getFieldsToSerialize");
    std::unique_ptr<nvinfer1::IPluginV3> restored(creator.createPlugin("layer", saved, Phase::kRUNTIME));
    CHECK(restored != nullptr, what, ": createPlugin(kRUNTIME) from serialized fields");
    if (restored) {
      auto* r = static_cast<nvinfer1::IPluginV3OneRuntime*>(
          restored->getCapabilityInterface(nvinfer1::PluginCapabilityType::kRUNTIME));
      const nvinfer1::PluginFieldCollection* again = r->getFieldsToSerialize();
      CHECK(again && saved && again->nbFields == saved->nbFields, what, ": field count after round trip");
      for (int32_t i = 0; again && saved && i < again->nbFields && i < saved->nbFields; ++i) {
        const auto& a = again->fields[i];
        const auto& b = saved->fields[i];
        const size_t size = a.type == nvinfer1::PluginFieldType::kCHAR ? 1 : 4;
        CHECK(std::string(a.name) == b.name && a.type == b.type && a.length == b.length &&
                  std::memcmp(a.data, b.data, size * static_cast<size_t>(a.length)) == 0,
              what, ": field ", b.name, " changed in the round trip");
      }
    }
  }

  // Shapes, types, formats, workspace.
  std::vector<pdk::DType> floats(Op::kNbInputs, pdk::DType::kFLOAT);
  const auto inputs = sampleInputs<Op>(floats);
  const auto expected = expectedOutputs<Op>(defaults, inputs);
  TestExprBuilder builder;
  std::vector<nvinfer1::DimsExprs> inDims;
  for (const auto& d : inputs) inDims.push_back(builder.dims(std::vector<int64_t>(d.dims, d.dims + d.nbDims)));
  std::vector<nvinfer1::DimsExprs> outDims(Op::kNbOutputs);
  CHECK(build->getOutputShapes(inDims.data(), Op::kNbInputs, nullptr, 0, outDims.data(), Op::kNbOutputs, builder) == 0,
        what, ": getOutputShapes");
  for (int32_t o = 0; o < Op::kNbOutputs; ++o) {
    const auto& out = outDims[static_cast<size_t>(o)];
    CHECK(out.nbDims == expected[static_cast<size_t>(o)].nbDims, what, ": output ", o, " rank");
    for (int32_t k = 0; k < out.nbDims && k < expected[static_cast<size_t>(o)].nbDims; ++k)
      CHECK(out.d[k] && out.d[k]->getConstantValue() == expected[static_cast<size_t>(o)].dims[k], what, ": output ", o,
            " dim ", k);
  }
  CHECK(build->getOutputShapes(inDims.data(), pdk::kMinInputs<Op> - 1, nullptr, 0, outDims.data(), Op::kNbOutputs,
                               builder) != 0,
        what, ": wrong input count must fail");
  for (int32_t o = Op::kNbOutputs - Op::kNbSizeTensorOutputs; o < Op::kNbOutputs; ++o)
    CHECK(outDims[static_cast<size_t>(o)].nbDims == 0, what, ": size tensor output ", o, " must be 0-D");
  checkOptionalInputsV3<Op>(*build, *runtime, what);

  constexpr int32_t n = Op::kNbInputs + Op::kNbOutputs;
  const auto combos = pdk::supportedCombinations<Op>(defaults);
  for (const auto& combo : combos) {
    const auto typedIn = sampleInputs<Op>(std::vector<pdk::DType>(combo.begin(), combo.begin() + Op::kNbInputs));
    const auto typedOut = expectedOutputs<Op>(defaults, typedIn);
    std::vector<nvinfer1::DynamicPluginTensorDesc> io;
    for (const auto& d : typedIn) io.push_back(toDynamic(d));
    for (const auto& d : typedOut) io.push_back(toDynamic(d));
    for (int32_t pos = 0; pos < n; ++pos) {
      CHECK(build->supportsFormatCombination(pos, io.data(), Op::kNbInputs, Op::kNbOutputs), what, ": pos ", pos);
      auto mixed = io;
      mixed[static_cast<size_t>(pos)].desc.format = nvinfer1::TensorFormat::kHWC8;
      CHECK(!build->supportsFormatCombination(pos, mixed.data(), Op::kNbInputs, Op::kNbOutputs), what,
            ": non-linear format accepted at pos ", pos);
    }
    std::vector<nvinfer1::DataType> inTypes, outTypes(Op::kNbOutputs);
    for (const auto& d : typedIn) inTypes.push_back(static_cast<nvinfer1::DataType>(d.dtype));
    CHECK(build->getOutputDataTypes(outTypes.data(), Op::kNbOutputs, inTypes.data(), Op::kNbInputs) == 0, what);
    for (int32_t o = 0; o < Op::kNbOutputs; ++o)
      CHECK(outTypes[static_cast<size_t>(o)] == static_cast<nvinfer1::DataType>(typedOut[static_cast<size_t>(o)].dtype),
            what, ": output type ", o);
    CHECK(build->getWorkspaceSize(io.data(), Op::kNbInputs, io.data() + Op::kNbInputs, Op::kNbOutputs) ==
              Op::workspaceSize(defaults, typedIn.data(), Op::kNbInputs, typedOut.data(), Op::kNbOutputs),
          what, ": workspace size");
    CHECK(build->configurePlugin(io.data(), Op::kNbInputs, io.data() + Op::kNbInputs, Op::kNbOutputs) == 0, what,
          ": configurePlugin");
    std::vector<nvinfer1::PluginTensorDesc> plain;
    for (const auto& d : io) plain.push_back(d.desc);
    CHECK(runtime->onShapeChange(plain.data(), Op::kNbInputs, plain.data() + Op::kNbInputs, Op::kNbOutputs) == 0, what,
          ": onShapeChange");
  }
  for (pdk::DType t : OpCases<Op>::rejected()) {
    std::vector<nvinfer1::DynamicPluginTensorDesc> io(n, toDynamic(inputs[0]));
    io[0].desc.type = static_cast<nvinfer1::DataType>(t);
    CHECK(!build->supportsFormatCombination(0, io.data(), Op::kNbInputs, Op::kNbOutputs), what, ": ", pdk::dtypeName(t),
          " must be rejected");
  }

  std::unique_ptr<nvinfer1::IPluginV3> copy(plugin->clone());
  CHECK(copy != nullptr, what, ": clone");
  std::unique_ptr<nvinfer1::IPluginV3> attached(runtime->attachToContext(nullptr));
  CHECK(attached != nullptr, what, ": attachToContext");
  if (copy) {
    auto* r = static_cast<nvinfer1::IPluginV3OneRuntime*>(
        copy->getCapabilityInterface(nvinfer1::PluginCapabilityType::kRUNTIME));
    CHECK(fieldsOf(*r) == bytesOf<Op>(defaults), what, ": clone attributes");
  }
}

// ---- the library -------------------------------------------------------------------------

struct Library {
  void* handle = nullptr;
  nvinfer1::IPluginCreatorInterface* const* (*getCreators)(int32_t&) = nullptr;
  void (*setLoggerFinder)(nvinfer1::ILoggerFinder*) = nullptr;
  const char* (*info)() = nullptr;
};

Library open(const char* path) {
  Library lib;
  lib.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  CHECK(lib.handle != nullptr, "dlopen ", path, ": ", dlerror());
  if (!lib.handle) return lib;
  lib.getCreators = reinterpret_cast<decltype(lib.getCreators)>(dlsym(lib.handle, "getCreators"));
  lib.setLoggerFinder = reinterpret_cast<decltype(lib.setLoggerFinder)>(dlsym(lib.handle, "setLoggerFinder"));
  lib.info = reinterpret_cast<decltype(lib.info)>(dlsym(lib.handle, "pdkLibraryInfo"));
  CHECK(lib.getCreators && lib.setLoggerFinder && lib.info, "exported entry points");
  return lib;
}

// ---- the ONNX parser's plugin import -------------------------------------------------------

// Field values compared as the creator must keep them: strings without their NUL padding.
std::string fieldValue(const nvinfer1::PluginField& f) {
  const size_t size = f.type == nvinfer1::PluginFieldType::kCHAR ? 1 : 4;
  std::string bytes(static_cast<const char*>(f.data), size * static_cast<size_t>(f.length));
  if (f.type == nvinfer1::PluginFieldType::kCHAR) bytes = bytes.c_str();
  return bytes;
}

// Each node our export / rewrite emits, imported as onnx-tensorrt's FallbackPluginImporter
// does: the creator found by op type, plugin_version and plugin_namespace, built from the
// fields loadFields makes of the node's attributes. The creator must accept them and keep
// their values.
template <class Op>
void checkParserNode(nvinfer1::IPluginCreatorInterface& found, const cases::Node& node) {
  const std::string what = node.label();
  const std::string kind = interfaceKind(found);
  std::string error;
  if (kind == "PLUGIN CREATOR_V1") {
    auto& creator = static_cast<nvinfer1::IPluginCreator&>(found);
    cases::ParserFields fields(node, *creator.getFieldNames(), error);
    CHECK(error.empty(), what, ": ", error);
    CHECK(fields.collection()->nbFields == creator.getFieldNames()->nbFields, what, ": the node lacks a field");
    nvinfer1::IPluginV2* plugin = nullptr;
    const std::string log = loggedDuring([&] { plugin = creator.createPlugin("node", fields.collection()); });
    CHECK(plugin != nullptr && log.empty(), what, ": createPlugin refused the parser's fields: ", log);
    if (!plugin) return;
    std::vector<char> bytes(plugin->getSerializationSize());
    plugin->serialize(bytes.data());
    CHECK(bytes == v2BytesOf<Op>(attrsOf<Op>(fields.collection())), what, ": attributes as given");
    plugin->destroy();
  } else {
    auto& creator = static_cast<nvinfer1::IPluginCreatorV3One&>(found);
    cases::ParserFields fields(node, *creator.getFieldNames(), error);
    CHECK(error.empty(), what, ": ", error);
    CHECK(fields.collection()->nbFields == creator.getFieldNames()->nbFields, what, ": the node lacks a field");
    std::unique_ptr<nvinfer1::IPluginV3> plugin;
    const std::string log = loggedDuring(
        [&] { plugin.reset(creator.createPlugin("node", fields.collection(), nvinfer1::TensorRTPhase::kBUILD)); });
    CHECK(plugin != nullptr && log.empty(), what, ": createPlugin refused the parser's fields: ", log);
    if (!plugin) return;
    auto* runtime = static_cast<nvinfer1::IPluginV3OneRuntime*>(
        plugin->getCapabilityInterface(nvinfer1::PluginCapabilityType::kRUNTIME));
    const nvinfer1::PluginFieldCollection* kept = runtime->getFieldsToSerialize();
    const nvinfer1::PluginFieldCollection* given = fields.collection();
    for (int32_t i = 0; i < given->nbFields; ++i) {
      bool same = false;
      for (int32_t j = 0; kept && j < kept->nbFields; ++j)
        if (std::string(kept->fields[j].name) == given->fields[i].name)
          same = kept->fields[j].type == given->fields[i].type &&
                 fieldValue(kept->fields[j]) == fieldValue(given->fields[i]);
      CHECK(same, what, ": field ", given->fields[i].name, " did not keep the value the parser gave");
    }
  }
}

void checkParserImport(const Library& lib, const std::string& casesPath) {
  int32_t nb = 0;
  nvinfer1::IPluginCreatorInterface* const* creators = lib.getCreators(nb);
  const auto nodes = cases::read(casesPath);
  CHECK(!nodes.empty(), "no nodes in ", casesPath);
  int imported = 0;
  for (const cases::Node& node : nodes) {
    // Since TensorRT 10.10 the parser may also look the node's domain up as the namespace:
    // ours are the same, so either lookup finds the same creator.
    CHECK(node.domain == node.text("plugin_namespace", ""), node.label(), ": domain ", node.domain,
          " differs from plugin_namespace");
    nvinfer1::IPluginCreatorInterface* creator = cases::findCreator(creators, nb, node);
    CHECK(creator != nullptr, node.label(), ": no creator for this op type, plugin_version and plugin_namespace");
    if (!creator) continue;
#define PDK_PARSER_NODE(Op) \
  if (node.opType == Op::kName) checkParserNode<Op>(*creator, node), ++imported;
    PDK_FOR_EACH_OP(PDK_PARSER_NODE)
#undef PDK_PARSER_NODE
  }
  std::printf("parser import: %d nodes (export and rewrite, every case and plugin version) created\n", imported);
}

template <class Op>
void checkOp(nvinfer1::IPluginCreatorInterface* const* creators, int32_t nb, const char* ns, int32_t& matched) {
  int32_t v2 = 0, v3 = 0;
  for (int32_t i = 0; i < nb; ++i) {
    const std::string kind = interfaceKind(*creators[i]);
    const char* name =
        kind == "PLUGIN CREATOR_V1"      ? static_cast<nvinfer1::IPluginCreator*>(creators[i])->getPluginName()
        : kind == "PLUGIN CREATOR_V3ONE" ? static_cast<nvinfer1::IPluginCreatorV3One*>(creators[i])->getPluginName()
                                         : "";
    if (std::string(name) != Op::kName) continue;
    (kind == "PLUGIN CREATOR_V1" ? v2 : v3) += 1;
  }
  CHECK(v2 == (Op::kHasV2 ? 1 : 0), Op::kName, ": ", v2, " IPluginV2DynamicExt creator(s), expected ",
        Op::kHasV2 ? "1" : "none (kHasV2 = false)");
  CHECK(v3 == 1, Op::kName, ": ", v3, " IPluginV3 creator(s), expected 1");
  if (!Op::kHasV2) std::printf("  %s v1: none, as declared (kHasV2 = false)\n", Op::kName);
  for (int32_t i = 0; i < nb; ++i) {
    nvinfer1::IPluginCreatorInterface* c = creators[i];
    const std::string kind = interfaceKind(*c);
    if (kind == "PLUGIN CREATOR_V1") {
      auto* v2 = static_cast<nvinfer1::IPluginCreator*>(c);
      if (std::string(v2->getPluginName()) != Op::kName) continue;
      CHECK(Op::kHasV2, Op::kName, " has kHasV2 = false but a V2 creator");
      if constexpr (Op::kHasV2) checkV2<Op>(*v2, ns);
      ++matched;
    } else if (kind == "PLUGIN CREATOR_V3ONE") {
      auto* v3 = static_cast<nvinfer1::IPluginCreatorV3One*>(c);
      if (std::string(v3->getPluginName()) != Op::kName) continue;
      checkV3<Op>(*v3, ns);
      ++matched;
    } else {
      CHECK(false, "unexpected creator interface ", kind);
    }
  }
}

int32_t expectedCreatorCount() {
  int32_t count = 0;
#define PDK_COUNT(Op) count += (Op::kHasV2 ? 2 : 1);
  PDK_FOR_EACH_OP(PDK_COUNT)
#undef PDK_COUNT
  return count;
}

void checkCreators(const Library& lib, const char* ns) {
  int32_t nb = -1;
  nvinfer1::IPluginCreatorInterface* const* creators = lib.getCreators(nb);
  CHECK(creators != nullptr && nb == expectedCreatorCount(), "getCreators gave ", nb, " creators, expected ",
        expectedCreatorCount());
  if (!creators) return;
  int32_t matched = 0;
#define PDK_CHECK_OP(Op) checkOp<Op>(creators, nb, ns, matched);
  PDK_FOR_EACH_OP(PDK_CHECK_OP)
#undef PDK_CHECK_OP
  CHECK(matched == nb, "creators not belonging to any op: ", nb - matched);
}

using GetRegistry = nvinfer1::IPluginRegistry* (*)();

int32_t registeredCount(GetRegistry getRegistry) {
  int32_t n = 0;
  getRegistry()->getAllCreators(&n);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::printf("usage: %s <plugin library> plain|registry|mismatch|optout [fake libnvinfer]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[2];
  const char* ns = PDK_EXPECTED_NAMESPACE;
  std::printf("trt-pdk adapter test (TensorRT %d.%d.%d headers), mode %s\n", NV_TENSORRT_MAJOR, NV_TENSORRT_MINOR,
              NV_TENSORRT_PATCH, mode.c_str());
  if (mode == "plain") testOpDefaults();

  GetRegistry getRegistry = nullptr;
  void* fake = nullptr;
  if (mode != "plain" && mode != "parser") {
    if (argc < 4) return std::printf("mode %s needs the fake libnvinfer\n", mode.c_str()), 2;
    fake = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);  // like a backend's dependency: not global
    CHECK(fake != nullptr, "dlopen fake libnvinfer: ", dlerror());
    if (!fake) return 1;
    getRegistry = reinterpret_cast<GetRegistry>(dlsym(fake, "getPluginRegistry"));
  }

  const Library lib = open(argv[1]);
  if (!lib.handle || !lib.getCreators) return 1;
  lib.setLoggerFinder(&gFinder);

  const std::string info = lib.info();
  CHECK(info.find(str("\"namespace\": \"", ns, "\"")) != std::string::npos, "pdkLibraryInfo: ", info);
  CHECK(info.find(str("\"tensorrt_major\": ", NV_TENSORRT_MAJOR)) != std::string::npos, "pdkLibraryInfo: ", info);

  if (mode == "plain") {
    checkCreators(lib, ns);
  } else if (mode == "parser") {
    if (argc < 4) return std::printf("mode parser needs the adapter_cases.txt file\n"), 2;
    checkParserImport(lib, argv[3]);
  } else if (mode == "registry") {
    // Loading registered every creator. A tool that only lists getCreators (called from
    // this test binary, not from the registry's library) must leave that alone; the
    // registry's own loadLibrary takes the registration over: exactly one results.
    const int32_t expected = expectedCreatorCount();
    CHECK(registeredCount(getRegistry) == expected, "self-registration on dlopen registered ",
          registeredCount(getRegistry), ", expected ", expected);
    int32_t nb = 0;
    CHECK(lib.getCreators(nb) != nullptr && nb == expected, "getCreators");
    CHECK(registeredCount(getRegistry) == expected, "getCreators called by another object must not deregister");
    using LoadLibrary = int32_t (*)(void*);
    auto loadLibrary = reinterpret_cast<LoadLibrary>(dlsym(fake, "fakeLoadLibrary"));
    CHECK(loadLibrary != nullptr, "fakeLoadLibrary");
    if (loadLibrary) CHECK(loadLibrary(lib.handle) == expected, "the registry's loadLibrary registers every creator");
    CHECK(registeredCount(getRegistry) == expected, "one registration per creator after the hand-over");
    // The fake claims <major>.1.0: under 10.1 an op with a size tensor must refuse (its
    // INT64 count needs 10.15), with a message; under 11.1 it is created.
    auto* compact =
        static_cast<nvinfer1::IPluginCreatorV3One*>(getRegistry()->getCreator(pdk::MaskedCompact::kName, "2", ns));
    CHECK(compact != nullptr, "MaskedCompact v2 registered");
    if (compact) {
      Fields none;
      std::unique_ptr<nvinfer1::IPluginV3> p;
      const std::string log = loggedDuring(
          [&] { p.reset(compact->createPlugin("layer", none.collection(), nvinfer1::TensorRTPhase::kBUILD)); });
      if (NV_TENSORRT_MAJOR == 10) {
        CHECK(p == nullptr && log.find("from 10.15 on; this process runs TensorRT 10.1.0") != std::string::npos,
              "MaskedCompact under TensorRT 10.1 must refuse: ", log);
      } else {
        CHECK(p != nullptr && log.empty(), "MaskedCompact under TensorRT ", NV_TENSORRT_MAJOR, ".1: ", log);
      }
    }
    CHECK(getRegistry()->getCreator(pdk::RmsNorm::kName, "2", ns) != nullptr, "RMSNorm v2 findable");
#define PDK_CHECK_REGISTERED(Op)                                                                                \
  CHECK(getRegistry()->getCreator(Op::kName, "2", ns) != nullptr, Op::kName, " v2 (IPluginV3) findable");       \
  CHECK((getRegistry()->getCreator(Op::kName, "1", ns) != nullptr) == Op::kHasV2, Op::kName, " v1 registered ", \
        "exactly when kHasV2");
    PDK_FOR_EACH_OP(PDK_CHECK_REGISTERED)
#undef PDK_CHECK_REGISTERED
  } else if (mode == "optout") {
    // The host registers through getCreators alone; loading must not touch the registry.
    CHECK(registeredCount(getRegistry) == 0, "TRT_PDK_NO_SELF_REGISTER=1 must disable the load-time registration");
    int32_t nb = 0;
    CHECK(lib.getCreators(nb) != nullptr && nb == expectedCreatorCount(), "getCreators still lists every creator");
  } else if (mode == "mismatch") {
    CHECK(registeredCount(getRegistry) == 0, "a library built for another TensorRT major must register nothing");
    int32_t nb = -1;
    nvinfer1::IPluginCreatorInterface* const* creators = nullptr;
    // PDK_EXPECT_RUNNING: the version the fake claims, as the message must spell it.
    const char* running = std::getenv("PDK_EXPECT_RUNNING");
    const std::string expectedRunning = running ? running : str(NV_TENSORRT_MAJOR + 1, ".0.0");
    std::string log;
    const std::string err = stderrDuring([&] { log = loggedDuring([&] { creators = lib.getCreators(nb); }); });
    CHECK(creators == nullptr && nb == 0, "getCreators under another major gave ", nb, " creators");
    CHECK(err.find(str("built for TensorRT ", NV_TENSORRT_MAJOR, ".")) != std::string::npos &&
              err.find(str("runs TensorRT ", expectedRunning)) != std::string::npos,
          "the message on stderr must name both versions: ", err);
    // ILoggerFinder/ILogger differ between majors: the host's finder is never called.
    CHECK(log.empty() && gFinder.calls == 0, "the logger finder of another major was called ", gFinder.calls,
          " time(s): ", log);
  } else {
    std::printf("unknown mode %s\n", mode.c_str());
    return 2;
  }

  std::printf("%s: %d checks, %d failed (%s mode)\n", gFailures ? "FAILED" : "PASSED", gChecks, gFailures,
              mode.c_str());
  return gFailures ? 1 : 0;
}

#pragma GCC diagnostic pop
