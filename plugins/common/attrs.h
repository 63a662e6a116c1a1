// Attributes are declared once per op, as a `fields(V&)` member template that names
// each field with its range. Every consumer is a visitor over that declaration:
// field lists for TensorRT creators and Python, validation, byte serialization, and
// conversion from the loosely typed fields TensorRT, ONNX and Python hand us.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace pdk {

enum class FieldType : int32_t { kInt32 = 0, kFloat32 = 1, kString = 2 };

inline const char* fieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kInt32: return "int32";
    case FieldType::kFloat32: return "float32";
    case FieldType::kString: return "string";
  }
  return "unknown";
}

// Values equal nvinfer1::PluginFieldType, so adapters pass TensorRT's fields by cast.
enum class RawFieldType : int32_t {
  kFLOAT16 = 0,
  kFLOAT32 = 1,
  kFLOAT64 = 2,
  kINT8 = 3,
  kINT16 = 4,
  kINT32 = 5,
  kCHAR = 6,
  kDIMS = 7,
  kUNKNOWN = 8,
  kBF16 = 9,
  kINT64 = 10,
};

inline const char* rawFieldTypeName(RawFieldType t) {
  switch (t) {
    case RawFieldType::kFLOAT16: return "FLOAT16";
    case RawFieldType::kFLOAT32: return "FLOAT32";
    case RawFieldType::kFLOAT64: return "FLOAT64";
    case RawFieldType::kINT8: return "INT8";
    case RawFieldType::kINT16: return "INT16";
    case RawFieldType::kINT32: return "INT32";
    case RawFieldType::kCHAR: return "CHAR (a string)";
    case RawFieldType::kDIMS: return "DIMS";
    case RawFieldType::kUNKNOWN: return "UNKNOWN";
    case RawFieldType::kBF16: return "BF16";
    case RawFieldType::kINT64: return "INT64";
  }
  return "an unknown type";
}

struct RawField {
  const char* name;
  const void* data;
  RawFieldType type;
  int32_t length;
};

struct IntRange {
  int32_t lo = std::numeric_limits<int32_t>::min();
  int32_t hi = std::numeric_limits<int32_t>::max();
};

struct FloatRange {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  bool loOpen = false;
  bool hiOpen = false;
  static FloatRange positive(float hi = std::numeric_limits<float>::infinity()) {
    return FloatRange{0.f, hi, true, false};
  }
};

struct FieldInfo {
  std::string name;
  FieldType type;
  std::string range;  // human readable, e.g. "(0, 1]" or "one of none, tanh"
  std::string defaultValue;
  std::string doc;
};

namespace detail {
inline std::string describe(const IntRange& r) {
  std::ostringstream os;
  os << "[" << r.lo << ", " << r.hi << "]";
  return os.str();
}
inline std::string describe(const FloatRange& r) {
  std::ostringstream os;
  os << (r.loOpen ? "(" : "[") << r.lo << ", " << r.hi << (r.hiOpen ? ")" : "]");
  return os.str();
}
inline std::string describe(const std::vector<std::string>& choices) {
  std::string s = "one of ";
  for (size_t i = 0; i < choices.size(); ++i) s += (i ? ", " : "") + choices[i];
  return s;
}
inline bool inRange(float v, const FloatRange& r) {
  if (std::isnan(v)) return false;
  const bool aboveLo = r.loOpen ? v > r.lo : v >= r.lo;
  const bool belowHi = r.hiOpen ? v < r.hi : v <= r.hi;
  return aboveLo && belowHi;
}
}  // namespace detail

// Checks one value against its declared range; the message names op, field, range, value.
struct RangeChecker {
  const char* op;
  void integer(const char* name, int32_t& v, IntRange r, const char* = "") const {
    PDK_CHECK(v >= r.lo && v <= r.hi, op, ": attribute '", name, "' must be in ", detail::describe(r), ", got ", v);
  }
  void real(const char* name, float& v, FloatRange r, const char* = "") const {
    PDK_CHECK(detail::inRange(v, r), op, ": attribute '", name, "' must be in ", detail::describe(r), ", got ", v);
  }
  void choice(const char* name, std::string& v, const std::vector<std::string>& choices, const char* = "") const {
    for (const auto& c : choices)
      if (c == v) return;
    PDK_FAIL(op, ": attribute '", name, "' must be ", detail::describe(choices), ", got '", v, "'");
  }
};

