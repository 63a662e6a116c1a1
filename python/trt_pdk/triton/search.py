"""Serving-config search over a grid, quick (hill climbing, as Model Analyzer's quick search) or exhaustive.

A point of the grid picks one value per dimension (instance count, threads per instance,
max queue delay or no batching, preferred batch sizes, bucketing). ``measure(point)``
measures it (on the traffic replay) and returns at least ``throughput_rps``, ``p99_ms``
and ``failed``.
A point is *feasible* when nothing failed and its p99 is at most ``p99_limit`` (the
baseline's). The quick search starts at ``start`` and climbs best-first: it measures the
neighbours (one dimension one step away) of the best feasible point, and of every other
feasible point within ``min_gain`` of the best (single samples are that noisy), until all
of those have been expanded; the exhaustive search measures every point. Both return
every point measured, in order.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Candidate:
    point: dict
    result: dict
    feasible: bool
    step: int  # search iteration that measured it (0: the start)


@dataclass
class SearchResult:
    method: str
    candidates: list[Candidate] = field(default_factory=list)
    best: Candidate | None = None
    seconds: float = 0.0
    stopped: str = ""


def _key(point: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in point.items()))


def _feasible(result: dict, p99_limit: float | None) -> bool:
    if result.get("failed") or not result.get("succeeded", 1):
        return False
    return p99_limit is None or (result.get("p99_ms") or float("inf")) <= p99_limit


class GridSearch:
    """Args:
    grid: dimension -> its values, in order (neighbours are one index apart).
    measure: point -> result dict.
    normalize: maps a point to its canonical form (e.g. preferred sizes mean nothing
        without batching), so equivalent points are measured once.
    """

    def __init__(
        self,
        grid: dict[str, list],
        measure: Callable[[dict], dict],
        normalize: Callable[[dict], dict] = lambda p: p,
    ):
        self.grid = grid
        self.measure = measure
        self.normalize = normalize
        self.seen: dict[tuple, Candidate] = {}

    def points(self) -> list[dict]:
        names = list(self.grid)
        out, keys = [], set()
        for values in itertools.product(*(self.grid[n] for n in names)):
            p = self.normalize(dict(zip(names, values, strict=True)))
            if _key(p) not in keys:
                keys.add(_key(p))
                out.append(p)
        return out

    def _measure(self, point: dict, step: int, p99_limit: float | None, result: SearchResult) -> Candidate:
        point = self.normalize(point)
        if _key(point) in self.seen:
            return self.seen[_key(point)]
        r = self.measure(point)
        c = Candidate(point, r, _feasible(r, p99_limit), step)
        self.seen[_key(point)] = c
        result.candidates.append(c)
        return c

    def neighbours(self, point: dict) -> list[dict]:
        out = []
        for name, values in self.grid.items():
            i = next(j for j, v in enumerate(values) if v == point[name])
            for j in (i - 1, i + 1):
                if 0 <= j < len(values):
                    out.append(self.normalize({**point, name: values[j]}))
        return out

    def quick(
        self,
        start: dict,
        *,
        p99_limit: float | None,
        min_gain: float = 0.10,
        start_result: dict | None = None,
        budget_s: float | None = None,
    ) -> SearchResult:
        """Best-first climb: expand (measure the fresh neighbours of) the best feasible point
        not yet expanded, and also any other feasible point within ``min_gain`` of the best.

        A single sample ranks two configs reliably only when they differ by more than its
        noise: a neighbour that measured a few percent below (or above) the best may be
        the better one, so it is expanded too. The search stops when every feasible point
        within ``min_gain`` of the best has been expanded.
        """
        t0 = time.monotonic()
        result = SearchResult("quick (best-first hill climbing)")
        start = self.normalize(start)
        if start_result is not None:
            c = Candidate(start, start_result, _feasible(start_result, p99_limit), 0)
            self.seen[_key(start)] = c
            result.candidates.append(c)
        first = self._measure(start, 0, p99_limit, result)
        expanded: set[tuple] = set()
        step = 0
        while True:
            feasible = [c for c in result.candidates if c.feasible]
            if not feasible:
                result.stopped = "no feasible point (the start failed or broke the p99 limit)"
                break
            top = max(c.result["throughput_rps"] for c in feasible)
            close = [
                c
                for c in feasible
                if _key(c.point) not in expanded and c.result["throughput_rps"] >= top * (1 - min_gain)
            ]
            if not close:
                result.stopped = f"every feasible config within {min_gain:.0%} of the best was expanded"
                break
            if budget_s is not None and time.monotonic() - t0 > budget_s:
                result.stopped = f"time budget of {budget_s:.0f} s spent"
                break
            step += 1
            nxt = max(close, key=lambda c: c.result["throughput_rps"])
            expanded.add(_key(nxt.point))
            out_of_time = False
            for p in [p for p in self.neighbours(nxt.point) if _key(p) not in self.seen]:
                out_of_time = budget_s is not None and time.monotonic() - t0 > budget_s
                if out_of_time:
                    break
                self._measure(p, step, p99_limit, result)
            if out_of_time:
                result.stopped = f"time budget of {budget_s:.0f} s spent"
                break
        feasible = [c for c in result.candidates if c.feasible]
        result.best = max(feasible, key=lambda c: c.result["throughput_rps"]) if feasible else first
        result.seconds = round(time.monotonic() - t0, 2)
        return result

    def exhaustive(self, *, p99_limit: float | None) -> SearchResult:
        t0 = time.monotonic()
        result = SearchResult("exhaustive")
        for p in self.points():
            self._measure(p, 0, p99_limit, result)
        feasible = [c for c in result.candidates if c.feasible]
        result.best = max(feasible, key=lambda c: c.result["throughput_rps"]) if feasible else None
        result.seconds = round(time.monotonic() - t0, 2)
        return result
