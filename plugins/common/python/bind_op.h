// Binds one op's core to Python, generically: fields, validation, serialization, the
// integer shape rule, dtype support, the CPU reference on NumPy arrays and, when built
// with CUDA, the kernel launcher on raw device pointers.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "common/op.h"

namespace pdk {
namespace python {

namespace py = pybind11;

inline DType dtypeFromName(const std::string& name) {
  static const DType kAll[] = {DType::kFLOAT, DType::kHALF,  DType::kINT8, DType::kINT32,
                               DType::kBOOL,  DType::kUINT8, DType::kBF16, DType::kINT64};
  for (DType t : kAll)
    if (name == dtypeName(t)) return t;
  PDK_FAIL("unknown dtype '", name, "'; expected one of float32, float16, bfloat16, int32, int64, int8, uint8, bool");
}

// NumPy has no bfloat16: bf16 tensors travel as uint16 arrays with the dtype named.
inline py::dtype numpyDtype(DType t) {
  switch (t) {
    case DType::kFLOAT: return py::dtype("float32");
    case DType::kHALF: return py::dtype("float16");
    case DType::kBF16: return py::dtype("uint16");
    case DType::kINT32: return py::dtype("int32");
    case DType::kINT64: return py::dtype("int64");
    case DType::kINT8: return py::dtype("int8");
    case DType::kUINT8: return py::dtype("uint8");
    case DType::kBOOL: return py::dtype("bool");
    default: PDK_FAIL("dtype ", dtypeName(t), " has no NumPy equivalent");
  }
}

// Python values become loosely typed fields, so Python, ONNX and TensorRT share one
// conversion path with the same range checks and messages.
template <class Op>
typename Op::Attrs attrsFromDict(const py::dict& dict) {
  std::vector<std::string> names;
  std::vector<int64_t> ints(dict.size());
  std::vector<double> reals(dict.size());
  std::vector<std::string> strings(dict.size());
  std::vector<RawField> fields;
  names.reserve(dict.size());
  size_t i = 0;
  for (auto item : dict) {
    names.push_back(py::str(item.first));
    const py::handle value = item.second;
    RawField f{nullptr, nullptr, RawFieldType::kUNKNOWN, 1};
    if (py::isinstance<py::bool_>(value) || py::isinstance<py::int_>(value)) {
      ints[i] = value.cast<int64_t>();
      f.data = &ints[i];
      f.type = RawFieldType::kINT64;
    } else if (py::isinstance<py::float_>(value)) {
      reals[i] = value.cast<double>();
      f.data = &reals[i];
      f.type = RawFieldType::kFLOAT64;
    } else if (py::isinstance<py::str>(value)) {
      strings[i] = value.cast<std::string>();
      f.data = strings[i].data();
      f.type = RawFieldType::kCHAR;
      f.length = static_cast<int32_t>(strings[i].size());
    } else {
      PDK_FAIL(Op::kName, ": attribute '", names.back(), "' has Python type ",
               std::string(py::str(py::type::of(value).attr("__name__"))), "; use int, float or str");
    }
    fields.push_back(f);
    ++i;
  }
  for (size_t k = 0; k < fields.size(); ++k) fields[k].name = names[k].c_str();
  return attrsFromFields<Op>(fields.data(), static_cast<int32_t>(fields.size()));
}

struct DictWriter {
  py::dict dict;
  void integer(const char* name, int32_t& v, IntRange, const char* = "") { dict[name] = v; }
  void real(const char* name, float& v, FloatRange, const char* = "") { dict[name] = v; }
  void choice(const char* name, std::string& v, const std::vector<std::string>&, const char* = "") { dict[name] = v; }
};

template <class Op>
py::dict attrsToDict(typename Op::Attrs attrs) {
  DictWriter writer;
  attrs.fields(writer);
  return writer.dict;
}

inline TensorDesc descFrom(const std::vector<int64_t>& shape, DType dtype) {
  PDK_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "tensors have at most ", kMaxDims, " dimensions, got ",
            shape.size());
  TensorDesc d;
  d.dtype = dtype;
  d.nbDims = static_cast<int32_t>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) d.dims[i] = shape[i];
  return d;
}

inline Shape<int64_t> shapeFrom(const std::vector<int64_t>& dims) {
  const TensorDesc d = descFrom(dims, DType::kFLOAT);
  Shape<int64_t> s;
  s.nbDims = d.nbDims;
  for (int32_t i = 0; i < d.nbDims; ++i) s.d[i] = d.dims[i];
  return s;
}

inline std::vector<int64_t> dimsOf(const Shape<int64_t>& s) {
  return std::vector<int64_t>(s.d, s.d + s.nbDims);
}

