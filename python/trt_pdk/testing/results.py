"""What a harness check returns: its status, errors and tolerance, and how results print."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from trt_pdk.spec import format_number

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class CheckResult:
    """One check's outcome; errors and tolerances are set for numeric comparisons."""

    plugin: str
    case: str
    check: str
    status: str
    detail: str = ""
    max_abs: float | None = None
    max_rel: float | None = None
    atol: float | None = None
    rtol: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CheckFailed(AssertionError):  # noqa: N818 - reads as a status, like errors.Skipped
    """A check found a real disagreement."""


@dataclass
class Errors:
    max_abs: float = 0.0
    max_rel: float = 0.0

    def update(self, other: Errors) -> None:
        self.max_abs = max(self.max_abs, other.max_abs)
        self.max_rel = max(self.max_rel, other.max_rel)


def format_result(r: CheckResult) -> str:
    tol = ""
    if r.atol is not None and r.status == PASS and r.max_abs is not None:
        tol = f" (atol {format_number(r.atol)}, rtol {format_number(r.rtol or 0.0)})"
    mark = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}[r.status]
    return f"{mark:4}  {r.plugin:12} {r.case:28} {r.check:28} {r.detail}{tol}"


def summarize(results: list[CheckResult]) -> dict[str, int]:
    counts = {PASS: 0, FAIL: 0, SKIP: 0}
    for r in results:
        counts[r.status] += 1
    return counts


def assert_result(result: CheckResult) -> None:
    """For pytest: fail on FAIL, skip (with the reason) on SKIP."""
    import pytest

    if result.status == FAIL:
        pytest.fail(f"{result.plugin} {result.case} {result.check}: {result.detail}", pytrace=False)
    if result.status == SKIP:
        pytest.skip(result.detail)
    assert result.status == PASS
    assert result.max_abs is None or not math.isnan(result.max_abs)
