"""Loading and saving ONNX models with user-facing errors (private to the ONNX stages).

Every stage reads through :func:`load_onnx` so a missing file, a truncated or corrupt
protobuf, a model ``onnx.checker`` rejects, an opset newer than onnx knows, and external
data that points outside the model's folder or is shorter than its tensors declare all
read the same way: one paragraph, exit code 2, before any stage works on the model.
:func:`save_onnx` writes atomically.

Models with weights in external data (beyond protobuf's 2 GB) load without the weights a
stage does not read: ``keep_external_above=N`` loads tensors up to N bytes (constants a
pattern compares) and leaves the others on disk, marked with where they live;
:func:`tensor_array` reads one such tensor when needed, and :func:`save_onnx` streams them
into the output's own data file. Peak memory then follows the graph, not the weights.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import external_data_helper, numpy_helper

from trt_pdk._fs import atomic_path
from trt_pdk.errors import UserError

# onnxruntime 1.31 rejects onnx's newest IR version; 10 is read by every runtime we target.
IR_VERSION = 10
_PROTOBUF_LIMIT = 2**31 - 1
# Tensors above this many bytes go to the external data file when a model is saved with one.
EXTERNAL_ABOVE = 1024
# Stages that match patterns need constants (scalars, small vectors), not weight matrices.
LOAD_AT_MOST = 1 << 20
# In memory only: the data file a tensor left on disk by load_onnx still reads from.
_SOURCE_KEY = "trt_pdk.source"
_COPY_CHUNK = 64 << 20
# Element types packed below one byte per element: bits per element.
_SUB_BYTE = {
    getattr(onnx.TensorProto, name): bits
    for name, bits in (("INT4", 4), ("UINT4", 4), ("FLOAT4E2M1", 4), ("INT2", 2), ("UINT2", 2))
    if hasattr(onnx.TensorProto, name)
}


def load_onnx(
    path: str | os.PathLike[str],
    *,
    load_external_data: bool = True,
    check: bool = True,
    keep_external_above: int | None = None,
) -> onnx.ModelProto:
    """Reads an ONNX model; raises UserError saying what is wrong with the file.

    External data must lie inside the model's folder (no absolute paths, no ``..``, no
    symlink out of it) and hold every byte its tensors declare. With `check` the model
    must pass ``onnx.checker`` (structure, not shape inference: ``trt-pdk check`` reports
    that) and import a default opset this onnx knows. With `keep_external_above`, external
    tensors larger than that many bytes stay on disk (see the module docstring).
    """
    path = Path(path)
    if not path.exists():
        parent = path.parent if str(path.parent) else Path()
        hint = "" if parent.is_dir() else f" (the folder {parent} does not exist either)"
        raise UserError(f"{path}: no such file{hint}. Check the path or export the model first.")
    if path.is_dir():
        raise UserError(f"{path} is a folder; pass the .onnx file inside it.")
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path} is empty (0 bytes): the export or copy that wrote it did not finish.")
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise UserError(
            f"{path} ({size} bytes) is not a readable ONNX model: {type(exc).__name__}: {exc}. "
            f"It may be truncated or not an ONNX file; export it again."
        ) from None
    if not model.graph.node and not model.graph.output and not model.opset_import:
        raise UserError(
            f"{path} ({size} bytes) parsed as an empty ONNX model (no graph, no opset): it is not an "
            f"ONNX file or it is truncated. Export it again."
        )
    check_external_data(model, path.parent, path)
    if check:
        check_model(model, path)
    if load_external_data and _has_external_data(model):
        if keep_external_above is None:
            external_data_helper.load_external_data_for_model(model, str(path.parent))
        else:
            _load_small_tensors(model, path.parent, keep_external_above)
    return model


def _load_small_tensors(model: onnx.ModelProto, base: Path, at_most: int) -> None:
    """Loads external tensors up to `at_most` bytes; marks the others with their data file."""
    for tensor in external_data_helper._get_all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in tensor.external_data}
        if int(info.get("length") or _nbytes(tensor)) <= at_most:
            external_data_helper.load_external_data_for_tensor(tensor, str(base))
            tensor.data_location = onnx.TensorProto.DEFAULT
            del tensor.external_data[:]
        else:
            source = tensor.external_data.add()
            source.key, source.value = _SOURCE_KEY, str((base / info["location"]).resolve())


def _nbytes(tensor: onnx.TensorProto) -> int:
    count = 1
    for d in tensor.dims:
        count *= d
    if tensor.data_type in _SUB_BYTE:
        return (count * _SUB_BYTE[tensor.data_type] + 7) // 8
    return count * onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize


def _source(tensor: onnx.TensorProto) -> tuple[str, int, int] | None:
    """(data file, offset, length) of a tensor load_onnx left on disk, else None."""
    info = {e.key: e.value for e in tensor.external_data}
    if _SOURCE_KEY not in info:
        return None
    return info[_SOURCE_KEY], int(info.get("offset") or 0), int(info.get("length") or _nbytes(tensor))


def tensor_array(tensor: onnx.TensorProto) -> np.ndarray:
    """The values of `tensor`, read from disk if :func:`load_onnx` left it there."""
    source = _source(tensor)
    if source is None:
        return numpy_helper.to_array(tensor)
    file, offset, length = source
    with open(file, "rb") as f:  # noqa: PTH123 - one read at an offset
        f.seek(offset)
        raw = f.read(length)
    loaded = onnx.TensorProto()
    loaded.CopyFrom(tensor)
    del loaded.external_data[:]
    loaded.data_location = onnx.TensorProto.DEFAULT
    loaded.raw_data = raw
    return numpy_helper.to_array(loaded)


def check_model(model: onnx.ModelProto, path: Path) -> None:
    """Raises UserError with onnx.checker's reason when it rejects the model at `path`."""
    opset = default_opset(model)
    newest = onnx.defs.onnx_opset_version()
    if opset is not None and not 1 <= opset <= newest:
        raise UserError(
            f"{path} imports ONNX opset {opset}, but the newest opset onnx {onnx.__version__} knows is "
            f"{newest}. Export it again with an opset between 7 and {newest} (18 is dynamo's own)."
        )
    try:
        # The path, not the proto: the checker then finds external data beside the model
        # without anything being loaded into memory.
        onnx.checker.check_model(str(path))
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        reason = " ".join(lines[:2]).replace("==> Context: ", "at ")
        raise UserError(
            f"{path} is not a valid ONNX model; onnx.checker says: {reason}. Export it again, or fix "
            f"the tool that wrote it."
        ) from None


