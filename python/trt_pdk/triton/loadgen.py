"""Our own load generator (perf_analyzer's wheels need glibc 2.38; this is asyncio + tritonclient).

* :func:`closed_loop`: ``concurrency`` clients, each sends its next request when the last
  one answers (throughput at a fixed number of requests in flight).
* :func:`open_loop`: Poisson arrivals at ``rate`` requests/s whatever the server does;
  latency counts from the *scheduled* send time, so a slow server cannot hide its
  queueing by slowing the client down (coordinated omission).

Both warm up first, then measure for ``duration`` seconds (and at most ``max_requests``),
and return one flat dict: throughput, p50/p95/p99/max latency in ms, failed requests,
client and server CPU, and the server's own queue/compute times and mean batch size
from the deltas of its ``/metrics`` counters over the measured window.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import resource
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trt_pdk.errors import UserError

_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    """Where and what to send: a model on a server, with one fixed set of input tensors."""

    model: str
    inputs: dict[str, np.ndarray]
    http_url: str | None = None  # "127.0.0.1:8000"
    grpc_url: str | None = None  # "127.0.0.1:8001"
    metrics_url: str | None = None  # "http://127.0.0.1:8002/metrics"
    server_pid: int | None = None
    protocol: str = "grpc"
    request_timeout: float = 30.0


# --------------------------------------------------------------------------- clients


class _Client:
    """One aio client with the request built once (the tensors are read-only).

    gRPC: the ``ModelInferRequest`` is serialized once and sent as is on a raw channel, so
    the client's CPU per request is the RPC itself (tritonclient's ``infer`` rebuilds the
    protobuf and parses the result on every call; on a 2-core machine that client CPU is
    taken from the server). HTTP: tritonclient's aio client.
    """

    def __init__(self, target: Target, payloads: list[dict[str, np.ndarray]] | None = None):
        self.target = target
        url = target.grpc_url if target.protocol == "grpc" else target.http_url
        if target.protocol not in ("grpc", "http"):
            raise UserError(f"protocol {target.protocol!r} is not one of grpc, http.")
        if not url:
            raise UserError(f"no {target.protocol} address for the server.")
        payloads = payloads if payloads is not None else [target.inputs]
        if target.protocol == "grpc":
            import grpc
            from tritonclient.grpc import service_pb2_grpc

            self.channel = grpc.aio.insecure_channel(
                url,
                options=[
                    ("grpc.max_send_message_length", -1),
                    ("grpc.max_receive_message_length", -1),
                ],
            )
            self.call = service_pb2_grpc.GRPCInferenceServiceStub(self.channel).ModelInfer
            self.requests = [_grpc_request(target.model, p) for p in payloads]
            self.client = None
        else:
            import tritonclient.http.aio as mod

            self.client = mod.InferenceServerClient(url)
            self.requests = [_http_inputs(mod, p) for p in payloads]

    async def infer(self, which: int = 0) -> None:
        """Sends payload ``which`` (its index in the payload list) and waits for the answer."""
        if self.client is None:
            await self.call(self.requests[which], timeout=self.target.request_timeout)
        else:
            await asyncio.wait_for(
                self.client.infer(self.target.model, self.requests[which]),
                timeout=self.target.request_timeout,
            )

    async def close(self) -> None:
        if self.client is None:
            await self.channel.close()
        else:
            await self.client.close()


def _datatypes(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    from trt_pdk.triton.config import client_datatype, triton_dtype

    return {n: client_datatype(triton_dtype(a.dtype.name)) for n, a in arrays.items()}


def _grpc_request(model: str, payload: dict[str, np.ndarray]):
    from tritonclient.grpc import service_pb2

    arrays = {n: np.ascontiguousarray(a) for n, a in payload.items()}
    dtypes = _datatypes(arrays)
    request = service_pb2.ModelInferRequest(model_name=model)
    for name, arr in arrays.items():
        t = request.inputs.add()
        t.name, t.datatype = name, dtypes[name]
        t.shape.extend(arr.shape)
        request.raw_input_contents.append(arr.tobytes())
    return request


def _http_inputs(mod, payload: dict[str, np.ndarray]) -> list:
    arrays = {n: np.ascontiguousarray(a) for n, a in payload.items()}
    dtypes = _datatypes(arrays)
    inputs = []
    for name, arr in arrays.items():
        t = mod.InferInput(name, list(arr.shape), dtypes[name])
        t.set_data_from_numpy(arr)
        inputs.append(t)
    return inputs


# --------------------------------------------------------------------------- CPU, metrics


def _process_tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per process of ``pid`` and its descendants (the python stubs are its children)."""
    try:
        import psutil  # optional: more robust than /proc parsing where installed
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            proc = psutil.Process(pid)
            out = {}
            for p in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    out[p.pid] = t.user + t.system
            return out
        except psutil.Error:
            return {}
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(kids)
        frontier += kids
    return {p: ticks[p] / _CLK_TCK for p in tree if p in ticks}


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    # Per process: a stub that exits during the window (a model reload) must not make the
    # sum negative; one that starts counts from zero.
    return sum(max(0.0, t - before.get(p, 0.0)) for p, t in after.items())


