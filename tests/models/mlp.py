"""An MLP with LayerNorm and GELU (tanh approximation) plus a bias-GELU block."""

from __future__ import annotations

import torch


class MLP(torch.nn.Module):
    def __init__(self, d: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(d)
        self.up = torch.nn.Linear(d, hidden)
        self.down = torch.nn.Linear(hidden, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.gelu(self.up(self.norm(x)), approximate="tanh")
        return x + self.down(h)


def make() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return MLP(), (torch.randn(2, 5, 16),)
