"""Percentiles and summaries of latency samples. Pure functions, no I/O.

Percentiles use the nearest-rank method: every figure reported is a latency that was really
observed, never an interpolation between two samples. With fewer than 100 samples p99 is
therefore the slowest sample, and ``Summary.p99_is_max`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from statistics import fmean, median  # noqa: F401 - median re-exported: the standard one
from typing import cast

from labctl.results import documents


def percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 < q <= 100) of an ascending list."""
    if not sorted_values:
        raise ValueError("percentile of no samples")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is outside (0, 100]")
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


@dataclass(frozen=True)
class Summary:
    """Latency figures of one series of samples, in microseconds."""

    count: int
    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    # A 95% confidence interval of the median from order statistics (no assumption about the
    # distribution's shape): two medians whose intervals overlap are within the run's own noise.
    p50_low: float
    p50_high: float

    @property
    def p99_is_max(self) -> bool:
        return self.count < 100

    def as_dict(self) -> documents.Summary:
        return cast(documents.Summary, {k: (round(v, 1) if isinstance(v, float) else v)
                                         for k, v in asdict(self).items()})


def summarize(samples_us: Iterable[float]) -> Summary:
    values: list[float] = sorted(samples_us)
    if not values:
        raise ValueError("no samples to summarize")
    low, high = median_interval(values)
    return Summary(
        count=len(values), min=values[0], p50=percentile(values, 50), p90=percentile(values, 90),
        p99=percentile(values, 99), max=values[-1], mean=fmean(values), p50_low=low, p50_high=high,
    )


def median_interval(sorted_values: list[float], z: float = 1.96) -> tuple[float, float]:
    """Distribution-free ~95% confidence interval of the median.

    The ranks n/2 ± z·√n/2 bound the median with the binomial(n, ½) distribution's normal
    approximation; clamped to the sample for small n.
    """
    n = len(sorted_values)
    half_width = z * math.sqrt(n) / 2
    lo = max(int(math.floor(n / 2 - half_width)), 1)
    hi = min(int(math.ceil(n / 2 + half_width)), n)
    return sorted_values[lo - 1], sorted_values[hi - 1]


def overlaps(a: Summary, b: Summary) -> bool:
    """True when the two medians cannot be told apart at this run's noise level."""
    return a.p50_low <= b.p50_high and b.p50_low <= a.p50_high


def ratio(value: float, best: float) -> float:
    return value / best if best > 0 else float("inf")