template <class Op>
std::vector<DType> inputTypes(const std::vector<std::string>& names) {
  checkInputCount<Op>(static_cast<int64_t>(names.size()));
  std::vector<DType> types;
  for (const auto& n : names) types.push_back(dtypeFromName(n));
  return types;
}

template <class Op>
std::vector<std::vector<int64_t>> outputShapesOf(const typename Op::Attrs& attrs,
                                                 const std::vector<std::vector<int64_t>>& shapes) {
  std::vector<Shape<int64_t>> in;
  for (const auto& s : shapes) in.push_back(shapeFrom(s));
  std::vector<std::vector<int64_t>> out;
  for (const auto& s : outputShapes<Op>(attrs, in)) out.push_back(dimsOf(s));
  return out;
}

// The shape rule with each data-dependent dimension replaced by its recorded upper bound
// (what the op can at most produce): the sizes to allocate before launching the kernel.
template <class Op>
std::vector<std::vector<int64_t>> outputUpperBoundsOf(const typename Op::Attrs& attrs,
                                                      const std::vector<std::vector<int64_t>>& shapes) {
  std::vector<Shape<int64_t>> in;
  for (const auto& s : shapes) in.push_back(shapeFrom(s));
  std::vector<int64_t> upperBounds;
  std::vector<std::vector<int64_t>> out;
  for (const auto& s : outputShapes<Op>(attrs, in, &upperBounds)) {
    std::vector<int64_t> dims = dimsOf(s);
    for (auto& d : dims)
      if (d == kDataDependent) d = upperBounds.empty() ? 0 : upperBounds[0];
    out.push_back(dims);
  }
  return out;
}

// kNbInputs descriptions; absent optional inputs are marked (pdk::absentTensor).
template <class Op>
std::vector<TensorDesc> inputDescs(const std::vector<std::vector<int64_t>>& shapes, const std::vector<DType>& types) {
  PDK_CHECK(shapes.size() == types.size(), Op::kName, ": ", shapes.size(), " shapes but ", types.size(), " dtypes");
  checkInputCount<Op>(static_cast<int64_t>(shapes.size()));
  std::vector<TensorDesc> in;
  for (size_t i = 0; i < shapes.size(); ++i) in.push_back(descFrom(shapes[i], types[i]));
  in.resize(static_cast<size_t>(Op::kNbInputs), absentTensor());
  return in;
}

template <class Op>
std::vector<DType> outputTypesOf(const typename Op::Attrs& attrs, const std::vector<DType>& in) {
  checkInputCount<Op>(static_cast<int64_t>(in.size()));
  std::vector<DType> padded(in);
  padded.resize(static_cast<size_t>(Op::kNbInputs), DType::kFLOAT);
  std::vector<DType> out;
  for (int32_t i = 0; i < Op::kNbOutputs; ++i)
    out.push_back(Op::outputType(attrs, i, padded.data(), static_cast<int32_t>(in.size())));
  return out;
}

template <class Op>
py::list cpuReference(const py::dict& attrDict, const py::list& arrays, const std::vector<std::string>& dtypeNames) {
  const auto attrs = attrsFromDict<Op>(attrDict);
  const auto types = inputTypes<Op>(dtypeNames);
  PDK_CHECK(arrays.size() == types.size(), Op::kName, ": ", arrays.size(), " arrays but ", types.size(), " dtypes");
  const auto nbIn = static_cast<int32_t>(arrays.size());
  std::vector<py::array> inputs;
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < arrays.size(); ++i) {
    auto expected = numpyDtype(types[i]);
    py::array a = py::array::ensure(arrays[i], py::array::c_style | py::array::forcecast);
    PDK_CHECK(a && a.dtype().is(expected), Op::kName, ": input ", i, " must be a NumPy array of ",
              std::string(py::str(expected)), " for dtype ", dtypeNames[i]);
    shapes.emplace_back(a.shape(), a.shape() + a.ndim());
    inputs.push_back(a);
  }
  auto in = inputDescs<Op>(shapes, types);
  Op::checkInputs(attrs, in.data(), nbIn);
  std::vector<int64_t> upperBounds;
  std::vector<Shape<int64_t>> inShapes;
  for (const auto& s : shapes) inShapes.push_back(shapeFrom(s));
  const auto outShapes = outputShapes<Op>(attrs, inShapes, &upperBounds);
  const auto outTypes = outputTypesOf<Op>(attrs, types);
  std::vector<TensorDesc> out(Op::kNbOutputs);
  std::vector<py::array> outputs;
  std::vector<const void*> inPtrs;
  std::vector<void*> outPtrs;
  for (auto& a : inputs) inPtrs.push_back(a.data());
  inPtrs.resize(static_cast<size_t>(Op::kNbInputs), nullptr);
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) {
    std::vector<int64_t> dims = dimsOf(outShapes[i]);
    for (auto& d : dims)
      if (d == kDataDependent) d = upperBounds.empty() ? 0 : upperBounds[0];  // the op shrinks it
    out[i] = descFrom(dims, outTypes[i]);
    outputs.emplace_back(numpyDtype(outTypes[i]), dims);
    outPtrs.push_back(outputs.back().mutable_data());
  }
  {
    py::gil_scoped_release release;
    Op::cpuReference(attrs, in.data(), out.data(), inPtrs.data(), outPtrs.data());
  }
  py::list result;
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) {
    std::vector<int64_t> finalDims(out[i].dims, out[i].dims + out[i].nbDims);
    py::array a = outputs[i];
    if (finalDims != std::vector<int64_t>(a.shape(), a.shape() + a.ndim())) {
      // Data-dependent outputs: the op wrote fewer rows than the upper bound; keep the prefix.
      py::list slices;
      for (size_t k = 0; k < finalDims.size(); ++k) slices.append(py::slice(0, finalDims[k], 1));
      a = py::array(a[py::tuple(slices)]).attr("copy")();
    }
    result.append(a);
  }
  return result;
}

