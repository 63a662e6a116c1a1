"""``trt-pdk pipeline run CONFIG.yaml [--run-dir DIR]``: the main job, end to end.

Progress goes to stderr, one line per stage; the run folder is the last line on stdout.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pipeline",
        help="run a pipeline: export, rewrite, profiles, engine, Triton, verify, perf, report",
        description=__doc__.splitlines()[0],
    )
    sub = p.add_subparsers(dest="pipeline_command", metavar="ACTION", required=True)
    run = sub.add_parser(
        "run",
        help="run (or resume) a pipeline config; prints the run folder last",
        description="Runs the stages of CONFIG.yaml into the run folder, reusing every stage an earlier "
        "run finished with the same options and inputs. One run at a time per run folder; Ctrl-C "
        "stops the run (exit 130) and keeps its finished stages for the next one.",
    )
    run.add_argument("config", help="pipeline YAML, e.g. pipeline/demo.yaml")
    run.add_argument("--run-dir", default=None, help="run folder (default runs/<pipeline name>)")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import json

    from trt_pdk.pipeline import RunPipeline, load_config

    cfg = load_config(args.config)
    run_dir = RunPipeline(cfg, args.run_dir)()
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    for row in report["before_after"]:
        print(f"{row['aspect']}:\n  before: {row['before']}\n  after:  {row['after']}")
    print(f"report: {run_dir / 'report.md'} ({cfg.name})")
    print(run_dir)
    return 0
