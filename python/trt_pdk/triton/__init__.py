"""Triton stages: model repositories, the embedded server, verification and load generation.

Public names (import the submodules; tritonclient is imported only where needed):

* :mod:`trt_pdk.triton.repository`: :class:`RepositoryFromEngine`,
  :class:`RepositoryFromOnnx`, :func:`validate_repository`
* :mod:`trt_pdk.triton.config`: :class:`BatchingOptions`, ``EngineIO`` (defined in
  :mod:`trt_pdk.engine.io`, written by the engine stage),
  :func:`parse_config`, :func:`check_config`
* :mod:`trt_pdk.triton.server`: :class:`TritonServer`, :func:`server_status`
* :mod:`trt_pdk.triton.python_env`: :func:`model_python`, :func:`check_model_python`
* :mod:`trt_pdk.triton.verify`: :class:`VerifyServing`, :func:`verify_rollover`
* :mod:`trt_pdk.triton.loadgen`: :func:`closed_loop`, :func:`open_loop`
* :mod:`trt_pdk.triton.replay`: :func:`replay_traffic`, :func:`replay_closed`, :func:`replay_open`
* :mod:`trt_pdk.triton.bucketing`: :func:`plan_bucketing`, :func:`check_padding`,
  :func:`write_bucketing` (the pad -> model -> unpad ensemble)
* :mod:`trt_pdk.triton.search`: :class:`GridSearch` (quick hill climbing, exhaustive)
* :mod:`trt_pdk.triton.perf`: :class:`PerfOptions`, :func:`measure_serving`, :func:`run_perf`
* :mod:`trt_pdk.triton.perf_report`: the perf stage in the pipeline's report
"""
