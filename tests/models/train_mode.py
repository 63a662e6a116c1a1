"""A model with Dropout and BatchNorm; `make_train` returns it in train() mode."""

from __future__ import annotations

import torch


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)
        self.bn = torch.nn.BatchNorm1d(8)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.bn(self.fc(x)))


def make() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Net().eval(), (torch.randn(4, 8),)


def make_train() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    module, inputs = make()
    return module.train(), inputs


def make_broken() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    raise RuntimeError("the weights server is down")
