"""Lesson 10: what a memory setting costs, and which one to pick (offline Lambda Power Tuning).

Prices: us-east-1, on-demand, as published on the Lambda pricing page (first tier; free tier
left out). Since 1 August 2025 the INIT phase of on-demand zip functions on managed runtimes is
billed like the invocation itself, so a cold start bills ceil(init + duration) milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

PRICE_PER_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}  # USD
PRICE_PER_MILLION_REQUESTS = 0.20  # USD, both architectures
MEMORY_RANGE_MB = (128, 10240)


def cost_per_million(memory_mb: int, duration_ms: float, *, architecture: str = "arm64",
                     init_ms: float = 0.0, cold_start_rate: float = 0.0) -> float:
    """USD for one million invocations of a function with this memory size whose invocations
    last duration_ms, a share cold_start_rate of them being cold starts that add init_ms."""
    if architecture not in PRICE_PER_GB_SECOND:
        raise ValueError(f"architecture must be one of {sorted(PRICE_PER_GB_SECOND)}, "
                         f"not {architecture!r}")
    low, high = MEMORY_RANGE_MB
    if not low <= memory_mb <= high:
        raise ValueError(f"memory_mb must be from {low} to {high}, not {memory_mb}")
    if not 0.0 <= cold_start_rate <= 1.0:
        raise ValueError(f"cold_start_rate is a share from 0 to 1, not {cold_start_rate}")
    # Lambda bills every invocation in whole milliseconds, rounded up; a cold one with its INIT.
    warm_ms = math.ceil(duration_ms)
    cold_ms = math.ceil(duration_ms + init_ms)
    billed_ms = (1 - cold_start_rate) * warm_ms + cold_start_rate * cold_ms
    gb_seconds = billed_ms / 1000 * memory_mb / 1024  # per invocation
    compute = gb_seconds * PRICE_PER_GB_SECOND[architecture] * 1_000_000
    return compute + PRICE_PER_MILLION_REQUESTS


def recommend(results: Iterable[Mapping[str, Any]], *, max_duration_ms: float,
              architecture: str = "arm64", cold_start_rate: float = 0.0) -> int | None:
    """The memory size of the cheapest setting whose duration is at most max_duration_ms.

    results: one {"memory_mb", "duration_ms", "init_ms"} per measured setting. Settings that
    cost the same: the faster one. None when no setting is fast enough.
    """
    candidates = [
        (cost_per_million(result["memory_mb"], result["duration_ms"],
                          architecture=architecture, init_ms=result.get("init_ms", 0.0),
                          cold_start_rate=cold_start_rate),
         result["duration_ms"], result["memory_mb"])
        for result in results
        if result["duration_ms"] <= max_duration_ms
    ]
    return min(candidates)[2] if candidates else None
