"""Serving measured on the traffic it will see: replay, bucketing, config search.

:func:`measure_serving` (``trt-pdk perf`` and the pipeline's perf stage):

1. the traffic log is replayed (:mod:`trt_pdk.triton.replay`): its shape mix in recorded
   proportions at ``concurrency`` clients, whole passes, per traffic band (the profile
   planner's profiles) and overall;
2. shape bucketing is planned from the same traffic (:mod:`trt_pdk.triton.bucketing`),
   turned on only for axes whose padding the numeric check on the served graph shows to
   leave the unpadded outputs unchanged. The kit's python model buckets by itself (its
   inputs accept ragged batches; the model pads, runs each bucket as one batch and cuts
   back), any other model gets the ensemble ``<model>_bucketed`` (pad -> model -> unpad);
3. the config space (instance count x onnxruntime threads per instance x dynamic
   batching max queue delay / off x preferred batch sizes x bucketing) is searched quickly
   by hill climbing from the baseline (one instance, no batching, no bucketing), every
   candidate measured on the replay and kept only with p99 <= the baseline's
   (:mod:`trt_pdk.triton.search`); the close calls (in throughput, or in p99 near the limit)
   are replayed twice more in alternating order and the best mean wins (:func:`_final_round`);
4. baseline and winner are measured again back to back (a paired sample), each band is
   replayed alone for both, and, when the log has timestamps, both are replayed open
   loop on the log's clock.

Candidate configs are loaded through Triton's load API with a config override (the
model's config.pbtxt on disk is never rewritten); at the end the model is reloaded with
its own config.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.triton import config as tc
from trt_pdk.triton.loadgen import Target
from trt_pdk.triton.perf_options import PerfOptions
from trt_pdk.triton.repository import validate_repository
from trt_pdk.triton.search import Candidate
from trt_pdk.triton.server import ServerState, TritonServer, load_model, pid_alive

# The window of the measurements the report stands on (the baseline, whose p99 is every
# candidate's limit, the paired re-measure and the bands alone), in candidate windows.
LONG_WINDOW = 3

TUNED_CONFIG = "tuned_config.pbtxt"  # the winner's model config, next to perf.json


def _describe(cfg) -> dict:
    bucketing = cfg.parameters["bucketing"].string_value if "bucketing" in cfg.parameters else ""
    return {
        "ragged_inputs": [t.name for t in cfg.input if t.allow_ragged_batch],
        "bucket_axes": json.loads(bucketing)["axes"] if bucketing else [],
        "dynamic_batching": cfg.HasField("dynamic_batching"),
        "instance_count": sum(g.count or 1 for g in cfg.instance_group) or 1,
        "intra_op_threads": _configured_threads(cfg) if "intra_op_threads" in cfg.parameters else None,
        "preferred_batch_sizes": list(cfg.dynamic_batching.preferred_batch_size),
        "max_queue_delay_us": cfg.dynamic_batching.max_queue_delay_microseconds,
        "max_batch_size": cfg.max_batch_size,
    }


def _variant(cfg, **change):
    new = type(cfg)()
    new.CopyFrom(cfg)
    if "dynamic_batching" in change:
        if change["dynamic_batching"]:
            new.dynamic_batching.max_queue_delay_microseconds = change.get("max_queue_delay_us", 100)
        else:
            new.ClearField("dynamic_batching")
    elif "max_queue_delay_us" in change:
        new.dynamic_batching.max_queue_delay_microseconds = change["max_queue_delay_us"]
    if "instance_count" in change:
        for g in new.instance_group:
            g.count = change["instance_count"]
    if "preferred_batch_sizes" in change:
        sizes = [s for s in change["preferred_batch_sizes"] if s <= new.max_batch_size]
        del new.dynamic_batching.preferred_batch_size[:]
        new.dynamic_batching.preferred_batch_size.extend(sizes)
    return new


# --------------------------------------------------------------------------- the measurement


@dataclass
class ServingTraffic:
    """The traffic log to replay and the planner's profiles that name its bands."""

    log: Path
    profiles: list[dict] | None = None


