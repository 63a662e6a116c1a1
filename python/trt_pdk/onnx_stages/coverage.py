"""TensorRT ONNX-parser operator coverage, per TensorRT version, from a shipped table.

The table (``trt_pdk/data/onnx_trt_coverage.json``) is written by us from the parser's
published ``docs/operators.md``; its ``source`` and ``uncertain`` fields say what it
reflects. Where ``import tensorrt`` works, :func:`parser_disagreements` asks the real
parser and lists where it and the table disagree.

Example::

    table = CoverageTable.load()
    version = table.resolve_version("10.16.0.7")      # -> "10.16"
    table.status("Col2Im", version)                   # -> "unsupported"
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from trt_pdk.errors import UserError

SUPPORTED, UNSUPPORTED, UNCERTAIN, UNKNOWN = "supported", "unsupported", "uncertain", "unknown"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class CoverageTable:
    """The parsed coverage table; use :meth:`load` for the shipped one."""

    data: dict[str, Any]

    @classmethod
    @functools.cache
    def load(cls) -> CoverageTable:
        text = resources.files("trt_pdk").joinpath("data/onnx_trt_coverage.json").read_text(encoding="utf-8")
        return cls(json.loads(text))

    @property
    def versions(self) -> list[str]:
        return sorted(self.data["versions"], key=_version_key)

    @property
    def source(self) -> str:
        return self.data["source"]

    def resolve_version(self, version: str | None) -> str:
        """Maps ``"10.16.0.7"``, ``"10.16"`` or ``"10"`` (newest 10.x) to a table version.

        ``None`` means the installed ``tensorrt`` when it imports, else the newest version.
        Raises UserError for a version the table does not cover.
        """
        if version is None:
            installed = installed_tensorrt_version()
            if installed is None:
                return self.versions[-1]
            version = installed
        parts = str(version).strip().split(".")
        if not all(p.isdigit() for p in parts):
            raise UserError(f"--trt {version!r} is not a version; use e.g. 10.16 or 11.1.")
        if len(parts) == 1:
            matches = [v for v in self.versions if v.split(".")[0] == parts[0]]
            if matches:
                return matches[-1]
        else:
            key = f"{int(parts[0])}.{int(parts[1])}"
            if key in self.data["versions"]:
                return key
        raise UserError(
            f"the TensorRT op coverage table has no entry for TensorRT {version}; it covers "
            f"{', '.join(self.versions)}. Pick one of those with --trt, or add the version to "
            f"trt_pdk/data/onnx_trt_coverage.json from the parser's docs/operators.md."
        )

    def opsets(self, version: str) -> tuple[int, int]:
        low, high = self.data["versions"][version]["opsets"]
        return int(low), int(high)

    def certain(self, version: str) -> bool:
        return bool(self.data["versions"][version].get("certain", False))

    def entry(self, op_type: str) -> dict[str, Any] | None:
        return self.data["ops"].get(op_type)

    def status(self, op_type: str, version: str) -> str:
        """``supported``, ``unsupported``, ``uncertain`` or ``unknown`` (not an op we list)."""
        entry = self.entry(op_type)
        if entry is None:
            return UNKNOWN
        per_version = entry.get("per_version", {})
        if version in per_version:
            return per_version[version]
        since = entry.get("since")
        if since is not None and _version_key(version) < _version_key(since):
            return UNSUPPORTED
        return entry["status"]


def installed_tensorrt_version() -> str | None:
    """``tensorrt.__version__`` when TensorRT's Python package imports, else ``None``."""
    try:
        import tensorrt
    except Exception:  # not installed, or a broken install: both mean "no parser here"
        return None
    return str(tensorrt.__version__)


def parser_disagreements(model_bytes: bytes, table: CoverageTable, version: str, ops: set[str]) -> list[dict]:
    """Asks the installed TensorRT parser about `ops`; returns where it and the table disagree.

    Raises :class:`trt_pdk.errors.Skipped` when ``tensorrt`` does not import.
    """
    from trt_pdk.errors import Skipped

    try:
        import tensorrt as trt
    except Exception as exc:
        raise Skipped(
            f"the real TensorRT parser was not asked: `import tensorrt` failed ({exc}); install "
            f"TensorRT's Python package to compare the table against it"
        ) from None
    logger = trt.Logger(trt.Logger.ERROR)
    try:
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
    except Exception as exc:  # e.g. no CUDA device: TensorRT cannot create a builder
        raise Skipped(f"the real TensorRT parser was not asked: creating it failed ({exc})") from None
    out = []
    for op in sorted(ops):
        real = bool(parser.supports_operator(op))
        ours = table.status(op, version)
        if ours in (SUPPORTED, UNSUPPORTED) and real != (ours == SUPPORTED):
            out.append({"op": op, "table": ours, "parser": SUPPORTED if real else UNSUPPORTED})
    if hasattr(parser, "supports_model_v2") and not parser.supports_model_v2(model_bytes):
        count = getattr(parser, "num_subgraphs", 0)
        bad = [
            list(parser.get_subgraph_nodes(i)) for i in range(count) if not parser.is_subgraph_supported(i)
        ]
        out.append(
            {"op": "(model)", "table": "see the per-op findings", "parser": f"unsupported node groups {bad}"}
        )
    return out
