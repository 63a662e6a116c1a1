#include "{{ cookiecutter.__snake }}/{{ cookiecutter.__snake }}.h"
#include "{{ cookiecutter.__snake }}/{{ cookiecutter.__snake }}_math.h"

namespace {{ cookiecutter.package_name }} {
namespace {

using Op = {{ cookiecutter.name }};
namespace math = {{ cookiecutter.__snake }}_math;

template <class T>
void run(const math::Coefficients& c, int64_t n, const void* const* inputs, void* const* outputs) {
  for (int64_t i = 0; i < n; ++i) {
    float h = 0.0f;
    for (int32_t k = 0; k < Op::kNbInputs; ++k) h += pdk::toFloat(static_cast<const T*>(inputs[k])[i]);
    const float z = math::preActivation(h, c);
    for (int32_t j = 0; j < Op::kNbOutputs; ++j) static_cast<T*>(outputs[j])[i] = math::output<T>(z, j);
  }
}

}  // namespace

void Op::cpuReference(const Attrs& attrs, const pdk::TensorDesc* in, pdk::TensorDesc*, const void* const* inputs,
                      void* const* outputs) {
  checkInputs(attrs, in, kNbInputs);
  const int64_t n = in[0].volume();
  const math::Coefficients c = math::coefficients(attrs);
  switch (in[0].dtype) {
    case pdk::DType::kFLOAT: return run<float>(c, n, inputs, outputs);
    case pdk::DType::kHALF: return run<pdk::Half>(c, n, inputs, outputs);
    case pdk::DType::kBF16: return run<pdk::BFloat16>(c, n, inputs, outputs);
    default: PDK_FAIL(kName, ": unsupported dtype ", pdk::dtypeName(in[0].dtype));
  }
}

}  // namespace {{ cookiecutter.package_name }}
