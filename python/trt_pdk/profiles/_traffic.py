"""Traffic logs: one row per request (input name -> shape), or a histogram of shapes."""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trt_pdk.errors import UserError

_META = {"count", "timestamp", "time", "ts"}
# TensorRT shape bounds are int32 in every engine we build; larger dims are typos or garbage.
MAX_DIM = 2**31 - 1
# A traffic log is request shapes, not data: anything bigger is not a traffic log.
MAX_FILE_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Traffic:
    """Distinct request shapes with their frequencies.

    Attributes:
        inputs: Input names, in a fixed order.
        shapes: One tuple per distinct request: for each input its shape tuple.
        counts: How many requests had that shape (float: weights are allowed).
    """

    inputs: tuple[str, ...]
    shapes: tuple[tuple[tuple[int, ...], ...], ...]
    counts: np.ndarray

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def rank(self, name: str) -> int:
        return len(self.shapes[0][self.inputs.index(name)])


def traffic_from_rows(rows: list[tuple[dict[str, list[int]], float]], source: str = "traffic") -> Traffic:
    """Aggregates (shapes, count) rows into a :class:`Traffic`, validating them."""
    if not rows:
        raise UserError(f"{source} has no requests. Log at least one request shape.")
    names = tuple(rows[0][0])
    if not names:
        raise UserError(f"{source}: the first request has no input shapes.")
    acc: dict[tuple, float] = {}
    ranks = {n: len(rows[0][0][n]) for n in names}
    for i, (shapes, count) in enumerate(rows, 1):
        if set(shapes) != set(names):
            raise UserError(
                f"{source}, request {i}: inputs {sorted(shapes)} differ from the first request's "
                f"{sorted(names)}. Log the same inputs for every request (or plan per input with --input)."
            )
        key = []
        for n in names:
            dims = shapes[n]
            # bool is an int subclass: `true` in a JSON shape is a mistake, not the dim 1.
            if len(dims) != ranks[n] or any(type(d) is not int or d < 1 for d in dims):
                raise UserError(
                    f"{source}, request {i}: input {n!r} has shape {_show(dims)}; expected {ranks[n]} "
                    "positive integer dims like the first request."
                )
            if any(d > MAX_DIM for d in dims):
                raise UserError(
                    f"{source}, request {i}: input {n!r} has shape {_show(dims)}, with a dim above "
                    f"{MAX_DIM} (the largest TensorRT shape bound). Fix the log."
                )
            key.append(tuple(dims))
        if isinstance(count, bool) or not isinstance(count, int | float) or not (0 < count < math.inf):
            raise UserError(
                f"{source}, request {i}: count must be a positive finite number, got {_show(count)}."
            )
        acc[tuple(key)] = acc.get(tuple(key), 0.0) + float(count)
    if not math.isfinite(sum(acc.values())):
        raise UserError(f"{source}: the counts add up to more than a float holds; scale them down.")
    keys = sorted(acc)
    return Traffic(names, tuple(keys), np.array([acc[k] for k in keys], dtype=np.float64))


def _show(value: object, limit: int = 120) -> str:
    """`value` for a message, cut at `limit` characters."""
    text = json.dumps(value) if isinstance(value, list | bool) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_shape(text: str, where: str) -> list[int]:
    parts = [p for p in re.split(r"[x×,\s\[\]()]+", text.strip()) if p]
    # ASCII digits only: int() would also take "1_000", other scripts' digits and 5000-digit strings.
    if not parts or not all(re.fullmatch(r"-?[0-9]{1,12}", p) for p in parts):
        raise UserError(f"{where}: cannot read shape {_show(text)}; write it as 1x128 or [1, 128].")
    return [int(p) for p in parts]


