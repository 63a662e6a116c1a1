"""Limits on generated inputs (no numpy here: the CLI reads these when it builds its flags)."""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_INPUT_MIB = 1024
MAX_INPUT_FLAG = "--max-input-mib"


def add_max_input_flag(parser: Any) -> None:
    """Adds ``--max-input-mib`` to a command that generates inputs (dest ``max_input_mib``)."""
    parser.add_argument(
        MAX_INPUT_FLAG,
        type=float,
        default=DEFAULT_MAX_INPUT_MIB,
        metavar="MIB",
        help=f"refuse to generate inputs larger than this in total, before allocating them "
        f"(default {DEFAULT_MAX_INPUT_MIB})",
    )
