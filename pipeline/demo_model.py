"""The demo model of ``pipeline/demo.yaml``: a transformer FFN block that uses three plugins.

``x [batch, seq, 768]`` ->
RMSNorm written with standard ops (the rewrite turns it into the ``RMSNorm`` plugin) ->
``gelu(x @ W_up + bias)`` with a 4x FFN, 768 -> 3072 (the rewrite turns it into
``FusedBiasGelu``) -> ``@ W_down`` -> residual -> ``y``; and
``bucket = torch.bucketize(mean(y, -1), boundaries)`` (plain dynamo unrolls it into a binary
search; the kit's translation exports one ``Bucketize`` node).

The dims are those of a small transformer layer (d_model 768, d_ff 3072, as in BERT-base or
GPT-2 small), and the traffic is decode-heavy, the regime where dynamic batching is switched
on: most requests carry 1-2 new tokens (``[1, 1, 768]`` is the most common shape, so the
pipeline's verify and perf stages send it), with a tail of prefill-like requests of 8-128
tokens and some requests that already carry 2 or 4 sequences; the tail gives the profile
planner real work. At one token the FFN is two GEMVs (about 9 MFLOP that stream the 19 MB of
weights per request); batched by the server they become GEMMs that read the weights once per
batch. On one CPU thread (onnxruntime) that is ~280 us per request alone vs ~75 us per request
in batches of 16, on top of the ~100 us per-request serving overhead the batcher also
amortizes. At 16+ tokens per request the MatMuls are GEMMs already and batching saves only
that overhead.

``factory()`` returns ``(module, example_inputs)``; same weights every call.

``write_traffic(path)`` regenerates ``demo_traffic.jsonl`` (the request shapes the
pipeline plans profiles and perf inputs from) with this model's width:

    python pipeline/demo_model.py pipeline/demo_traffic.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

WIDTH = 768
HIDDEN = 4 * WIDTH

# (batch, seq, count) of the 400 logged requests: decode steps (1-2 tokens) dominate, with a
# tail of prefill-like requests up to 128 tokens; batch 2 and 4 are clients that step several
# sequences per request.
_TRAFFIC = {
    1: "1:187 2:38 3:9 4:6 5:2 6:2 7:1 8:3 11:1 12:3 16:6 20:1 24:4 27:1 32:6 40:1 48:3 57:1 "
    "64:4 77:1 96:3 100:1 113:1 128:3",
    2: "1:34 2:10 3:2 16:3 32:4 64:3 128:2",
    4: "1:30 2:8 4:2 16:3 32:3 64:2 96:1 128:5",
}


class DemoBlock(torch.nn.Module):
    def __init__(self, width: int = WIDTH, hidden: int = HIDDEN, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.norm_weight = torch.nn.Parameter(1.0 + 0.1 * torch.randn(width))
        self.up = torch.nn.Linear(width, hidden, bias=False)
        self.up_bias = torch.nn.Parameter(0.02 * torch.randn(hidden))
        self.down = torch.nn.Linear(hidden, width)
        self.register_buffer("boundaries", torch.tensor([-0.5, -0.2, -0.05, 0.0, 0.05, 0.2, 0.5]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.norm_weight
        h = torch.nn.functional.gelu(self.up(h) + self.up_bias)
        y = x + self.down(h)
        level = y.mean(-1)
        bucket = torch.bucketize(level, self.boundaries)
        return y, bucket


def factory() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    model = DemoBlock().eval()
    return model, (torch.randn(2, 8, WIDTH),)


def traffic_rows(width: int = WIDTH) -> list[dict]:
    """The demo traffic log, one row per distinct shape: ``{"x": [batch, seq, width], "count": n}``."""
    rows = []
    for batch, table in _TRAFFIC.items():
        for item in table.split():
            seq, count = (int(v) for v in item.split(":"))
            rows.append({"x": [batch, seq, width], "count": count})
    return rows


def write_traffic(path: str | Path, width: int = WIDTH) -> Path:
    """Writes the demo traffic log (deterministic: the same file every call)."""
    path = Path(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in traffic_rows(width)))
    return path


if __name__ == "__main__":
    print(write_traffic(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("demo_traffic.jsonl")))
