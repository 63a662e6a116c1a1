// The `_C` extension of trt_pdk, and of every plugin package built with the kit's CMake
// package: PDK_MODULE_NAME and the generated op list differ, this file does not.
#include <pybind11/pybind11.h>

#include "common/python/bind_op.h"
#include "pdk_ops.inc"

#ifndef PDK_MODULE_NAME
#define PDK_MODULE_NAME _C
#endif
#ifndef PDK_TRT_VERSION
#define PDK_TRT_VERSION ""
#endif

namespace py = pybind11;

PYBIND11_MODULE(PDK_MODULE_NAME, m) {
  py::register_exception<pdk::Error>(m, "OpError", PyExc_ValueError);
  py::dict ops;
#define PDK_BIND(OpType) pdk::python::bindOp<OpType>(m, ops);
  PDK_FOR_EACH_OP(PDK_BIND)
#undef PDK_BIND
  m.attr("ops") = ops;

  py::dict info;
  info["version"] = PDK_VERSION;
#if defined(PDK_WITH_CUDA)
  info["cuda"] = true;
  info["cuda_version"] = PDK_CUDA_VERSION;
  info["cuda_archs"] = PDK_CUDA_ARCHS;
#else
  info["cuda"] = false;
  info["cuda_version"] = py::none();
  info["cuda_archs"] = py::none();
#endif
  const std::string trt = PDK_TRT_VERSION;
  info["tensorrt_headers_version"] = trt.empty() ? py::object(py::none()) : py::object(py::str(trt));
  info["plugin_library"] = PDK_PLUGIN_LIBRARY;
  info["namespace"] = PDK_PLUGIN_NAMESPACE;
  m.attr("_build_info") = info;
}
