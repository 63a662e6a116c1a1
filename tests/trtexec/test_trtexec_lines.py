"""Every trtexec line the kit writes, judged by trtexec's own option parser (10.16 and 11.x).

The parser is compiled from the NVIDIA/TensorRT mirror (``tests/trtexec_parser.py``); without
the mirror and headers these tests skip with the reason. Each written script runs under bash
with ``trtexec`` being that parser, so the shell's quoting and ``${VAR}`` expansion are real too.
"""

from __future__ import annotations

import json
import re

import onnx
import pytest
from onnx import TensorProto, helper

from trt_pdk.cli import main
from trt_pdk.engine import trtexec_command
from trt_pdk.onnx_export import one_node_model
from trt_pdk.registry import get_spec

MAJORS = [10, 11]
LIBRARY = "/opt/plugins/libtrt_pdk_plugins.so"  # what the dry-run placeholder is set to


def _profiles(count: int) -> list[dict[str, dict[str, list[int]]]]:
    """``count`` profiles over the batch axis of two dynamic inputs, one named like a TF tensor."""
    out = []
    for k in range(count):
        lo, hi = 1 + 8 * k, 8 * (k + 1)
        rng = {"min": [lo, 3, 64], "opt": [hi, 7, 64], "max": [hi, 16, 64]}
        out.append({"tokens:0": rng, "residual": {key: list(v) for key, v in rng.items()}})
    return out


def _plugin_model(path):
    """``FusedBiasGelu(tokens:0 + residual, bias)``: two dynamic inputs, one static, a plugin node."""
    model = one_node_model(get_spec("FusedBiasGelu"), [["B", "S", 64], [64]], ["float32", "float32"])
    graph = model.graph
    graph.node[0].input[0] = "h"
    del graph.input[0]
    graph.input.insert(0, helper.make_tensor_value_info("residual", TensorProto.FLOAT, ["B", "S", 64]))
    graph.input.insert(0, helper.make_tensor_value_info("tokens:0", TensorProto.FLOAT, ["B", "S", 64]))
    graph.node.insert(0, helper.make_node("Add", ["tokens:0", "residual"], ["h"], name="add"))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _engine_scripts(tmp_path, profiles, extra=()):
    model = tmp_path / "model.onnx"
    _plugin_model(model)
    (tmp_path / "profiles.json").write_text(json.dumps({"profiles": profiles}))
    run = tmp_path / "run"
    argv = ["engine", "build", str(model), "--profiles", str(tmp_path / "profiles.json"), "-o", str(run)]
    assert main([*argv, "--precision", "both", "--dry-run", *extra]) == 0
    return run


def _expected_library(script_text: str, major: int) -> str:
    if f"${{TRT_PDK_PLUGINS_TRT{major}}}" in script_text:
        return LIBRARY
    from trt_pdk.native import plugin_library_path

    return str(plugin_library_path(major))


@pytest.mark.parametrize("major", MAJORS)
@pytest.mark.parametrize("count", [1, 3])
def test_engine_build_scripts_mean_what_we_intended(tmp_path, trtexec_parser, major, count):
    profiles = _profiles(count)
    run = _engine_scripts(tmp_path, profiles, ["--workspace-mib", "1024"])
    script = run / f"trtexec_trt{major}.sh"
    env = {f"TRT_PDK_PLUGINS_TRT{major}": LIBRARY}
    parsed = trtexec_parser.parse_trtexec_script(script, major, env)
    assert [p["trt_version"].split(".")[0] for p in parsed] == [str(major)] * 2
    for p in parsed:
        assert p["ok"], (p["error"], p["unknown"])
        assert p["profiles"] == profiles
        assert p["dynamic_plugins"] == [_expected_library(script.read_text(), major)]
        assert p["plugins_to_serialize"] == [] and p["plugins"] == []
        assert p["onnx"] and p["skip_inference"]
        assert p["timing_cache_file"] == "timing.cache" and p["workspace_mib"] == 1024
    fp32, fp16 = parsed
    model = str((tmp_path / "model.onnx").resolve())  # outside the run folder: written absolute
    assert (fp32["model"], fp32["save_engine"]) == (model, "fp32/model.plan")
    assert fp16["save_engine"] == "fp16/model.plan"
    if major == 10:
        assert fp16["model"] == model
        assert (fp32["fp16"], fp16["fp16"]) == (False, True)
    else:  # TensorRT 11: FP16 from the graph, strongly typed (no --fp16 exists)
        assert fp16["model"] == "fp16/model.fp16.onnx" and (run / fp16["model"]).is_file()
        assert "fp16" not in fp16 and fp32["strongly_typed"] and fp16["strongly_typed"]


@pytest.mark.parametrize("major", MAJORS)
def test_pipeline_report_line_is_the_scripts_first_line(tmp_path, trtexec_parser, major):
    from trt_pdk.pipeline.stages.engine import first_trtexec_line

    profiles = _profiles(2)
    script = _engine_scripts(tmp_path, profiles) / f"trtexec_trt{major}.sh"
    line = first_trtexec_line(script)
    parsed = trtexec_parser.parse_trtexec_line(line, major, {f"TRT_PDK_PLUGINS_TRT{major}": LIBRARY})
    assert parsed["ok"], (parsed["error"], parsed["unknown"])
    assert parsed["profiles"] == profiles and parsed["save_engine"] == "fp32/model.plan"