def _point_config(file_cfg, point: dict):
    """The model config of a grid point (bucketing is a routing choice, not a config field)."""
    delay = point["max_queue_delay_us"]
    cfg = _variant(file_cfg, dynamic_batching=delay is not None, instance_count=point["instance_count"])
    if delay is not None:
        cfg = _variant(cfg, max_queue_delay_us=delay, preferred_batch_sizes=point["preferred_batch_sizes"])
    if point.get("intra_op_threads"):
        cfg.parameters["intra_op_threads"].string_value = str(point["intra_op_threads"])
    return cfg


def _normalize(point: dict, first_delay: int) -> dict:
    """The canonical form of a point: preferred sizes mean nothing without the batcher, and
    bucketing exists only to let the batcher merge, so turning it on turns batching on."""
    if point["bucketing"] and point["max_queue_delay_us"] is None:
        point = {**point, "max_queue_delay_us": first_delay}
    if point["max_queue_delay_us"] is None:
        return {**point, "preferred_batch_sizes": []}
    return point


def _within_cores(point: dict, grid: dict, cpus: int) -> dict:
    """Caps the instances so that instances x threads fit the cores: past them they only
    time-slice (2 instances x 2 threads on 2 cores measured a higher p99 and a lower
    throughput than either alone, docs/serving.md). More threads therefore take instances
    away, so 2 x 1 and 1 x 2 are neighbours."""
    threads = point.get("intra_op_threads") or 1
    if point["instance_count"] * threads <= cpus:
        return point
    fits = [n for n in grid["instance_count"] if n * threads <= cpus] or [min(grid["instance_count"])]
    return {**point, "instance_count": max(fits)}


def _label(point: dict) -> str:
    delay = point["max_queue_delay_us"]
    batching = "no batching" if delay is None else f"batching {delay} us"
    if delay is not None and point["preferred_batch_sizes"]:
        batching += f" preferred {point['preferred_batch_sizes']}"
    threads = point.get("intra_op_threads")
    inst = f"{point['instance_count']} inst" + (f" x {threads} threads" if threads and threads > 1 else "")
    return f"{inst}, {batching}, bucketing {'on' if point['bucketing'] else 'off'}"


def _brief(result: dict) -> dict:
    keys = (
        "throughput_rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "failed",
        "succeeded",
        "distinct_shapes",
        "avg_batch",
    )
    return {k: result.get(k) for k in keys}


class _Session:
    """One served model under measurement: loads configs, replays, remembers what it loaded."""

    def __init__(self, state: ServerState, model: str, file_cfg, *, traffic, dtypes, options: PerfOptions):
        self.state, self.model, self.file_cfg = state, model, file_cfg
        self.traffic, self.dtypes, self.options = traffic, dtypes, options
        self.loaded: str | None = None
        self.ensemble: str | None = None
        self.bucketing: dict | None = None  # an in-model plan (BucketPlan.to_json()) when planned

    def config(self, point: dict):
        """The model config a point runs (in-model bucketing is part of it)."""
        from trt_pdk.triton.bucketing import serving_config

        cfg = _point_config(self.file_cfg, point)
        return serving_config(cfg, self.bucketing) if point["bucketing"] and self.bucketing else cfg

    def target(self, point: dict) -> Target:
        name = self.ensemble if point["bucketing"] and self.ensemble else self.model
        s = self.state
        return Target(name, {}, s.http_url, s.grpc_url, s.metrics_url, s.pid, self.options.protocol)

    def load(self, point: dict) -> None:
        text = tc.config_to_json(self.config(point))
        if text != self.loaded:
            _load(self.state, self.model, text)
            self.loaded = text

    def replay(self, point: dict, traffic=None, duration: float | None = None) -> dict:
        from trt_pdk.triton.replay import replay_closed

        self.load(point)
        r = replay_closed(
            self.target(point),
            traffic or self.traffic,
            self.dtypes,
            concurrency=self.options.concurrency,
            duration=duration or self.options.duration,
            max_input_mib=self.options.max_input_mib,
        )
        # The model's own batching, also behind the ensemble.
        r["avg_batch"] = r["server"].get(self.model, {}).get("avg_batch")
        return r

    def replay_open(self, point: dict) -> dict:
        from trt_pdk.triton.replay import replay_open

        self.load(point)
        r = replay_open(
            self.target(point),
            self.traffic,
            self.dtypes,
            speed=self.options.speed,
            max_input_mib=self.options.max_input_mib,
        )
        r["avg_batch"] = r["server"].get(self.model, {}).get("avg_batch")
        return r


