"""The planning problem: the traffic's distinct values along the planned axes, with weights and costs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trt_pdk.errors import UserError
from trt_pdk.profiles._traffic import Traffic


@dataclass
class Problem:
    traffic: Traffic
    axes: list[list[tuple[str, int]]]  # tied coordinates per planned axis
    x: np.ndarray  # (N, d) planned-axis values per distinct request
    w: np.ndarray  # (N,) weights
    base: list[np.ndarray]  # per input: (N,) product of its non-planned dims
    power: list[list[int]]  # per input, per axis: how often the axis appears in the input
    actual: np.ndarray  # (N,) elements of all inputs
    cost_model: str

    def padded(self, corners: np.ndarray, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """(n_rows, C) elements of all inputs when padded to each corner."""
        out = np.zeros((self.base[0][rows].shape[0], corners.shape[0]))
        for b, pw in zip(self.base, self.power, strict=False):
            term = np.ones(corners.shape[0])
            for a, p in enumerate(pw):
                if p:
                    term = term * corners[:, a].astype(np.float64) ** p
            out += b[rows][:, None] * term[None, :]
        return out

    def cost_matrix(self, corners: np.ndarray, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """(n_rows, C) weighted cost of routing each request to each corner (inf: not contained)."""
        x = self.x[rows]
        inside = np.all(x[:, None, :] <= corners[None, :, :], axis=2)
        if self.cost_model == "padded_elements":
            c = self.padded(corners, rows) - self.actual[rows][:, None]
        else:
            ratio = np.prod(x[:, None, :].astype(np.float64) / corners[None, :, :], axis=2)
            c = 1.0 - ratio
        c = c * self.w[rows][:, None]
        return np.where(inside, c, np.inf)


def tied_groups(traffic: Traffic, coords: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    cols = {c: tuple(s[traffic.inputs.index(c[0])][c[1]] for s in traffic.shapes) for c in coords}
    groups: dict[tuple, list[tuple[str, int]]] = {}
    for c in coords:
        groups.setdefault(cols[c], []).append(c)
    return list(groups.values())


def varying_axes(traffic: Traffic) -> list[tuple[str, int]]:
    out = []
    for i, name in enumerate(traffic.inputs):
        for a in range(len(traffic.shapes[0][i])):
            if len({s[i][a] for s in traffic.shapes}) > 1:
                out.append((name, a))
    return out


def problem_from_traffic(traffic: Traffic, cost_model: str, input_name: str | None) -> Problem:
    varying = varying_axes(traffic)
    groups = tied_groups(traffic, varying)
    if input_name is not None:
        if input_name not in traffic.inputs:
            raise UserError(
                f"--input {input_name!r} is not in the traffic; its inputs are {list(traffic.inputs)}."
            )
        groups = [g for g in groups if any(c[0] == input_name for c in g)]
    if not groups:
        # Every request has the same shape: one static profile is the whole answer.
        groups = []
    n = len(traffic.shapes)
    x = np.array(
        [[s[traffic.inputs.index(g[0][0])][g[0][1]] for g in groups] for s in traffic.shapes], dtype=np.int64
    ).reshape(n, len(groups))
    axis_of = {c: a for a, g in enumerate(groups) for c in g}
    base, power = [], []
    for i, name in enumerate(traffic.inputs):
        rank = len(traffic.shapes[0][i])
        pw = [0] * len(groups)
        for d in range(rank):
            if (name, d) in axis_of:
                pw[axis_of[(name, d)]] += 1
        power.append(pw)
        base.append(
            np.array(
                [math.prod(s[i][d] for d in range(rank) if (name, d) not in axis_of) for s in traffic.shapes],
                dtype=np.float64,
            )
        )
    actual = np.array([sum(math.prod(shape) for shape in s) for s in traffic.shapes], dtype=np.float64)
    return Problem(traffic, groups, x, traffic.counts.astype(np.float64), base, power, actual, cost_model)
