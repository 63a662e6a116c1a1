"""The main job: PyTorch model -> ONNX -> plugins -> profiles -> engine -> Triton -> measured report.

>>> from trt_pdk.pipeline import load_config, RunPipeline
>>> run_dir = RunPipeline(load_config("pipeline/demo.yaml"))()   # runs/demo/report.json

Each stage calls the kit's own stage objects; see :mod:`trt_pdk.pipeline.stages`.
Importing this package imports neither torch nor tensorrt.
"""

from __future__ import annotations

from trt_pdk.pipeline.config import PipelineConfig, load_config
from trt_pdk.pipeline.runner import RunPipeline, run_pipeline, stage_keys

__all__ = ["PipelineConfig", "RunPipeline", "load_config", "run_pipeline", "stage_keys"]
