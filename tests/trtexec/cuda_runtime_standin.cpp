// The three CUDA runtime calls trtexec's option parser makes (samplesCommon::getSmVersion,
// CHECK's message), answered without a GPU: device 0 with the compute capability in
// TRTEXEC_STANDIN_SM (default 90, an H100/H200), so no libcudart is linked.
#include <cuda_runtime_api.h>

#include <cstdlib>

extern "C" {

cudaError_t CUDARTAPI cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  const char* sm = std::getenv("TRTEXEC_STANDIN_SM");
  const int version = sm != nullptr ? std::atoi(sm) : 90;
  if (device != 0) return cudaErrorInvalidDevice;
  switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = version / 10; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = version % 10; return cudaSuccess;
    default: return cudaErrorInvalidValue;  // a query the parser was not known to make: fail loudly
  }
}

const char* CUDARTAPI cudaGetErrorString(cudaError_t error) {
  return error == cudaSuccess ? "no error" : "error from the CUDA runtime stand-in of the trtexec parser test";
}

}  // extern "C"
