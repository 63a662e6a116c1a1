"""Stage options: the CLI flags, the YAML keys and the dataclass are one declaration."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from trt_pdk.cli import build_parser
from trt_pdk.errors import UserError
from trt_pdk.options import default_of, flag_of, option_fields, options_from_args
from trt_pdk.pipeline.config import PipelineConfig, load_config
from trt_pdk.pipeline.stages import STAGES

# The trt-pdk subcommand of each stage whose options it takes (serve/verify/repository: `triton`).
COMMANDS = {
    "export": ["export"],
    "check": ["check"],
    "simplify": ["simplify"],
    "rewrite": ["rewrite"],
    "compare": ["compare"],
    "profiles": ["profiles", "plan"],
    "engine": ["engine", "build"],
    "repository": ["triton", "repo"],
    "serve": ["triton", "serve"],
    "verify": ["triton", "verify"],
    # `trt-pdk perf` takes the serving side's PerfOptions (COMMAND_OPTIONS); the pipeline's
    # section is converted to them (defaults compared below).
    "perf": None,
    # deploy's options (trt_pdk.deploy.options); its Kubernetes group is in COMMAND_OPTIONS.
    "deploy": ["deploy", "tensorrt"],
}


def _subparser(words: list[str]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in words:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


def test_every_stage_has_a_command():
    assert set(COMMANDS) == {s.name for s in STAGES}


def _command_options() -> list[tuple[str, list[str], type]]:
    from trt_pdk.deploy.options import KubernetesOptions
    from trt_pdk.triton.perf_options import PerfOptions as ServingPerfOptions

    stages = [(s.name, COMMANDS[s.name], s.options) for s in STAGES if COMMANDS[s.name]]
    return [
        *stages,
        ("perf", ["perf"], ServingPerfOptions),
        ("deploy-kubernetes", ["deploy", "tensorrt"], KubernetesOptions),
        ("deploy-k8s", ["deploy", "k8s"], KubernetesOptions),
    ]


# (name, trt-pdk subcommand, the options class its flags come from)
COMMAND_OPTIONS = _command_options()


@pytest.mark.parametrize("name,words,options", COMMAND_OPTIONS, ids=[c[0] for c in COMMAND_OPTIONS])
def test_cli_flags_and_defaults_come_from_the_options(name, words, options):
    parser = _subparser(words)
    by_dest = {a.dest: a for a in parser._actions}
    for f in option_fields(options, "cli"):
        action = by_dest.get(f.name)
        assert action is not None, f"{name}: no flag for {f.name}"
        if f.metadata["positional"]:
            assert not action.option_strings
        else:
            assert flag_of(f) in action.option_strings, (f.name, action.option_strings)
    hidden = {f.name for f in dataclasses.fields(options)} - {f.name for f in option_fields(options, "cli")}
    assert not hidden & set(by_dest), f"{name}: {hidden & set(by_dest)} are not command-line options"


@pytest.mark.parametrize("name,words,options", COMMAND_OPTIONS, ids=[c[0] for c in COMMAND_OPTIONS])
def test_cli_defaults_equal_the_dataclass_defaults(name, words, options):
    """Parsing only the required arguments gives the options' defaults."""
    parser = _subparser(words)
    required = []
    for a in parser._actions:
        if a.required and a.option_strings:
            required += [a.option_strings[0], "/x" if a.type is not int else "1"]
        elif not a.option_strings and a.dest != "help" and not isinstance(a, argparse._SubParsersAction):
            required.append("a.onnx")
    required += {"verify": ["--expected", "e.npz"], "repository": ["--onnx", "m.onnx"]}.get(name, [])
    args = parser.parse_args(required)
    got = options_from_args(options, args)
    for f in option_fields(options, "cli"):
        if f.metadata["positional"] or f.metadata["required"]:
            continue
        assert getattr(got, f.name) == default_of(f), (name, f.name)


