"""The demo model of ``pipeline/demo.yaml``: a weight-bound block that uses three plugins.

``x [batch, seq, 64]`` ->
RMSNorm written with standard ops (the rewrite turns it into the ``RMSNorm`` plugin) ->
``gelu(x @ W_up + bias)`` (the rewrite turns it into ``FusedBiasGelu``) -> ``@ W_down`` ->
residual -> ``y``; and ``bucket = torch.bucketize(mean(y, -1), boundaries)`` (plain dynamo
unrolls it into a binary search; the kit's translation exports one ``Bucketize`` node).

The 64 -> 1024 -> 64 projections dominate a batch-1 run, so Triton's dynamic batching pays
off even on a CPU. ``factory()`` returns ``(module, example_inputs)``; same weights every call.
"""

from __future__ import annotations

import torch

WIDTH = 64
HIDDEN = 1024


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
