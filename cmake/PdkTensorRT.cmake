# Locates TensorRT's headers (never its libraries: the plugin library resolves TensorRT
# at run time). Sets PDK_TRT_INCLUDE_DIR, PDK_TRT_VERSION (x.y.z), PDK_TRT_MAJOR.
# Looked up in: -DTensorRT_ROOT, $ENV{TensorRT_ROOT}, then system and NGC locations.
include_guard(GLOBAL)

function(pdk_find_tensorrt_headers)
  set(hints "")
  foreach(root IN ITEMS "${TensorRT_ROOT}" "$ENV{TensorRT_ROOT}")
    if(root)
      list(APPEND hints "${root}/include" "${root}")
    endif()
  endforeach()
  find_path(PDK_TRT_INCLUDE_DIR NvInferVersion.h
    HINTS ${hints}
    PATHS /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu /usr/local/tensorrt/include
          /opt/tensorrt/include /usr/include /usr/local/include
    NO_CACHE)
  if(NOT PDK_TRT_INCLUDE_DIR)
    set(PDK_TRT_FOUND OFF PARENT_SCOPE)
    return()
  endif()
  file(STRINGS "${PDK_TRT_INCLUDE_DIR}/NvInferVersion.h" lines
       REGEX "^#define (TRT_(MAJOR|MINOR|PATCH)_ENTERPRISE|NV_TENSORRT_(MAJOR|MINOR|PATCH)) +[0-9]+")
  foreach(part MAJOR MINOR PATCH)
    set(value "")
    foreach(line IN LISTS lines)
      if(line MATCHES "#define (TRT_${part}_ENTERPRISE|NV_TENSORRT_${part}) +([0-9]+)")
        set(value "${CMAKE_MATCH_2}")
        break()
      endif()
    endforeach()
    if(value STREQUAL "")
      message(FATAL_ERROR "Found ${PDK_TRT_INCLUDE_DIR}/NvInferVersion.h but could not read the TensorRT ${part} version from it.")
    endif()
    set(${part} "${value}")
  endforeach()
  set(PDK_TRT_FOUND ON PARENT_SCOPE)
  set(PDK_TRT_INCLUDE_DIR "${PDK_TRT_INCLUDE_DIR}" PARENT_SCOPE)
  set(PDK_TRT_VERSION "${MAJOR}.${MINOR}.${PATCH}" PARENT_SCOPE)
  set(PDK_TRT_MAJOR "${MAJOR}" PARENT_SCOPE)
endfunction()

# pdk_add_plugin_libraries(<base> NAMESPACE <ns> INSTALL_DIR <dir>)
#
# The plugin libraries of a package, lib<base>_trt<major>.so in <dir>: one for each TensorRT
# header folder in PDK_TENSORRT_ROOTS (a list, one folder per major, e.g.
# "/opt/tensorrt-10.16;/opt/tensorrt-11.1": one wheel for users of either major), or else one
# for the headers pdk_resolve_tensorrt() found (none without them). The op objects are
# compiled once; only the adapters are compiled per major.
function(pdk_add_plugin_libraries base)
  cmake_parse_arguments(ARG "" "NAMESPACE;INSTALL_DIR" "" ${ARGN})
  if(NOT PDK_TENSORRT_ROOTS)
    if(PDK_WITH_TENSORRT)
      pdk_add_plugin_library(${base} NAMESPACE ${ARG_NAMESPACE} LIBRARY_BASENAME ${base})
      install(TARGETS ${base} LIBRARY DESTINATION ${ARG_INSTALL_DIR})
    endif()
    return()
  endif()
  if(NOT PDK_WITH_CUDA)
    message(FATAL_ERROR "PDK_TENSORRT_ROOTS is set, but the plugin libraries need CUDA and ${PDK_CUDA_REASON}.")
  endif()
  set(majors "")
  foreach(root IN LISTS PDK_TENSORRT_ROOTS)
    unset(PDK_TRT_INCLUDE_DIR)  # find_path() skips the search while the variable is set
    set(TensorRT_ROOT "${root}")
    pdk_find_tensorrt_headers()
    set(found "")
    if(PDK_TRT_FOUND)
      file(REAL_PATH "${PDK_TRT_INCLUDE_DIR}/.." found)
    endif()
    file(REAL_PATH "${root}" wanted)
    if(NOT PDK_TRT_FOUND OR NOT (found STREQUAL wanted OR PDK_TRT_INCLUDE_DIR STREQUAL wanted))
      message(FATAL_ERROR "PDK_TENSORRT_ROOTS: ${root} has no include/NvInferVersion.h; give folders "
        "holding TensorRT's include/, one per TensorRT major, separated by ';'.")
    endif()
    if(PDK_TRT_MAJOR IN_LIST majors)
      message(FATAL_ERROR "PDK_TENSORRT_ROOTS names two folders of TensorRT ${PDK_TRT_MAJOR}; "
        "a package has one plugin library per TensorRT major, give one folder per major.")
    endif()
    list(APPEND majors ${PDK_TRT_MAJOR})
    pdk_add_plugin_library(${base}_trt${PDK_TRT_MAJOR} NAMESPACE ${ARG_NAMESPACE} LIBRARY_BASENAME ${base})
    install(TARGETS ${base}_trt${PDK_TRT_MAJOR} LIBRARY DESTINATION ${ARG_INSTALL_DIR})
    message(STATUS "  TensorRT lib:   lib${base}_trt${PDK_TRT_MAJOR}.so (TensorRT ${PDK_TRT_VERSION} headers in ${PDK_TRT_INCLUDE_DIR})")
  endforeach()
endfunction()