#if defined(PDK_WITH_CUDA)
template <class Op>
void cudaLaunch(const py::dict& attrDict, const std::vector<uintptr_t>& inPtrs,
                const std::vector<std::vector<int64_t>>& inShapes, const std::vector<std::string>& inTypes,
                const std::vector<uintptr_t>& outPtrs, const std::vector<std::vector<int64_t>>& outShapes,
                uintptr_t workspace, uintptr_t stream) {
  const auto attrs = attrsFromDict<Op>(attrDict);
  const auto types = inputTypes<Op>(inTypes);
  auto in = inputDescs<Op>(inShapes, types);
  const auto nbIn = static_cast<int32_t>(types.size());
  PDK_CHECK(inPtrs.size() == types.size(), Op::kName, ": ", inPtrs.size(), " input pointers but ", types.size(),
            " dtypes");
  const auto outTypes = outputTypesOf<Op>(attrs, types);
  PDK_CHECK(static_cast<int32_t>(outPtrs.size()) == Op::kNbOutputs &&
                static_cast<int32_t>(outShapes.size()) == Op::kNbOutputs,
            Op::kName, " has ", Op::kNbOutputs, " outputs");
  std::vector<TensorDesc> out;
  for (int32_t i = 0; i < Op::kNbOutputs; ++i) out.push_back(descFrom(outShapes[i], outTypes[i]));
  std::vector<const void*> inputs;
  std::vector<void*> outputs;
  for (auto p : inPtrs) inputs.push_back(reinterpret_cast<const void*>(p));
  inputs.resize(static_cast<size_t>(Op::kNbInputs), nullptr);
  for (auto p : outPtrs) outputs.push_back(reinterpret_cast<void*>(p));
  Op::checkInputs(attrs, in.data(), nbIn);
  py::gil_scoped_release release;
  Op::enqueue(attrs, in.data(), out.data(), inputs.data(), outputs.data(), reinterpret_cast<void*>(workspace),
              reinterpret_cast<Stream>(stream));
}
#endif

template <class Op>
class OpBinding {};

