"""One planned axis: an exact dynamic program over the sorted distinct values.

The interval cost satisfies the quadrangle inequality (both cost models are nondecreasing
in the profile max for every request), so divide and conquer speeds the DP up exactly.
"""

from __future__ import annotations

import numpy as np

from trt_pdk.profiles._problem import Problem


class IntervalCost:
    """cost(i, j) of one profile holding sorted distinct values i..j (inclusive), O(1) each."""

    def __init__(self, prob: Problem):
        v = prob.x[:, 0]
        self.values = np.unique(v)
        idx = np.searchsorted(self.values, v)
        m = len(self.values)

        def prefix(per_request: np.ndarray) -> np.ndarray:
            agg = np.bincount(idx, weights=per_request, minlength=m)
            return np.concatenate([[0.0], np.cumsum(agg)])

        self.terms: list[tuple[np.ndarray, np.ndarray]] = []  # (g(values), prefix sums)
        vals = self.values.astype(np.float64)
        if prob.cost_model == "padded_elements":
            powers: dict[int, np.ndarray] = {}
            for b, pw in zip(prob.base, prob.power, strict=False):
                powers[pw[0]] = powers.get(pw[0], 0) + b * prob.w
            for p, coef in powers.items():
                self.terms.append((vals**p, prefix(coef)))
            self.const = prefix(-prob.actual * prob.w)
        else:
            self.terms.append((-1.0 / vals, prefix(prob.w * v.astype(np.float64))))
            self.const = prefix(prob.w)

    def __call__(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = self.const[j + 1] - self.const[i]
        for g, pre in self.terms:
            out = out + g[j] * (pre[j + 1] - pre[i])
        return out


def dp_one_axis(cost: IntervalCost, k_max: int) -> tuple[list[float], list[np.ndarray]]:
    """Exact optimal costs for 1..k_max profiles and the argmin tables to rebuild them.

    dp[m][j]: best cost of the first j values with m profiles. The optimal split point is
    monotone in j (quadrangle inequality), so each layer is a divide-and-conquer over j;
    every recursion level is evaluated at once with numpy.
    """
    n = len(cost.values)
    zero = np.zeros(1, dtype=np.int64)
    prev = np.full(n + 1, np.inf)
    prev[1:] = cost(np.zeros(n, dtype=np.int64), np.arange(n))
    prev[0] = 0.0
    dps, args = [prev.copy()], [np.zeros(n + 1, dtype=np.int64)]
    for m in range(2, k_max + 1):
        cur = np.full(n + 1, np.inf)
        arg = np.zeros(n + 1, dtype=np.int64)
        # tasks: j range [jlo, jhi], split range [olo, ohi]; split i means last profile = i..j-1
        tasks = np.array([[m, n, m - 1, n - 1]], dtype=np.int64)
        while len(tasks):
            jlo, jhi, olo, ohi = tasks.T
            mid = (jlo + jhi) // 2
            hi = np.minimum(mid - 1, ohi)
            lens = hi - olo + 1
            seg = np.repeat(np.arange(len(tasks)), lens)
            starts = np.concatenate([zero, np.cumsum(lens)[:-1]])
            i = olo[seg] + (np.arange(lens.sum()) - starts[seg])
            vals = prev[i] + cost(i, mid[seg] - 1)
            seg_min = np.minimum.reduceat(vals, starts)
            hit = np.flatnonzero(vals <= seg_min[seg])
            _, first = np.unique(seg[hit], return_index=True)
            best = i[hit[first]]
            cur[mid] = seg_min
            arg[mid] = best
            left = np.stack([jlo, mid - 1, olo, best], axis=1)
            right = np.stack([mid + 1, jhi, best, ohi], axis=1)
            tasks = np.concatenate([left[left[:, 0] <= left[:, 1]], right[right[:, 0] <= right[:, 1]]])
        prev = cur
        dps.append(cur.copy())
        args.append(arg)
    return [float(d[n]) for d in dps], args


def rebuild_one_axis(args: list[np.ndarray], n: int, k: int) -> list[tuple[int, int]]:
    bounds, j = [], n
    for m in range(k, 0, -1):
        i = int(args[m - 1][j]) if m > 1 else 0
        bounds.append((i, j - 1))
        j = i
    return bounds[::-1]