def _client_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


_METRICS = (
    "nv_inference_request_success",
    "nv_inference_request_failure",
    "nv_inference_exec_count",
    "nv_inference_count",
    "nv_inference_queue_duration_us",
    "nv_inference_compute_infer_duration_us",
    "nv_inference_request_duration_us",
)


def scrape_metrics(url: str | None, model: str) -> dict[str, float]:
    """Sums the per-model inference counters of Triton's Prometheus ``/metrics`` (all versions)."""
    every = scrape_all_metrics(url)
    if not url or every is None:
        return {}
    return every.get(model, dict.fromkeys(_METRICS, 0.0))


_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\}\s+([0-9.eE+-]+)$")
_MODEL_LABEL = re.compile(r'model="([^"]*)"')


def scrape_all_metrics(url: str | None) -> dict[str, dict[str, float]] | None:
    """Model -> its inference counters (summed over versions); None when /metrics cannot be read."""
    if not url:
        return None
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or m.group(1) not in _METRICS:
            continue
        label = _MODEL_LABEL.search(m.group(2))
        if label:
            counters = out.setdefault(label.group(1), dict.fromkeys(_METRICS, 0.0))
            counters[m.group(1)] += float(m.group(3))
    return out


def batching_by_model(before: dict | None, after: dict | None) -> dict[str, dict]:
    """Per model, from two /metrics snapshots: requests, executions and the average batch.

    ``avg_batch`` is requests per model execution (``nv_inference_request_success`` over
    ``nv_inference_exec_count``): how many client requests the server merged per run;
    ``avg_batch_items`` counts batch items instead (a request of batch 4 is 4 items).
    """
    if not before or not after:
        return {}
    out = {}
    for model, now in after.items():
        then = before.get(model, {})
        d = {k: now.get(k, 0.0) - then.get(k, 0.0) for k in _METRICS}
        ok, execs = d["nv_inference_request_success"], d["nv_inference_exec_count"]
        if ok <= 0 and d["nv_inference_request_failure"] <= 0:
            continue
        out[model] = {
            "requests": int(ok),
            "failures": int(d["nv_inference_request_failure"]),
            "executions": int(execs),
            "avg_batch": round(ok / execs, 2) if execs else None,
            "avg_batch_items": round(d["nv_inference_count"] / execs, 2) if execs else None,
            "queue_us_avg": round(d["nv_inference_queue_duration_us"] / ok, 1) if ok else None,
            "compute_us_avg": round(d["nv_inference_compute_infer_duration_us"] / ok, 1) if ok else None,
        }
    return out


def _server_side(before: dict, after: dict) -> dict:
    if not before or not after:
        return {}
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in _METRICS}
    ok = d["nv_inference_request_success"]
    execs = d["nv_inference_exec_count"]
    return {
        "server_requests": int(ok),
        "server_failures": int(d["nv_inference_request_failure"]),
        "server_queue_us_avg": round(d["nv_inference_queue_duration_us"] / ok, 1) if ok else None,
        "server_compute_us_avg": round(d["nv_inference_compute_infer_duration_us"] / ok, 1) if ok else None,
        "server_request_us_avg": round(d["nv_inference_request_duration_us"] / ok, 1) if ok else None,
        # inference_count counts batch items; exec_count counts model executions.
        "avg_batch_size": round(d["nv_inference_count"] / execs, 2) if execs else None,
    }


# --------------------------------------------------------------------------- loops


@dataclass
class _Window:
    start: float = 0.0
    end: float = 0.0
    measuring: bool = False


def latency_summary(latencies: list[float], failed: int, elapsed: float, errors: list[str] = ()) -> dict:
    """Counts, req/s and latency percentiles (ms) of one measurement; the first 5 distinct errors."""
    lat = np.asarray(latencies, dtype=np.float64) * 1000.0
    pct = (lambda q: round(float(np.percentile(lat, q)), 3)) if lat.size else (lambda q: None)
    return {
        "requests": int(lat.size) + failed,
        "succeeded": int(lat.size),
        "failed": failed,
        "duration_s": round(elapsed, 3),
        "throughput_rps": round(lat.size / elapsed, 2) if elapsed > 0 else 0.0,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(float(lat.max()), 3) if lat.size else None,
        "mean_ms": round(float(lat.mean()), 3) if lat.size else None,
        "errors": sorted(set(errors))[:5],
    }


