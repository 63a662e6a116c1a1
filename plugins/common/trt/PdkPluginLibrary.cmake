# pdk_add_plugin_library(<target> NAMESPACE <ns> LIBRARY_BASENAME <base> [LIBRARY_NAME <name>]
#                        [OPS_DIR <dir with pdk_ops.inc>])
#
# Builds the TensorRT plugin library lib<base>_trt<major>.so from every op declared with
# pdk_add_plugin() (global property PDK_OP_TARGETS) and the generic adapters' library.cpp.
# Creators register under <ns>. The library never links libnvinfer (TensorRT is found at
# run time), only the static CUDA runtime, dl and pthread. Needs PDK_TRT_INCLUDE_DIR,
# PDK_TRT_VERSION and PDK_TRT_MAJOR (PdkTensorRT.cmake) and pdk_generate_op_list().
# Outside plugin packages call the same function; PDK_TRT_ADAPTER_SOURCE_DIR points at the
# folder holding library.cpp (by default the folder of this file).
include_guard(GLOBAL)

if(NOT DEFINED PDK_TRT_ADAPTER_SOURCE_DIR)
  set(PDK_TRT_ADAPTER_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}")
endif()

function(pdk_add_plugin_library target)
  cmake_parse_arguments(ARG "" "NAMESPACE;LIBRARY_BASENAME;LIBRARY_NAME;OPS_DIR" "" ${ARGN})
  if(NOT DEFINED ARG_NAMESPACE OR NOT ARG_LIBRARY_BASENAME)
    message(FATAL_ERROR "pdk_add_plugin_library(${target}): NAMESPACE and LIBRARY_BASENAME are required")
  endif()
  if(NOT ARG_LIBRARY_NAME)
    set(ARG_LIBRARY_NAME "${ARG_NAMESPACE}")
  endif()
  if(NOT ARG_OPS_DIR)
    set(ARG_OPS_DIR "${PDK_GENERATED_DIR}")
  endif()
  if(NOT EXISTS "${ARG_OPS_DIR}/pdk_ops.inc")
    message(FATAL_ERROR "pdk_add_plugin_library(${target}): ${ARG_OPS_DIR}/pdk_ops.inc does not exist; "
      "call pdk_generate_op_list() first or pass OPS_DIR")
  endif()
  if(NOT PDK_TRT_INCLUDE_DIR OR NOT PDK_TRT_MAJOR)
    message(FATAL_ERROR "pdk_add_plugin_library(${target}): TensorRT headers were not located (PDK_TRT_INCLUDE_DIR)")
  endif()
  get_property(op_targets GLOBAL PROPERTY PDK_OP_TARGETS)
  if(NOT op_targets)
    message(FATAL_ERROR "pdk_add_plugin_library(${target}): no ops; declare them with pdk_add_plugin() first")
  endif()

  find_package(Threads REQUIRED)
  # The kit version the library was built with: this project's (the kit itself) or the
  # installed kit's (trt_pdkConfig.cmake), for an outside plugin package.
  set(kit_version "${trt_pdk_VERSION}")
  set(cuda_archs "")
  if(PDK_WITH_CUDA)
    # Joined with ',': a ';' list would split the compile definition in two.
    string(REPLACE ";" "," cuda_archs "${CMAKE_CUDA_ARCHITECTURES}")
  endif()
  set(definitions
    PDK_PLUGIN_NAMESPACE="${ARG_NAMESPACE}"
    PDK_LIBRARY_NAME="${ARG_LIBRARY_NAME}"
    PDK_LIBRARY_BASENAME="${ARG_LIBRARY_BASENAME}"
    PDK_TRT_BUILT_VERSION="${PDK_TRT_VERSION}"
    PDK_TRT_BUILT_MAJOR=${PDK_TRT_MAJOR})

  # The library's facts (common/trt/library_info.h), computed from the same op list by a
  # host program and compiled into library.cpp as the ELF section .trt_pdk_info.
  set(info_dir "${CMAKE_CURRENT_BINARY_DIR}/${target}_info")
  add_executable(${target}_info_gen "${PDK_TRT_ADAPTER_SOURCE_DIR}/library_info_gen.cpp")
  target_link_libraries(${target}_info_gen PRIVATE ${op_targets})
  target_include_directories(${target}_info_gen PRIVATE "${ARG_OPS_DIR}")
  target_include_directories(${target}_info_gen SYSTEM PRIVATE "${PDK_TRT_INCLUDE_DIR}")
  target_compile_definitions(${target}_info_gen PRIVATE ${definitions}
    PDK_KIT_VERSION="${kit_version}" PDK_CUDA_ARCHS="${cuda_archs}")
  target_link_libraries(${target}_info_gen PRIVATE CUDA::cudart_static ${CMAKE_DL_LIBS} Threads::Threads)
  add_custom_command(OUTPUT "${info_dir}/pdk_library_info.inc"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${info_dir}"
    COMMAND $<TARGET_FILE:${target}_info_gen> "${info_dir}/pdk_library_info.inc"
    DEPENDS ${target}_info_gen
    COMMENT "Writing the facts of ${target} (.trt_pdk_info)"
    VERBATIM)
  add_custom_target(${target}_info DEPENDS "${info_dir}/pdk_library_info.inc")

  add_library(${target} SHARED "${PDK_TRT_ADAPTER_SOURCE_DIR}/library.cpp")
  add_dependencies(${target} ${target}_info)
  set_source_files_properties("${PDK_TRT_ADAPTER_SOURCE_DIR}/library.cpp" TARGET_DIRECTORY ${target}
    PROPERTIES OBJECT_DEPENDS "${info_dir}/pdk_library_info.inc")
  target_include_directories(${target} PRIVATE "${info_dir}")
  # Linking the op OBJECT libraries directly puts their objects into this library.
  target_link_libraries(${target} PRIVATE ${op_targets} CUDA::cudart_static ${CMAKE_DL_LIBS} Threads::Threads)
  target_include_directories(${target} PRIVATE "${ARG_OPS_DIR}")
  target_include_directories(${target} SYSTEM PRIVATE "${PDK_TRT_INCLUDE_DIR}")
  target_compile_definitions(${target} PRIVATE ${definitions})
  # --no-undefined proves at link time that nothing needs libnvinfer; nodelete keeps the
  # creators mapped while TensorRT's registry may still call them.
  target_link_options(${target} PRIVATE "LINKER:--no-undefined" "LINKER:-z,nodelete")
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME "${ARG_LIBRARY_BASENAME}_trt${PDK_TRT_MAJOR}"
    CXX_VISIBILITY_PRESET hidden
    CUDA_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
endfunction()