def _timestamp(obj: dict, where: str) -> float | None:
    for key in ("timestamp", "time", "ts"):
        if key in obj and obj[key] is not None:
            value = obj[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UserError(f"{where}: {key} must be a number of seconds, got {value!r}.")
            return float(value)
    return None


def _row_from_obj(obj: object, where: str) -> tuple[dict[str, list[int]], float]:
    if not isinstance(obj, dict):
        raise UserError(f"{where}: expected an object mapping input names to shapes, got {_show(obj)}.")
    count = obj.get("count", 1)
    shapes = obj.get("shapes", {k: v for k, v in obj.items() if k not in _META})
    if not isinstance(shapes, dict):
        raise UserError(f"{where}: 'shapes' must map input names to shapes.")
    out = {}
    for name, given in shapes.items():
        dims = _parse_shape(given, where) if isinstance(given, str) else given
        if not isinstance(dims, list):
            raise UserError(f"{where}: shape of {name!r} must be a list of ints, got {_show(dims)}.")
        out[str(name)] = dims
    if isinstance(count, bool) or not isinstance(count, int | float):
        raise UserError(f"{where}: count must be a number, got {_show(count)}.")
    return out, count


@dataclass(frozen=True)
class LoggedRequest:
    """One row of a traffic log, in log order: its shapes, how many requests, when (seconds)."""

    shapes: dict[str, list[int]]
    count: float
    timestamp: float | None


def load_traffic(path: str | Path) -> Traffic:
    """Reads a traffic log as a histogram of shapes (formats: :func:`load_request_log`)."""
    rows = load_request_log(path)
    return traffic_from_rows([(r.shapes, r.count) for r in rows], str(path))


def load_request_log(path: str | Path) -> list[LoggedRequest]:
    """Reads a traffic log row by row, keeping its order and timestamps.

    Formats (chosen by suffix):
        ``.jsonl``: one JSON object per request, ``{"input_ids": [1, 128], "count": 3}`` or
        ``{"shapes": {...}, "count": 3, "timestamp": ...}``; ``count`` defaults to 1.
        ``.csv``: a header with input names (and optional ``count``/``timestamp``);
        shapes written ``1x128`` or ``[1,128]``.
        ``.json``: a histogram, a list of such objects or ``{"histogram": [...]}``.
    A timestamp (``timestamp``, ``time`` or ``ts``, seconds) is optional; the rows are
    checked as :func:`traffic_from_rows` checks them.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"Traffic file {path} is a folder; pass the .jsonl, .csv or .json log inside it.")
    if not path.is_file():
        raise UserError(
            f"Traffic file {path} does not exist. Pass a .jsonl, .csv or .json log of request shapes."
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UserError(
            f"Traffic file {path} is {size / 2**20:.0f} MiB; a log of request shapes above "
            f"{MAX_FILE_BYTES // 2**20} MiB is not one. Aggregate it into a .json histogram "
            '({"x": [1, 128], "count": N} per distinct shape).'
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"Traffic file {path} is not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}): "
            "it is binary or in another encoding. Pass a .jsonl, .csv or .json log of request shapes."
        ) from None
    rows: list[LoggedRequest] = []
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            records = list(csv.DictReader(text.splitlines()))
        except csv.Error as exc:
            raise UserError(f"{path} is not a readable CSV file ({exc}).") from None
        for i, rec in enumerate(records, 2):
            where = f"{path}:{i}"
            if None in rec or None in rec.values():
                raise UserError(f"{where}: this row has a different number of fields than the header.")
            try:
                count = float(rec.pop("count", None) or 1)
                stamp = next((rec.pop(k) for k in ("timestamp", "time", "ts") if rec.get(k)), None)
                stamp = float(stamp) if stamp is not None else None
                if stamp is not None and not math.isfinite(stamp):
                    raise ValueError(stamp)
            except ValueError:
                raise UserError(f"{where}: the count and timestamp columns must be numbers.") from None
            shapes = {k: _parse_shape(v, where) for k, v in rec.items() if k and k not in _META}
            rows.append(LoggedRequest(shapes, count, stamp))
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # ValueError: also ints past 4300 digits
            raise UserError(f"{path} is not valid JSON ({_show(str(exc))}).") from None
        if isinstance(data, dict):
            data = data.get("histogram", data.get("requests"))
        if not isinstance(data, list):
            raise UserError(f"{path}: expected a list of {{shapes, count}} or {{'histogram': [...]}}.")
        for i, o in enumerate(data):
            shapes, count = _row_from_obj(o, f"{path}[{i}]")
            rows.append(LoggedRequest(shapes, count, _timestamp(o, f"{path}[{i}]")))
    else:
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError) as exc:  # ValueError: also ints past 4300 digits
                raise UserError(
                    f"{path}:{i} is not a JSON object ({_show(str(exc))}); write one request per line."
                ) from None
            shapes, count = _row_from_obj(obj, f"{path}:{i}")
            rows.append(LoggedRequest(shapes, count, _timestamp(obj, f"{path}:{i}")))
    traffic_from_rows([(r.shapes, r.count) for r in rows], str(path))  # validates every row
    return rows
