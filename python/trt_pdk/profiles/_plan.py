"""Optimization profiles from traffic: exact for one planned axis, greedy with a bound for several.

This module is the entry (``profiles_from_traffic``, ``ProfilePlan``, ``route``); the problem
set-up is in ``_problem``, the one-axis DP in ``_one_axis``, the several-axes planner in ``_grid``.

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

import math
from dataclasses import dataclass, field

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.profiles._grid import plan_grid
from trt_pdk.profiles._one_axis import IntervalCost, dp_one_axis, rebuild_one_axis
from trt_pdk.profiles._problem import Problem, problem_from_traffic
from trt_pdk.profiles._traffic import Traffic

COST_MODELS = ("padded_elements", "padded_fraction")
K_AUTO_MAX = 8


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
    prob: Problem, members: np.ndarray, corner: np.ndarray, lower: np.ndarray
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
    prob = problem_from_traffic(kept, cost_model, input_name)
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
            ic = IntervalCost(prob)
            costs, args = dp_one_axis(ic, ks[-1])
            cost_by_k = {m: costs[m - 1] / wsum for m in ks}
            kk = _elbow(cost_by_k) if k == "auto" else k
            bounds, method, values = rebuild_one_axis(args, len(ic.values), kk), "exact-dp", ic.values
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
            chosen, corners, method = plan_grid(prob, m)
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