struct InfoCollector {
  std::vector<FieldInfo> infos;
  void integer(const char* name, int32_t& v, IntRange r, const char* doc = "") {
    infos.push_back({name, FieldType::kInt32, detail::describe(r), std::to_string(v), doc});
  }
  void real(const char* name, float& v, FloatRange r, const char* doc = "") {
    std::ostringstream os;
    os << v;
    infos.push_back({name, FieldType::kFloat32, detail::describe(r), os.str(), doc});
  }
  void choice(const char* name, std::string& v, const std::vector<std::string>& choices, const char* doc = "") {
    infos.push_back({name, FieldType::kString, detail::describe(choices), v, doc});
  }
};

template <class Op>
void validate(const typename Op::Attrs& attrs) {
  auto copy = attrs;
  RangeChecker checker{Op::kName};
  copy.fields(checker);
  Op::validate(copy);
}

template <class Op>
std::vector<FieldInfo> fieldInfos() {
  typename Op::Attrs defaults{};
  InfoCollector collector;
  defaults.fields(collector);
  return collector.infos;
}

// ---- byte serialization -------------------------------------------------------------
// Layout: "PDKA" | u16 format | u16 field count | per field: u8 type, u8 name length,
// name, u32 element count, payload. Names and types are stored so that bytes from another
// op or another attribute layout are rejected with a message instead of misread.

constexpr char kMagic[4] = {'P', 'D', 'K', 'A'};
constexpr uint16_t kFormatVersion = 1;

class ByteWriter {
 public:
  void integer(const char* name, int32_t& v, IntRange, const char* = "") {
    header(name, FieldType::kInt32, 1);
    put(&v, 4);
  }
  void real(const char* name, float& v, FloatRange, const char* = "") {
    header(name, FieldType::kFloat32, 1);
    put(&v, 4);
  }
  void choice(const char* name, std::string& v, const std::vector<std::string>&, const char* = "") {
    header(name, FieldType::kString, static_cast<uint32_t>(v.size()));
    put(v.data(), v.size());
  }
  std::vector<char> bytes;
  uint16_t count = 0;

 private:
  void header(const char* name, FieldType type, uint32_t n) {
    const auto nameLen = static_cast<uint8_t>(std::strlen(name));
    const auto tag = static_cast<uint8_t>(type);
    put(&tag, 1);
    put(&nameLen, 1);
    put(name, nameLen);
    put(&n, 4);
    ++count;
  }
  void put(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    bytes.insert(bytes.end(), c, c + n);
  }
};

class ByteReader {
 public:
  ByteReader(const char* op, const void* data, size_t size)
      : op_(op), data_(static_cast<const char*>(data)), size_(size) {}

  void begin(uint16_t expectedFields) {
    char magic[4];
    take(magic, 4, "header");
    PDK_CHECK(std::memcmp(magic, kMagic, 4) == 0, op_,
              ": serialized attributes do not start with the trt-pdk marker; the bytes are "
              "corrupted or belong to another plugin");
    uint16_t format = 0, count = 0;
    take(&format, 2, "header");
    take(&count, 2, "header");
    PDK_CHECK(format == kFormatVersion, op_, ": serialized attribute format ", format, " is not supported (expected ",
              kFormatVersion, "); rebuild the engine with this library");
    PDK_CHECK(count == expectedFields, op_, ": serialized attributes hold ", count,
              " fields, this build of the plugin expects ", expectedFields, "; rebuild the engine with this library");
  }
  void end() const {
    PDK_CHECK(pos_ == size_, op_, ": ", size_ - pos_, " unexpected trailing bytes after the serialized attributes");
  }
  void integer(const char* name, int32_t& v, IntRange r, const char* = "") {
    expect(name, FieldType::kInt32, 1);
    take(&v, 4, name);
    RangeChecker{op_}.integer(name, v, r);
  }
  void real(const char* name, float& v, FloatRange r, const char* = "") {
    expect(name, FieldType::kFloat32, 1);
    take(&v, 4, name);
    RangeChecker{op_}.real(name, v, r);
  }
  void choice(const char* name, std::string& v, const std::vector<std::string>& choices, const char* = "") {
    const uint32_t n = expect(name, FieldType::kString, 0);
    PDK_CHECK(n <= 256, op_, ": serialized string attribute '", name, "' claims ", n,
              " bytes, more than the 256 allowed");
    v.assign(n, '\0');
    if (n) take(&v[0], n, name);
    RangeChecker{op_}.choice(name, v, choices);
  }

