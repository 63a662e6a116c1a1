"""Triton python-backend model: the pad and unpad steps of a shape-bucketing ensemble.

trt-pdk copies this file into ``<model>_pad/1/model.py`` and ``<model>_unpad/1/model.py``.
The ensemble ``<model>_bucketed`` is pad -> ``<model>`` -> unpad: the pad step zero-pads
each request along the bucketed axes up to its bucket edge, so requests of one bucket
have equal shapes and the model's dynamic batcher merges them; the unpad step cuts
every output back to the request's own length. Its inputs accept ragged batches
(``allow_ragged_batch``), so each request is handled on its own.

Config parameter ``bucketing`` (JSON):
  role     "pad" or "unpad"
  axes     [{"input", "axis", "edges", "length", "tied": [[input, axis], ...],
             "outputs": {output: axis}}]: axis counts the batch dim; ``length`` names the
           tensor carrying each request's original size along that axis

This file runs inside Triton's python stub: it may import only numpy and Triton's
``triton_python_backend_utils``.
"""

from __future__ import annotations

import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        spec = json.loads(config["parameters"]["bucketing"]["string_value"])
        self.role = spec["role"]
        self.axes = spec["axes"]
        self.input_names = [i["name"] for i in config["input"]]
        self.output_names = [o["name"] for o in config["output"]]

    def execute(self, requests):
        step = self._pad if self.role == "pad" else self._unpad
        responses = []
        for request in requests:
            try:
                responses.append(pb_utils.InferenceResponse(output_tensors=step(request)))
            except Exception as exc:  # one bad request must not fail the others
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{self.role}: {exc}"))
                )
        return responses

    def _pad(self, request):
        tensors = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.input_names}
        extra = []
        for ax in self.axes:
            size = tensors[ax["input"]].shape[ax["axis"]]
            edge = next((e for e in ax["edges"] if e >= size), size)  # past the last edge: as is
            for name, axis in [[ax["input"], ax["axis"]], *ax.get("tied", [])]:
                arr = tensors[name]
                if arr.shape[axis] < edge:
                    widths = [(0, 0)] * arr.ndim
                    widths[axis] = (0, edge - arr.shape[axis])
                    tensors[name] = np.pad(arr, widths)
            batch = tensors[ax["input"]].shape[0]
            extra.append(pb_utils.Tensor(ax["length"], np.full((batch, 1), size, dtype=np.int32)))
        return [pb_utils.Tensor(n, np.ascontiguousarray(tensors[n])) for n in self.input_names] + extra

    def _unpad(self, request):
        outputs = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.output_names}
        for ax in self.axes:
            size = int(pb_utils.get_input_tensor_by_name(request, ax["length"]).as_numpy().reshape(-1)[0])
            for name, axis in ax["outputs"].items():
                index = [slice(None)] * outputs[name].ndim
                index[axis] = slice(0, size)
                outputs[name] = outputs[name][tuple(index)]
        return [pb_utils.Tensor(n, np.ascontiguousarray(outputs[n])) for n in self.output_names]
