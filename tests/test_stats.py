import math

import pytest

from labctl.measure import stats


def test_nearest_rank_percentiles_are_observed_values():
    values = [float(v) for v in range(1, 101)]   # 1..100
    assert stats.percentile(values, 50) == 50
    assert stats.percentile(values, 90) == 90
    assert stats.percentile(values, 99) == 99
    assert stats.percentile(values, 100) == 100


def test_small_sample_p99_is_the_maximum():
    summary = stats.summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (summary.min, summary.p50, summary.max) == (1.0, 3.0, 5.0)
    assert summary.p99 == summary.max
    assert summary.p99_is_max


def test_summary_is_ordered_and_median_interval_contains_median():
    samples = [100 + (i * 37) % 91 for i in range(400)]
    summary = stats.summarize([float(s) for s in samples])
    assert summary.min <= summary.p50 <= summary.p90 <= summary.p99 <= summary.max
    assert summary.p50_low <= summary.p50 <= summary.p50_high
    assert not summary.p99_is_max
    assert math.isclose(summary.mean, sum(samples) / len(samples))


def test_overlap_detects_noise_and_real_differences():
    a = stats.summarize([100.0 + (i % 10) for i in range(200)])
    b = stats.summarize([101.0 + (i % 10) for i in range(200)])
    c = stats.summarize([300.0 + (i % 10) for i in range(200)])
    assert stats.overlaps(a, b)
    assert not stats.overlaps(a, c)


@pytest.mark.parametrize("bad", [0, -1, 101])
def test_percentile_rejects_out_of_range(bad):
    with pytest.raises(ValueError):
        stats.percentile([1.0], bad)


def test_empty_inputs_raise():
    with pytest.raises(ValueError):
        stats.summarize([])
    with pytest.raises(ValueError):
        stats.median([])


def test_median_of_even_count_is_midpoint():
    assert stats.median([1, 2, 3, 4]) == 2.5
