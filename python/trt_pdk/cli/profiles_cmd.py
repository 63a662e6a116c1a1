"""`trt-pdk profiles plan TRAFFIC -k K`: optimization profiles from a traffic log."""

from __future__ import annotations

import argparse
import json

from trt_pdk.options import add_options, options_from_args
from trt_pdk.pipeline.stages.profiles import ProfilesOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("profiles", help="plan optimization profiles from traffic")
    sub = p.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    plan = sub.add_parser("plan", help="k profiles minimising expected padding of a traffic log")
    plan.add_argument("traffic", help="traffic log: .jsonl / .csv (one request per row) or .json histogram")
    plan.add_argument("--model", help="ONNX model: traffic must fit its static dims")
    add_options(plan, ProfilesOptions)
    plan.add_argument("--plot", help="write a PNG of the traffic histogram with profile bands")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument("-o", "--output", help="write PROFILES.json for `trt-pdk engine build`")
    plan.set_defaults(func=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    from trt_pdk._fs import check_output_file
    from trt_pdk.profiles import (
        load_traffic,
        model_dims_from_onnx,
        plot_plan,
        profiles_from_traffic,
        save_profiles,
    )

    for flag, target in (("-o", args.output), ("--plot", args.plot)):
        if target:
            check_output_file(target, flag)
    options = options_from_args(ProfilesOptions, args)
    traffic = load_traffic(args.traffic)
    plan = profiles_from_traffic(
        traffic,
        options.k,
        input_name=options.input_name,
        cost_model=options.cost_model,
        model_dims=model_dims_from_onnx(args.model) if args.model else None,
        max_elements=options.max_elements,
    )
    if args.output:
        save_profiles(plan, args.output)
    if args.plot:
        plot_plan(traffic, plan, args.plot)
    if args.json:
        print(json.dumps(plan.to_json(), indent=2))
        return 0
    saved = 1 - plan.cost / plan.single_profile_cost if plan.single_profile_cost else 0.0
    print(f"{plan.k} profiles ({plan.method}; {plan.guarantee})")
    print(
        f"cost model {plan.cost_model}: {plan.cost:.6g} per request vs {plan.single_profile_cost:.6g} "
        f"with one profile ({saved:.1%} less); coverage {plan.coverage:.2%}"
    )
    for i, (prof, share) in enumerate(zip(plan.profiles, plan.shares, strict=False)):
        ranges = "  ".join(f"{n}: {r['min']}..{r['max']}" for n, r in prof.items())
        print(f"  profile {i}: {share:6.1%} of requests  {ranges}")
    if not args.output:
        print("(pass -o PROFILES.json to save the plan for `trt-pdk engine build`)")
    return 0
