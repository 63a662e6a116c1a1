"""Several planned axes: facility location over a grid of candidate max corners.

Exact by enumeration when the grid is small; otherwise greedy (at least 1 - 1/e of the best
saving, Nemhauser-Wolsey-Fisher 1978) followed by a 1-swap local search.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from trt_pdk.profiles._problem import Problem

EXHAUSTIVE_LIMIT = 50_000  # subsets of the candidate grid we are willing to enumerate
MAX_CANDIDATES = 4096


def candidate_grid(prob: Problem) -> np.ndarray:
    d = prob.x.shape[1]
    per_axis = [np.unique(prob.x[:, a]) for a in range(d)]
    if math.prod(len(v) for v in per_axis) > MAX_CANDIDATES:
        q = max(2, int(MAX_CANDIDATES ** (1.0 / d)))
        reduced = []
        for a, vals in enumerate(per_axis):
            if len(vals) <= q:
                reduced.append(vals)
                continue
            order = np.argsort(prob.x[:, a])
            cw = np.cumsum(prob.w[order]) / prob.w.sum()
            picks = prob.x[order, a][np.searchsorted(cw, np.linspace(0, 1, q + 1)[1:-1])]
            reduced.append(np.unique(np.concatenate([picks, [vals[-1]]])))
        per_axis = reduced
    return np.array(list(itertools.product(*per_axis)), dtype=np.int64).reshape(-1, d)


def total_cost(cm: np.ndarray, chosen: list[int]) -> float:
    return float(np.min(cm[:, chosen], axis=1).sum())


def plan_grid(prob: Problem, k: int) -> tuple[list[int], np.ndarray, str]:
    corners = candidate_grid(prob)
    cm = prob.cost_matrix(corners)
    # Dominated candidates never help: drop corners that contain no request.
    useful = np.flatnonzero(np.isfinite(cm).any(axis=0))
    corners, cm = corners[useful], cm[:, useful]
    c = corners.shape[0]
    k = min(k, c)
    if math.comb(c, k) <= EXHAUSTIVE_LIMIT:
        best, best_cost = None, math.inf
        combos = np.array(list(itertools.combinations(range(c), k)), dtype=np.int64)
        for start in range(0, len(combos), 2048):
            batch = combos[start : start + 2048]
            totals = np.min(cm[:, batch], axis=2).sum(axis=0)  # (B,)
            j = int(np.argmin(totals))
            if totals[j] < best_cost:
                best, best_cost = batch[j].tolist(), float(totals[j])
        return best, corners, "exact-enumeration"
    spanning = int(np.argmax(np.all(corners == corners.max(axis=0), axis=1)))
    chosen = [spanning]
    cur = cm[:, spanning].copy()
    for _ in range(k - 1):
        gains = np.maximum(cur[:, None] - cm, 0.0).sum(axis=0)
        gains[chosen] = -1.0
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        chosen.append(j)
        cur = np.minimum(cur, cm[:, j])
    # 1-swap local search; every accepted swap lowers the cost, so it terminates.
    best_cost = total_cost(cm, chosen)
    for _ in range(5):
        improved = False
        for pos in range(len(chosen)):
            others = chosen[:pos] + chosen[pos + 1 :]
            rest = np.min(cm[:, others], axis=1) if others else np.full(cm.shape[0], np.inf)
            totals = np.minimum(rest[:, None], cm).sum(axis=0)
            j = int(np.argmin(totals))
            if totals[j] < best_cost - 1e-9 * max(1.0, abs(best_cost)) and j not in chosen:
                chosen[pos], best_cost, improved = j, float(totals[j]), True
        if not improved:
            break
    return chosen, corners, "greedy+local-search"
