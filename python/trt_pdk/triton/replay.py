"""Replaying a traffic log against a served model: the shape mix it will really see.

* :func:`replay_traffic` reads the log (``trt_pdk.profiles`` reads its rows) into one
  *pass*: every logged request once, in recorded proportions. Without timestamps the
  pass is shuffled with a fixed seed (logs are often sorted by shape, and a closed loop
  fed in that order would send one shape at a time); with timestamps on every row it
  keeps their order and their offsets.
* :func:`replay_closed`: ``concurrency`` clients send the pass's requests one after the
  other (each client sends its next request when its last one answers). Only whole
  passes are measured, so the shapes sent in the measured window are exactly the log's
  counts times the number of passes; the clients keep sending past the window so its
  last requests still see ``concurrency`` requests in flight.
* :func:`replay_open`: the pass sent on the log's own clock (its timestamps divided by
  ``speed``); latency counts from the scheduled send time (no coordinated omission).

Both return a flat result (as :mod:`trt_pdk.triton.loadgen`'s loops do) plus the
histogram of shapes sent, the result per traffic band (the planner's profiles), and
the server's own batching per model from two ``/metrics`` snapshots around the window.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB
from trt_pdk.triton import loadgen
from trt_pdk.triton.loadgen import Target, latency_summary

Shape = tuple[tuple[int, ...], ...]  # per input (in ``inputs`` order) its shape


@dataclass(frozen=True)
class Band:
    """A traffic band: the requests one optimization profile of the planner serves."""

    name: str
    share: float  # fraction of the log's requests


@dataclass
class ReplayTraffic:
    """One pass of a traffic log, ready to send.

    Attributes:
        inputs: input names, in the order of each shape's tuples.
        shapes: distinct shapes; ``counts[i]`` requests of ``shapes[i]`` per pass.
        order: one pass: the index into ``shapes`` of each request, in sending order.
        offsets: seconds from the pass's first request (None: the log has no timestamps).
        bands: traffic bands; ``band_of[i]`` is the band of ``shapes[i]``.
        source: where the log came from.
    """

    inputs: tuple[str, ...]
    shapes: list[Shape]
    counts: list[int]
    order: list[int]
    offsets: list[float] | None
    bands: list[Band] = field(default_factory=list)
    band_of: list[int] = field(default_factory=list)
    source: str = "traffic"

    @property
    def requests(self) -> int:
        return len(self.order)

    def histogram(self) -> dict[str, int]:
        return {shape_text(self.inputs, s): c for s, c in zip(self.shapes, self.counts, strict=True)}

    def band(self, index: int) -> ReplayTraffic:
        """The pass restricted to one band (same shapes, same relative order)."""
        keep = [i for i, b in enumerate(self.band_of) if b == index]
        remap = {old: new for new, old in enumerate(keep)}
        order = [remap[i] for i in self.order if i in remap]
        offsets = None
        if self.offsets is not None:
            offsets = [t for i, t in zip(self.order, self.offsets, strict=True) if i in remap]
            offsets = [t - offsets[0] for t in offsets] if offsets else []
        return ReplayTraffic(
            self.inputs,
            [self.shapes[i] for i in keep],
            [self.counts[i] for i in keep],
            order,
            offsets,
            [self.bands[index]],
            [0] * len(keep),
            f"{self.source} ({self.bands[index].name})",
        )


def shape_text(inputs: tuple[str, ...], shape: Shape) -> str:
    return " ".join(f"{n}:{'x'.join(map(str, s))}" for n, s in zip(inputs, shape, strict=True))


def replay_traffic(path: str | Path, profiles: list[dict] | None = None, *, seed: int = 0) -> ReplayTraffic:
    """One pass of the traffic log at ``path``; bands from ``profiles`` (the planner's), if given.

    Counts must be whole numbers (a replay sends requests, not weights).
    """
    from trt_pdk.profiles import load_request_log, route

    rows = load_request_log(path)
    inputs = tuple(rows[0].shapes)
    index: dict[Shape, int] = {}
    per_row: list[tuple[int, int, float | None]] = []
    for n, row in enumerate(rows, 1):
        if row.count != int(row.count):
            raise UserError(
                f"{path}, request {n}: count {row.count} is not a whole number; a replay sends whole "
                "requests. Log request counts (or one row per request)."
            )
        key = tuple(tuple(row.shapes[name]) for name in inputs)
        per_row.append((index.setdefault(key, len(index)), int(row.count), row.timestamp))
    shapes = list(index)
    counts = [0] * len(shapes)
    for i, c, _ in per_row:
        counts[i] += c
    timed = all(t is not None for _, _, t in per_row)
    if timed:
        per_row.sort(key=lambda r: r[2])  # stable: rows of one instant keep their log order
        t0 = per_row[0][2]
        order = [i for i, c, _ in per_row for _ in range(c)]
        offsets = [t - t0 for _, c, t in per_row for _ in range(c)]
    else:
        flat = np.array([i for i, c, _ in per_row for _ in range(c)], dtype=np.int64)
        order = np.random.default_rng(seed).permutation(flat).tolist()
        offsets = None
    total = sum(counts)
    bands: list[Band] = []
    band_of = [0] * len(shapes)
    if profiles:
        routes = [route(profiles, dict(zip(inputs, map(list, s), strict=True))) for s in shapes]
        names = [_band_name(i, p) for i, p in enumerate(profiles)]
        used = sorted({r for r in routes if r is not None})
        if any(r is None for r in routes):
            names.append("outside every profile")
        slot = {r: k for k, r in enumerate(used)}
        for i, r in enumerate(routes):
            band_of[i] = slot[r] if r is not None else len(used)
        labels = [names[r] for r in used] + (["outside every profile"] if None in routes else [])
        for b, label in enumerate(labels):
            share = sum(c for c, bo in zip(counts, band_of, strict=True) if bo == b) / total
            bands.append(Band(label, round(share, 4)))
    else:
        bands = [Band("all", 1.0)]
    return ReplayTraffic(inputs, shapes, counts, order, offsets, bands, band_of, str(path))


def _band_name(index: int, profile: dict) -> str:
    parts = []
    for name, rng in profile.items():
        for d, (lo, hi) in enumerate(zip(rng["min"], rng["max"], strict=True)):
            if lo != hi:
                parts.append(f"{name}[{d}] {lo}..{hi}")
    return f"profile {index}" + (f" ({', '.join(parts)})" if parts else "")


def payloads(
    traffic: ReplayTraffic,
    dtypes: dict[str, np.dtype],
    seed: int = 0,
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
) -> list[dict[str, np.ndarray]]:
    """One set of request tensors per distinct shape, from the execution layer's generator
    (seeded; a request past ``max_input_mib`` is refused before it is allocated)."""
    from trt_pdk.execution import TensorInfo, random_inputs

    tensors = [TensorInfo(n, np.dtype(dtypes[n]), ()) for n in traffic.inputs]
    return [
        random_inputs(
            tensors,
            shapes=dict(zip(traffic.inputs, shape, strict=True)),
            seed=seed + k,
            max_input_mib=max_input_mib,
            narrow=f"{traffic.source} logs the request {shape_text(traffic.inputs, shape)}: fix the log",
        )
        for k, shape in enumerate(traffic.shapes)
    ]


# --------------------------------------------------------------------------- measuring


@dataclass
class _Tally:
    """What the measured window saw, request by request."""

    latencies: list[float] = field(default_factory=list)  # seconds, succeeded only
    shape_of: list[int] = field(default_factory=list)  # per succeeded request
    failed_shapes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, which: int, latency: float | None, error: BaseException | None = None) -> None:
        if error is None:
            self.latencies.append(latency)
            self.shape_of.append(which)
        else:
            self.failed_shapes.append(which)
            self.errors.append(f"{type(error).__name__}: {str(error)[:200]}")


def _result(traffic: ReplayTraffic, tally: _Tally, elapsed: float, *, before, after, model: str) -> dict:
    sent = Counter(tally.shape_of) + Counter(tally.failed_shapes)
    out = latency_summary(tally.latencies, len(tally.failed_shapes), elapsed)
    out["duration_s"] = round(elapsed, 3)
    out["distinct_shapes"] = len(sent)
    out["histogram"] = {shape_text(traffic.inputs, traffic.shapes[i]): sent[i] for i in sorted(sent)}
    bands = []
    lat = np.asarray(tally.latencies)
    band_of_ok = np.asarray([traffic.band_of[i] for i in tally.shape_of], dtype=np.int64)
    failed_bands = Counter(traffic.band_of[i] for i in tally.failed_shapes)
    for b, band in enumerate(traffic.bands):
        mine = lat[band_of_ok == b].tolist() if lat.size else []
        bands.append(
            {"name": band.name, "share": band.share, **latency_summary(mine, failed_bands[b], elapsed)}
        )
    out["bands"] = bands
    out["errors"] = sorted(set(tally.errors))[:5]
    out["server"] = loadgen.batching_by_model(before, after)
    out["avg_batch"] = out["server"].get(model, {}).get("avg_batch")
    return out


async def _closed(
    target: Target,
    traffic: ReplayTraffic,
    sends: list[dict],
    *,
    concurrency: int,
    duration: float,
    warmup: int,
    max_passes: int,
) -> dict:
    client = loadgen._Client(target, sends)
    n = traffic.requests
    tally = _Tally()
    # Requests warmup .. end-1 are measured (whole passes); `end` may grow by a pass until
    # the last measured request is handed out, then it is frozen.
    w = {"next": 0, "end": warmup + n, "frozen": False, "done": 0, "passes": 1, "start": None, "stop": None}
    snapshots: dict[str, object] = {}

    def take() -> int | None:
        i = w["next"]
        if w["stop"] is not None:
            return None
        if i == warmup:
            snapshots["before"] = loadgen.scrape_all_metrics(target.metrics_url)
            w["start"] = time.perf_counter()
        if i == w["end"] - 1:
            # Another pass only while the window is short and something answered at all.
            if time.perf_counter() - w["start"] < duration and w["passes"] < max_passes and tally.latencies:
                w["end"] += n
                w["passes"] += 1
            else:
                w["frozen"] = True
        w["next"] = i + 1
        return i

    async def worker():
        while (i := take()) is not None:
            which = traffic.order[i % n]
            t0 = time.perf_counter()
            try:
                await client.infer(which)
                error = None
            except Exception as exc:  # every failure counts; the loop goes on
                error = exc
            if warmup <= i < w["end"]:
                tally.record(which, time.perf_counter() - t0, error)
                w["done"] += 1
                if w["frozen"] and w["done"] == w["end"] - warmup:
                    w["stop"] = time.perf_counter()
                    snapshots["after"] = loadgen.scrape_all_metrics(target.metrics_url)
            if error is not None:
                await asyncio.sleep(0.01)  # a dead server must not become a busy loop

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.close()
    elapsed = (w["stop"] or time.perf_counter()) - (w["start"] or time.perf_counter())
    result = _result(
        traffic,
        tally,
        elapsed,
        before=snapshots.get("before"),
        after=snapshots.get("after"),
        model=target.model,
    )
    result["passes"] = w["passes"]
    return result


async def _open(
    target: Target, traffic: ReplayTraffic, sends: list[dict], speed: float, max_outstanding: int
) -> dict:
    client = loadgen._Client(target, sends)
    tally = _Tally()
    pending: set[asyncio.Task] = set()
    dropped: list[int] = []

    async def one(which: int, scheduled: float):
        try:
            await client.infer(which)
        except Exception as exc:
            tally.record(which, None, exc)
            return
        tally.record(which, time.perf_counter() - scheduled, None)

    before = loadgen.scrape_all_metrics(target.metrics_url)
    start = time.perf_counter()
    try:
        for which, offset in zip(traffic.order, traffic.offsets, strict=True):
            scheduled = start + offset / speed
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(pending) >= max_outstanding:
                dropped.append(which)  # the server is too far behind: counted as failed
                continue
            task = asyncio.ensure_future(one(which, scheduled))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending, timeout=target.request_timeout)
        for task in pending:
            task.cancel()
    finally:
        await client.close()
    elapsed = time.perf_counter() - start
    for which in dropped:
        tally.record(which, None, RuntimeError("dropped: more than max_outstanding requests in flight"))
    after = loadgen.scrape_all_metrics(target.metrics_url)
    result = _result(traffic, tally, elapsed, before=before, after=after, model=target.model)
    result["dropped"] = len(dropped)
    return result


def replay_closed(
    target: Target,
    traffic: ReplayTraffic,
    dtypes: dict[str, np.dtype],
    *,
    concurrency: int = 16,
    duration: float = 2.0,
    warmup_requests: int | None = None,
    max_passes: int = 20,
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
) -> dict:
    """Closed-loop replay: whole passes of ``traffic`` at ``concurrency`` clients.

    Measures at least one pass, and more passes (up to ``max_passes``) until the window
    lasts ``duration`` seconds; the first ``warmup_requests`` (default: 2 per client,
    at most one pass) are sent but not measured.
    """
    if concurrency < 1:
        raise UserError(f"concurrency must be >= 1, got {concurrency}.")
    if not (duration > 0 and math.isfinite(duration)):
        raise UserError(f"duration must be a positive number of seconds, got {duration}.")
    warm = min(traffic.requests, 2 * concurrency) if warmup_requests is None else warmup_requests
    result = asyncio.run(
        _closed(
            target,
            traffic,
            payloads(traffic, dtypes, max_input_mib=max_input_mib),
            concurrency=concurrency,
            duration=duration,
            warmup=warm,
            max_passes=max(1, max_passes),
        )
    )
    loadgen._check_server(target, result)
    return {"mode": "closed", "protocol": target.protocol, "concurrency": concurrency, **result}


def replay_open(
    target: Target,
    traffic: ReplayTraffic,
    dtypes: dict[str, np.dtype],
    *,
    speed: float = 1.0,
    max_outstanding: int = 256,
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
) -> dict:
    """Open-loop replay of one pass on the log's clock, ``speed`` times faster (needs timestamps)."""
    if traffic.offsets is None:
        raise UserError(
            f"{traffic.source} has no timestamps, so there is no recorded rate to replay; add a "
            "'timestamp' (seconds) to every row, or use the closed loop (--concurrency)."
        )
    if not (speed > 0 and math.isfinite(speed)):
        raise UserError(f"the replay speed must be a positive number, got {speed}.")
    requests = payloads(traffic, dtypes, max_input_mib=max_input_mib)
    result = asyncio.run(_open(target, traffic, requests, speed, max_outstanding))
    loadgen._check_server(target, result)
    span = traffic.offsets[-1] / speed if traffic.offsets else 0.0
    return {
        "mode": "open",
        "protocol": target.protocol,
        "speed": speed,
        "offered_rps": round(traffic.requests / span, 2) if span > 0 else None,
        **result,
    }
