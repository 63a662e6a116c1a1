"""TensorRT version -> the Triton NGC container release that ships it (shipped fact table)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.lru_cache(maxsize=1)
def triton_table() -> list[dict[str, Any]]:
    text = resources.files("trt_pdk").joinpath("data/triton_tensorrt.json").read_text(encoding="utf-8")
    return json.loads(text)["releases"]


def triton_release_for(tensorrt_version: str) -> dict[str, Any] | None:
    """Newest container whose TensorRT matches `tensorrt_version` (exact, else same major.minor).

    Returns ``{"release", "tensorrt", "sure", "match": "exact"|"major.minor"}`` or None.
    """
    want = str(tensorrt_version).split(".")
    for depth, label in ((4, "exact"), (3, "major.minor.patch"), (2, "major.minor")):
        hits = [
            r
            for r in triton_table()
            if r["tensorrt"].split(".")[:depth] == want[:depth] and len(want) >= depth
        ]
        if hits:
            best = max(hits, key=lambda r: r["release"])
            return {**best, "match": label}
    return None
