"""The options of ``trt-pdk perf``: the single source of its flags, defaults and checks.

Kept apart from :mod:`trt_pdk.triton.perf` (numpy, the server) so the CLI builds its flags
without importing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trt_pdk.errors import UserError
from trt_pdk.execution.limits import DEFAULT_MAX_INPUT_MIB
from trt_pdk.options import option


@dataclass
class PerfOptions:
    """What to measure and search.

    Args:
        concurrency: closed-loop clients of the replay (default 16).
        duration: least seconds measured per candidate; whole passes of the log are
            measured, at least one (default 2).
        protocol: ``grpc`` (default) or ``http``.
        speed: open-loop replay on the log's timestamps, this many times faster (default
            1.0; ignored without timestamps, which the result says).
        search: ``quick`` (hill climbing, default), ``exhaustive`` or ``none`` (baseline only).
        bucketing: plan and try shape bucketing (default True).
        instance_counts / max_queue_delays_us / preferred_batch_sizes: the grid.
        intra_op_threads: onnxruntime threads per instance to search, for the kit's python
            model (default 1 and 2; instances x threads past the machine's cores are skipped).
        min_gain: the quick search also expands configs within this fraction of the best
            throughput (default 0.10: one 1 s sample of the same config varies by about that
            much between runs on a shared 2-core machine).
        recheck: measure baseline and winner again, back to back (default True).
        per_band: replay each band alone for baseline and winner (default True).
        budget_s: the search stops starting candidates after this many seconds (default 75).
        max_input_mib: generated request tensors (one request) and the inputs bucketing
            checks and times the graph on are refused past this many MiB (default 1024).
    """

    concurrency: int = option(16, help="closed-loop clients")
    duration: float = option(2.0, help="least seconds measured per candidate")
    protocol: str = option("grpc", choices=("grpc", "http"), help="client protocol")
    speed: float = option(1.0, help="open-loop replay speed-up of the log's clock")
    search: str = option(
        "quick", choices=("quick", "exhaustive", "none"), help="how the serving configs are searched"
    )
    bucketing: bool = option(True, help="plan and try shape bucketing (--no-bucketing: do not)")
    instance_counts: list[int] = option(
        factory=lambda: [1, 2], form="comma", help="instance counts to search (comma list)"
    )
    intra_op_threads: list[int] = option(
        factory=lambda: [1, 2],
        form="comma",
        help="onnxruntime threads per instance to search, for the kit's python model (comma list)",
    )
    max_queue_delays_us: list[int] = option(
        factory=lambda: [100, 500, 2000],
        flag="--max-queue-delays",
        form="comma",
        help="batcher delays to search, microseconds (comma list)",
    )
    preferred_batch_sizes: list[list[int]] = option(
        factory=lambda: [[], [4, 8, 16]], cli=False, help="preferred batch sizes to search"
    )
    min_gain: float = option(
        0.10,
        cli=False,
        help="the quick search also expands configs within this fraction of the best throughput",
    )
    recheck: bool = option(True, cli=False, help="measure baseline and winner again, back to back")
    per_band: bool = option(True, cli=False, help="replay each band alone for baseline and winner")
    budget_s: float = option(75.0, cli=False, help="the search stops starting candidates after this")
    max_input_mib: float = option(
        DEFAULT_MAX_INPUT_MIB,
        metavar="MIB",
        help="refuse to generate a request (or bucketing's check inputs) larger than this in total, "
        "before allocating it",
    )

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise UserError(f"perf: {what}")

        need(
            isinstance(self.concurrency, int) and self.concurrency >= 1,
            f"concurrency must be a whole number >= 1, got {self.concurrency!r}.",
        )
        need(
            isinstance(self.duration, int | float) and math.isfinite(self.duration) and self.duration > 0,
            f"duration must be a positive number of seconds, got {self.duration!r}; pass e.g. --duration 2.",
        )
        need(self.protocol in ("grpc", "http"), f"protocol must be grpc or http, got {self.protocol!r}.")
        need(math.isfinite(self.speed) and self.speed > 0, f"speed must be > 0, got {self.speed!r}.")
        need(
            self.search in ("quick", "exhaustive", "none"),
            f"search must be quick, exhaustive or none, got {self.search!r}.",
        )
        need(
            bool(self.instance_counts) and all(isinstance(n, int) and n >= 1 for n in self.instance_counts),
            f"instance counts must be whole numbers >= 1, got {self.instance_counts!r}.",
        )
        need(
            bool(self.intra_op_threads) and all(isinstance(n, int) and n >= 1 for n in self.intra_op_threads),
            f"intra-op threads must be whole numbers >= 1, got {self.intra_op_threads!r}.",
        )
        need(
            bool(self.max_queue_delays_us)
            and all(isinstance(d, int) and d >= 0 for d in self.max_queue_delays_us),
            f"max queue delays must be whole microseconds >= 0, got {self.max_queue_delays_us!r}.",
        )
        need(
            all(all(isinstance(s, int) and s >= 1 for s in p) for p in self.preferred_batch_sizes),
            f"preferred batch sizes must be lists of sizes >= 1, got {self.preferred_batch_sizes!r}.",
        )
        need(self.min_gain >= 0, f"min_gain must be >= 0, got {self.min_gain!r}.")
        need(self.budget_s > 0, f"budget_s must be > 0, got {self.budget_s!r}.")
        need(self.max_input_mib > 0, f"max_input_mib must be > 0 MiB, got {self.max_input_mib!r}.")