template <class Op>
void bindOp(py::module_& m, py::dict& registry) {
  using Attrs = typename Op::Attrs;
  const std::string className = std::string("Op_") + Op::kName;
  py::class_<OpBinding<Op>> cls(m, className.c_str());
  cls.def(py::init<>());
  cls.def_property_readonly("name", [](const OpBinding<Op>&) { return Op::kName; })
      .def_property_readonly("has_v2", [](const OpBinding<Op>&) { return Op::kHasV2; })
      .def_property_readonly("num_inputs", [](const OpBinding<Op>&) { return Op::kNbInputs; })
      .def_property_readonly("num_optional_inputs", [](const OpBinding<Op>&) { return kNbOptionalInputs<Op>; })
      .def_property_readonly("num_outputs", [](const OpBinding<Op>&) { return Op::kNbOutputs; })
      .def_property_readonly("num_size_tensor_outputs", [](const OpBinding<Op>&) { return Op::kNbSizeTensorOutputs; })
      .def("fields",
           [](const OpBinding<Op>&) {
             py::list out;
             for (const auto& f : fieldInfos<Op>()) {
               py::dict d;
               d["name"] = f.name;
               d["type"] = fieldTypeName(f.type);
               d["range"] = f.range;
               d["default"] = f.defaultValue;
               d["doc"] = f.doc;
               out.append(d);
             }
             return out;
           })
      .def(
          "validate", [](const OpBinding<Op>&, const py::dict& a) { return attrsToDict<Op>(attrsFromDict<Op>(a)); },
          "Checks attributes; returns them with defaults filled in.")
      .def("serialize",
           [](const OpBinding<Op>&, const py::dict& a) {
             const auto bytes = serialize<Op>(attrsFromDict<Op>(a));
             return py::bytes(bytes.data(), bytes.size());
           })
      .def("deserialize",
           [](const OpBinding<Op>&, const py::bytes& b) {
             const std::string s = b;
             return attrsToDict<Op>(deserialize<Op>(s.data(), s.size()));
           })
      .def(
          "output_shapes",
          [](const OpBinding<Op>&, const py::dict& a, const std::vector<std::vector<int64_t>>& shapes) {
            return outputShapesOf<Op>(attrsFromDict<Op>(a), shapes);
          },
          "Evaluates the shape rule on integers; -1 marks a data-dependent dimension.")
      .def(
          "output_upper_bounds",
          [](const OpBinding<Op>&, const py::dict& a, const std::vector<std::vector<int64_t>>& shapes) {
            return outputUpperBoundsOf<Op>(attrsFromDict<Op>(a), shapes);
          },
          "The shape rule with each data-dependent (-1) dimension replaced by its upper bound.")
      .def(
          "supported_dtypes",
          [](const OpBinding<Op>&, const py::dict& a, const py::object& nbInputs) {
            const int32_t n = nbInputs.is_none() ? Op::kNbInputs : nbInputs.cast<int32_t>();
            std::vector<std::vector<std::string>> out;
            for (const auto& combo : supportedCombinations<Op>(attrsFromDict<Op>(a), n)) {
              std::vector<std::string> names;
              for (DType t : combo) names.push_back(dtypeName(t));
              out.push_back(names);
            }
            return out;
          },
          py::arg("attrs"), py::arg("num_inputs") = py::none(),
          "Dtype combinations (inputs, then outputs); num_inputs leaves optional inputs out.")
      .def("output_dtypes",
           [](const OpBinding<Op>&, const py::dict& a, const std::vector<std::string>& in) {
             std::vector<std::string> names;
             for (DType t : outputTypesOf<Op>(attrsFromDict<Op>(a), inputTypes<Op>(in))) names.push_back(dtypeName(t));
             return names;
           })
      .def("workspace_size",
           [](const OpBinding<Op>&, const py::dict& a, const std::vector<std::vector<int64_t>>& shapes,
              const std::vector<std::string>& dtypes) {
             const Attrs attrs = attrsFromDict<Op>(a);
             const auto types = inputTypes<Op>(dtypes);
             auto in = inputDescs<Op>(shapes, types);
             const auto outShapes = outputShapesOf<Op>(attrs, shapes);
             const auto outTypes = outputTypesOf<Op>(attrs, types);
             std::vector<TensorDesc> out;
             for (int32_t i = 0; i < Op::kNbOutputs; ++i) out.push_back(descFrom(outShapes[i], outTypes[i]));
             return Op::workspaceSize(attrs, in.data(), static_cast<int32_t>(types.size()), out.data(), Op::kNbOutputs);
           })
      .def("check_inputs",
           [](const OpBinding<Op>&, const py::dict& a, const std::vector<std::vector<int64_t>>& shapes,
              const std::vector<std::string>& dtypes) {
             auto in = inputDescs<Op>(shapes, inputTypes<Op>(dtypes));
             Op::checkInputs(attrsFromDict<Op>(a), in.data(), static_cast<int32_t>(dtypes.size()));
           })
      .def(
          "cpu",
          [](const OpBinding<Op>&, const py::dict& a, const py::list& inputs, const std::vector<std::string>& dtypes) {
            return cpuReference<Op>(a, inputs, dtypes);
          },
          py::arg("attrs"), py::arg("inputs"), py::arg("dtypes"),
          "Runs the CPU reference; bfloat16 tensors are uint16 arrays.");
#if defined(PDK_WITH_CUDA)
  cls.def(
      "cuda",
      [](const OpBinding<Op>&, const py::dict& a, const std::vector<uintptr_t>& inPtrs,
         const std::vector<std::vector<int64_t>>& inShapes, const std::vector<std::string>& inTypes,
         const std::vector<uintptr_t>& outPtrs, const std::vector<std::vector<int64_t>>& outShapes, uintptr_t workspace,
         uintptr_t stream) { cudaLaunch<Op>(a, inPtrs, inShapes, inTypes, outPtrs, outShapes, workspace, stream); },
      py::arg("attrs"), py::arg("input_ptrs"), py::arg("input_shapes"), py::arg("input_dtypes"), py::arg("output_ptrs"),
      py::arg("output_shapes"), py::arg("workspace") = 0, py::arg("stream") = 0,
      "Launches the CUDA kernel on device pointers (asynchronous on `stream`).");
#endif
  registry[Op::kName] = cls();
}

}  // namespace python
}  // namespace pdk
