"""Latency series for one or more running servers, sampled in interleaved rounds.

Interleaving (go, python, rust, node, go, python, …) means a noisy neighbour or a CPU frequency
change on a shared machine hits every server alike instead of whichever happened to run then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from labctl.measure import stats
from labctl.measure.probe import FRESH, KEEPALIVE, MODES, ProbeError, Prober, Sample
from labctl.results import documents

DEFAULT_PATHS = ("/", "/health")


@dataclass
class Series:
    """The samples of one (server, path, connection mode)."""

    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok_totals(self) -> list[float]:
        return [s.total_us for s in self.samples if 200 <= s.status < 300]

    @property
    def non_2xx(self) -> int:
        return sum(1 for s in self.samples if not 200 <= s.status < 300)

    def summary(self) -> stats.Summary | None:
        totals = self.ok_totals
        return stats.summarize(totals) if totals else None

    def phase_p50(self) -> dict[str, float] | None:
        """Median connect and time-to-first-byte, to show where the time goes; and the median
        of each phase's own duration, which (unlike differences of those medians) is never
        negative, to compare two clients phase by phase (oneshot.gap)."""
        ok = [s for s in self.samples if 200 <= s.status < 300]
        if not ok:
            return None
        return {
            "connect_us": stats.median([s.connect_us for s in ok]),
            "ttfb_us": stats.median([s.ttfb_us for s in ok]),
            "connect_to_first_byte_us": stats.median([s.ttfb_us - s.connect_us for s in ok]),
            "first_byte_to_end_us": stats.median([s.total_us - s.ttfb_us for s in ok]),
        }

    def as_dict(self) -> documents.Series:
        summary = self.summary()
        return {
            "unit": "microseconds",
            "samples": len(self.samples),
            "non_2xx": self.non_2xx,
            "errors": len(self.errors),
            "summary": summary.as_dict() if summary else None,
            "phases_p50": self.phase_p50(),
            # Every successful sample in the order taken, so a report can draw the whole
            # distribution later (percentile spectrum, histogram), not only these percentiles.
            "totals_us": [round(total) for total in self.ok_totals],
        }


Results = dict[str, dict[str, dict[str, Series]]]   # target → path → mode → series


def measure(
    targets: dict[str, str],
    *,
    samples: int,
    warmup: int = 5,
    paths: tuple[str, ...] = DEFAULT_PATHS,
    modes: tuple[str, ...] = MODES,
    block: int = 1,
    on_round: Callable[[int, int], None] | None = None,
) -> Results:
    """Time ``samples`` requests per target, path and mode, after ``warmup`` discarded ones.

    Targets take turns in blocks of ``block`` requests: short enough that drift on a shared
    machine hits every target alike, long enough that each block measures a server whose code
    is warm in the CPU's caches rather than one just evicted by the previous server.

    ``targets`` maps a name to the base URL to measure. A request that fails at the socket level
    is recorded as an error; more than a quarter of a series failing aborts the run, since
    whatever is left would not stand for the server.
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    results: Results = {
        name: {path: {mode: Series() for mode in modes} for path in paths} for name in targets
    }
    probers = {(name, mode): Prober(url, mode) for name, url in targets.items() for mode in modes}
    block = max(1, block)
    per_series = warmup + samples
    total_rounds = -(-per_series // block)
    sent = 0   # requests sent so far in each series (all series advance together)
    try:
        for round_index in range(total_rounds):
            count = min(block, per_series - sent)
            for path in paths:
                for mode in modes:
                    for name in targets:
                        for offset in range(count):
                            _one(probers[(name, mode)], path, results[name][path][mode],
                                 keep=sent + offset >= warmup, limit=max(3, samples // 4))
            sent += count
            if on_round:
                on_round(round_index + 1, total_rounds)
    finally:
        for prober in probers.values():
            prober.close()
    return results


def _one(prober: Prober, path: str, series: Series, keep: bool, *, limit: int) -> None:
    try:
        sample = prober.request(path)
    except ProbeError as exc:
        series.errors.append(exc.message)
        if len(series.errors) > limit:
            raise ProbeError(
                f"{len(series.errors)} requests to {prober.base_url}{path} failed "
                f"({series.errors[-1]})",
                "The server may have crashed: see labctl logs, or run again") from None
        return
    if keep:
        series.samples.append(sample)


__all__ = ["DEFAULT_PATHS", "FRESH", "KEEPALIVE", "Series", "Results", "measure"]
