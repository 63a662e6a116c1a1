"""The real ``polygraphy plugin list|match|replace`` on the exported demo model.

Polygraphy (pinned in requirements/ci.txt) reads the kit's plugin folder
(``python -m trt_pdk --polygraphy-dir``): it must find the subgraphs ``trt-pdk rewrite``
replaces, and its replacement must write nodes TensorRT's parser can map to our plugins
(``plugin_version``, ``plugin_namespace``, the plugin's domain) that compute what the
original model computes.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
PATTERN_OPS = {"RMSNorm": "rms_norm", "FusedBiasGelu": "fused_bias_gelu"}  # ops with rewrite patterns

pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    path = str(found) if found.is_file() else shutil.which(name)
    if path is None:
        pytest.skip(
            f"{name} is not installed (requirements/ci.txt pins it: pip install -r requirements/ci.txt)"
        )
    return path


def _run(args: list[str], cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, (
        f"`{' '.join(args)}` exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def demo_onnx(tmp_path_factory) -> Path:
    """The demo model (pipeline/demo_model.py) exported with every plugin's translation."""
    pytest.importorskip("torch")
    from trt_pdk.onnx_export import export

    module_spec = importlib.util.spec_from_file_location(
        "demo_model_for_polygraphy", REPO / "pipeline" / "demo_model.py"
    )
    demo = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(demo)
    model, inputs = demo.factory()
    path = tmp_path_factory.mktemp("polygraphy") / "demo.onnx"
    export(model, inputs, str(path))
    return path


@pytest.fixture(scope="module")
def plugin_dir() -> str:
    return subprocess.run(
        [sys.executable, "-m", "trt_pdk", "--polygraphy-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _plugin_nodes(model, ops):
    return sorted(
        (n.op_type, tuple(n.input), tuple(n.output), n.domain) for n in model.graph.node if n.op_type in ops
    )


def test_polygraphy_dir_holds_a_pattern_file_per_op_with_patterns(plugin_dir):
    folders = sorted(p.parent.name for p in Path(plugin_dir).glob("*/pattern.py"))
    assert folders == sorted(PATTERN_OPS.values())


def test_match_finds_what_rewrite_replaces_and_replace_writes_plugin_nodes(tmp_path, demo_onnx, plugin_dir):
    import onnx
    import yaml

    from trt_pdk import onnx_cpu
    from trt_pdk.registry import discover

    polygraphy = _tool("polygraphy")
    listed = _run([polygraphy, "plugin", "list", str(demo_onnx), "--plugin-dir", plugin_dir], tmp_path)
    assert "{'" in listed and all(f"'{folder}': 1" in listed for folder in PATTERN_OPS.values()), listed

    config = tmp_path / "config.yaml"
    _run(
        [polygraphy, "plugin", "match", str(demo_onnx), "--plugin-dir", plugin_dir, "-o", str(config)],
        tmp_path,
    )
    matched = sorted(
        (plugin["op"], tuple(i["inputs"]), tuple(i["outputs"]), plugin["name"])
        for plugin in yaml.safe_load_all(config.read_text())
        for i in plugin["instances"]
    )

    rewritten = tmp_path / "rewritten.onnx"
    _run([sys.executable, "-m", "trt_pdk", "rewrite", str(demo_onnx), "-o", str(rewritten)], tmp_path)
    by_rewrite = _plugin_nodes(onnx.load(rewritten), PATTERN_OPS)
    assert [m[:3] for m in matched] == [r[:3] for r in by_rewrite]
    assert [m[3] for m in matched] == [PATTERN_OPS[r[0]] for r in by_rewrite]
    assert len(matched) == len(PATTERN_OPS)

    replaced = tmp_path / "replaced.onnx"
    replace = ["plugin", "replace", str(demo_onnx), "--plugin-dir", plugin_dir, "--config", str(config)]
    _run([polygraphy, *replace, "-o", str(replaced)], tmp_path)
    model = onnx.load(replaced)
    onnx.checker.check_model(model)
    assert _plugin_nodes(model, PATTERN_OPS) == by_rewrite  # same nodes, same domain (trt_pdk)
    for node in (n for n in model.graph.node if n.op_type in PATTERN_OPS):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert (attrs["plugin_version"], attrs["plugin_namespace"]) == (b"2", b"trt_pdk"), node
    assert any(o.domain == "trt_pdk" for o in model.opset_import)

    # The replaced model computes what the exported one does (plugin nodes run on CPU
    # through their ONNX bodies).
    specs = list(discover().values())
    x = np.random.default_rng(0).standard_normal((2, 8, 768)).astype(np.float32)
    expected = onnx_cpu.run(onnx.load(demo_onnx), specs, {"x": x})
    got = onnx_cpu.run(model, specs, {"x": x})
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
