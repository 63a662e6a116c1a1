# pdk_add_python_module(<target> NAMESPACE <ns> INSTALL_DIR <package dir>
#                       [VERSION <v>] [LIBRARY_BASENAME <base>])
#
# Builds the `_C` extension of a plugin package from the generic module.cpp and every op
# declared with pdk_add_plugin(): fields, validation, serialization, shape rule, CPU
# reference and (with CUDA) the kernel launchers, plus the package's build facts.
# The kit and outside plugin packages both call it.
include_guard(GLOBAL)

if(NOT DEFINED PDK_PYTHON_MODULE_SOURCE_DIR)
  set(PDK_PYTHON_MODULE_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/../plugins/common/python")
endif()

function(pdk_add_python_module target)
  cmake_parse_arguments(ARG "" "NAMESPACE;INSTALL_DIR;VERSION;LIBRARY_BASENAME" "" ${ARGN})
  if(NOT ARG_NAMESPACE OR NOT ARG_INSTALL_DIR)
    message(FATAL_ERROR "pdk_add_python_module(${target}): NAMESPACE and INSTALL_DIR are required")
  endif()
  if(NOT ARG_VERSION)
    set(ARG_VERSION "${PROJECT_VERSION}")
  endif()
  find_package(Python COMPONENTS Interpreter Development.Module REQUIRED)
  find_package(pybind11 CONFIG REQUIRED)

  get_property(op_targets GLOBAL PROPERTY PDK_OP_TARGETS)
  pybind11_add_module(${target} MODULE "${PDK_PYTHON_MODULE_SOURCE_DIR}/module.cpp")
  target_include_directories(${target} PRIVATE ${PDK_GENERATED_DIR})
  # Linking the op OBJECT libraries brings their objects and their include folders.
  target_link_libraries(${target} PRIVATE pdk_core ${op_targets})
  set(plugin_library "")
  if(PDK_WITH_TENSORRT AND ARG_LIBRARY_BASENAME)
    set(plugin_library "lib${ARG_LIBRARY_BASENAME}_trt${PDK_TRT_MAJOR}.so")
  endif()
  # A list ("80-real;90") would split the definition in two: the module reports "80-real,90".
  string(REPLACE ";" "," cuda_archs "${CMAKE_CUDA_ARCHITECTURES}")
  target_compile_definitions(${target} PRIVATE
    PDK_MODULE_NAME=${target}
    PDK_VERSION="${ARG_VERSION}"
    PDK_TRT_VERSION="${PDK_TRT_VERSION}"
    PDK_PLUGIN_LIBRARY="${plugin_library}"
    PDK_PLUGIN_NAMESPACE="${ARG_NAMESPACE}"
    PDK_CUDA_VERSION="${CMAKE_CUDA_COMPILER_VERSION}"
    PDK_CUDA_ARCHS="${cuda_archs}")
  install(TARGETS ${target} LIBRARY DESTINATION ${ARG_INSTALL_DIR})
endfunction()