def _has_external_data(model: onnx.ModelProto) -> bool:
    return any(
        t.data_location == onnx.TensorProto.EXTERNAL for t in external_data_helper._get_all_tensors(model)
    )


def check_external_data(model: onnx.ModelProto, base: Path, path: Path | str = "model") -> None:
    """Raises UserError when a tensor's external data lies outside `base` or is missing."""
    root = base.resolve()
    for tensor in external_data_helper._get_all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        target = (root / location).resolve()
        if not location or Path(location).is_absolute() or not target.is_relative_to(root):
            raise UserError(
                f"{path}: tensor {tensor.name!r} keeps its data in {location!r}, outside the model's "
                f"folder {root}. External data must be a relative path inside that folder; move the "
                f"data file next to the model and re-save it."
            )
        if not target.is_file():
            raise UserError(
                f"{path}: tensor {tensor.name!r} keeps its data in {location!r}, which does not exist "
                f"in {root}. Copy the data file next to the model."
            )
        _check_extent(tensor, info, target, path)


def _check_extent(tensor: onnx.TensorProto, info: dict[str, str], target: Path, path: Path | str) -> None:
    """Raises UserError when the data file holds fewer bytes than the tensor declares."""
    try:
        offset = int(info.get("offset") or 0)
        declared = int(info["length"]) if info.get("length") else None
    except ValueError:
        raise UserError(
            f"{path}: tensor {tensor.name!r} has a non-numeric external data offset or length "
            f"({info.get('offset')!r}, {info.get('length')!r}). Export the model again."
        ) from None
    count = 1
    for d in tensor.dims:
        count *= d
    if declared is not None:
        needed = declared
    elif tensor.data_type in _SUB_BYTE:
        needed = (count * _SUB_BYTE[tensor.data_type] + 7) // 8
    else:
        try:
            itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
        except (KeyError, ValueError, TypeError):
            return  # an unknown element type: onnx.checker names it
        if tensor.data_type == onnx.TensorProto.STRING:
            return  # variable-length: only a declared length can be checked
        needed = count * itemsize
    size = target.stat().st_size
    if offset < 0 or needed < 0 or offset + needed > size:
        raise UserError(
            f"{path}: tensor {tensor.name!r} needs bytes {offset}..{offset + needed} of {target.name}, "
            f"which holds {size} bytes: the data file is truncated or belongs to another export. Copy "
            f"the complete file next to the model, or export it again."
        )


