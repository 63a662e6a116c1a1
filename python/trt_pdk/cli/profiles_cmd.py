"""`trt-pdk profiles plan TRAFFIC -k K`: optimization profiles from a traffic log."""

from __future__ import annotations

import argparse
import json


def _k(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"-k takes an integer or 'auto', not {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("profiles", help="plan optimization profiles from traffic")
    sub = p.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    plan = sub.add_parser("plan", help="k profiles minimising expected padding of a traffic log")
    plan.add_argument("traffic", help="traffic log: .jsonl / .csv (one request per row) or .json histogram")
    plan.add_argument("-k", type=_k, default="auto", help="number of profiles, or 'auto' (elbow; default)")
    plan.add_argument("--input", dest="input_name", help="plan only this input's dynamic axes")
    plan.add_argument(
        "--cost", default="padded_elements", help="padded_elements (default) or padded_fraction"
    )
    plan.add_argument("--model", help="ONNX model: traffic must fit its static dims")
    plan.add_argument("--max-elements", type=int, help="memory limit: elements (all inputs) at a profile max")
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
    traffic = load_traffic(args.traffic)
    plan = profiles_from_traffic(
        traffic,
        args.k,
        input_name=args.input_name,
        cost_model=args.cost,
        model_dims=model_dims_from_onnx(args.model) if args.model else None,
        max_elements=args.max_elements,
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