async def _measure(target: Target, body, warmup: float, duration: float) -> dict:
    """Runs ``body(client, window, record)`` and wraps it with CPU and metrics deltas."""
    client = _Client(target)
    latencies: list[float] = []
    errors: list[str] = []
    failed = 0
    window = _Window()

    def record(lat: float | None, error: BaseException | None = None) -> None:
        nonlocal failed
        if not window.measuring:
            return
        if error is None:
            latencies.append(lat)
        else:
            failed += 1
            errors.append(f"{type(error).__name__}: {str(error)[:200]}")

    marks = {}

    async def clock():
        await asyncio.sleep(warmup)
        marks["metrics"] = scrape_metrics(target.metrics_url, target.model)
        marks["client_cpu"] = _client_cpu()
        marks["server_cpu"] = _process_tree_cpu(target.server_pid) if target.server_pid else None
        window.start = time.perf_counter()
        window.measuring = True
        await asyncio.sleep(duration)
        window.measuring = False
        window.end = time.perf_counter()

    try:
        await body(client, window, record, clock())
    finally:
        await client.close()
    elapsed = (window.end or time.perf_counter()) - (window.start or time.perf_counter())
    after_metrics = scrape_metrics(target.metrics_url, target.model)
    result = latency_summary(latencies, failed, elapsed, errors)
    cpu = _client_cpu() - marks.get("client_cpu", _client_cpu())
    result["client_cpu_pct"] = round(100 * cpu / elapsed, 1) if elapsed > 0 else None
    if marks.get("server_cpu") is not None:
        scpu = _cpu_delta(marks["server_cpu"], _process_tree_cpu(target.server_pid))
        result["server_cpu_pct"] = round(100 * scpu / elapsed, 1) if elapsed > 0 else None
    result.update(_server_side(marks.get("metrics", {}), after_metrics))
    return result


async def _closed_async(target, concurrency, warmup, duration, max_requests) -> dict:
    async def body(client, window, record, clock):
        clock_task = asyncio.ensure_future(clock)
        sent = 0
        stop_at = time.perf_counter() + warmup + duration + 1.0  # hard bound, whatever happens

        async def worker():
            nonlocal sent
            while not clock_task.done() and sent < max_requests and time.perf_counter() < stop_at:
                sent += 1
                t0 = time.perf_counter()
                try:
                    await client.infer()
                except Exception as exc:  # every failure counts; the loop goes on
                    record(None, exc)
                    await asyncio.sleep(0.01)  # a dead server must not become a busy loop
                    continue
                record(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if not clock_task.done():
            clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock_task

    result = await _measure(target, body, warmup, duration)
    return result


async def _open_async(target, rate, *, warmup, duration, max_requests, max_outstanding, seed) -> dict:
    dropped = 0

    async def body(client, window, record, clock):
        nonlocal dropped
        rng = random.Random(seed)
        clock_task = asyncio.ensure_future(clock)
        pending: set[asyncio.Task] = set()
        start = time.perf_counter()
        t_next = start
        sent = 0

        async def one(scheduled: float):
            try:
                await client.infer()
            except Exception as exc:
                record(None, exc)
                return
            record(time.perf_counter() - scheduled)

        while not clock_task.done() and sent < max_requests:
            t_next += rng.expovariate(rate)
            delay = t_next - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(pending) >= max_outstanding:
                # The server is too far behind: count the arrival as failed instead of
                # queueing without bound in the client.
                if window.measuring:
                    dropped += 1
                continue
            sent += 1
            task = asyncio.ensure_future(one(t_next))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending, timeout=target.request_timeout)
        for task in pending:
            task.cancel()
        if not clock_task.done():
            clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock_task

    result = await _measure(target, body, warmup, duration)
    result["failed"] += dropped
    result["requests"] += dropped
    result["dropped"] = dropped
    return result


def closed_loop(
    target: Target,
    concurrency: int,
    duration: float = 5.0,
    warmup: float = 1.0,
    max_requests: int = 1_000_000,
) -> dict:
    """Closed-loop load at ``concurrency`` clients; returns the flat result dict (see module doc)."""
    if concurrency < 1:
        raise UserError(f"concurrency must be >= 1, got {concurrency}.")
    result = asyncio.run(_closed_async(target, concurrency, warmup, duration, max_requests))
    _check_server(target, result)
    return {"mode": "closed", "protocol": target.protocol, "concurrency": concurrency, **result}


def open_loop(
    target: Target,
    rate: float,
    *,
    duration: float = 5.0,
    warmup: float = 1.0,
    max_requests: int = 1_000_000,
    max_outstanding: int = 256,
    seed: int = 0,
) -> dict:
    """Open-loop Poisson load at ``rate`` requests/s; arrivals beyond ``max_outstanding`` count as failed."""
    if rate <= 0:
        raise UserError(f"rate must be > 0 requests/s, got {rate}.")
    result = asyncio.run(
        _open_async(
            target,
            rate,
            warmup=warmup,
            duration=duration,
            max_requests=max_requests,
            max_outstanding=max_outstanding,
            seed=seed,
        )
    )
    _check_server(target, result)
    return {"mode": "open", "protocol": target.protocol, "rate_rps": rate, **result}


def _check_server(target: Target, result: dict) -> None:
    """A server that died under load is the user's problem to see, not a row of failures."""
    if target.server_pid is None:
        return
    from trt_pdk.triton.server import pid_alive

    if not pid_alive(target.server_pid):
        raise UserError(
            f"the Triton server (PID {target.server_pid}) died during the measurement "
            f"({result['failed']} of {result['requests']} requests failed; first error: "
            f"{(result['errors'] or ['none'])[0]}). Its log in the run folder says why; earlier "
            "results are kept."
        )
