"""A model calling the RMSNorm plugin's torch op (exports to one trt_pdk::RMSNorm node)."""

from __future__ import annotations

import torch


class PluginNorm(torch.nn.Module):
    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(d) + 0.5)
        self.fc = torch.nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.ops.trt_pdk.rms_norm(x, self.weight, eps=1e-5))


def make() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    from trt_pdk import torch_ops
    from trt_pdk.registry import get_spec

    torch_ops.register(get_spec("RMSNorm"))
    torch.manual_seed(0)
    return PluginNorm(), (torch.randn(3, 16),)
