// Random-mutation fuzzer of every op's attribute decoders: pdk::deserialize<Op> (engine
// bytes, V2) and pdk::attrsFromFields<Op> (TensorRT PluginFieldCollection, ONNX, Python).
// Inputs are mutated from valid serializations and random field collections; the only
// allowed outcomes are an accepted Attrs that re-serializes to itself or a pdk::Error.
// Built with -DPDK_BUILD_FUZZERS=ON (with AddressSanitizer + UBSan):
//
//   fuzz_attrs [iterations per op, default 100000] [seed, default 1]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/op.h"
#include "pdk_ops.inc"

namespace {

struct Stats {
  uint64_t runs = 0, accepted = 0, rejected = 0;
};

[[noreturn]] void die(const char* op, const char* what, const std::string& detail) {
  std::fprintf(stderr, "FUZZ FAILURE in %s (%s): %s\n", op, what, detail.c_str());
  std::abort();
}

std::vector<char> mutate(std::vector<char> bytes, std::mt19937_64& rng, const std::vector<std::vector<char>>& pool) {
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int s = 0; s < steps; ++s) {
    switch (rng() % 8) {
      case 0:  // flip a bit
        if (!bytes.empty()) bytes[rng() % bytes.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // set an interesting byte
        if (!bytes.empty()) {
          static const unsigned char kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 4, 255, 6, 3};
          bytes[rng() % bytes.size()] = static_cast<char>(kInteresting[rng() % sizeof(kInteresting)]);
        }
        break;
      case 2:  // truncate
        bytes.resize(bytes.empty() ? 0 : rng() % bytes.size());
        break;
      case 3:  // insert random bytes
      {
        const size_t at = bytes.empty() ? 0 : rng() % (bytes.size() + 1);
        const size_t n = 1 + rng() % 8;
        for (size_t i = 0; i < n; ++i) bytes.insert(bytes.begin() + static_cast<long>(at), static_cast<char>(rng()));
        break;
      }
      case 4:  // erase a range
        if (!bytes.empty()) {
          const size_t at = rng() % bytes.size();
          const size_t n = std::min<size_t>(bytes.size() - at, 1 + rng() % 8);
          bytes.erase(bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + n));
        }
        break;
      case 5:  // overwrite a 32-bit word (lengths, counts)
        if (bytes.size() >= 4) {
          const uint32_t words[] = {0u, 1u, 0xffffffffu, 0x7fffffffu, 256u, 257u, static_cast<uint32_t>(rng())};
          const uint32_t w = words[rng() % 7];
          std::memcpy(&bytes[rng() % (bytes.size() - 3)], &w, 4);
        }
        break;
      case 6:  // splice with another valid serialization (maybe another op's)
      {
        const auto& other = pool[rng() % pool.size()];
        const size_t cut = bytes.empty() ? 0 : rng() % bytes.size();
        const size_t from = other.empty() ? 0 : rng() % other.size();
        bytes.resize(cut);
        bytes.insert(bytes.end(), other.begin() + static_cast<long>(from), other.end());
        break;
      }
      default:  // fully random
        bytes.assign(rng() % 64, 0);
        for (auto& b : bytes) b = static_cast<char>(rng());
    }
  }
  return bytes;
}

// Field names to draw from: the op's own, other ops', nonsense, and the empty name.
std::vector<std::string> fieldNamePool() {
  std::vector<std::string> names = {"", "x", "plugin_version", "plugin_namespace", "eps\n", std::string(300, 'a')};
#define PDK_NAMES(Op) \
  for (const auto& f : pdk::fieldInfos<Op>()) names.push_back(f.name);
  PDK_FOR_EACH_OP(PDK_NAMES)
#undef PDK_NAMES
  return names;
}

template <class Op>
void fuzzOp(uint64_t iterations, std::mt19937_64& rng, const std::vector<std::vector<char>>& pool, Stats& stats) {
  const std::vector<std::string> names = fieldNamePool();
  std::vector<std::vector<char>> seeds;
  seeds.push_back(pdk::serialize<Op>(typename Op::Attrs{}));
  for (uint64_t i = 0; i < iterations; ++i) {
    // 1. engine bytes
    const auto bytes = mutate(seeds[rng() % seeds.size()], rng, pool);
    ++stats.runs;
    try {
      const auto attrs = pdk::deserialize<Op>(bytes.data(), bytes.size());
      const auto again = pdk::serialize<Op>(attrs);
      if (again != bytes) die(Op::kName, "deserialize", "accepted bytes that do not re-serialize to themselves");
      ++stats.accepted;
      if (seeds.size() < 64) seeds.push_back(bytes);
    } catch (const pdk::Error&) {
      ++stats.rejected;
    }

    // 2. loosely typed fields (TensorRT / ONNX / Python); data always as long as claimed.
    const int32_t n = static_cast<int32_t>(rng() % 4);
    std::vector<std::vector<char>> storage(static_cast<size_t>(n));
    std::vector<pdk::RawField> fields(static_cast<size_t>(n));
    for (int32_t f = 0; f < n; ++f) {
      auto& field = fields[static_cast<size_t>(f)];
      auto& data = storage[static_cast<size_t>(f)];
      field.name = rng() % 8 == 0 ? nullptr : names[rng() % names.size()].c_str();
      field.type = static_cast<pdk::RawFieldType>(rng() % 12);  // includes one invalid value
      const int32_t lengths[] = {1, 1, 1, 0, 2, 5, 300, -1};
      field.length = lengths[rng() % 8];
      data.resize(static_cast<size_t>(std::max(field.length, 0)) * 8 + 8);
      for (auto& c : data) c = static_cast<char>(rng() % 3 == 0 ? rng() : "none tanh int32 int64 01"[rng() % 24]);
      field.data = rng() % 16 == 0 && field.length <= 0 ? nullptr : data.data();
    }
    ++stats.runs;
    try {
      const auto attrs = pdk::attrsFromFields<Op>(fields.data(), n);
      pdk::validate<Op>(attrs);  // what was accepted must be valid
      const auto bytes2 = pdk::serialize<Op>(attrs);
      const auto back = pdk::deserialize<Op>(bytes2.data(), bytes2.size());
      if (pdk::serialize<Op>(back) != bytes2) die(Op::kName, "attrsFromFields", "round trip changed the attributes");
      ++stats.accepted;
      if (seeds.size() < 64) seeds.push_back(bytes2);
    } catch (const pdk::Error&) {
      ++stats.rejected;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t iterations = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  std::mt19937_64 rng(seed);
  std::vector<std::vector<char>> pool;
#define PDK_POOL(Op) pool.push_back(pdk::serialize<Op>(typename Op::Attrs{}));
  PDK_FOR_EACH_OP(PDK_POOL)
#undef PDK_POOL
  int failures = 0;
#define PDK_FUZZ(Op)                                                                                          \
  {                                                                                                           \
    Stats stats;                                                                                              \
    fuzzOp<Op>(iterations, rng, pool, stats);                                                                 \
    std::printf("%-14s %llu inputs (%llu accepted, %llu rejected with pdk::Error), 0 crashes\n", Op::kName,   \
                static_cast<unsigned long long>(stats.runs), static_cast<unsigned long long>(stats.accepted), \
                static_cast<unsigned long long>(stats.rejected));                                             \
    failures += stats.runs == stats.accepted + stats.rejected ? 0 : 1;                                        \
  }
  PDK_FOR_EACH_OP(PDK_FUZZ)
#undef PDK_FUZZ
  return failures ? 1 : 0;
}