 private:
  uint32_t expect(const char* name, FieldType type, uint32_t count) {
    uint8_t tag = 0, nameLen = 0;
    take(&tag, 1, name);
    take(&nameLen, 1, name);
    std::string stored(nameLen, '\0');
    if (nameLen) take(&stored[0], nameLen, name);
    PDK_CHECK(stored == name, op_, ": serialized attributes hold field '", stored, "' where '", name,
              "' was expected; the bytes are corrupted or come from another plugin version");
    PDK_CHECK(tag == static_cast<uint8_t>(type), op_, ": serialized field '", name, "' has type tag ", int(tag),
              ", expected ", fieldTypeName(type));
    uint32_t n = 0;
    take(&n, 4, name);
    PDK_CHECK(count == 0 || n == count, op_, ": serialized field '", name, "' has ", n, " elements, expected ", count);
    return n;
  }
  void take(void* dst, size_t n, const char* what) {
    PDK_CHECK(n <= size_ - pos_, op_, ": serialized attributes are truncated (", size_, " bytes) while reading ", what);
    std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
  }
  const char* op_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Exact signatures (not variadic templates), so a choice list written as {"a", "b"} binds.
struct FieldCounter {
  uint16_t count = 0;
  void integer(const char*, int32_t&, IntRange, const char* = "") { ++count; }
  void real(const char*, float&, FloatRange, const char* = "") { ++count; }
  void choice(const char*, std::string&, const std::vector<std::string>&, const char* = "") { ++count; }
};

template <class Op>
std::vector<char> serialize(const typename Op::Attrs& attrs) {
  auto copy = attrs;
  ByteWriter writer;
  copy.fields(writer);
  std::vector<char> out(kMagic, kMagic + 4);
  const uint16_t format = kFormatVersion;
  out.insert(out.end(), reinterpret_cast<const char*>(&format), reinterpret_cast<const char*>(&format) + 2);
  out.insert(out.end(), reinterpret_cast<const char*>(&writer.count), reinterpret_cast<const char*>(&writer.count) + 2);
  out.insert(out.end(), writer.bytes.begin(), writer.bytes.end());
  return out;
}

template <class Op>
typename Op::Attrs deserialize(const void* data, size_t size) {
  PDK_CHECK(data != nullptr || size == 0, Op::kName, ": serialized attributes are null");
  typename Op::Attrs attrs{};
  FieldCounter counter;
  attrs.fields(counter);
  ByteReader reader(Op::kName, data, size);
  reader.begin(counter.count);
  attrs.fields(reader);
  reader.end();
  Op::validate(attrs);
  return attrs;
}

// ---- loosely typed fields (TensorRT PluginFieldCollection, ONNX attributes) ----------

class RawFieldReader {
 public:
  RawFieldReader(const char* op, const RawField* fields, int32_t n) : op_(op), fields_(fields), n_(n) {}

