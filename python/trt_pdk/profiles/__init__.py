"""Optimization profiles planned from real traffic.

>>> from trt_pdk.profiles import load_traffic, profiles_from_traffic
>>> plan = profiles_from_traffic(load_traffic("traffic.jsonl"), k="auto")
>>> save_profiles(plan, "profiles.json")
"""

from __future__ import annotations

import json
from pathlib import Path

from trt_pdk._fs import write_text_atomic
from trt_pdk.errors import UserError
from trt_pdk.profiles._plan import COST_MODELS, ProfilePlan, profiles_from_traffic, route
from trt_pdk.profiles._traffic import (
    LoggedRequest,
    Traffic,
    load_request_log,
    load_traffic,
    traffic_from_rows,
)

__all__ = [
    "COST_MODELS",
    "LoggedRequest",
    "ProfilePlan",
    "Traffic",
    "load_profiles",
    "load_request_log",
    "load_traffic",
    "model_dims_from_onnx",
    "plot_plan",
    "profiles_from_traffic",
    "route",
    "save_profiles",
    "traffic_from_rows",
]


def save_profiles(plan: ProfilePlan, path: str | Path) -> Path:
    """Writes the plan as the profiles JSON that ``trt-pdk engine build --profiles`` reads."""
    return write_text_atomic(path, json.dumps(plan.to_json(), indent=2) + "\n")


def load_profiles(path: str | Path) -> list[dict[str, dict[str, list[int]]]]:
    """Reads a profiles JSON (``{"profiles": [...]}``) and checks min <= opt <= max."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"Profiles file {path} does not exist. Make one with `trt-pdk profiles plan TRAFFIC -o {path}`."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError: a binary file
        raise UserError(
            f"{path} is not valid JSON ({type(exc).__name__}: {str(exc)[:160]}); pass the PROFILES.json "
            f"`trt-pdk profiles plan TRAFFIC -o {path}` writes."
        ) from None
    profiles = data.get("profiles") if isinstance(data, dict) else data
    if not isinstance(profiles, list) or not profiles:
        raise UserError(f"{path} has no 'profiles' list; expected the output of `trt-pdk profiles plan`.")
    for i, prof in enumerate(profiles):
        if not isinstance(prof, dict) or not prof:
            raise UserError(f"{path}: profile {i} must map input names to {{min, opt, max}}.")
        for name, rng in prof.items():
            try:
                lo, opt, hi = (list(map(int, rng[key])) for key in ("min", "opt", "max"))
            except (KeyError, TypeError, ValueError):
                raise UserError(
                    f"{path}: profile {i}, input {name!r} needs integer lists min, opt and max."
                ) from None
            if not (len(lo) == len(opt) == len(hi)) or any(
                not (1 <= a <= b <= c) for a, b, c in zip(lo, opt, hi, strict=False)
            ):
                raise UserError(
                    f"{path}: profile {i}, input {name!r} needs 1 <= min <= opt <= max per dim, same rank; "
                    f"got min={lo} opt={opt} max={hi}."
                )
    return profiles


def model_dims_from_onnx(path: str | Path) -> dict[str, list[int | None]]:
    """Input name -> dims of an ONNX model (None where the dim is symbolic/dynamic)."""
    from trt_pdk.onnx_stages._model import load_onnx

    model = load_onnx(path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    out = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    return out


def plot_plan(traffic: Traffic, plan: ProfilePlan, path: str | Path) -> Path:
    """PNG: one panel per planned (dynamic) axis, its traffic histogram with each profile's range shaded."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("Plotting needs matplotlib: pip install matplotlib (or drop --plot).") from None
    if not plan.axes:
        raise UserError("Every request has the same shape: there is nothing to plot.")
    fig, axes = plt.subplots(len(plan.axes), 1, figsize=(9, 3.2 * len(plan.axes)), squeeze=False)
    colors = plt.get_cmap("tab10")
    for panel, group in zip(axes[:, 0], plan.axes, strict=True):
        name, dim = group[0]
        idx = traffic.inputs.index(name)
        values: dict[int, float] = {}
        for shape, count in zip(traffic.shapes, traffic.counts, strict=False):
            values[shape[idx][dim]] = values.get(shape[idx][dim], 0.0) + float(count)
        xs = sorted(values)
        panel.bar(xs, [values[v] for v in xs], width=max(1.0, (xs[-1] - xs[0]) / 400) * 0.8, color="#333333")
        for i, prof in enumerate(plan.profiles):
            lo, hi = prof[name]["min"][dim], prof[name]["max"][dim]
            panel.axvspan(
                lo - 0.5 + 0.04 * i, hi + 0.5 - 0.04 * i, alpha=0.18, color=colors(i % 10),
                label=f"profile {i}: {lo}..{hi}",
            )  # fmt: skip
        tied = ", ".join(f"{n}[{d}]" for n, d in group[1:])
        panel.set_xlabel(f"{name}[{dim}]" + (f" (= {tied})" if tied else ""))
        panel.set_ylabel("requests")
        if xs[-1] / max(xs[0], 1) > 50:
            panel.set_xscale("symlog", linthresh=8)
        panel.legend(fontsize="small")
    axes[0, 0].set_title(
        f"{plan.k} profiles, {plan.cost_model}: {plan.cost:.4g} "
        f"vs {plan.single_profile_cost:.4g} with one profile"
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
