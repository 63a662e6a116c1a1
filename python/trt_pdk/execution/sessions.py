"""The one place an onnxruntime session is built."""

from __future__ import annotations

import os
from typing import Any

from trt_pdk.errors import UserError

GET_ONNXRUNTIME = "install it with `pip install onnxruntime`"


def onnxruntime_session(
    model: Any, *, intra_op_threads: int | None = None, external_data_dir: str | None = None
) -> Any:
    """A CPU ``InferenceSession`` for a ``ModelProto`` or a path (external data is read
    from beside the file), with onnxruntime's warnings silenced.

    `external_data_dir`: for a ``ModelProto`` whose weights stayed in external data, the
    folder their files are in (onnxruntime reads them from there).

    Raises UserError when onnxruntime is missing or rejects the model.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError(
            f"running ONNX on CPU needs onnxruntime, which is not installed; {GET_ONNXRUNTIME}."
        ) from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
    if external_data_dir is not None:
        options.add_session_config_entry(
            "session.model_external_initializers_file_folder_path", external_data_dir
        )
    source = os.fspath(model) if isinstance(model, str | os.PathLike) else model.SerializeToString()
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        where = os.fspath(model) if isinstance(model, str | os.PathLike) else "the model"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"onnxruntime cannot load {where}: {first}. Check it with `trt-pdk check`; a node onnxruntime "
            f"lacks (or a plugin without an ONNX body) cannot run on CPU."
        ) from None


def onnxruntime_version() -> str:
    import onnxruntime as ort

    return ort.__version__