  void integer(const char* name, int32_t& v, IntRange r, const char* = "") {
    const RawField* f = find(name);
    if (!f) return;
    scalarLength(*f);
    int64_t wide = 0;
    switch (f->type) {
      case RawFieldType::kINT32: wide = *static_cast<const int32_t*>(f->data); break;
      case RawFieldType::kINT64: wide = *static_cast<const int64_t*>(f->data); break;
      case RawFieldType::kINT16: wide = *static_cast<const int16_t*>(f->data); break;
      case RawFieldType::kINT8: wide = *static_cast<const int8_t*>(f->data); break;
      default: wrongType(*f, "an integer (INT32 or INT64)");
    }
    PDK_CHECK(wide >= r.lo && wide <= r.hi, op_, ": attribute '", name, "' must be in ", detail::describe(r), ", got ",
              wide);
    v = static_cast<int32_t>(wide);
  }
  void real(const char* name, float& v, FloatRange r, const char* = "") {
    const RawField* f = find(name);
    if (!f) return;
    scalarLength(*f);
    switch (f->type) {
      case RawFieldType::kFLOAT32: v = *static_cast<const float*>(f->data); break;
      case RawFieldType::kFLOAT64: v = static_cast<float>(*static_cast<const double*>(f->data)); break;
      default: wrongType(*f, "a float (FLOAT32 or FLOAT64)");
    }
    RangeChecker{op_}.real(name, v, r);
  }
  void choice(const char* name, std::string& v, const std::vector<std::string>& choices, const char* = "") {
    const RawField* f = find(name);
    if (!f) return;
    if (f->type != RawFieldType::kCHAR && f->type != RawFieldType::kINT8 && f->type != RawFieldType::kUNKNOWN)
      wrongType(*f, "a string (CHAR)");
    PDK_CHECK(f->length >= 0 && f->length <= 256, op_, ": string attribute '", name, "' has length ", f->length,
              ", expected 0..256");
    PDK_CHECK(f->data != nullptr || f->length == 0, op_, ": attribute '", name, "' has no data");
    const char* s = static_cast<const char*>(f->data);
    size_t len = static_cast<size_t>(f->length);
    while (len > 0 && s[len - 1] == '\0') --len;  // ONNX gives no NUL, TensorRT fields may
    v.assign(s, len);
    RangeChecker{op_}.choice(name, v, choices);
  }

  // Names not declared by the op are an error: a typo must not silently become a default.
  template <class Attrs>
  void rejectUnknown(Attrs& attrs) const {
    InfoCollector known;
    attrs.fields(known);
    for (int32_t i = 0; i < n_; ++i) {
      const char* name = fields_[i].name ? fields_[i].name : "";
      bool found = false;
      for (const auto& k : known.infos) found = found || k.name == name;
      if (!found) {
        std::string names;
        for (const auto& k : known.infos) names += (names.empty() ? "" : ", ") + k.name;
        PDK_FAIL(op_, ": unknown attribute '", name, "'; this plugin takes: ", names.empty() ? "no attributes" : names);
      }
    }
  }

 private:
  const RawField* find(const char* name) const {
    for (int32_t i = 0; i < n_; ++i)
      if (fields_[i].name && std::strcmp(fields_[i].name, name) == 0) return &fields_[i];
    return nullptr;
  }
  void scalarLength(const RawField& f) const {
    PDK_CHECK(f.length == 1 && f.data != nullptr, op_, ": attribute '", f.name, "' must hold exactly one value, got ",
              f.length);
  }
  [[noreturn]] void wrongType(const RawField& f, const char* expected) const {
    PDK_FAIL(op_, ": attribute '", f.name, "' must be ", expected, ", got ", rawFieldTypeName(f.type));
  }
  const char* op_;
  const RawField* fields_;
  int32_t n_;
};

template <class Op>
typename Op::Attrs attrsFromFields(const RawField* fields, int32_t n) {
  PDK_CHECK(n >= 0 && (fields != nullptr || n == 0), Op::kName, ": invalid field collection");
  typename Op::Attrs attrs{};
  RawFieldReader reader(Op::kName, fields, n);
  reader.rejectUnknown(attrs);
  attrs.fields(reader);
  Op::validate(attrs);
  return attrs;
}

// Views of the attrs' own storage; valid while `attrs` lives and is not modified.
struct RawFieldWriter {
  std::vector<RawField> fields;
  void integer(const char* name, int32_t& v, IntRange, const char* = "") {
    fields.push_back({name, &v, RawFieldType::kINT32, 1});
  }
  void real(const char* name, float& v, FloatRange, const char* = "") {
    fields.push_back({name, &v, RawFieldType::kFLOAT32, 1});
  }
  void choice(const char* name, std::string& v, const std::vector<std::string>&, const char* = "") {
    fields.push_back({name, v.c_str(), RawFieldType::kCHAR, static_cast<int32_t>(v.size())});
  }
};

}  // namespace pdk