def _thread_counts(entry, options: PerfOptions) -> list[int | None]:
    """The onnxruntime threads per instance to search, the model's own first; ``[None]`` for a
    model other than the kit's python model (a TensorRT plan has no such knob)."""
    if not buckets_in_model(entry):
        return [None]
    own = _configured_threads(entry.config)
    return [own, *sorted(t for t in set(options.intra_op_threads) - {own} if t <= _cpu_count())]


def _configured_threads(cfg) -> int:
    """The model config's ``intra_op_threads`` (the kit's python model reads it; default 1)."""
    text = cfg.parameters["intra_op_threads"].string_value if "intra_op_threads" in cfg.parameters else ""
    return int(text) if text.isdigit() and int(text) > 0 else 1


def buckets_in_model(entry) -> bool:
    """Whether the served model pads ragged batches itself: the kit's python model, this version of it.

    Any other model (a TensorRT plan, another python model, an older copy of ours) gets the
    pad -> model -> unpad ensemble instead.
    """
    from trt_pdk.triton.repository import PYTHON_MODEL

    if entry.config.backend != "python" or not entry.versions:
        return False
    served = entry.path / str(max(entry.versions)) / "model.py"
    return served.is_file() and served.read_bytes() == PYTHON_MODEL.read_bytes()


def _bucketing(session, *, repository, traffic, onnx_path: Path, base: dict, options, log) -> dict:
    """Plans bucketing (the baseline's server compute time prices the per-execution overhead);
    in the model (its config, see :func:`buckets_in_model`) or as an ensemble written and loaded
    here. Returns the plan's JSON."""
    from trt_pdk.profiles import load_traffic
    from trt_pdk.triton import bucketing as bk

    if not options.bucketing or options.search == "none":
        return {"enabled": False, "reason": "not asked for (--no-bucketing or --search none)"}
    if not onnx_path.is_file():
        return {"enabled": False, "reason": f"no ONNX graph at {onnx_path} to check padding on"}
    log("bucketing: checking padding on the served graph and planning edges")
    compute_us = base["server"].get(session.model, {}).get("compute_us_avg")
    entry = validate_repository(repository, [session.model])[0]
    mode = bk.IN_MODEL if buckets_in_model(entry) else bk.ENSEMBLE
    plan = bk.plan_bucketing(
        onnx_path,
        load_traffic(traffic.log),
        session.model,
        profiles=traffic.profiles,
        max_batch_size=session.file_cfg.max_batch_size,
        concurrency=options.concurrency,
        server_compute_s=compute_us / 1e6 if compute_us else None,
        max_input_mib=options.max_input_mib,
        mode=mode,
    )
    if plan.enabled and mode == bk.IN_MODEL:
        session.bucketing = plan.to_json()
    elif plan.enabled:
        for name in bk.write_bucketing(repository, session.model, plan):
            if name != session.model:
                _load(session.state, name)
        session.ensemble = bk.bucketed_name(session.model)
    return plan.to_json()


def _load(state: ServerState, name: str, config_json: str | None = None) -> None:
    """Loads a model; a server that died meanwhile is reported as dead, not as a bad model."""
    try:
        load_model(state, name, config_json)
    except UserError:
        if pid_alive(state.pid):
            raise
        raise UserError(
            f"the Triton server (PID {state.pid}) died during the measurement "
            f"(while loading model {name!r}). "
            f"Its log ({state.log}) says why; earlier results are kept."
        ) from None


def _all_failed(result: dict, what: str, state: ServerState) -> None:
    if result["succeeded"] == 0:
        first = (result.get("errors") or ["no error text"])[0]
        raise UserError(
            f"every one of the {result['requests']} requests of the {what} failed (first error: {first}). "
            f"The server's log ({state.log}) says why; check that the traffic's shapes fit the model "
            "(`trt-pdk triton verify`) before measuring."
        )


