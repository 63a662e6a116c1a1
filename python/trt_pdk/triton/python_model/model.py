"""Triton python-backend model: the CPU reference of a rewritten graph, run by onnxruntime.

trt-pdk copies this file into ``<model>/<version>/model.py`` next to ``model.onnx``.
The ONNX graph already carries any plugin as an ONNX local function, so plain
onnxruntime runs it. Tensor names, dtypes and the batching config match the TensorRT
model of the same graph, so clients do not change when the engine replaces it.

Batching pays off here because ``execute`` concatenates every request Triton hands it
into one batch and runs onnxruntime once: a weight-bound graph reads its weights once
per batch instead of once per request.

Config parameters (all optional):
  onnx_file           file name in the version folder (default ``model.onnx``)
  intra_op_threads    onnxruntime intra-op threads per instance (default 1: instances,
                      not threads, are how this backend scales, and the server shares
                      the cores with its clients)

This file runs inside Triton's python stub (its own interpreter, PYTHONPATH ignored):
it may import only numpy, onnxruntime and Triton's ``triton_python_backend_utils``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        folder = Path(args["model_repository"]) / args["model_version"]
        path = str(folder / (params.get("onnx_file") or "model.onnx"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(params.get("intra_op_threads") or 1)
        options.inter_op_num_threads = 1
        # With more than one intra-op thread, idle workers must sleep, not spin: the
        # server shares the cores with its clients and with the other instances.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_names = [i["name"] for i in config["input"]]
        self.output_names = [o["name"] for o in config["output"]]
        # With max_batch_size > 0 every tensor carries a leading batch dim that we may
        # concatenate along; with 0 each request must run on its own.
        self.batched = int(config.get("max_batch_size", 0)) > 0

    def execute(self, requests):
        if not self.batched or len(requests) == 1:
            return [self._run_one(r) for r in requests]
        feeds, sizes = {}, []
        try:
            for name in self.input_names:
                parts = [pb_utils.get_input_tensor_by_name(r, name).as_numpy() for r in requests]
                feeds[name] = np.concatenate(parts, axis=0)
                sizes = [p.shape[0] for p in parts]
            outputs = self.session.run(self.output_names, feeds)
        except Exception as exc:  # one bad request must not fail the others silently
            error = pb_utils.TritonError(f"onnxruntime failed on a batch of {len(requests)}: {exc}")
            return [pb_utils.InferenceResponse(error=error) for _ in requests]
        bounds = np.cumsum([0, *sizes])
        responses = []
        for i in range(len(requests)):
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(out[bounds[i] : bounds[i + 1]]))
                for name, out in zip(self.output_names, outputs, strict=False)
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses

    def _run_one(self, request):
        feeds = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.input_names}
        try:
            outputs = self.session.run(self.output_names, feeds)
        except Exception as exc:
            return pb_utils.InferenceResponse(error=pb_utils.TritonError(f"onnxruntime failed: {exc}"))
        tensors = [
            pb_utils.Tensor(n, np.ascontiguousarray(o))
            for n, o in zip(self.output_names, outputs, strict=False)
        ]
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def finalize(self):
        self.session = None
