# Installs the op-core headers, the adapters' sources and the CMake package inside the
# Python package, so outside plugin packages build against the installed kit:
# find_package(trt_pdk CONFIG) with trt_pdk_DIR from `python -m trt_pdk --cmake-dir`.
include_guard(GLOBAL)
install(DIRECTORY plugins/common/ DESTINATION ${PDK_PY_INSTALL_DIR}/include/common
  FILES_MATCHING PATTERN "*.h" PATTERN "*.cpp" PATTERN "*.cmake" PATTERN "CMakeLists.txt" EXCLUDE)
configure_file(cmake/trt_pdkConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/trt_pdkConfig.cmake" @ONLY)
include(CMakePackageConfigHelpers)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/trt_pdkConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
    cmake/PdkPlugin.cmake cmake/PdkOptions.cmake cmake/PdkTensorRT.cmake cmake/PdkPythonModule.cmake
    "${CMAKE_CURRENT_BINARY_DIR}/trt_pdkConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/trt_pdkConfigVersion.cmake"
  DESTINATION ${PDK_PY_INSTALL_DIR}/cmake)
# The plugin-package template that `trt-pdk new` renders (python/trt_pdk/scaffold.py).
install(DIRECTORY cookiecutter/ DESTINATION ${PDK_PY_INSTALL_DIR}/cookiecutter
  PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE PATTERN ".*_cache" EXCLUDE)