def measure_serving(
    repository: str | Path,
    model: str,
    traffic: ServingTraffic,
    options: PerfOptions,
    *,
    state: ServerState,
    onnx_model: str | Path | None = None,
    log=lambda message: None,
) -> dict:
    """Replays ``traffic`` against ``model`` on the running server, searches configs; returns the report.

    ``onnx_model``: the graph the model serves (default: ``<model>/<version>/model.onnx`` of
    the repository), on which bucketing is checked and timed.
    """
    from trt_pdk.triton.replay import replay_traffic
    from trt_pdk.triton.search import GridSearch

    t_start = time.monotonic()
    entry = validate_repository(repository, [model])[0]
    file_cfg = entry.config
    replay = replay_traffic(traffic.log, traffic.profiles)
    missing = [t.name for t in file_cfg.input if t.name not in replay.inputs]
    if missing:
        raise UserError(
            f"{traffic.log} has no shapes for the model input(s) {missing} (it logs {list(replay.inputs)}); "
            "log the shapes of every input."
        )
    dtypes = {t.name: np.dtype(tc.numpy_dtype(tc.pb_name(t.data_type))) for t in file_cfg.input}
    if file_cfg.max_batch_size == 0 and options.search != "none":
        raise UserError(
            f"model {model!r} has max_batch_size 0, so batching cannot be searched; rebuild the repository "
            "with --max-batch-size N, or pass --search none."
        )
    report: dict = {
        "model": model,
        "machine": {"cpus": _cpu_count(), "platform": platform.platform()},
        "options": asdict(options),
        "traffic": {
            "log": str(traffic.log),
            "requests_per_pass": replay.requests,
            "distinct_shapes": len(replay.shapes),
            "timestamps": replay.offsets is not None,
            "bands": [asdict(b) for b in replay.bands],
        },
    }
    onnx_path = Path(onnx_model) if onnx_model else entry.path / str(max(entry.versions)) / "model.onnx"
    session = _Session(state, model, file_cfg, traffic=replay, dtypes=dtypes, options=options)
    threads = _thread_counts(entry, options)
    baseline_point = {"instance_count": 1, "max_queue_delay_us": None, "preferred_batch_sizes": [],
                      "bucketing": False, "intra_op_threads": threads[0]}  # fmt: skip
    try:
        # The baseline's p99 is every candidate's limit: measured over the re-measure's longer
        # window, so the limit is not one lucky or unlucky handful of slow requests.
        long = LONG_WINDOW * options.duration
        log(f"baseline, {long:g} s: 1 instance, no batching, no bucketing")
        base = session.replay(baseline_point, duration=long)
        _all_failed(base, "baseline replay", state)
        report["bucketing"] = _bucketing(
            session,
            repository=repository,
            traffic=traffic,
            onnx_path=onnx_path,
            base=base,
            options=options,
            log=log,
        )
        candidates = [
            {
                "label": _label(baseline_point),
                "point": baseline_point,
                "step": 0,
                "feasible": True,
                "result": base,
            }
        ]
        winner_point, winner = baseline_point, base
        if options.search != "none":
            grid = {
                "bucketing": [False, True] if session.ensemble or session.bucketing else [False],
                "instance_count": sorted(set(options.instance_counts) | {1}),
                "max_queue_delay_us": [None, *sorted(set(options.max_queue_delays_us))],
                "preferred_batch_sizes": [list(p) for p in options.preferred_batch_sizes] or [[]],
                "intra_op_threads": sorted(threads, key=lambda t: t or 0),
            }
            if [] not in grid["preferred_batch_sizes"]:
                grid["preferred_batch_sizes"].insert(0, [])

            def measure(point: dict) -> dict:
                log(f"candidate: {_label(point)}")
                return session.replay(point)

            cpus = _cpu_count()
            search = GridSearch(
                grid,
                measure,
                lambda p: _within_cores(_normalize(p, grid["max_queue_delay_us"][1]), grid, cpus),
            )
            if options.search == "quick":
                found = search.quick(
                    baseline_point,
                    p99_limit=base["p99_ms"],
                    min_gain=options.min_gain,
                    start_result=base,
                    budget_s=options.budget_s,
                )
            else:
                found = search.exhaustive(p99_limit=base["p99_ms"])
            candidates = [
                {
                    "label": _label(c.point),
                    "point": c.point,
                    "step": c.step,
                    "feasible": c.feasible,
                    "result": c.result,
                }
                for c in found.candidates
            ]
            t_finals = time.monotonic()
            chosen, finals = _final_round(
                session, found.candidates, p99_limit=base["p99_ms"], min_gain=options.min_gain, log=log
            )
            if chosen is not None:
                winner_point, winner = chosen.point, chosen.result
            report["search"] = {
                "method": found.method,
                "grid": grid,
                "grid_points": len(search.points()),
                "measured": len(found.candidates),
                "seconds": found.seconds,
                "stopped": found.stopped,
                "finals": finals,
                "finals_seconds": round(time.monotonic() - t_finals, 2),
            }
        report["candidates"] = candidates
        for name, point, result in (("baseline", baseline_point, base), ("tuned", winner_point, winner)):
            cfg = session.config(point)
            report[name] = {
                "label": _label(point),
                "point": point,
                "config": {**_describe(cfg), "bucketing": point["bucketing"]},
                # The exact model config it ran, for a deployment to take over.
                "model_config": tc.config_to_text(cfg),
                "result": result,
            }
        if options.recheck and winner_point != baseline_point:
            # Longer than a candidate's window: p99 over a few hundred requests is a handful of
            # samples, and this is the comparison the report stands on.
            log(f"paired re-measure, {long:g} s each: baseline, then winner")
            b2 = session.replay(baseline_point, duration=long)
            w2 = session.replay(winner_point, duration=long)
            report["recheck"] = {
                "duration_s": long,
                "baseline": _brief(b2),
                "tuned": _brief(w2),
                "speedup": round(w2["throughput_rps"] / b2["throughput_rps"], 2)
                if b2["throughput_rps"]
                else None,
                "p99_no_worse": (w2["p99_ms"] or math.inf) <= (b2["p99_ms"] or math.inf),
            }
        report["bands"] = _bands(
            session,
            replay,
            base_point=baseline_point,
            win_point=winner_point,
            base=base,
            winner=winner,
            options=options,
            log=log,
        )
        if replay.offsets is not None:
            log("open loop on the log's clock: baseline, then winner")
            report["open_loop"] = {
                "speed": options.speed,
                "baseline": session.replay_open(baseline_point),
                "tuned": session.replay_open(winner_point),
            }
        else:
            report["open_loop"] = {"reason": f"{traffic.log} has no timestamps; only the closed loop was run"}
    finally:
        if pid_alive(state.pid):  # back to the config on disk, whatever happened
            load_model(state, model)
    report["summary"] = _summary(report)
    report["seconds"] = round(time.monotonic() - t_start, 1)
    return report


