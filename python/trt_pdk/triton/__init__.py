"""Triton stages: model repositories, the embedded server, verification and load generation.

Public names (import the submodules; tritonclient is imported only where needed):

* :mod:`trt_pdk.triton.repository`: :class:`RepositoryFromEngine`,
  :class:`RepositoryFromOnnx`, :func:`validate_repository`
* :mod:`trt_pdk.triton.config`: :class:`BatchingOptions`, ``EngineIO`` (defined in
  :mod:`trt_pdk.engine.io`, written by the engine stage),
  :func:`parse_config`, :func:`check_config`
* :mod:`trt_pdk.triton.server`: :class:`TritonServer`, :func:`server_status`
* :mod:`trt_pdk.triton.verify`: :class:`VerifyServing`, :func:`verify_rollover`
* :mod:`trt_pdk.triton.loadgen`: :func:`closed_loop`, :func:`open_loop`
* :mod:`trt_pdk.triton.perf`: :class:`ProfileServing` (one variable at a time)
"""