def save_onnx(model: onnx.ModelProto, path: str | os.PathLike[str]) -> Path:
    """Writes `model` atomically to `path`.

    Inline when it fits protobuf's 2 GB; otherwise, and whenever tensors were left on disk by
    :func:`load_onnx`, tensors above :data:`EXTERNAL_ABOVE` bytes go to ``<name>.data``
    beside it, streamed chunk by chunk (`model` itself is left as it was).
    """
    path = Path(path)
    tensors = list(external_data_helper._get_all_tensors(model))
    if not any(_source(t) for t in tensors) and model.ByteSize() < _PROTOBUF_LIMIT:
        data = model.SerializeToString()
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return path
    data_name = path.name + ".data"
    with atomic_path(path.parent / data_name) as tmp_data, atomic_path(path) as tmp:
        # (tensor, its external entries if it stays on disk else whether it had a location, ...)
        moved: list[tuple[onnx.TensorProto, list[tuple[str, str]] | bool, int, int]] = []
        try:
            with tmp_data.open("wb") as out:
                for tensor in tensors:
                    source = _source(tensor)
                    if source is None and (
                        tensor.data_location == onnx.TensorProto.EXTERNAL or not tensor.HasField("raw_data")
                    ):
                        continue
                    raw = b"" if source is not None else tensor.raw_data
                    if source is None and len(raw) <= EXTERNAL_ABOVE:
                        continue
                    offset = -(-out.tell() // 4096) * 4096  # page-aligned, as onnx does
                    out.seek(offset)
                    if source is not None:
                        file, start, length = source
                        with open(file, "rb") as src:  # noqa: PTH123
                            src.seek(start)
                            _copy_range(src, out, length)
                        old = [(e.key, e.value) for e in tensor.external_data]
                    else:
                        out.write(raw)
                        # None: its data goes back into raw_data; the flag: whether it had a location
                        length, old = len(raw), tensor.HasField("data_location")
                        del raw
                        tensor.ClearField("raw_data")
                    _set_external(tensor, data_name, offset, length)
                    moved.append((tensor, old, offset, length))
            tmp.write_bytes(model.SerializeToString())
        finally:
            _restore(moved, tmp_data)
    return path


def _copy_range(src, out, length: int) -> None:
    left = length
    while left > 0:
        chunk = src.read(min(left, _COPY_CHUNK))
        if not chunk:
            raise UserError(f"{src.name} ended {left} bytes early while copying external data.")
        out.write(chunk)
        left -= len(chunk)


def _set_external(tensor: onnx.TensorProto, location: str, offset: int, length: int) -> None:
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    tensor.data_location = onnx.TensorProto.EXTERNAL


def _restore(moved: list, data_file: Path) -> None:
    """Puts the tensors :func:`save_onnx` pointed at its data file back as they were."""
    if not moved:
        return
    with data_file.open("rb") as f:
        for tensor, old, offset, length in moved:
            del tensor.external_data[:]
            if isinstance(old, list):  # still on disk where it was
                for key, value in old:
                    entry = tensor.external_data.add()
                    entry.key, entry.value = key, value
                continue
            f.seek(offset)
            tensor.raw_data = f.read(length)
            tensor.data_location = onnx.TensorProto.DEFAULT
            if not old:
                tensor.ClearField("data_location")


def default_opset(model: onnx.ModelProto) -> int | None:
    """The ``ai.onnx`` opset the model imports (``None`` when it imports none)."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return None


def subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    """The graphs a node carries as attributes (If branches, Loop and Scan bodies)."""
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == onnx.AttributeProto.GRAPHS:
            yield from attr.graphs