FINALISTS, FINAL_ROUNDS = 4, 2
# One sample's p99 is a handful of the slowest requests: the same config's p99 ranged over
# +-25 % of its mean between 3 s samples on the demo (docs/serving.md). A config whose single
# sample broke the limit by less than that may hold it on average, so it is re-measured too.
P99_BAND = 0.25


def _final_round(session, candidates, *, p99_limit: float | None, min_gain: float, log):
    """Picks the winner among the search's close calls by measuring them again.

    The finalists (at most ``FINALISTS``, the search's best feasible config always among
    them) are the configs that failed nothing, measured within twice ``min_gain`` of the
    best feasible throughput or above it, and whose single p99 sample was within the limit
    or at most ``P99_BAND`` over it. When the best's own p99 sample is within ``P99_BAND``
    under the limit, the next feasible configs join them. They are replayed
    ``FINAL_ROUNDS`` more times, in alternating order. The winner has the highest mean
    throughput among those whose mean p99 stays within the limit and that failed nothing;
    its result is the mean over its samples. If none holds, the search's best feasible
    config is kept. Returns (winner candidate or None, the final's rows).
    """
    by_rps = sorted(candidates, key=lambda c: -c.result["throughput_rps"])
    feasible = [c for c in by_rps if c.feasible]
    if not feasible:
        return None, {"reason": "no feasible config"}
    best = feasible[0]
    # Two configs' single samples differ by about twice one sample's noise, and the best one
    # may be the lucky one: the final spans twice the search's band.
    span = min(2 * min_gain, 0.5)
    floor = best.result["throughput_rps"] * (1 - span)
    reach = math.inf if p99_limit is None else p99_limit * (1 + P99_BAND)
    close = [
        c
        for c in by_rps
        if not c.result.get("failed")
        and c.result["throughput_rps"] >= floor
        and (c.result["p99_ms"] if c.result["p99_ms"] is not None else math.inf) <= reach
    ][:FINALISTS]
    if best not in close:
        close = [*close[: FINALISTS - 1], best]
    if p99_limit is not None and (best.result["p99_ms"] or math.inf) * (1 + P99_BAND) > p99_limit:
        # The best's own p99 sample is within the noise of the limit: whether it holds the
        # limit is a close call too, so the next feasible configs stand by in the final.
        close += [c for c in feasible if c not in close][: FINALISTS - len(close)]
    if len(close) < 2:
        return best, {"reason": f"no other config within {span:.0%} of the best, nor near the p99 limit"}
    log(f"final: {len(close)} configs within {span:.0%} of the best, {FINAL_ROUNDS} more rounds each")
    runs = _alternating(session, [c.point for c in close], FINAL_ROUNDS)
    rows = []
    for c, results in zip(close, runs, strict=True):
        samples = [c.result, *results]
        rps = [x["throughput_rps"] for x in samples]
        p99 = [x["p99_ms"] if x["p99_ms"] is not None else math.inf for x in samples]
        rows.append(
            {
                "config": _label(c.point),
                "throughput_rps": rps,
                "p99_ms": p99,
                "mean_throughput_rps": round(sum(rps) / len(rps), 2),
                "mean_p99_ms": round(sum(p99) / len(p99), 3),
                "first_sample_feasible": c.feasible,
                "feasible": not any(x["failed"] for x in samples)
                and (p99_limit is None or sum(p99) / len(p99) <= p99_limit),
            }
        )
    eligible = [i for i, row in enumerate(rows) if row["feasible"]]
    pick = max(eligible, key=lambda i: rows[i]["mean_throughput_rps"]) if eligible else close.index(best)
    for i, row in enumerate(rows):
        row["chosen"] = i == pick
    if not eligible:
        reason = "no finalist held the p99 limit on average; the search's best is kept"
        return best, {"rows": rows, "reason": reason, "p99_band": P99_BAND}
    won = close[pick]
    merged = _mean_result([won.result, *runs[pick]])
    return Candidate(won.point, merged, True, won.step), {"rows": rows, "reason": "", "p99_band": P99_BAND}


