"""`compare` on real transformers architectures (random weights, no hub): export with the
kit, simplify, rewrite to plugin nodes, compare with PyTorch within the default tolerances.

The rewritten graphs run in onnxruntime with each plugin node through its ONNX body, the
way the Triton CPU model serves them; BERT used to die inside onnx.reference here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import onnx
import pytest

from trt_pdk.cli import main

pytest.importorskip("transformers")

MODELS = Path(__file__).parent / "models"

CASES = {
    # model factory: the plugin its rewrite must introduce
    "bert": "FusedBiasGelu",
    "llama": "RMSNorm",
}


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(CASES))
def test_rewritten_transformer_matches_pytorch(arch, tmp_path, capsys):
    reference = f"{MODELS / 'hf_transformers.py'}:{arch}"
    exported, simple, rewritten = (tmp_path / f"{arch}{s}.onnx" for s in ("", "_simple", "_plugins"))
    dynamic = ["--dynamic", "input_ids:0=batch", "--dynamic", "input_ids:1=seq"]
    assert main(["export", reference, "-o", str(exported), *dynamic]) == 0
    assert main(["simplify", str(exported), "-o", str(simple)]) == 0
    assert main(["rewrite", str(simple), "-o", str(rewritten)]) == 0
    capsys.readouterr()

    plugin_nodes = Counter(n.op_type for n in onnx.load(str(rewritten)).graph.node if n.domain == "trt_pdk")
    assert plugin_nodes[CASES[arch]] > 0, f"the rewrite replaced nothing: {plugin_nodes}"

    code = main(["compare", reference, str(rewritten), "--dim", "batch=1:3", "--dim", "seq=1:16", "--json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 0, json.dumps(report, indent=1)
    assert "Traceback" not in err
    assert report["ok"] and len(report["points"]) == 3
    assert CASES[arch] in report["engines"]["candidate"]  # ran through the plugin's ONNX body
    assert report["points"][-1]["inputs"] == {"input_ids": [3, 16]}
    for point in report["points"]:
        (output,) = point["outputs"]
        assert output["shape"] == [*point["inputs"]["input_ids"], 32]
        assert output["max_abs"] < output["atol"] and output["nan_mismatches"] == 0

    # The rewritten graph against the exported one (both ONNX): the bodies equal the ops they replaced.
    assert main(["compare", str(exported), str(rewritten), "--dim", "batch=1:2", "--dim", "seq=1:8"]) == 0
    assert "OK" in capsys.readouterr().out
