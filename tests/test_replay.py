"""Traffic replay and config search without a server: what is sent, in what order, which band."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from trt_pdk.errors import UserError
from trt_pdk.profiles import load_traffic, profiles_from_traffic
from trt_pdk.triton.replay import replay_traffic
from trt_pdk.triton.search import GridSearch


def _log(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_pass_holds_every_logged_request_once_in_shuffled_order(tmp_path):
    log = _log(
        tmp_path / "t.jsonl", [{"x": [1, s], "count": c} for s, c in [(1, 30), (2, 5), (8, 4), (64, 1)]]
    )
    traffic = replay_traffic(log)
    sent = Counter(traffic.order)
    assert {traffic.shapes[i]: n for i, n in sent.items()} == {
        ((1, 1),): 30,
        ((1, 2),): 5,
        ((1, 8),): 4,
        ((1, 64),): 1,
    }
    assert traffic.offsets is None
    # Shuffled (a log sorted by shape would send one shape at a time), and the same every time.
    assert traffic.order != sorted(traffic.order)
    assert replay_traffic(log).order == traffic.order


def test_timestamps_keep_the_log_order_and_clock(tmp_path):
    log = _log(
        tmp_path / "t.jsonl",
        [
            {"x": [1, 4], "timestamp": 10.5},
            {"x": [1, 2], "count": 2, "timestamp": 10.0},
            {"x": [1, 8], "timestamp": 11.25},
        ],
    )
    traffic = replay_traffic(log)
    assert [traffic.shapes[i][0][1] for i in traffic.order] == [2, 2, 4, 8]
    assert traffic.offsets == [0.0, 0.0, 0.5, 1.25]


def test_bands_follow_the_planners_profiles(tmp_path):
    log = _log(
        tmp_path / "t.jsonl", [{"x": [1, s], "count": c} for s, c in [(1, 30), (2, 10), (50, 6), (64, 4)]]
    )
    profiles = profiles_from_traffic(load_traffic(log), 2).profiles
    traffic = replay_traffic(log, profiles)
    assert [b.share for b in traffic.bands] == [0.8, 0.2]
    assert traffic.bands[0].name.startswith("profile 0 (x[1] 1..2")
    short = traffic.band(0)
    assert short.requests == 40 and {s[0][1] for s in short.shapes} == {1, 2}
    assert sorted(Counter(short.order).values()) == [10, 30]


def test_a_fractional_count_cannot_be_replayed(tmp_path):
    log = _log(tmp_path / "t.jsonl", [{"x": [1, 2], "count": 2.5}])
    with pytest.raises(UserError, match=r"count 2\.5 is not a whole number"):
        replay_traffic(log)


def test_a_non_numeric_timestamp_is_one_clear_error(tmp_path):
    log = _log(tmp_path / "t.jsonl", [{"x": [1, 2], "timestamp": "noon"}])
    with pytest.raises(UserError, match="timestamp must be a number of seconds"):
        replay_traffic(log)


# --------------------------------------------------------------------------- search


def _landscape(point):
    """A smooth throughput surface with one peak at (instances 2, delay 500); p99 grows with delay."""
    tput = 100 + 40 * (point["instance_count"] == 2) + {None: 0, 100: 50, 500: 80, 2000: 60}[point["delay"]]
    p99 = 50 + (point["delay"] or 0) / 100
    return {"throughput_rps": tput, "p99_ms": p99, "failed": 0, "succeeded": 100}


GRID = {"instance_count": [1, 2, 3], "delay": [None, 100, 500, 2000]}


def test_quick_search_climbs_to_the_exhaustive_best_with_fewer_measurements():
    seen = []

    def measure(point):
        seen.append(point)
        return _landscape(point)

    quick = GridSearch(GRID, measure).quick({"instance_count": 1, "delay": None}, p99_limit=80)
    exhaustive = GridSearch(GRID, _landscape).exhaustive(p99_limit=80)
    assert exhaustive.best.point == {"instance_count": 2, "delay": 500}
    assert quick.best.point == exhaustive.best.point
    assert len(quick.candidates) < len(exhaustive.candidates) == 12
    assert len(seen) == len({json.dumps(p, sort_keys=True) for p in seen})  # nothing measured twice


def test_quick_search_looks_past_a_neighbour_within_the_noise_band():
    # 3 instances measured 1 % below 2 (one noisy sample each); 4 is the real best.
    rps = {1: 100.0, 2: 150.0, 3: 148.5, 4: 200.0}
    grid = {"instance_count": [1, 2, 3, 4]}

    def measure(point):
        return {"throughput_rps": rps[point["instance_count"]], "p99_ms": 10.0, "failed": 0, "succeeded": 1}

    found = GridSearch(grid, measure).quick({"instance_count": 1}, p99_limit=50, min_gain=0.05)
    assert found.best.point == {"instance_count": 4}, found.stopped
    # A gap wider than the band is not crossed: with 3 at 120, the climb stops at 2.
    rps[3] = 120.0
    found = GridSearch(grid, measure).quick({"instance_count": 1}, p99_limit=50, min_gain=0.05)
    assert found.best.point == {"instance_count": 2} and len(found.candidates) == 3


def test_a_config_over_the_p99_limit_never_wins():
    # delay 500 peaks in throughput but its p99 (55 ms) is over a 52 ms limit.
    quick = GridSearch(GRID, _landscape).quick({"instance_count": 1, "delay": None}, p99_limit=52)
    exhaustive = GridSearch(GRID, _landscape).exhaustive(p99_limit=52)
    assert exhaustive.best.point == {"instance_count": 2, "delay": 100}
    assert quick.best.point == exhaustive.best.point
    assert all(c.feasible == (c.result["p99_ms"] <= 52) for c in quick.candidates)


def test_a_request_past_the_input_limit_is_refused_naming_the_log(tmp_path):
    import numpy as np

    from trt_pdk.triton.replay import payloads

    log = tmp_path / "t.jsonl"
    log.write_text('{"x": [1, 8], "count": 3}\n{"x": [1, 1048576], "count": 1}\n')
    traffic = replay_traffic(log)
    small = payloads(traffic, {"x": np.dtype("float32")}, max_input_mib=4.5)
    assert [list(p["x"].shape) for p in small] == [[1, 8], [1, 1048576]]
    with pytest.raises(UserError, match=r"over the 2 MiB limit.*t\.jsonl logs the request .*--max-input-mib"):
        payloads(traffic, {"x": np.dtype("float32")}, max_input_mib=2)


class _ScriptedSession:
    """Replays return the next scripted result of each config (the final round's re-measures)."""

    def __init__(self, script: dict[int, list[tuple[float, float]]]):
        self.script = {k: list(v) for k, v in script.items()}
        self.order: list[int] = []

    def replay(self, point):
        i = point["instance_count"]
        self.order.append(i)
        rps, p99 = self.script[i].pop(0)
        return {"throughput_rps": rps, "p99_ms": p99, "failed": 0}


def _candidate(i: int, rps: float, p99: float = 10.0):
    from trt_pdk.triton.search import Candidate

    point = {"instance_count": i, "max_queue_delay_us": None, "preferred_batch_sizes": [], "bucketing": False}
    return Candidate(point, {"throughput_rps": rps, "p99_ms": p99, "failed": 0}, True, 1)


def test_the_final_round_picks_the_close_call_by_its_mean_over_more_samples():
    from trt_pdk.triton.perf import _final_round

    # 1 won its single sample by 3 %; measured twice more, 2 is the faster one.
    session = _ScriptedSession({1: [(90, 10), (92, 10)], 2: [(105, 10), (104, 10)]})
    cands = [_candidate(1, 100), _candidate(2, 97), _candidate(3, 50)]
    chosen, finals = _final_round(session, cands, p99_limit=20, min_gain=0.1, log=lambda m: None)
    assert chosen.point["instance_count"] == 2
    assert [r["chosen"] for r in finals["rows"]] == [False, True]
    assert session.order == [1, 2, 2, 1]  # alternating order; 3 (50 % behind) is not a finalist
    # A finalist whose p99 breaks the limit on average cannot win however fast it is.
    session = _ScriptedSession({1: [(90, 10), (92, 10)], 2: [(105, 40), (104, 40)]})
    chosen, finals = _final_round(session, cands, p99_limit=20, min_gain=0.1, log=lambda m: None)
    assert chosen.point["instance_count"] == 1 and not finals["rows"][1]["feasible"]


def test_a_clear_winner_needs_no_final_round():
    from trt_pdk.triton.perf import _final_round

    session = _ScriptedSession({})
    chosen, finals = _final_round(
        session, [_candidate(1, 100), _candidate(2, 80)], p99_limit=20, min_gain=0.1, log=lambda m: None
    )
    assert chosen.point["instance_count"] == 1 and session.order == [] and "no other" in finals["reason"]