_MEAN_KEYS = ("throughput_rps", "p50_ms", "p95_ms", "p99_ms", "avg_batch")


def _mean_result(samples: list[dict]) -> dict:
    """One result standing for several samples of a config: the mean of each rate and
    latency (what the final round decided on), the sums of the counts; the rest (the
    histogram, the bands within the mix, the server's counters) is the first sample's."""
    out = dict(samples[0])
    for key in _MEAN_KEYS:
        values = [x[key] for x in samples if x.get(key) is not None]
        out[key] = round(sum(values) / len(values), 3) if values else None
    for key in ("failed", "succeeded"):
        out[key] = sum(x.get(key) or 0 for x in samples)
    out["samples"] = len(samples)
    return out


def _bands(session, replay, *, base_point, win_point, base, winner, options, log) -> list[dict]:
    """Per band: its share, and baseline/tuned replayed with that band alone (else from the mix)."""
    out = []
    alone = options.per_band and len(replay.bands) > 1
    for b, band in enumerate(replay.bands):
        row = {"name": band.name, "share": band.share}
        for label, point, mixed in (("baseline", base_point, base), ("tuned", win_point, winner)):
            if label == "tuned" and win_point == base_point:
                row["tuned"] = row["baseline"]  # the search kept the baseline: one measurement, not two
            elif alone:
                log(f"band {band.name}: {label} alone")
                r = session.replay(point, replay.band(b), duration=LONG_WINDOW * options.duration)
                row[label] = {**_brief(r), "measured": "band replayed alone"}
            else:
                r = mixed["bands"][b]
                row[label] = {
                    **{k: r.get(k) for k in ("throughput_rps", "p50_ms", "p95_ms", "p99_ms", "failed")},
                    "measured": "within the full mix",
                }
        bt, tt = row["baseline"]["throughput_rps"], row["tuned"]["throughput_rps"]
        row["speedup"] = round(tt / bt, 2) if bt else None
        out.append(row)
    return out


