"""Traffic logs: one row per request (input name -> shape), or a histogram of shapes."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trt_pdk.errors import UserError

_META = {"count", "timestamp", "time", "ts"}


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
            if len(dims) != ranks[n] or any((not isinstance(d, int)) or d < 1 for d in dims):
                raise UserError(
                    f"{source}, request {i}: input {n!r} has shape {list(dims)}; expected {ranks[n]} "
                    "positive integer dims like the first request."
                )
            key.append(tuple(dims))
        if not (count > 0):
            raise UserError(f"{source}, request {i}: count must be positive, got {count}.")
        acc[tuple(key)] = acc.get(tuple(key), 0.0) + float(count)
    keys = sorted(acc)
    return Traffic(names, tuple(keys), np.array([acc[k] for k in keys], dtype=np.float64))


def _parse_shape(text: str, where: str) -> list[int]:
    parts = [p for p in re.split(r"[x×,\s\[\]()]+", text.strip()) if p]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise UserError(f"{where}: cannot read shape {text!r}; write it as 1x128 or [1, 128].") from None


def _row_from_obj(obj: object, where: str) -> tuple[dict[str, list[int]], float]:
    if not isinstance(obj, dict):
        raise UserError(f"{where}: expected an object mapping input names to shapes, got {obj!r}.")
    count = obj.get("count", 1)
    shapes = obj.get("shapes", {k: v for k, v in obj.items() if k not in _META})
    if not isinstance(shapes, dict):
        raise UserError(f"{where}: 'shapes' must map input names to shapes.")
    out = {}
    for name, given in shapes.items():
        dims = _parse_shape(given, where) if isinstance(given, str) else given
        if not isinstance(dims, list):
            raise UserError(f"{where}: shape of {name!r} must be a list of ints, got {dims!r}.")
        out[str(name)] = dims
    if not isinstance(count, (int, float)):
        raise UserError(f"{where}: count must be a number, got {count!r}.")
    return out, count


def load_traffic(path: str | Path) -> Traffic:
    """Reads a traffic log.

    Formats (chosen by suffix):
        ``.jsonl``: one JSON object per request, ``{"input_ids": [1, 128], "count": 3}`` or
        ``{"shapes": {...}, "count": 3, "timestamp": ...}``; ``count`` defaults to 1.
        ``.csv``: a header with input names (and optional ``count``/``timestamp``);
        shapes written ``1x128`` or ``[1,128]``.
        ``.json``: a histogram, a list of such objects or ``{"histogram": [...]}``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"Traffic file {path} does not exist. Pass a .jsonl, .csv or .json log of request shapes."
        )
    text = path.read_text(encoding="utf-8")
    rows: list[tuple[dict[str, list[int]], float]] = []
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        for i, rec in enumerate(reader, 2):
            where = f"{path}:{i}"
            try:
                count = float(rec.pop("count", None) or 1)
            except ValueError:
                raise UserError(f"{where}: the count column must be a number.") from None
            shapes = {k: _parse_shape(v, where) for k, v in rec.items() if k and k not in _META}
            rows.append((shapes, count))
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} is not valid JSON ({exc}).") from None
        if isinstance(data, dict):
            data = data.get("histogram", data.get("requests"))
        if not isinstance(data, list):
            raise UserError(f"{path}: expected a list of {{shapes, count}} or {{'histogram': [...]}}.")
        rows = [_row_from_obj(o, f"{path}[{i}]") for i, o in enumerate(data)]
    else:
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    f"{path}:{i} is not a JSON object ({exc}); write one request per line."
                ) from None
            rows.append(_row_from_obj(obj, f"{path}:{i}"))
    return traffic_from_rows(rows, str(path))
