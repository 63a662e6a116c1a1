"""profiles: TensorRT optimization profiles planned from the traffic log."""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import dataclass

from trt_pdk.options import option
from trt_pdk.pipeline.stage import StageContext, StageResult
from trt_pdk.pipeline.stages.rewrite import RewriteResult


def profile_count(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"-k takes an integer or 'auto', not {text!r}") from None


@dataclass
class ProfilesOptions:
    k: int | str = option(
        "auto", flag="-k", parse=profile_count, help="number of profiles, or 'auto' (elbow)"
    )
    cost_model: str = option(
        "padded_elements",
        flag="--cost",
        help="what a profile's padding costs: padded_elements or padded_fraction",
    )
    input_name: str | None = option(None, flag="--input", help="plan only this input's dynamic axes")
    max_elements: int | None = option(None, help="memory limit: elements (all inputs) at a profile max")

    def problems(self) -> list[tuple[str, str]]:
        out = []
        k = self.k
        if not (k == "auto" or (isinstance(k, int) and not isinstance(k, bool) and k >= 1)):
            out.append(("k", f"must be an integer >= 1 or auto, got {k!r}."))
        if self.cost_model not in ("padded_elements", "padded_fraction"):
            out.append(("cost_model", f"{self.cost_model!r}: choose padded_elements or padded_fraction."))
        return out


@dataclass(kw_only=True)
class ProfilesResult(StageResult):
    """Attributes:
    profiles: PROFILES.json for the engine; plot: its PNG (None: no axis varies, or no matplotlib).
    request: the traffic's most common request, ``{input: shape}`` (verify and perf send it).
    """

    profiles: str
    plot: str | None
    k: int
    cost_model: str
    cost: float
    single_profile_cost: float
    coverage: float
    method: str
    requests: float
    distinct_shapes: int
    request: dict[str, list[int]]
    notes: list[str]


def run(ctx: StageContext, options: ProfilesOptions, *, rewrite: RewriteResult) -> ProfilesResult:
    import numpy as np

    from trt_pdk.profiles import (
        load_traffic,
        model_dims_from_onnx,
        plot_plan,
        profiles_from_traffic,
        save_profiles,
    )

    traffic = load_traffic(ctx.sources["traffic"])
    plan = profiles_from_traffic(
        traffic,
        options.k,
        input_name=options.input_name,
        cost_model=options.cost_model,
        model_dims=model_dims_from_onnx(ctx.file(rewrite.model)),
        max_elements=options.max_elements,
    )
    out = ctx.root / "profiles"
    save_profiles(plan, out / "profiles.json")
    plot, notes = None, []
    if not plan.axes:
        notes.append("no plot: every request has the same shape")
    elif importlib.util.find_spec("matplotlib") is None:
        notes.append("plot skipped: matplotlib is not installed (pip install matplotlib to get it)")
    else:
        plot = ctx.rel(plot_plan(traffic, plan, out / "profiles.png"))
    top = traffic.shapes[int(np.argmax(traffic.counts))]
    return ProfilesResult(
        profiles=ctx.rel(out / "profiles.json"),
        plot=plot,
        k=plan.k,
        cost_model=plan.cost_model,
        cost=plan.cost,
        single_profile_cost=plan.single_profile_cost,
        coverage=plan.coverage,
        method=plan.method,
        requests=traffic.total,
        distinct_shapes=len(traffic.shapes),
        request={name: list(top[i]) for i, name in enumerate(traffic.inputs)},
        notes=notes,
    )
