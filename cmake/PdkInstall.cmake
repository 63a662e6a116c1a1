# Installs the op-core headers and the CMake helpers so outside plugin packages build
# against the installed kit (find_package(trt_pdk CONFIG)).
include_guard(GLOBAL)
if(NOT DEFINED PDK_PY_INSTALL_DIR)
  set(PDK_PY_INSTALL_DIR trt_pdk)
endif()
install(DIRECTORY plugins/common/ DESTINATION ${PDK_PY_INSTALL_DIR}/include/common
  FILES_MATCHING PATTERN "*.h" PATTERN "*.cpp" PATTERN "*.cmake" PATTERN "CMakeLists.txt" EXCLUDE)
install(FILES cmake/PdkPlugin.cmake cmake/PdkOptions.cmake cmake/PdkTensorRT.cmake
  DESTINATION ${PDK_PY_INSTALL_DIR}/cmake)
