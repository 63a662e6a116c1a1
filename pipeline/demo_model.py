"""The demo model of ``pipeline/demo.yaml``: a transformer FFN block that uses three plugins.

``x [batch, seq, 128]`` ->
RMSNorm written with standard ops (the rewrite turns it into the ``RMSNorm`` plugin) ->
``gelu(x @ W_up + bias)`` with a 4x FFN, 128 -> 512 (the rewrite turns it into
``FusedBiasGelu``) -> ``@ W_down`` -> residual -> ``y``; and
``bucket = torch.bucketize(mean(y, -1), boundaries)`` (plain dynamo unrolls it into a binary
search; the kit's translation exports one ``Bucketize`` node).

Per request (the traffic's most common shape, ``[1, 16, 128]``) that is about 4 MFLOP, the
FFN of a tiny transformer layer (d_model 128). On a CPU, wider blocks (256 -> 1024 and up)
are already GEMM-efficient at 16 tokens, so batching them saves no compute there; the
dynamic batcher's gain on a CPU is the per-request serving overhead it amortizes.
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

WIDTH = 128
HIDDEN = 4 * WIDTH

# (batch, seq, count) of the 400 logged requests: common sequence lengths plus a tail.
_TRAFFIC = {
    1: "8:21 12:21 15:1 16:92 17:1 20:1 24:22 27:1 28:2 30:1 32:43 48:20 49:1 50:1 54:1 63:1 "
    "64:14 66:1 68:1 71:1 74:2 78:1 82:1 84:1 87:1 96:17 98:1 100:1 109:2 123:2 128:14",
    2: "8:6 9:1 12:6 16:12 24:5 32:7 44:1 48:4 49:1 54:1 61:1 64:2 67:1 86:1 96:10 128:9",
    4: "8:5 12:4 16:5 17:1 24:6 32:9 33:1 37:1 48:1 61:1 64:1 96:5 128:2",
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
