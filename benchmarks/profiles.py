"""Profile planner timing: 10k distinct shapes, k = 1..8. Prints JSON.

python benchmarks/profiles.py
"""

from __future__ import annotations

import json
import platform
import time

import numpy as np

from trt_pdk.profiles import profiles_from_traffic, traffic_from_rows


def main() -> None:
    rng = np.random.default_rng(0)
    seq = rng.permutation(np.arange(1, 10_001))
    counts = rng.zipf(1.5, size=seq.size).clip(max=10_000)
    traffic = traffic_from_rows(
        [({"input_ids": [1, int(s)]}, float(c)) for s, c in zip(seq, counts, strict=True)]
    )
    rows = []
    for k in range(1, 9):
        start = time.perf_counter()
        plan = profiles_from_traffic(traffic, k)
        rows.append(
            {
                "k": k,
                "seconds": round(time.perf_counter() - start, 4),
                "cost": plan.cost,
                "single_profile_cost": plan.single_profile_cost,
                "method": plan.method,
            }
        )
    print(
        json.dumps(
            {
                "distinct_shapes": len(traffic.shapes),
                "machine": platform.machine(),
                "cost_model": "padded_elements",
                "runs": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
