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
    # `trt-pdk perf` replays a traffic log with its own flags (serving); its defaults are checked below.
    "perf": None,
    # deploy's options belong to trt_pdk.deploy, which declares its flags in deploy_cmd itself.
    "deploy": None,
}


def _subparser(words: list[str]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in words:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


def test_every_stage_has_a_command():
    assert set(COMMANDS) == {s.name for s in STAGES}


CLI_STAGES = [s for s in STAGES if COMMANDS[s.name]]


@pytest.mark.parametrize("stage", CLI_STAGES, ids=lambda s: s.name)
def test_cli_flags_and_defaults_come_from_the_options(stage):
    parser = _subparser(COMMANDS[stage.name])
    by_dest = {a.dest: a for a in parser._actions}
    for f in option_fields(stage.options, "cli"):
        action = by_dest.get(f.name)
        assert action is not None, f"{stage.name}: no flag for {f.name}"
        if f.metadata["positional"]:
            assert not action.option_strings
        else:
            assert flag_of(f) in action.option_strings, (f.name, action.option_strings)
    hidden = {f.name for f in dataclasses.fields(stage.options)} - {
        f.name for f in option_fields(stage.options, "cli")
    }
    assert not hidden & set(by_dest), f"{stage.name}: {hidden & set(by_dest)} are not command-line options"


@pytest.mark.parametrize("stage", CLI_STAGES, ids=lambda s: s.name)
def test_cli_defaults_equal_the_dataclass_defaults(stage):
    """Parsing only the required arguments gives the options' defaults."""
    parser = _subparser(COMMANDS[stage.name])
    required = []
    for a in parser._actions:
        if a.required and a.option_strings:
            required += [a.option_strings[0], "/x" if a.type is not int else "1"]
        elif not a.option_strings and a.dest != "help" and not isinstance(a, argparse._SubParsersAction):
            required.append("a.onnx")
    required += {"verify": ["--expected", "e.npz"], "repository": ["--onnx", "m.onnx"]}.get(stage.name, [])
    args = parser.parse_args(required)
    got = options_from_args(stage.options, args)
    for f in option_fields(stage.options, "cli"):
        if f.metadata["positional"] or f.metadata["required"]:
            continue
        assert getattr(got, f.name) == default_of(f), (stage.name, f.name)


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
    from trt_pdk.triton.perf_report import options_from_section

    (tmp_path / "t.jsonl").write_text('{"x": [1, 8]}\n')
    (tmp_path / "p.yaml").write_text("name: t\ntraffic: t.jsonl\nmodel: {factory: m.py:f}\n")
    from_yaml = options_from_section(load_config(tmp_path / "p.yaml").perf)
    args = _subparser(["perf"]).parse_args(["--model", "m", "--run-dir", "r", "--traffic", "t.jsonl"])
    shared = (
        "concurrency",
        "duration",
        "protocol",
        "instance_counts",
        "max_queue_delays_us",
        "max_input_mib",
    )
    for name in shared:
        flag = {"max_queue_delays_us": "max_queue_delays"}.get(name, name)
        cli = getattr(args, flag)
        if name in ("instance_counts", "max_queue_delays_us"):  # comma lists on the command line
            cli = [int(v) for v in cli.split(",")]
        assert getattr(from_yaml, name) == cli, name


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
