"""A model calling torch.bucketize (no ONNX op: dynamo decomposes it into a binary search)."""

from __future__ import annotations

import torch


class Bucketize(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("boundaries", torch.tensor([-1.0, -0.25, 0.0, 0.5, 1.5]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.bucketize(x, self.boundaries)


def make() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    return Bucketize(), (torch.randn(4, 8),)