def test_yaml_sections_are_the_stage_options():
    sections = {
        f.name: f.type
        for f in dataclasses.fields(PipelineConfig)
        if f.name not in ("name", "traffic", "skip", "source")
    }
    assert sections == {s.section: s.options for s in STAGES}


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_yaml_keys_and_defaults_come_from_the_options(stage, tmp_path):
    (tmp_path / "t.jsonl").write_text('{"x": [1, 8]}\n')
    factory = "" if stage.section == "model" else "model: {factory: m.py:f}\n"
    (tmp_path / "p.yaml").write_text(f"name: t\ntraffic: t.jsonl\n{factory}{stage.section}: {{}}\n")
    if stage.section == "model":
        (tmp_path / "p.yaml").write_text("name: t\ntraffic: t.jsonl\nmodel: {factory: m.py:f}\n")
    cfg = load_config(tmp_path / "p.yaml")
    got = getattr(cfg, stage.section)
    for f in option_fields(stage.options, "yaml"):
        if (stage.section, f.name) in (("model", "factory"), ("repository", "model_name")):
            continue
        assert getattr(got, f.name) == default_of(f), (stage.name, f.name)
    hidden = [f.name for f in dataclasses.fields(stage.options) if not f.metadata.get("yaml", True)]
    for name in hidden:
        section = f"{stage.section}: {{{name}: 1}}\n"
        if stage.section == "model":
            section = f"model: {{factory: m.py:f, {name}: 1}}\n"
        else:
            section = "model: {factory: m.py:f}\n" + section
        (tmp_path / "p.yaml").write_text(f"name: t\ntraffic: t.jsonl\n{section}")
        with pytest.raises(UserError, match=f"unknown option '{name}'"):
            load_config(tmp_path / "p.yaml")


def test_perf_defaults_agree_between_cli_and_yaml(tmp_path):
    """`trt-pdk perf` and the pipeline's perf section run the same search by default."""
    from trt_pdk.triton.perf_options import PerfOptions as ServingPerfOptions
    from trt_pdk.triton.perf_report import options_from_section

    (tmp_path / "t.jsonl").write_text('{"x": [1, 8]}\n')
    (tmp_path / "p.yaml").write_text("name: t\ntraffic: t.jsonl\nmodel: {factory: m.py:f}\n")
    from_yaml = options_from_section(load_config(tmp_path / "p.yaml").perf)
    args = _subparser(["perf"]).parse_args(["--model", "m", "--run-dir", "r", "--traffic", "t.jsonl"])
    from_cli = options_from_args(ServingPerfOptions, args)
    shared = (
        "concurrency",
        "duration",
        "protocol",
        "instance_counts",
        "intra_op_threads",
        "max_queue_delays_us",
        "max_input_mib",
    )
    for name in shared:
        assert getattr(from_yaml, name) == getattr(from_cli, name), name


def test_a_bad_value_is_named_by_its_flag_on_the_command_line():
    args = _subparser(["compare"]).parse_args(["m.onnx", "c.onnx", "--max-input-mib", "-1"])
    with pytest.raises(UserError, match=r"^--max-input-mib must be > 0 MiB, got -1\.0\."):
        options_from_args(next(s.options for s in STAGES if s.name == "compare"), args)


def test_design_doc_stage_table_is_the_stage_table(repo):
    text = (repo / "docs" / "design.md").read_text()
    for s in STAGES:
        reads = ", ".join(f"`{n}`" for n in s.inputs) or "—"
        row = f"| `{s.name}` | `{s.section}` | {reads} | `{s.result.__name__}` |"
        assert row in text, f"docs/design.md lacks the row {row}"
    assert "../shared" not in (repo / "README.md").read_text()


def test_perf_flags_parse_into_the_serving_options():
    from trt_pdk.triton.perf_options import PerfOptions as ServingPerfOptions

    base = ["--model", "m", "--run-dir", "r", "--traffic", "t.jsonl"]
    flags = ["--instance-counts", "1,3", "--max-queue-delays", "50", "--no-bucketing", "--search", "none"]
    args = _subparser(["perf"]).parse_args([*base, *flags, "--max-input-mib", "8"])
    got = options_from_args(ServingPerfOptions, args)
    assert (got.instance_counts, got.max_queue_delays_us, got.bucketing) == ([1, 3], [50], False)
    assert (got.search, got.max_input_mib) == ("none", 8.0)
    bad = _subparser(["perf"]).parse_args([*base, "--max-input-mib", "0"])
    with pytest.raises(UserError, match=r"max_input_mib must be > 0 MiB"):
        options_from_args(ServingPerfOptions, bad)


def test_deploy_flags_parse_into_the_deploy_options():
    from trt_pdk.cli.deploy_cmd import _options

    parser = build_parser()
    flags = ["--gpu-arch", "8.0", "--gpu-arch", "9.0", "--precision", "fp16", "--no-bundle-sources"]
    kube = ["--replicas", "3", "--autoscale-metric", "inference_count", "--name", "svc"]
    got = _options(parser.parse_args(["deploy", "tensorrt", "run", *flags, *kube]))
    assert (got.gpu_archs, got.precision, got.bundle_sources) == (["8.0", "9.0"], "fp16", False)
    k = got.kubernetes
    assert (k.replicas, k.autoscale_metric, k.name, k.namespace) == (3, "inference_count", "svc", "default")
    only_k8s = _options(parser.parse_args(["deploy", "k8s", "run", "--max-replicas", "9"]), tensorrt=False)
    assert only_k8s.kubernetes.max_replicas == 9 and only_k8s.gpu_archs == []
