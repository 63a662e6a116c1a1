# noqa: N999 - named like the native module it stands in for
"""A stand-in for an outside package's native module, written in NumPy.

It follows the `_C.ops[name]` binding contract so the generic harness and discovery can be
tested with a second, outside plugin. PDK_FAKE_BUG=1 makes its CPU reference wrong.
"""

from __future__ import annotations

import os
import struct

import numpy as np


class OpError(ValueError):
    pass


class Scale:
    name = "Scale"
    has_v2 = False
    num_inputs = 1
    num_outputs = 1
    num_size_tensor_outputs = 0

    def fields(self):
        return [{"name": "alpha", "type": "float32", "range": "[-8, 8]", "default": "2", "doc": "factor"}]

    def validate(self, attrs):
        unknown = set(attrs) - {"alpha"}
        if unknown:
            raise OpError(f"Scale: unknown attribute '{sorted(unknown)[0]}'; this plugin takes: alpha")
        alpha = attrs.get("alpha", 2.0)
        if isinstance(alpha, str) or not -8 <= alpha <= 8:
            raise OpError(f"Scale: attribute 'alpha' must be in [-8, 8], got {alpha}")
        return {"alpha": float(np.float32(alpha))}

    def serialize(self, attrs):
        return b"FAKE" + struct.pack("<f", self.validate(attrs)["alpha"])

    def deserialize(self, data):
        if len(data) != 8 or data[:4] != b"FAKE":
            raise OpError("Scale: corrupt serialized attributes")
        return {"alpha": struct.unpack("<f", data[4:])[0]}

    def output_shapes(self, attrs, shapes):
        return [list(shapes[0])]

    def supported_dtypes(self, attrs):
        return [["float32", "float32"]]

    def output_dtypes(self, attrs, dtypes):
        return [dtypes[0]]

    def workspace_size(self, attrs, shapes, dtypes):
        return 0

    def check_inputs(self, attrs, shapes, dtypes):
        pass

    def cpu(self, attrs, arrays, dtypes):
        factor = self.validate(attrs)["alpha"] + (0.5 if os.environ.get("PDK_FAKE_BUG") else 0.0)
        return [(arrays[0] * np.float32(factor)).astype(np.float32)]


ops = {"Scale": Scale()}
_build_info = {
    "version": "0.1",
    "cuda": False,
    "cuda_version": None,
    "cuda_archs": None,
    "tensorrt_headers_version": None,
    "plugin_library": "",
    "namespace": "pdk_fake",
}