@pytest.mark.parametrize("major", MAJORS)
def test_trtexec_command_with_every_option(trtexec_parser, major):
    profiles = _profiles(2)
    libs = ["/a/libone.so", "/b c/libtwo.so"]
    argv = trtexec_command(
        "m.onnx",
        "out/e.plan",
        profiles,
        plugin_libraries=libs,
        tensorrt_major=major,
        fp16_flag=major == 10,
        timing_cache="t.cache",
        workspace_mib=512,
        optimization_level=5,
    )
    parsed = trtexec_parser.parse_trtexec_line(argv, major)
    assert parsed["ok"], (parsed["error"], parsed["unknown"])
    assert parsed["profiles"] == profiles and parsed["dynamic_plugins"] == libs
    assert (parsed["workspace_mib"], parsed["builder_optimization_level"]) == (512, 5)
    assert parsed.get("fp16", False) == (major == 10)


@pytest.mark.parametrize("major", MAJORS)
def test_static_model_line_has_no_profiles(trtexec_parser, major):
    argv = trtexec_command("m.onnx", "e.plan", [], plugin_libraries=[], tensorrt_major=major)
    parsed = trtexec_parser.parse_trtexec_line(argv, major)
    # trtexec keeps one empty profile (the model's own static shapes) where no shapes are given.
    assert parsed["ok"] and parsed["profiles"] == [{}] and parsed["dynamic_plugins"] == []


@pytest.mark.parametrize("major", MAJORS)
def test_what_we_refuse_to_write_trtexec_refuses_too(trtexec_parser, major):
    # Repeated shape groups without --profile (what the kit wrote before): rejected.
    groups = [f"--{k}Shapes=x:{n}x8" for n in (1, 2) for k in ("min", "opt", "max")]
    old = trtexec_parser.parse_trtexec_line(["trtexec", "--onnx=m.onnx", *groups], major)
    assert not old["ok"] and "without --profile" in old["error"]
    # Names with ',' or "'": however quoted, trtexec does not read back the name.
    for name in ("a,b", "it's"):
        shapes = [f"--{k}Shapes='{name}':1x8" for k in ("min", "opt", "max")]
        parsed = trtexec_parser.parse_trtexec_line(["trtexec", "--onnx=m.onnx", *shapes], major)
        assert not parsed["ok"] or [list(p) for p in parsed["profiles"]] != [[name]]
    # --fp16: only TensorRT 10's trtexec has it.
    fp16 = trtexec_parser.parse_trtexec_line(["trtexec", "--onnx=m.onnx", "--fp16"], major)
    assert fp16["ok"] == (major == 10) and (major == 10 or fp16["unknown"] == ["--fp16"])
    with pytest.raises(ValueError, match="no --fp16"):
        trtexec_command("m.onnx", "e.plan", [], plugin_libraries=[], tensorrt_major=11, fp16_flag=True)


def test_dry_run_refuses_names_trtexec_cannot_carry(tmp_path, cli):
    model = tmp_path / "m.onnx"
    graph = helper.make_graph(
        [helper.make_node("Relu", ["a,b"], ["y"])],
        "g",
        [helper.make_tensor_value_info("a,b", TensorProto.FLOAT, ["B", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 8])],
    )
    opset = [helper.make_opsetid("", 18)]
    onnx.save(helper.make_model(graph, opset_imports=opset, ir_version=10), str(model))
    profiles = tmp_path / "p.json"
    profiles.write_text(json.dumps({"profiles": [{"a,b": {"min": [1, 8], "opt": [2, 8], "max": [4, 8]}}]}))
    run = tmp_path / "run"
    done = cli("engine", "build", str(model), "--profiles", str(profiles), "-o", str(run), "--dry-run")
    assert done.returncode == 2, done.stderr
    assert b"trtexec cannot name the inputs ['a,b']" in done.stderr and b"Traceback" not in done.stderr
    assert not run.exists()


@pytest.mark.parametrize("major", MAJORS)
def test_readme_lines(repo, trtexec_parser, major):
    lines = re.findall(r"`(trtexec --onnx=[^`]*)`", (repo / "README.md").read_text())
    env = {"LIB": "/opt/plugins/lib.so"}
    assert lines
    for line in lines:
        parsed = trtexec_parser.parse_trtexec_line(line, major, env)
        assert parsed["ok"] and parsed["dynamic_plugins"] == ["/opt/plugins/lib.so"], parsed
        # "add --setPluginsToSerialize=$LIB to embed it in version-compatible engines"
        embed = f"{line} --versionCompatible --setPluginsToSerialize=$LIB"
        parsed = trtexec_parser.parse_trtexec_line(embed, major, env)
        assert parsed["ok"] and parsed["plugins_to_serialize"] == ["/opt/plugins/lib.so"], parsed
