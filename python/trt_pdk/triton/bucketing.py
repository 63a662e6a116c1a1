"""Shape bucketing planned from traffic: which axes may be padded, where the bucket edges go.

Triton's dynamic batcher only merges requests whose non-batch dims are equal, so on mixed
traffic it merges little. Padding each request along a dynamic axis up to a *bucket
edge* makes the requests of one bucket equal; the answer is cut back to the request's
own length. The parts:

* :func:`check_padding` decides whether an axis may be padded at all, on real
  computation: it runs the served ONNX graph (onnxruntime) on traffic shapes, once as
  they are and once zero-padded up to bucket edges, and compares the outputs cut back to
  the unpadded length. Attention or a normalization over the padded axis changes them,
  and the axis is refused with the numbers that show it. Output axes follow an input
  axis by its symbolic dim name; an output without it is compared whole.
* :func:`plan_edges` places the edges. Within each traffic band (the profile planner's
  profiles, so no bucket straddles two engine profiles) the planner's exact one-axis
  dynamic program (``trt_pdk.profiles.profiles_from_traffic``, cost ``padded_elements``)
  gives the least-padding edges for each bucket count k; the k kept is the one with the
  lowest estimated serving time per request, padded work against batching gain, with
  ``run_time`` timed on the same onnxruntime graph at growing sizes (:func:`time_model`)
  and ``overhead`` the server's measured per-execution cost beyond the graph.
* Where the buckets are formed, two modes:

  - ``in-model`` (the kit's python-backend model): the model's inputs accept ragged
    batches (``allow_ragged_batch``), so the batcher hands one execution requests of any
    shape; the model pads each to its bucket edge and runs every bucket as one batch
    (:mod:`trt_pdk.triton.python_model.model`). No extra hop, and every queued request
    shares the execution's overhead. :func:`serving_config` writes that config; the cost
    of an execution of ``n`` requests is ``overhead + sum over buckets of P(bucket
    present) * run_time(its expected batch)``. An axis that fails the check is not
    padded, but requests still share executions in exact-shape groups.
  - ``ensemble`` (any other backend, e.g. a TensorRT plan): :func:`write_bucketing`
    writes ``<model>_bucketed`` = pad -> model -> unpad (python backend,
    :mod:`trt_pdk.triton.python_model.bucketing`) next to the model, so every client of
    the ensemble benefits; the batcher closes a batch at the first request of another
    bucket, so a bucket's expected batch is its run length in the queue.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trt_pdk._fs import atomic_directory, write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB
from trt_pdk.triton import config as tc

BUCKETING_MODEL = Path(__file__).parent / "python_model" / "bucketing.py"


@dataclass
class AxisCheck:
    """The padding check of one axis: ``safe`` or the ``reason`` it is not."""

    input: str
    axis: int
    safe: bool
    reason: str = ""
    max_abs_err: float | None = None
    cases: int = 0
    tied: list[list] = field(default_factory=list)  # [input, axis] padded together with it
    outputs: dict[str, int] = field(default_factory=dict)  # output -> axis cut back


IN_MODEL, ENSEMBLE = "in-model", "ensemble"


@dataclass
class BucketPlan:
    """Buckets along the checked axes, or why the model is served unbucketed.

    ``ragged_inputs``: the inputs whose non-batch dims vary in the traffic; in ``in-model``
    mode they accept ragged batches, whether or not one of their axes is padded.
    """

    model: str
    axes: list[dict] = field(default_factory=list)  # {"input", "axis", "edges", "tied", "outputs"}
    checks: list[AxisCheck] = field(default_factory=list)
    estimate: dict = field(default_factory=dict)
    reason: str = ""
    mode: str = ENSEMBLE
    ragged_inputs: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.axes) or (self.mode == IN_MODEL and bool(self.ragged_inputs))

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "enabled": self.enabled,
            "mode": self.mode,
            "ragged_inputs": self.ragged_inputs,
            "axes": self.axes,
            "checks": [asdict(c) for c in self.checks],
            "estimate": self.estimate,
            "reason": self.reason,
        }


# --------------------------------------------------------------------------- the ONNX graph


def _session(onnx_path: Path):
    from trt_pdk.execution import onnxruntime_session

    # One thread: time_model's cost curve is per execution, not spread over the cores.
    return onnxruntime_session(onnx_path, intra_op_threads=1)


def _dim_names(onnx_path: Path) -> tuple[dict, dict, dict]:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}

    def names(values):
        return {
            v.name: [d.dim_param or None for d in v.type.tensor_type.shape.dim]
            for v in values
            if v.name not in inits
        }

    dtypes = {
        v.name: np.dtype(onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type))
        for v in model.graph.input
        if v.name not in inits
    }
    return names(model.graph.input), names(model.graph.output), dtypes


def _feeds(traffic, shape, dtypes, seed: int, max_input_mib: float) -> dict[str, np.ndarray]:
    """Seeded inputs of one traffic shape (the execution layer's generator and limit)."""
    from trt_pdk.execution import TensorInfo, random_inputs

    return random_inputs(
        [TensorInfo(n, dtypes[n], ()) for n in traffic.inputs],
        shapes=dict(zip(traffic.inputs, shape, strict=True)),
        seed=seed,
        max_input_mib=max_input_mib,
        narrow=f"The traffic log has shape {list(map(list, shape))}: fix the log",
    )


def _check_padded_bytes(feeds: dict, axes: list, edge: int, max_input_mib: float) -> None:
    """The padded copies count against the same limit as the generated inputs."""
    from trt_pdk.execution import check_input_bytes

    shapes = {n: list(a.shape) for n, a in feeds.items()}
    for n, a in axes:
        shapes[n][a] = edge
    check_input_bytes(
        shapes,
        {n: a.dtype for n, a in feeds.items()},
        max_input_mib,
        narrow=f"Padded to the bucket edge {edge} planned from the traffic, they grow: turn bucketing off "
        "(--no-bucketing)",
    )


def _pad(arr: np.ndarray, axis: int, size: int) -> np.ndarray:
    widths = [(0, 0)] * arr.ndim
    widths[axis] = (0, size - arr.shape[axis])
    return np.pad(arr, widths)


def tied_axes(traffic, name: str, axis: int) -> list[list]:
    """Other [input, axis] whose size equals this axis's in every logged request."""
    i = traffic.inputs.index(name)
    column = [s[i][axis] for s in traffic.shapes]
    out = []
    for j, other in enumerate(traffic.inputs):
        for a in range(len(traffic.shapes[0][j])):
            if (other, a) != (name, axis) and [s[j][a] for s in traffic.shapes] == column:
                out.append([other, a])
    return out


def check_padding(
    onnx_path: str | Path,
    traffic,
    name: str,
    axis: int,
    edges: list[int],
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    max_cases: int = 6,
    seed: int = 0,
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
) -> AxisCheck:
    """Pads ``name[axis]`` (and its tied axes) on real traffic shapes and compares the outputs.

    The cases are the most frequent logged shapes that a bucket edge would pad, each padded
    to its own edge and to the largest edge, so both the usual and the worst padding run.
    Inputs come from the execution layer's generator, refused past ``max_input_mib``.
    """
    onnx_path = Path(onnx_path)
    in_dims, out_dims, dtypes = _dim_names(onnx_path)
    tied = tied_axes(traffic, name, axis)
    symbol = in_dims.get(name, [None] * (axis + 1))[axis]
    check = AxisCheck(name, axis, False, tied=tied)
    if symbol is None:
        check.reason = (
            f"{name}[{axis}] has no symbolic dim name in the ONNX graph, so which output axes follow it is "
            "unknown; export it with a named dynamic dim"
        )
        return check
    for out, dims in out_dims.items():
        if symbol in dims:
            check.outputs[out] = dims.index(symbol)
    i = traffic.inputs.index(name)
    order = np.argsort(-traffic.counts, kind="stable")
    shapes = [traffic.shapes[t] for t in order if traffic.shapes[t][i][axis] < max(edges)][:max_cases]
    if not shapes:
        check.safe, check.reason = True, "no logged request is padded by these edges"
        return check
    session = _session(onnx_path)
    out_names = [o.name for o in session.get_outputs()]
    worst, cases = 0.0, 0
    for k, shape in enumerate(shapes):
        size = shape[i][axis]
        feeds = _feeds(traffic, shape, dtypes, seed + k, max_input_mib)
        ref = dict(zip(out_names, session.run(out_names, feeds), strict=True))
        targets = sorted({next(e for e in edges if e >= size), max(edges)} - {size})
        for edge in targets:
            _check_padded_bytes(feeds, [[name, axis], *tied], edge, max_input_mib)
            padded = dict(feeds)
            for n, a in [[name, axis], *tied]:
                padded[n] = _pad(padded[n], a, edge)
            got = dict(zip(out_names, session.run(out_names, padded), strict=True))
            cases += 1
            for out in out_names:
                g = got[out]
                if out in check.outputs:
                    g = np.take(g, np.arange(size), axis=check.outputs[out])
                r = ref[out]
                if g.shape != r.shape:
                    check.reason = (
                        f"output {out!r} has shape {list(g.shape)} after padding {name}[{axis}] "
                        f"{size}->{edge} and cutting back, not {list(r.shape)}"
                    )
                    check.cases = cases
                    return check
                err = np.abs(g.astype(np.float64) - r.astype(np.float64))
                worst = max(worst, float(err.max()) if err.size else 0.0)
                bad = err > atol + rtol * np.abs(r.astype(np.float64))
                if bad.any():
                    check.max_abs_err, check.cases = worst, cases
                    check.reason = (
                        f"padding {name}[{axis}] from {size} to {edge} changes output {out!r} on the "
                        f"unpadded part by up to {float(err.max()):.3g} "
                        f"(tolerance {atol:g} + {rtol:g}*|ref|): "
                        "the model mixes values along this axis (attention, a norm or a reduction over it)"
                    )
                    return check
    check.safe, check.max_abs_err, check.cases = True, worst, cases
    return check


def time_model(
    onnx_path: str | Path,
    traffic,
    *,
    largest_elements: float,
    budget_s: float = 1.5,
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
) -> dict:
    """Seconds per run of the graph against elements per run, timed on one thread.

    The smallest logged request is run with its batch dim doubled until a run holds
    ``largest_elements`` (the biggest execution the buckets may form) or the time budget is
    spent; each point is the best of 3. Between points the cost is interpolated linearly,
    which keeps what a straight line would lose: a weight-bound graph costs about the same
    for 1 and 16 rows. The doubling also stops before the inputs would pass
    ``max_input_mib`` (the curve is extended linearly beyond its last point).
    """
    onnx_path = Path(onnx_path)
    _, _, dtypes = _dim_names(onnx_path)
    session = _session(onnx_path)
    out_names = [o.name for o in session.get_outputs()]
    sizes = [sum(math.prod(s) for s in shape) for shape in traffic.shapes]
    smallest = traffic.shapes[int(np.argmin(sizes))]
    row_bytes = sum(math.prod(s) * dtypes[n].itemsize for n, s in zip(traffic.inputs, smallest, strict=True))
    elements, seconds = [], []
    spent, rows = 0.0, 1
    while True:
        shape = tuple((rows * s[0], *s[1:]) for s in smallest)
        feeds = _feeds(traffic, shape, dtypes, len(elements), max_input_mib)
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            session.run(out_names, feeds)
            took = time.perf_counter() - t0
            best, spent = min(best, took), spent + took
        elements.append(float(sum(math.prod(s) for s in shape)))
        seconds.append(best)
        if elements[-1] >= largest_elements or spent > budget_s or rows >= 1 << 16:
            break
        if 2 * rows * row_bytes > max_input_mib * 2**20:
            break
        rows *= 2
    return {"elements": elements, "seconds": seconds}


def _run_seconds(cost: dict, elements: float) -> float:
    xs, ys = cost["elements"], cost["seconds"]
    if elements <= xs[-1] or len(xs) < 2:
        return float(np.interp(elements, xs, ys))
    slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return ys[-1] + slope * (elements - xs[-1])


# --------------------------------------------------------------------------- edges


def _expected_batch(share: float, queued: int, cap: float) -> float:
    """Requests per run of one batching class under Triton's dynamic batcher.

    The batcher takes queued requests in order and closes a batch at the first one of
    another shape, so a batch is a run of equal shapes in the queue: with ``queued``
    requests waiting, each of this class with probability ``share``, the run's expected
    length is ``(1 - share**queued) / (1 - share)``.
    """
    run = float(queued) if share >= 1.0 else (1.0 - share**queued) / (1.0 - share)
    return max(1.0, min(run, cap))


def _estimate(groups, cost: dict, concurrency: int, max_batch: int, mode: str = ENSEMBLE) -> float:
    """Estimated serving seconds per request.

    ``groups``: (share of requests, items per request, elements per item) per batching
    class (a bucket, or one shape without bucketing). In ``ensemble`` mode each class
    batches alone: a run of its expected batch costs :func:`time_model`'s time for its
    elements plus the server's per-execution overhead. ``in-model``: see
    :func:`_estimate_in_model`.
    """
    if mode == IN_MODEL:
        return _estimate_in_model(groups, cost, concurrency, max_batch)
    total = 0.0
    overhead = cost.get("serving_overhead_s", 0.0)
    for share, items, elements in groups:
        batch = _expected_batch(share, concurrency, max(1.0, max_batch / max(items, 1.0)))
        total += share * (_run_seconds(cost, batch * items * elements) + overhead) / batch
    return total


def _estimate_in_model(groups, cost: dict, concurrency: int, max_batch: int) -> float:
    """Seconds per request when one execution takes ``n`` queued requests of any shape.

    ``n`` is the queue (``concurrency``) capped by ``max_batch`` items. A class of share
    ``s`` is present in an execution with probability ``1 - (1 - s)**n`` and then runs once
    with ``n * s / P(present)`` requests; the per-execution overhead is paid once per ``n``.
    """
    mean_items = sum(share * items for share, items, _ in groups) / max(sum(g[0] for g in groups), 1e-12)
    n = max(1.0, min(float(concurrency), max_batch / max(mean_items, 1.0)))
    total = cost.get("serving_overhead_s", 0.0)
    for share, items, elements in groups:
        present = 1.0 - (1.0 - min(share, 1.0)) ** n
        if present > 0:
            batch = n * share / present
            total += present * _run_seconds(cost, batch * items * elements)
    return total / n


def _groups(rows, edges: list[int] | None) -> list[tuple[float, float, float]]:
    """Batching classes of (value, share, items, elements per item / value) rows; None: one per value."""
    acc: dict[int, list[float]] = {}
    for v, share, items, per in rows:
        edge = v if edges is None else next((e for e in edges if e >= v), v)
        g = acc.setdefault(edge, [0.0, 0.0, 0.0])
        g[0] += share
        g[1] += share * items
        g[2] += share * items * edge * per
    return [(sh, it / sh, el / it) for sh, it, el in acc.values()]


def plan_edges(
    traffic,
    name: str,
    axis: int,
    profiles: list[dict] | None,
    cost: dict,
    *,
    concurrency: int = 16,
    max_batch: int = 32,
    batch_axis: int | None = 0,
    max_buckets_per_band: int = 6,
    mode: str = ENSEMBLE,
) -> tuple[list[int], dict]:
    """Bucket edges along ``name[axis]``: per band, the planner's least-padding edges for the best k.

    k runs up to the band's distinct logged values (every value its own bucket: no logged
    request is padded). Buckets of different bands never share a batch, so each band's
    edges are chosen on its own cost. Returns the edges and the estimate (microseconds per
    request unbucketed vs bucketed; in ``in-model`` mode "unbucketed" is the same ragged
    execution in exact-shape groups).
    """
    from trt_pdk.profiles import profiles_from_traffic, route, traffic_from_rows

    i = traffic.inputs.index(name)
    total = traffic.total
    rows = []  # (value on the axis, share, items per request, elements per item / value)
    for shape, count in zip(traffic.shapes, traffic.counts, strict=True):
        items = shape[i][batch_axis] if batch_axis is not None else 1
        elements = sum(math.prod(s) for s in shape) / items
        rows.append((shape[i][axis], float(count) / total, items, elements / shape[i][axis]))
    band_of = [
        route(profiles, dict(zip(traffic.inputs, map(list, s), strict=True))) if profiles else 0
        for s in traffic.shapes
    ]
    edges: list[int] = []
    by_k: dict[str, dict[int, float]] = {}
    for band in sorted({b for b in band_of if b is not None}):
        mine = [r for r, b in zip(rows, band_of, strict=True) if b == band]
        values = sorted({r[0] for r in mine})
        # The planner on this band projected to the one axis, each request weighted by its items.
        projected = traffic_from_rows([({name: [r[0]]}, r[1] * total * r[2]) for r in mine], "band")
        best = None
        by_k[str(band)] = {}
        counts = list(range(1, min(max_buckets_per_band, len(values)) + 1))
        if len(values) not in counts:
            counts.append(len(values))
        for k in counts:
            ks = sorted(p[name]["max"][0] for p in profiles_from_traffic(projected, k).profiles)
            est = _estimate(_groups(mine, ks), cost, concurrency, max_batch, mode)
            by_k[str(band)][k] = round(est * 1e6, 1)
            if best is None or est < best[0]:
                best = (est, ks)
        edges += best[1]
    edges = sorted(set(edges))
    unbucketed = _estimate(_groups(rows, None), cost, concurrency, max_batch, mode)
    bucketed = _estimate(_groups(rows, edges), cost, concurrency, max_batch, mode)
    return edges, {
        "mode": mode,
        "unbucketed_us_per_request": round(unbucketed * 1e6, 1),
        "bucketed_us_per_request": round(bucketed * 1e6, 1),
        "us_per_request_by_band_and_k": by_k,
        "concurrency": concurrency,
        "serving_overhead_us": round(cost.get("serving_overhead_s", 0.0) * 1e6, 1),
        "timed_elements": cost["elements"],
        "timed_seconds": [round(t, 6) for t in cost["seconds"]],
    }


def plan_bucketing(
    onnx_path: str | Path,
    traffic,
    model: str,
    *,
    profiles: list[dict] | None,
    max_batch_size: int,
    concurrency: int = 16,
    server_compute_s: float | None = None,
    max_input_mib: float = DEFAULT_MAX_INPUT_MIB,
    mode: str = ENSEMBLE,
) -> BucketPlan:
    """Checks each dynamic non-batch axis of the traffic, plans edges on those that pass.

    ``server_compute_s``: the server's mean compute time per request of this traffic
    without batching (Triton's ``nv_inference_compute_infer_duration_us`` over a baseline
    replay); what it exceeds the graph's own timed cost by is the per-execution serving
    overhead that batching saves. None: the graph's time only. ``max_input_mib`` bounds
    the inputs generated to check and time the graph (``--max-input-mib``). ``mode``:
    where the buckets are formed (``in-model`` or ``ensemble``, see the module's text).
    """
    plan = BucketPlan(model, mode=mode)
    if max_batch_size <= 0:
        plan.reason = "the model has no batch dim (max_batch_size 0), so the server cannot batch buckets"
        return plan
    varying = []
    seen_tied = set()
    for j, name in enumerate(traffic.inputs):
        for a in range(1, len(traffic.shapes[0][j])):  # axis 0 is Triton's batch dim
            if len({s[j][a] for s in traffic.shapes}) > 1 and (name, a) not in seen_tied:
                varying.append((name, a))
                seen_tied.update((n, x) for n, x in tied_axes(traffic, name, a))
    if not varying:
        plan.reason = "every logged request has the same non-batch dims: nothing to bucket"
        return plan
    plan.ragged_inputs = sorted(
        {n for n, a in varying} | {t[0] for n, a in varying for t in tied_axes(traffic, n, a)},
        key=traffic.inputs.index,
    )
    largest = max(sum(math.prod(x) for x in s) / s[0][0] for s in traffic.shapes) * max_batch_size
    cost = time_model(onnx_path, traffic, largest_elements=largest, max_input_mib=max_input_mib)
    if server_compute_s is not None:
        graph_s = sum(
            float(c) / traffic.total * _run_seconds(cost, sum(math.prod(x) for x in shape))
            for shape, c in zip(traffic.shapes, traffic.counts, strict=True)
        )
        cost["serving_overhead_s"] = max(0.0, server_compute_s - graph_s)
    for name, axis in varying:
        edges, estimate = plan_edges(
            traffic, name, axis, profiles, cost, concurrency=concurrency, max_batch=max_batch_size, mode=mode
        )
        check = check_padding(onnx_path, traffic, name, axis, edges, max_input_mib=max_input_mib)
        plan.checks.append(check)
        if check.safe:
            plan.axes.append(
                {"input": name, "axis": axis, "edges": edges, "tied": check.tied, "outputs": check.outputs}
            )
            plan.estimate[f"{name}[{axis}]"] = estimate
    if not plan.axes:
        plan.reason = "; ".join(f"{c.input}[{c.axis}]: {c.reason}" for c in plan.checks)
        if plan.enabled:
            plan.reason += (
                "; no axis is padded, but requests of different shapes still share executions "
                "(ragged batching, run in exact-shape groups)"
            )
    return plan


# --------------------------------------------------------------------------- in the model


def serving_config(cfg, plan: dict):
    """The model config that buckets inside the kit's python model; ``plan``: ``BucketPlan.to_json()``.

    The ragged inputs accept ragged batches; the padded axes go to the model's
    ``bucketing`` parameter. The config is a copy; ``cfg`` is not changed.
    """
    new = type(cfg)()
    new.CopyFrom(cfg)
    for t in new.input:
        if t.name in plan.get("ragged_inputs", []):
            t.allow_ragged_batch = True
    if plan.get("axes"):
        axes = [{k: ax[k] for k in ("input", "axis", "edges", "tied", "outputs")} for ax in plan["axes"]]
        new.parameters["bucketing"].string_value = json.dumps({"axes": axes})
    return new


# --------------------------------------------------------------------------- the ensemble


def bucketed_name(model: str) -> str:
    return f"{model}_bucketed"


def _length_name(ax: dict) -> str:
    return f"trt_pdk_length_{ax['input']}_{ax['axis']}"


def write_bucketing(repository: str | Path, model: str, plan: BucketPlan) -> list[str]:
    """Writes ``<model>_pad``, ``<model>_unpad`` and the ensemble ``<model>_bucketed``; returns their names.

    The served model's own config is not touched. Axes in the configs count the batch dim.
    """
    from trt_pdk.triton.repository import models_dir, validate_repository

    if not plan.enabled:
        raise UserError(f"bucketing of {model!r} is off ({plan.reason}); there is no ensemble to write.")
    repo = models_dir(repository)
    cfg = validate_repository(repo, [model])[0].config
    pb = tc._pb()
    axes = [{**ax, "length": _length_name(ax)} for ax in plan.axes]
    lengths = [(ax["length"], "TYPE_INT32", [1]) for ax in axes]
    inputs = [(t.name, tc.pb_name(t.data_type), list(t.dims)) for t in cfg.input]
    outputs = [(t.name, tc.pb_name(t.data_type), list(t.dims)) for t in cfg.output]

    def step_config(name: str, role: str, ins, outs):
        c = pb.ModelConfig(name=name, backend="python", max_batch_size=cfg.max_batch_size)
        for n, dt, dims in ins:
            c.input.add(name=n, data_type=getattr(pb, dt), dims=dims, allow_ragged_batch=True)
        for n, dt, dims in outs:
            c.output.add(name=n, data_type=getattr(pb, dt), dims=dims)
        c.dynamic_batching.max_queue_delay_microseconds = 0
        c.instance_group.add(kind=pb.ModelInstanceGroup.KIND_CPU, count=1)
        c.parameters["bucketing"].string_value = json.dumps({"role": role, "axes": axes})
        return c

    pad = step_config(f"{model}_pad", "pad", inputs, inputs + lengths)
    unpad = step_config(f"{model}_unpad", "unpad", outputs + lengths, outputs)
    ens = pb.ModelConfig(name=bucketed_name(model), platform="ensemble", max_batch_size=cfg.max_batch_size)
    for n, dt, dims in inputs:
        ens.input.add(name=n, data_type=getattr(pb, dt), dims=dims)
    for n, dt, dims in outputs:
        ens.output.add(name=n, data_type=getattr(pb, dt), dims=dims)
    s1 = ens.ensemble_scheduling.step.add(model_name=pad.name, model_version=-1)
    s2 = ens.ensemble_scheduling.step.add(model_name=model, model_version=-1)
    s3 = ens.ensemble_scheduling.step.add(model_name=unpad.name, model_version=-1)
    for n, _, _ in inputs:
        s1.input_map[n] = n
        s1.output_map[n] = f"padded_{n}"
        s2.input_map[n] = f"padded_{n}"
    for n, _, _ in lengths:
        s1.output_map[n] = n
        s3.input_map[n] = n
    for n, _, _ in outputs:
        s2.output_map[n] = f"padded_{n}"
        s3.input_map[n] = f"padded_{n}"
        s3.output_map[n] = n
    for c, source in ((pad, BUCKETING_MODEL), (unpad, BUCKETING_MODEL), (ens, None)):
        _write_model(repo, c, source)
    return [pad.name, model, unpad.name, ens.name]


def _write_model(repo: Path, cfg, source: Path | None) -> None:
    """Config replaced atomically; a new version folder only when the model file changed.

    Versions are never rewritten in place (a server may be serving one); Triton serves the
    newest.
    """
    from trt_pdk.triton.repository import versions

    folder = repo / cfg.name
    have = versions(folder) if folder.is_dir() else []
    latest = folder / str(have[-1]) if have else None
    same = latest is not None and (
        source is None
        or ((latest / "model.py").is_file() and (latest / "model.py").read_bytes() == source.read_bytes())
    )
    if not same:
        with atomic_directory(folder / str(have[-1] + 1 if have else 1)) as tmp:
            if source is not None:
                shutil.copy2(source, tmp / "model.py")
    write_text_atomic(folder / "config.pbtxt", tc.config_to_text(cfg))
