"""Profile planning: optimal against brute force, limits, parsing, the CLI contract."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from trt_pdk.cli import main
from trt_pdk.errors import UserError
from trt_pdk.profiles import _grid, load_traffic, profiles_from_traffic, route, traffic_from_rows


def _traffic_1d(values, counts, batch=2):
    return traffic_from_rows(
        [({"x": [batch, int(v)]}, float(c)) for v, c in zip(values, counts, strict=True)]
    )


def _brute_1d(values, counts, k, model, batch=2):
    """Every split of the sorted distinct values into k contiguous groups (each padded to its max)."""
    agg = {}
    for v, c in zip(values, counts, strict=True):
        agg[v] = agg.get(v, 0) + c
    vs = sorted(agg)
    best = math.inf
    for cuts in itertools.combinations(range(1, len(vs)), k - 1):
        bounds = [0, *cuts, len(vs)]
        total = 0.0
        for a, b in itertools.pairwise(bounds):
            top = vs[b - 1]
            for v in vs[a:b]:
                total += agg[v] * (batch * (top - v) if model == "padded_elements" else 1 - v / top)
        best = min(best, total)
    return best / sum(counts)


@pytest.mark.parametrize("model", ["padded_elements", "padded_fraction"])
@pytest.mark.parametrize("seed", range(6))
def test_one_axis_plan_matches_brute_force(seed, model):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 10))
    values = rng.choice(np.arange(1, 200), size=n, replace=False)
    counts = rng.integers(1, 50, size=n)
    for k in range(1, n + 1):
        plan = profiles_from_traffic(_traffic_1d(values, counts), k, cost_model=model)
        assert plan.method == "exact-dp"
        assert plan.cost == pytest.approx(_brute_1d(values, counts, k, model), rel=1e-9, abs=1e-12)
        assert plan.k == k


def _quadratic_dp(values, counts, k):
    agg = {}
    for v, c in zip(values, counts, strict=True):
        agg[int(v)] = agg.get(int(v), 0) + c
    vs = sorted(agg)
    n = len(vs)

    def cost(i, j):  # values i..j padded to vs[j]
        return sum(agg[vs[t]] * (vs[j] - vs[t]) for t in range(i, j + 1))

    dp = [[math.inf] * (n + 1) for _ in range(k + 1)]
    dp[0][0] = 0.0
    for m in range(1, k + 1):
        for j in range(1, n + 1):
            dp[m][j] = min(dp[m - 1][i] + cost(i, j - 1) for i in range(j))
    return [dp[m][n] / sum(counts) for m in range(1, k + 1)]


def test_divide_and_conquer_equals_quadratic_dp_on_larger_case():
    rng = np.random.default_rng(7)
    values = rng.choice(np.arange(1, 1000), size=70, replace=False)
    counts = rng.integers(1, 20, size=70)
    want = _quadratic_dp(values, counts, 6)
    got = profiles_from_traffic(_traffic_1d(values, counts, batch=1), 6).cost_by_k
    assert [got[m] for m in range(1, 7)] == pytest.approx(want, rel=1e-9)


def _brute_grid(points, counts, k):
    """Optimal k max-corners for 2 axes: corners from the per-axis value grid, any k subset."""
    xs = sorted({p[0] for p in points})
    ys = sorted({p[1] for p in points})
    corners = list(itertools.product(xs, ys))
    best = math.inf
    for combo in itertools.combinations(corners, k):
        total = 0.0
        for (a, b), c in zip(points, counts, strict=True):
            fits = [cx * cy for cx, cy in combo if cx >= a and cy >= b]
            if not fits:
                break
            total += c * (min(fits) - a * b)
        else:
            best = min(best, total)
    return best / sum(counts)


@pytest.mark.parametrize("seed", range(4))
def test_two_axis_plan_is_exact_on_small_grids(seed):
    rng = np.random.default_rng(100 + seed)
    pts = list({(int(a), int(b)) for a, b in rng.integers(1, 9, size=(7, 2))})
    counts = [int(c) for c in rng.integers(1, 30, size=len(pts))]
    tr = traffic_from_rows([({"x": [a, b]}, float(c)) for (a, b), c in zip(pts, counts, strict=True)])
    for k in (1, 2, 3):
        plan = profiles_from_traffic(tr, k)
        assert plan.method == "exact-enumeration"
        assert plan.cost == pytest.approx(_brute_grid(pts, counts, k), rel=1e-9, abs=1e-12)
        # each request routes to a profile that contains it
        for a, b in pts:
            assert route(plan.profiles, {"x": [a, b]}) is not None


def test_two_axis_greedy_keeps_its_stated_bound(monkeypatch):
    rng = np.random.default_rng(3)
    pts = list({(int(a), int(b)) for a, b in rng.integers(1, 10, size=(9, 2))})
    counts = [int(c) for c in rng.integers(1, 30, size=len(pts))]
    tr = traffic_from_rows([({"x": [a, b]}, float(c)) for (a, b), c in zip(pts, counts, strict=True)])
    monkeypatch.setattr(_grid, "EXHAUSTIVE_LIMIT", 0)
    single = profiles_from_traffic(tr, 1).cost
    for k in (2, 3):
        plan = profiles_from_traffic(tr, k)
        assert plan.method == "greedy+local-search"
        opt = _brute_grid(pts, counts, k)
        assert plan.cost >= opt - 1e-9
        assert single - plan.cost >= (1 - 1 / math.e) * (single - opt) - 1e-9


def test_profiles_are_contiguous_and_route_to_smallest():
    tr = _traffic_1d([8, 16, 17, 64, 128], [50, 30, 5, 10, 5], batch=1)
    plan = profiles_from_traffic(tr, 2)
    maxes = [p["x"]["max"][1] for p in plan.profiles]
    mins = [p["x"]["min"][1] for p in plan.profiles]
    assert mins[0] == 8 and all(mins[i + 1] == maxes[i] + 1 for i in range(len(maxes) - 1))
    assert maxes[-1] == 128
    assert all(p["x"]["opt"] == p["x"]["max"] for p in plan.profiles)
    assert route(plan.profiles, {"x": [1, 9]}) == 0
    assert route(plan.profiles, {"x": [1, 129]}) is None
    assert sum(plan.shares) == pytest.approx(1.0)
    # 2 profiles: best split is {8,16,17} | {64,128}: padding (9*50+1*30)+(64*10) over 100 requests
    assert plan.cost == pytest.approx((9 * 50 + 1 * 30 + 64 * 10) / 100)
    assert plan.single_profile_cost == pytest.approx((120 * 50 + 112 * 30 + 111 * 5 + 64 * 10) / 100)


def test_tied_axes_of_two_inputs_plan_together():
    rows = [({"ids": [1, s], "mask": [1, s]}, 1.0) for s in (4, 8, 32, 33)]
    plan = profiles_from_traffic(traffic_from_rows(rows), 2)
    assert plan.axes == [[["ids", 1], ["mask", 1]]]
    assert plan.method == "exact-dp"
    for p in plan.profiles:
        assert p["ids"] == p["mask"]
    # padded elements count both inputs: split {4,8} | {32,33}: 2*(4 + 1) / 4 requests
    assert plan.cost == pytest.approx(2 * (4 + 1) / 4)


def test_auto_k_finds_the_elbow_of_three_clusters():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.integers(10, 13, 40), rng.integers(200, 203, 40), rng.integers(900, 903, 40)]
    )
    plan = profiles_from_traffic(_traffic_1d(values, np.ones_like(values)), "auto")
    assert plan.k == 3
    assert sorted(plan.cost_by_k) == list(range(1, 9))


def test_limits_leave_large_requests_uncovered():
    tr = _traffic_1d([10, 20, 5000], [3, 1, 1], batch=1)
    plan = profiles_from_traffic(tr, 1, max_elements=100)
    assert plan.coverage == pytest.approx(0.8)
    assert plan.profiles[0]["x"]["max"] == [1, 20]


def test_bad_inputs_are_user_errors(tmp_path):
    tr = _traffic_1d([1, 2, 3], [1, 1, 1])
    with pytest.raises(UserError, match="more profiles than the traffic has distinct shapes"):
        profiles_from_traffic(tr, 4)
    with pytest.raises(UserError, match="outside the model's static dims"):
        profiles_from_traffic(tr, 1, model_dims={"x": [4, None]})
    with pytest.raises(UserError, match="not an input of the model"):
        profiles_from_traffic(tr, 1, model_dims={"y": [2, None]})
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"x": [1, 2]}\n{"x": [1, 2, 3]}\n')
    with pytest.raises(UserError, match="expected 2 positive integer dims"):
        load_traffic(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_traffic(tmp_path / "missing.jsonl")


def test_traffic_formats_agree(tmp_path):
    (tmp_path / "t.jsonl").write_text(
        '{"x": [1, 8], "count": 2}\n{"x": [1, 16], "timestamp": 5}\n{"x": [1, 8]}\n'
    )
    (tmp_path / "t.csv").write_text('x,count,timestamp\n1x8,3,0\n"[1,16]",1,1\n')
    (tmp_path / "t.json").write_text(
        json.dumps(
            {"histogram": [{"shapes": {"x": [1, 8]}, "count": 3}, {"shapes": {"x": "1x16"}, "count": 1}]}
        )
    )
    loaded = [load_traffic(tmp_path / f) for f in ("t.jsonl", "t.csv", "t.json")]
    for tr in loaded:
        assert tr.shapes == (((1, 8),), ((1, 16),))
        assert tr.counts.tolist() == [3.0, 1.0]


def test_cli_plan_json_contract(tmp_path, capsys):
    log = tmp_path / "t.jsonl"
    log.write_text("".join(json.dumps({"x": [1, s]}) + "\n" for s in (4, 4, 8, 100)))
    out = tmp_path / "p.json"
    assert main(["profiles", "plan", str(log), "-k", "2", "--json", "-o", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"profiles", "cost_model", "cost", "single_profile_cost", "coverage"}
    assert data["profiles"] == json.loads(out.read_text())["profiles"]
    assert data["profiles"][0]["x"] == {"min": [1, 4], "opt": [1, 8], "max": [1, 8]}
    assert data["cost"] == pytest.approx(2 * 4 / 4)
    assert main(["profiles", "plan", str(log), "-k", "9"]) == 2
    assert "distinct shapes" in capsys.readouterr().err
