"""Triton python-backend model: the CPU reference of a rewritten graph, run by onnxruntime.

trt-pdk copies this file into ``<model>/<version>/model.py`` next to ``model.onnx``.
The ONNX graph already carries any plugin as an ONNX local function, so plain
onnxruntime runs it. Tensor names, dtypes and the batching config match the TensorRT
model of the same graph, so clients do not change when the engine replaces it.

Batching pays off here because ``execute`` runs every group of equal-shape requests
Triton hands it as one onnxruntime batch: a weight-bound graph reads its weights once
per batch instead of once per request, and the server's per-execution cost is paid once.

Shape bucketing happens here too. Triton's dynamic batcher merges only requests whose
non-batch dims are equal, unless the input allows ragged batches
(``allow_ragged_batch``): then it hands ``execute`` requests of any shape, and this model
zero-pads each one along the bucketed axes up to its bucket edge, runs each bucket as
one batch and cuts every output back to the request's own length. trt-pdk turns an axis
on only after checking on this graph that padding it leaves the unpadded outputs
unchanged (``trt_pdk.triton.bucketing.check_padding``).

Config parameters (all optional):
  onnx_file           file name in the version folder (default ``model.onnx``)
  intra_op_threads    onnxruntime intra-op threads per instance (default 1: instances,
                      not threads, are how this backend scales, and the server shares
                      the cores with its clients)
  bucketing           JSON ``{"axes": [{"input", "axis", "edges", "tied": [[input, axis]],
                      "outputs": {output: axis}}]}``; axes count the batch dim. Without it,
                      requests of unequal shapes (ragged batches) run in exact-shape groups.

The answers go back together, as ``execute``'s return value. Sending each bucket's
answers through the response senders as soon as it has run was measured too: one IPC
message per response cost 15-30 % of the short requests' throughput and did not lower the
mix's p99 (docs/serving.md).

This file runs inside Triton's python stub (its own interpreter, PYTHONPATH ignored):
it may import only numpy, onnxruntime and Triton's ``triton_python_backend_utils``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


def bucket_request(tensors: dict, axes: list) -> tuple[dict, list]:
    """Zero-pads one request's inputs up to the bucket edges; returns them and the cuts to undo it.

    A cut is ``(outputs {name: axis}, length)``: the request's own size along a padded axis.
    """
    cuts = []
    for ax in axes:
        size = tensors[ax["input"]].shape[ax["axis"]]
        edge = next((e for e in ax["edges"] if e >= size), size)  # past the last edge: as is
        if edge == size:
            continue
        for name, axis in [[ax["input"], ax["axis"]], *ax.get("tied", [])]:
            arr = tensors[name]
            widths = [(0, 0)] * arr.ndim
            widths[axis] = (0, edge - arr.shape[axis])
            tensors[name] = np.pad(arr, widths)
        cuts.append((ax.get("outputs", {}), size))
    return tensors, cuts


def unbucket_outputs(outputs: dict, cuts: list) -> dict:
    for targets, size in cuts:
        for name, axis in targets.items():
            index = [slice(None)] * outputs[name].ndim
            index[axis] = slice(0, size)
            outputs[name] = outputs[name][tuple(index)]
    return outputs


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
        self.axes = json.loads(params["bucketing"])["axes"] if params.get("bucketing") else []

    def execute(self, requests):
        responses = [None] * len(requests)
        groups: dict[tuple, list] = {}
        for i, request in enumerate(requests):
            tensors = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.input_names}
            try:
                tensors, cuts = bucket_request(tensors, self.axes)
            except Exception as exc:  # one bad request must not fail the others
                error = pb_utils.TritonError(f"padding failed: {exc}")
                responses[i] = pb_utils.InferenceResponse(error=error)
                continue
            key = tuple(tensors[n].shape[1:] for n in self.input_names) if self.batched else (i,)
            groups.setdefault(key, []).append((i, tensors, cuts))
        for members in groups.values():
            self._run_group(members, responses)
        return responses

    def _run_group(self, members: list, responses: list) -> None:
        """One onnxruntime run for requests of equal (padded) shapes, split back per request."""
        try:
            if len(members) == 1:
                feeds = members[0][1]
            else:
                feeds = {n: np.concatenate([m[1][n] for m in members], axis=0) for n in self.input_names}
            outputs = self.session.run(self.output_names, feeds)
        except Exception as exc:  # one bad group must not fail the others silently
            error = pb_utils.TritonError(f"onnxruntime failed on a batch of {len(members)}: {exc}")
            for i, _, _ in members:
                responses[i] = pb_utils.InferenceResponse(error=error)
            return
        start = 0
        for i, tensors, cuts in members:
            rows = tensors[self.input_names[0]].shape[0] if self.batched else None
            mine = {
                name: out[start : start + rows] if self.batched else out
                for name, out in zip(self.output_names, outputs, strict=True)
            }
            start += rows or 0
            mine = unbucket_outputs(mine, cuts)
            tensors_out = [pb_utils.Tensor(n, np.ascontiguousarray(mine[n])) for n in self.output_names]
            responses[i] = pb_utils.InferenceResponse(output_tensors=tensors_out)

    def finalize(self):
        self.session = None
