// Data types shared by op cores, kernels and adapters. Values equal nvinfer1::DataType
// so adapters convert with a cast; a static_assert in the adapters keeps that true.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define PDK_HD __host__ __device__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#else
#define PDK_HD
#endif

namespace pdk {

enum class DType : int32_t {
  kFLOAT = 0,
  kHALF = 1,
  kINT8 = 2,
  kINT32 = 3,
  kBOOL = 4,
  kUINT8 = 5,
  kFP8 = 6,
  kBF16 = 7,
  kINT64 = 8,
};

inline const char* dtypeName(DType t) {
  switch (t) {
    case DType::kFLOAT: return "float32";
    case DType::kHALF: return "float16";
    case DType::kINT8: return "int8";
    case DType::kINT32: return "int32";
    case DType::kBOOL: return "bool";
    case DType::kUINT8: return "uint8";
    case DType::kFP8: return "fp8";
    case DType::kBF16: return "bfloat16";
    case DType::kINT64: return "int64";
  }
  return "unknown";
}

inline int64_t dtypeSize(DType t) {
  switch (t) {
    case DType::kFLOAT:
    case DType::kINT32: return 4;
    case DType::kHALF:
    case DType::kBF16: return 2;
    case DType::kINT64: return 8;
    case DType::kINT8:
    case DType::kBOOL:
    case DType::kUINT8:
    case DType::kFP8: return 1;
  }
  return 0;
}

// Bit-exact float <-> half/bfloat16 conversions that need no CUDA headers, so CPU
// references and host code use the same rounding (round to nearest even) as the GPU.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

PDK_HD inline uint32_t floatBits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof(u));
  return u;
}
PDK_HD inline float bitsFloat(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof(f));
  return f;
}

#if defined(__CUDA_ARCH__)
// Device code uses the hardware conversions; they round the same way as the host code.
__device__ inline float toFloat(BFloat16 h) {
  return __bfloat162float(__ushort_as_bfloat16(h.bits));
}
__device__ inline BFloat16 toBFloat16(float f) {
  return BFloat16{__bfloat16_as_ushort(__float2bfloat16_rn(f))};
}
__device__ inline float toFloat(Half h) {
  return __half2float(__ushort_as_half(h.bits));
}
__device__ inline Half toHalf(float f) {
  return Half{__half_as_ushort(__float2half_rn(f))};
}
#else
PDK_HD inline float toFloat(BFloat16 h) {
  return bitsFloat(static_cast<uint32_t>(h.bits) << 16);
}
PDK_HD inline BFloat16 toBFloat16(float f) {
  uint32_t u = floatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return BFloat16{static_cast<uint16_t>(u >> 16)};
}

PDK_HD inline float toFloat(Half h) {
  const uint32_t sign = (static_cast<uint32_t>(h.bits) & 0x8000u) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1fu;
  uint32_t mant = h.bits & 0x3ffu;
  if (exp == 0x1f) return bitsFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return bitsFloat(sign);
    exp = 1;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    mant &= 0x3ffu;
    return bitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
  }
  return bitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

PDK_HD inline Half toHalf(float f) {
  const uint32_t u = floatBits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t absBits = u & 0x7fffffffu;
  if (absBits > 0x7f800000u) return Half{static_cast<uint16_t>(sign | 0x7e00u)};
  if (absBits >= 0x477ff000u) return Half{static_cast<uint16_t>(sign | 0x7c00u)};  // overflow to inf
  if (absBits < 0x38800000u) {                                                     // subnormal half or zero
    if (absBits < 0x33000000u) return Half{sign};
    const uint32_t exp = absBits >> 23;
    const uint32_t mant = (absBits & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exp;  // 14..24
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return Half{static_cast<uint16_t>(sign | half)};
  }
  uint32_t rounded = absBits + 0xfffu + ((absBits >> 13) & 1u);
  return Half{static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13))};
}
#endif

PDK_HD inline float toFloat(float f) {
  return f;
}

template <class T>
PDK_HD inline T fromFloat(float f);
template <>
PDK_HD inline float fromFloat<float>(float f) {
  return f;
}
template <>
PDK_HD inline Half fromFloat<Half>(float f) {
  return toHalf(f);
}
template <>
PDK_HD inline BFloat16 fromFloat<BFloat16>(float f) {
  return toBFloat16(f);
}

}  // namespace pdk
