"""Moved to :mod:`trt_pdk.patterns` (op folders import it downward, without the ONNX
stages); kept so plugin packages generated before the move still import."""

from trt_pdk.patterns import *  # noqa: F403
from trt_pdk.patterns import __all__  # noqa: F401
