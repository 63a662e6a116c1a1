"""Optimization profiles from traffic: exact for one planned axis, greedy with a bound for several.

Cost models (per request, averaged over requests weighted by frequency). A request runs in
the profile it routes to and is padded up to that profile's max along the planned axes
(bucketed serving), so a profile's ``opt`` is its ``max``: that is the shape it executes.

``padded_elements``
    input elements added by padding, summed over the inputs (default);
``padded_fraction``
    the fraction of the request's planned-axes volume that is padding.

Both are nondecreasing in the profile max for every request, which makes the one-axis
interval cost satisfy the quadrangle inequality; the one-axis planner is an exact dynamic
program over the sorted distinct values sped up by divide and conquer (valid under that
inequality). Several axes: the same problem is a facility-location problem (pick k max
corners; each request pays for the cheapest corner that contains it). It is solved exactly
by enumeration when the candidate grid is small, otherwise greedily, which guarantees at
least (1 - 1/e) of the best achievable saving over the single spanning profile among plans
that contain it (monotone submodular maximisation, Nemhauser-Wolsey-Fisher 1978), followed
by a 1-swap local search that only lowers the cost.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.profiles._traffic import Traffic

COST_MODELS = ("padded_elements", "padded_fraction")
K_AUTO_MAX = 8
_EXHAUSTIVE_LIMIT = 50_000  # subsets of the candidate grid we are willing to enumerate
_MAX_CANDIDATES = 4096


@dataclass
class ProfilePlan:
    """k optimization profiles and how well they fit the traffic.

    Attributes:
        profiles: One dict per profile: input name -> {"min", "opt", "max"} shape lists,
            sorted from the smallest profile to the largest.
        cost_model: Name of the cost minimised (see module docs).
        cost: Expected cost per covered request with these profiles.
        single_profile_cost: The same with one profile spanning all covered traffic.
        coverage: Fraction of requests (by frequency) that some profile contains.
        axes: The planned axes; each a list of tied ``[input, dim]`` positions.
        method: ``exact-dp``, ``exact-enumeration`` or ``greedy+local-search``.
        shares: Fraction of the covered requests routed to each profile.
        cost_by_k: Optimal (or planned) cost for each k tried (for ``-k auto`` and plots).
    """

    profiles: list[dict[str, dict[str, list[int]]]]
    cost_model: str
    cost: float
    single_profile_cost: float
    coverage: float
    axes: list[list[list]]
    method: str
    shares: list[float]
    cost_by_k: dict[int, float] = field(default_factory=dict)
    guarantee: str = ""

    @property
    def k(self) -> int:
        return len(self.profiles)

    def to_json(self) -> dict:
        return {
            "profiles": self.profiles,
            "cost_model": self.cost_model,
            "cost": self.cost,
            "single_profile_cost": self.single_profile_cost,
            "coverage": self.coverage,
            "k": self.k,
            "axes": self.axes,
            "method": self.method,
            "guarantee": self.guarantee,
            "shares": self.shares,
            "cost_by_k": {str(k): v for k, v in self.cost_by_k.items()},
        }


def route(profiles: list[dict[str, dict[str, list[int]]]], shapes: dict[str, list[int]]) -> int | None:
    """Index of the smallest profile (fewest elements at its max) that contains `shapes`, or None."""
    best, best_vol = None, math.inf
    for i, prof in enumerate(profiles):
        ok = all(
            name in shapes
            and len(shapes[name]) == len(rng["min"])
            and all(lo <= d <= hi for lo, d, hi in zip(rng["min"], shapes[name], rng["max"], strict=False))
            for name, rng in prof.items()
        )
        if ok:
            vol = sum(math.prod(rng["max"]) for rng in prof.values())
            if vol < best_vol:
                best, best_vol = i, vol
    return best


# --------------------------------------------------------------------------------------
# Problem setup


@dataclass
class _Problem:
    traffic: Traffic
    axes: list[list[tuple[str, int]]]  # tied coordinates per planned axis
    x: np.ndarray  # (N, d) planned-axis values per distinct request
    w: np.ndarray  # (N,) weights
    base: list[np.ndarray]  # per input: (N,) product of its non-planned dims
    power: list[list[int]]  # per input, per axis: how often the axis appears in the input
    actual: np.ndarray  # (N,) elements of all inputs
    cost_model: str

    def padded(self, corners: np.ndarray, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """(n_rows, C) elements of all inputs when padded to each corner."""
        out = np.zeros((self.base[0][rows].shape[0], corners.shape[0]))
        for b, pw in zip(self.base, self.power, strict=False):
            term = np.ones(corners.shape[0])
            for a, p in enumerate(pw):
                if p:
                    term = term * corners[:, a].astype(np.float64) ** p
            out += b[rows][:, None] * term[None, :]
        return out

    def cost_matrix(self, corners: np.ndarray, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """(n_rows, C) weighted cost of routing each request to each corner (inf: not contained)."""
        x = self.x[rows]
        inside = np.all(x[:, None, :] <= corners[None, :, :], axis=2)
        if self.cost_model == "padded_elements":
            c = self.padded(corners, rows) - self.actual[rows][:, None]
        else:
            ratio = np.prod(x[:, None, :].astype(np.float64) / corners[None, :, :], axis=2)
            c = 1.0 - ratio
        c = c * self.w[rows][:, None]
        return np.where(inside, c, np.inf)


def _tied_groups(traffic: Traffic, coords: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    cols = {c: tuple(s[traffic.inputs.index(c[0])][c[1]] for s in traffic.shapes) for c in coords}
    groups: dict[tuple, list[tuple[str, int]]] = {}
    for c in coords:
        groups.setdefault(cols[c], []).append(c)
    return list(groups.values())


def _varying(traffic: Traffic) -> list[tuple[str, int]]:
    out = []
    for i, name in enumerate(traffic.inputs):
        for a in range(len(traffic.shapes[0][i])):
            if len({s[i][a] for s in traffic.shapes}) > 1:
                out.append((name, a))
    return out


def _problem(traffic: Traffic, cost_model: str, input_name: str | None) -> _Problem:
    varying = _varying(traffic)
    groups = _tied_groups(traffic, varying)
    if input_name is not None:
        if input_name not in traffic.inputs:
            raise UserError(
                f"--input {input_name!r} is not in the traffic; its inputs are {list(traffic.inputs)}."
            )
        groups = [g for g in groups if any(c[0] == input_name for c in g)]
    if not groups:
        # Every request has the same shape: one static profile is the whole answer.
        groups = []
    n = len(traffic.shapes)
    x = np.array(
        [[s[traffic.inputs.index(g[0][0])][g[0][1]] for g in groups] for s in traffic.shapes], dtype=np.int64
    ).reshape(n, len(groups))
    axis_of = {c: a for a, g in enumerate(groups) for c in g}
    base, power = [], []
    for i, name in enumerate(traffic.inputs):
        rank = len(traffic.shapes[0][i])
        pw = [0] * len(groups)
        for d in range(rank):
            if (name, d) in axis_of:
                pw[axis_of[(name, d)]] += 1
        power.append(pw)
        base.append(
            np.array(
                [math.prod(s[i][d] for d in range(rank) if (name, d) not in axis_of) for s in traffic.shapes],
                dtype=np.float64,
            )
        )
    actual = np.array([sum(math.prod(shape) for shape in s) for s in traffic.shapes], dtype=np.float64)
    return _Problem(traffic, groups, x, traffic.counts.astype(np.float64), base, power, actual, cost_model)


# --------------------------------------------------------------------------------------
# One axis: exact DP


class _IntervalCost:
    """cost(i, j) of one profile holding sorted distinct values i..j (inclusive), O(1) each."""

    def __init__(self, prob: _Problem):
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


def _dp_one_axis(cost: _IntervalCost, k_max: int) -> tuple[list[float], list[np.ndarray]]:
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


def _rebuild_one_axis(args: list[np.ndarray], n: int, k: int) -> list[tuple[int, int]]:
    bounds, j = [], n
    for m in range(k, 0, -1):
        i = int(args[m - 1][j]) if m > 1 else 0
        bounds.append((i, j - 1))
        j = i
    return bounds[::-1]


# --------------------------------------------------------------------------------------
# Several axes: facility location over a grid of candidate max corners


def _candidate_grid(prob: _Problem) -> np.ndarray:
    d = prob.x.shape[1]
    per_axis = [np.unique(prob.x[:, a]) for a in range(d)]
    if math.prod(len(v) for v in per_axis) > _MAX_CANDIDATES:
        q = max(2, int(_MAX_CANDIDATES ** (1.0 / d)))
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


def _total(cm: np.ndarray, chosen: list[int]) -> float:
    return float(np.min(cm[:, chosen], axis=1).sum())


def _plan_grid(prob: _Problem, k: int) -> tuple[list[int], np.ndarray, str]:
    corners = _candidate_grid(prob)
    cm = prob.cost_matrix(corners)
    # Dominated candidates never help: drop corners that contain no request.
    useful = np.flatnonzero(np.isfinite(cm).any(axis=0))
    corners, cm = corners[useful], cm[:, useful]
    c = corners.shape[0]
    k = min(k, c)
    if math.comb(c, k) <= _EXHAUSTIVE_LIMIT:
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
    best_cost = _total(cm, chosen)
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


# --------------------------------------------------------------------------------------
# Public entry


def _elbow(costs: dict[int, float], threshold: float = 0.1) -> int:
    """The smallest k after which one more profile saves < `threshold` of the total saving.

    The total saving is cost(1) - cost(k_max); a flat curve gives k = 1.
    """
    ks = sorted(costs)
    total = costs[ks[0]] - costs[ks[-1]]
    if total <= 1e-12 * max(abs(costs[ks[0]]), 1e-300):
        return ks[0]
    for k in ks[:-1]:
        if costs[k] - costs[k + 1] < threshold * total:
            return k
    return ks[-1]


def _shape_ranges(
    prob: _Problem, members: np.ndarray, corner: np.ndarray, lower: np.ndarray
) -> dict[str, dict[str, list[int]]]:
    tr = prob.traffic
    axis_of = {c: a for a, g in enumerate(prob.axes) for c in g}
    out = {}
    for i, name in enumerate(tr.inputs):
        rank = len(tr.shapes[0][i])
        lo, opt, hi = [], [], []
        for d in range(rank):
            if (name, d) in axis_of:
                a = axis_of[(name, d)]
                lo.append(int(lower[a]))
                opt.append(int(corner[a]))
                hi.append(int(corner[a]))
            else:
                vals = np.array([tr.shapes[t][i][d] for t in members])
                wts = prob.w[members]
                order = np.argsort(vals)
                med = vals[order][np.searchsorted(np.cumsum(wts[order]), wts.sum() / 2)]
                lo.append(int(vals.min()))
                opt.append(int(med))
                hi.append(int(vals.max()))
        out[name] = {"min": lo, "opt": opt, "max": hi}
    return out


def profiles_from_traffic(
    traffic: Traffic,
    k: int | str = "auto",
    *,
    input_name: str | None = None,
    cost_model: str = "padded_elements",
    model_dims: dict[str, list[int | None]] | None = None,
    max_shapes: dict[str, list[int]] | None = None,
    max_elements: int | None = None,
) -> ProfilePlan:
    """Plans k optimization profiles that minimise the expected padding of `traffic`.

    Args:
        traffic: Request shapes and frequencies (see :func:`load_traffic`).
        k: Number of profiles, or ``"auto"`` for the elbow of the cost curve (k <= 8).
        input_name: Plan only the dynamic axes of this input (tied axes of other inputs
            follow); default: every axis that varies in the traffic.
        cost_model: ``padded_elements`` (default) or ``padded_fraction``.
        model_dims: The model's input dims (None = dynamic); traffic that disagrees with a
            static dim, or names an input the model lacks, is an error.
        max_shapes: Per-input largest shape a profile may have; larger requests are left
            uncovered (reported in ``coverage``).
        max_elements: Memory limit: most elements (all inputs) at a profile's max;
            requests larger than that are left uncovered.

    Returns:
        A :class:`ProfilePlan`. Raises :class:`UserError` on inputs that cannot be planned.
    """
    if cost_model not in COST_MODELS:
        raise UserError(f"Unknown cost model {cost_model!r}; choose one of {', '.join(COST_MODELS)}.")
    if model_dims is not None:
        _check_against_model(traffic, model_dims)
    keep = np.ones(len(traffic.shapes), dtype=bool)
    for t, shape in enumerate(traffic.shapes):
        if max_elements is not None and sum(math.prod(s) for s in shape) > max_elements:
            keep[t] = False
        for name, limit in (max_shapes or {}).items():
            if name in traffic.inputs:
                dims = shape[traffic.inputs.index(name)]
                if len(limit) != len(dims):
                    raise UserError(
                        f"Max shape {limit} for {name!r} has rank {len(limit)}; its traffic has {len(dims)}."
                    )
                if any(d > m for d, m in zip(dims, limit, strict=False)):
                    keep[t] = False
    if not keep.any():
        raise UserError("No request fits the per-profile limits (max shape / memory); raise the limits.")
    coverage = float(traffic.counts[keep].sum() / traffic.counts.sum())
    kept = Traffic(
        traffic.inputs,
        tuple(s for s, m in zip(traffic.shapes, keep, strict=False) if m),
        traffic.counts[keep],
    )
    prob = _problem(kept, cost_model, input_name)
    d = prob.x.shape[1]
    distinct = len({tuple(r) for r in prob.x.tolist()}) if d else 1

    if k != "auto":
        if not isinstance(k, int) or k < 1:
            raise UserError(f"-k must be a positive integer or 'auto', got {k!r}.")
        if k > distinct:
            raise UserError(
                f"-k {k} asks for more profiles than the traffic has distinct shapes along the planned "
                f"axes ({distinct}); use -k {distinct} or fewer, or -k auto."
            )
    wsum = float(prob.w.sum())
    ks = [1] if d == 0 else list(range(1, (min(K_AUTO_MAX, distinct) if k == "auto" else k) + 1))

    if d <= 1:
        if d == 0:
            bounds, method, cost_by_k = [(0, 0)], "exact-dp", {1: 0.0}
            values = np.zeros(1, dtype=np.int64)
        else:
            ic = _IntervalCost(prob)
            costs, args = _dp_one_axis(ic, ks[-1])
            cost_by_k = {m: costs[m - 1] / wsum for m in ks}
            kk = _elbow(cost_by_k) if k == "auto" else k
            bounds, method, values = _rebuild_one_axis(args, len(ic.values), kk), "exact-dp", ic.values
        profiles_idx = []
        for lo_i, hi_i in bounds:
            if d == 0:
                members = np.arange(len(prob.w))
                corner = lower = np.zeros(0, dtype=np.int64)
            else:
                members = np.flatnonzero((prob.x[:, 0] >= values[lo_i]) & (prob.x[:, 0] <= values[hi_i]))
                corner = np.array([values[hi_i]])
                # contiguous ranges: unseen values between two profiles still route somewhere
                lower = np.array([values[0] if lo_i == 0 else values[lo_i - 1] + 1])
            profiles_idx.append((members, corner, lower))
        guarantee = "exact optimum (dynamic programming over the sorted distinct values)"
    else:
        cost_by_k, plans = {}, {}
        for m in ks:
            chosen, corners, method = _plan_grid(prob, m)
            cm = prob.cost_matrix(corners[chosen])
            cost_by_k[m] = float(cm.min(axis=1).sum()) / wsum
            plans[m] = (chosen, corners, method, cm)
        kk = _elbow(cost_by_k) if k == "auto" else k
        chosen, corners, method, cm = plans[kk]
        owner = np.argmin(cm, axis=1)
        profiles_idx = []
        for j in range(len(chosen)):
            members = np.flatnonzero(owner == j)
            if len(members) == 0:
                continue
            profiles_idx.append((members, corners[chosen[j]], prob.x[members].min(axis=0)))
        guarantee = (
            "exact optimum over the candidate grid (enumeration)"
            if method == "exact-enumeration"
            else "greedy: saving >= (1-1/e) x best saving among plans containing the spanning profile; "
            "then 1-swap local search"
        )

    profiles_idx.sort(key=lambda p: float(prob.padded(p[1][None, :]).sum()) if d else 0.0)
    profiles = [_shape_ranges(prob, m, c, lo) for m, c, lo in profiles_idx]
    shares = [float(prob.w[m].sum() / wsum) for m, _, _ in profiles_idx]
    if d:
        corners = np.array([c for _, c, _ in profiles_idx])
        cost = float(prob.cost_matrix(corners).min(axis=1).sum()) / wsum
        single = float(prob.cost_matrix(prob.x.max(axis=0)[None, :]).sum()) / wsum
    else:
        cost = single = 0.0
    return ProfilePlan(
        profiles=profiles,
        cost_model=cost_model,
        cost=cost,
        single_profile_cost=single,
        coverage=coverage,
        axes=[[list(c) for c in g] for g in prob.axes],
        method=method,
        shares=shares,
        cost_by_k=cost_by_k,
        guarantee=guarantee,
    )


def _check_against_model(traffic: Traffic, model_dims: dict[str, list[int | None]]) -> None:
    for i, name in enumerate(traffic.inputs):
        if name not in model_dims:
            raise UserError(
                f"Traffic input {name!r} is not an input of the model (its inputs: {sorted(model_dims)}). "
                "Fix the traffic log's input names."
            )
        dims = model_dims[name]
        for shape in traffic.shapes:
            s = shape[i]
            if len(s) != len(dims):
                raise UserError(
                    f"Traffic shape {list(s)} of {name!r} has rank {len(s)}; the model's has {len(dims)}."
                )
            for a, (got, want) in enumerate(zip(s, dims, strict=False)):
                if want is not None and got != want:
                    raise UserError(
                        f"Traffic has {name!r} with shape {list(s)}, outside the model's static dims "
                        f"{[d if d is not None else '?' for d in dims]} (dim {a} is fixed at {want}). "
                        "Drop those requests or export the model with that dim dynamic."
                    )
