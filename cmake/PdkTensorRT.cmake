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