def _summary(report: dict) -> dict:
    base, tuned = report["baseline"]["result"], report["tuned"]["result"]
    return {
        "concurrency": report["options"]["concurrency"],
        "baseline": _brief(base),
        "tuned": _brief(tuned),
        "tuned_config": report["tuned"]["label"],
        "speedup": round(tuned["throughput_rps"] / base["throughput_rps"], 2)
        if base["throughput_rps"]
        else None,
        "p99_no_worse": (tuned["p99_ms"] or math.inf) <= (base["p99_ms"] or math.inf),
        "log_distinct_shapes": report["traffic"]["distinct_shapes"],
        "candidates": len(report["candidates"]),
        "failed": sum(c["result"]["failed"] for c in report["candidates"]),
        "bucketing": report["bucketing"].get("enabled", False),
        "recheck": report.get("recheck"),
    }


def run_perf(
    repository: str | Path,
    model: str,
    run_dir: str | Path,
    traffic: ServingTraffic,
    options: PerfOptions,
    *,
    state: ServerState | None = None,
    onnx_model: str | Path | None = None,
    log=lambda message: None,
) -> dict:
    """:func:`measure_serving` on a running server (``state``) or one started here.

    Writes ``perf.json`` and the winner's model config (``tuned_config.pbtxt``: batching,
    instances and, when bucketing won, ragged inputs and bucket edges) to ``run_dir``.
    """
    run_dir = Path(run_dir)
    if state is not None:
        report = measure_serving(
            repository, model, traffic, options, state=state, onnx_model=onnx_model, log=log
        )
    else:
        with TritonServer(repository, run_dir, models=[model]) as server:
            report = measure_serving(
                repository, model, traffic, options, state=server.state, onnx_model=onnx_model, log=log
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / TUNED_CONFIG, report["tuned"]["model_config"])
    write_text_atomic(run_dir / "perf.json", json.dumps(report, indent=2) + "\n")
    return report


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def paired_measure(
    repository: str | Path,
    model: str,
    traffic: ServingTraffic,
    options: PerfOptions,
    points: list[dict],
    *,
    state: ServerState,
    rounds: int = 3,
    bucketing: dict | None = None,
) -> list[list[dict]]:
    """Replays each point ``rounds`` times, alternating their order every round (ABBA...).

    A search's best is the maximum of noisy samples; measuring its rivals again, back to
    back and in alternating order, is the fair comparison on a shared machine. Points
    with bucketing need the search's plan: ``bucketing`` (the report's ``bucketing``) in
    ``in-model`` mode, else its ensemble loaded (a search with bucketing on loaded it).
    Returns, per point, its results in round order.
    """
    from trt_pdk.triton.bucketing import bucketed_name
    from trt_pdk.triton.replay import replay_traffic

    entry = validate_repository(repository, [model])[0]
    replay = replay_traffic(traffic.log, traffic.profiles)
    dtypes = {t.name: np.dtype(tc.numpy_dtype(tc.pb_name(t.data_type))) for t in entry.config.input}
    session = _Session(state, model, entry.config, traffic=replay, dtypes=dtypes, options=options)
    if bucketing and bucketing.get("mode") == "in-model":
        session.bucketing = bucketing
    else:
        session.ensemble = bucketed_name(model)
    try:
        return _alternating(session, points, rounds)
    finally:
        if pid_alive(state.pid):
            load_model(state, model)


def _alternating(session, points: list[dict], rounds: int) -> list[list[dict]]:
    """Replays each point once per round, reversing the order every other round (ABBA...), so
    drift on a shared machine does not favour whichever point goes first. Per point, its results."""
    out: list[list[dict]] = [[] for _ in points]
    for r in range(rounds):
        for i in range(len(points)) if r % 2 == 0 else reversed(range(len(points))):
            out[i].append(session.replay(points[i]))
    return out
