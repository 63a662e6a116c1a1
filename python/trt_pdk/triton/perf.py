"""Serving profiles: measure a baseline, then tune one variable at a time, keep baseline vs tuned.

The variables, in order: dynamic batching (off -> on), instance count, preferred batch
sizes, max queue delay. Each candidate config is loaded into the running server through Triton's load API
with a config override (the repository on disk is never rewritten), measured at every
concurrency level (closed loop) and rate (open loop), and kept only if it raises the
throughput at ``target_concurrency`` by at least ``min_gain``, with a p99 at most
``p99_slack`` worse than the best so far and never worse than the baseline's ("p99 no
worse" is part of the choice, not only of the report).
At the end the model is reloaded with its own config.pbtxt.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.triton import config as tc
from trt_pdk.triton.loadgen import Target, closed_loop, open_loop
from trt_pdk.triton.repository import validate_repository
from trt_pdk.triton.server import ServerState, TritonServer, load_model


@dataclass
class PerfSettings:
    """What to measure.

    Args:
        concurrency: closed-loop client counts (default 1, 4, 16).
        rates: open-loop Poisson rates in requests/s (default none).
        duration / warmup: seconds measured / discarded per level (default 3 / 1).
        protocol: ``grpc`` (default) or ``http``.
        request_batch: batch size of each request (default 1).
        target_concurrency: where tuning decisions are made (default 16).
        min_gain: relative throughput gain a change must bring to be kept (default 0.05).
        p99_slack: how much worse than the best so far p99 may get for a kept change
            (default 0.10 = +10 %); a kept change is never worse than the baseline's p99.
        tune: run the one-variable-at-a-time steps (default True); else baseline only.
        instance_counts / preferred_batch_sizes / max_queue_delays_us: candidate values of
            those steps (the batcher's own delay is 100 us until a step changes it).
        recheck: when tuning changed the config, measure baseline and tuned once more, back
            to back at ``target_concurrency`` (``summary["recheck"]``): a second, paired
            sample of the speedup, so the noise of a shared machine shows in the report.
    """

    concurrency: list[int] = field(default_factory=lambda: [1, 4, 16])
    rates: list[float] = field(default_factory=list)
    duration: float = 3.0
    warmup: float = 1.0
    protocol: str = "grpc"
    request_batch: int = 1
    target_concurrency: int = 16
    min_gain: float = 0.05
    p99_slack: float = 0.10
    tune: bool = True
    instance_counts: list[int] = field(default_factory=lambda: [2])
    preferred_batch_sizes: list[list[int]] = field(default_factory=lambda: [[4, 8, 16]])
    max_queue_delays_us: list[int] = field(default_factory=list)
    recheck: bool = True


def _describe(cfg) -> dict:
    return {
        "dynamic_batching": cfg.HasField("dynamic_batching"),
        "instance_count": sum(g.count or 1 for g in cfg.instance_group) or 1,
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


def sample_inputs(cfg, batch: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs that fit a config (dynamic dims become 1, a batch dim is added if batched)."""
    rng = np.random.default_rng(seed)
    out = {}
    for t in cfg.input:
        shape = ([batch] if cfg.max_batch_size > 0 else []) + [d if d > 0 else 1 for d in t.dims]
        dtype = np.dtype(tc.numpy_dtype(tc.pb_name(t.data_type)))
        if dtype.kind == "f":
            out[t.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind in "iu":
            out[t.name] = rng.integers(0, 10, shape).astype(dtype)
        elif dtype.kind == "b":
            out[t.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            raise UserError(f"input {t.name!r}: perf cannot make sample {dtype} data; pass --inputs.")
    return out


class ProfileServing:
    """Baseline and one-variable-at-a-time tuning of a model's serving config.

    Args:
        repository: deployment folder / model repository holding ``model``.
        model: model name.
        run_dir: where the server runs (when we start it) and ``perf.json`` is written.
        settings: :class:`PerfSettings`.
        state: an already running server (``serve --detach``); default: start one here.
        inputs: request tensors (default: random, from the config).

    Calling it returns (and writes to ``run_dir/perf.json``)::

        {"model", "machine", "settings",
         "baseline": {"config": {...}, "results": [result, ...]},
         "steps": [{"variable", "value", "config", "results", "kept"}],
         "tuned": {"config", "results"}, "summary": {...}}

    where each ``result`` is ``{"dynamic_batching", "instance_count", "concurrency" or
    "rate_rps", "throughput_rps", "p50_ms", "p95_ms", "p99_ms", "max_ms", "failed", ...}``.
    """

    def __init__(
        self,
        repository: str | Path,
        model: str,
        run_dir: str | Path,
        settings: PerfSettings | None = None,
        *,
        state: ServerState | None = None,
        inputs: dict[str, np.ndarray] | None = None,
    ):
        self.repository = Path(repository)
        self.model = model
        self.run_dir = Path(run_dir)
        self.settings = settings or PerfSettings()
        self.state = state
        self.inputs = inputs

    def __call__(self) -> dict:
        entry = validate_repository(self.repository, [self.model])[0]
        if self.state is not None:
            return self._run(self.state, entry.config)
        with TritonServer(self.repository, self.run_dir, models=[self.model]) as server:
            return self._run(server.state, entry.config)

    def _measure(self, state: ServerState, cfg, levels: list[int] | None = None) -> list[dict]:
        """Every concurrency level and rate of the settings, or only the closed-loop ``levels``."""
        load_model(state, self.model, tc.config_to_json(cfg))
        s = self.settings
        target = Target(
            self.model,
            self.inputs or sample_inputs(cfg, s.request_batch),
            state.http_url,
            state.grpc_url,
            state.metrics_url,
            state.pid,
            s.protocol,
        )
        described = _describe(cfg)
        results = []
        for c in s.concurrency if levels is None else levels:
            results.append({**described, **closed_loop(target, c, s.duration, s.warmup)})
        for r in s.rates if levels is None else []:
            results.append({**described, **open_loop(target, r, duration=s.duration, warmup=s.warmup)})
        return results

    def _at_target(self, results: list[dict]) -> dict:
        rows = [r for r in results if r.get("mode") == "closed"]
        if not rows:
            return results[0]
        return min(rows, key=lambda r: abs(r["concurrency"] - self.settings.target_concurrency))

    def _run(self, state: ServerState, file_cfg) -> dict:
        s = self.settings
        if file_cfg.max_batch_size == 0 and s.tune:
            raise UserError(
                f"model {self.model!r} has max_batch_size 0, so batching cannot be tuned; rebuild the "
                "repository with --max-batch-size N, or pass --no-tune."
            )
        # Tuning starts from no batching, one instance; without tuning, measure the config as written.
        baseline_cfg = _variant(file_cfg, dynamic_batching=False, instance_count=1) if s.tune else file_cfg
        report = {
            "model": self.model,
            "machine": {"cpus": _cpu_count(), "platform": platform.platform()},
            "settings": asdict(s),
        }
        try:
            baseline = self._measure(state, baseline_cfg)
            report["baseline"] = {"config": _describe(baseline_cfg), "results": baseline}
            best_cfg, best = baseline_cfg, self._at_target(baseline)
            best_results = baseline
            steps = []
            candidates = []
            if s.tune:
                candidates = [("dynamic_batching", True)]
                candidates += [("instance_count", n) for n in s.instance_counts]
                candidates += [("preferred_batch_sizes", p) for p in s.preferred_batch_sizes]
                candidates += [("max_queue_delay_us", d) for d in s.max_queue_delays_us]
            base = self._at_target(baseline)
            for variable, value in candidates:
                batcher_only = variable in ("preferred_batch_sizes", "max_queue_delay_us")
                if batcher_only and not best_cfg.HasField("dynamic_batching"):
                    continue  # meaningless without the dynamic batcher
                cfg = _variant(best_cfg, **{variable: value})
                results = self._measure(state, cfg)
                here = self._at_target(results)
                kept = (
                    here["failed"] == 0
                    and here["throughput_rps"] >= best["throughput_rps"] * (1 + s.min_gain)
                    and (here["p99_ms"] or 0) <= (best["p99_ms"] or 0) * (1 + s.p99_slack)
                    and (here["p99_ms"] or 0) <= (base["p99_ms"] or 0)
                )
                steps.append(
                    {
                        "variable": variable,
                        "value": value,
                        "config": _describe(cfg),
                        "results": results,
                        "kept": kept,
                    }
                )
                if kept:
                    best_cfg, best, best_results = cfg, here, results
            report["steps"] = steps
            report["tuned"] = {"config": _describe(best_cfg), "results": best_results}
            db = next((st for st in steps if st["variable"] == "dynamic_batching"), None)
            report["summary"] = {
                "target_concurrency": base.get("concurrency"),
                "baseline_throughput_rps": base["throughput_rps"],
                "baseline_p99_ms": base["p99_ms"],
                "tuned_throughput_rps": best["throughput_rps"],
                "tuned_p99_ms": best["p99_ms"],
                "p99_no_worse": (best["p99_ms"] or 0) <= (base["p99_ms"] or 0),
                "speedup": round(best["throughput_rps"] / base["throughput_rps"], 2)
                if base["throughput_rps"]
                else None,
                "dynamic_batching_speedup": round(
                    self._at_target(db["results"])["throughput_rps"] / base["throughput_rps"], 2
                )
                if db and base["throughput_rps"]
                else None,
                "failed": sum(r["failed"] for r in baseline)
                + sum(r["failed"] for st in steps for r in st["results"]),
            }
            if s.tune and s.recheck and best_cfg is not baseline_cfg:
                level = [base["concurrency"]]
                b2 = self._measure(state, baseline_cfg, level)[0]
                t2 = self._measure(state, best_cfg, level)[0]
                report["summary"]["recheck"] = {
                    "baseline_throughput_rps": b2["throughput_rps"],
                    "baseline_p99_ms": b2["p99_ms"],
                    "tuned_throughput_rps": t2["throughput_rps"],
                    "tuned_p99_ms": t2["p99_ms"],
                    "speedup": round(t2["throughput_rps"] / b2["throughput_rps"], 2)
                    if b2["throughput_rps"]
                    else None,
                    "failed": b2["failed"] + t2["failed"],
                }
        finally:
            # Back to the config on disk, whatever happened (skip if the server is gone).
            from trt_pdk.triton.server import pid_alive

            if pid_alive(state.pid):
                load_model(state, self.model)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.run_dir / "perf.json", json.dumps(report, indent=2) + "\n")
        return report


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
