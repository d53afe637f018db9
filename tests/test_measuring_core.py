"""The measuring and grading core's behaviours a learner relies on, each pinned by name.

Every test here fails on one plausible bug (issue 25 lists the ones a mutation run found the
suite let through): a confidence interval twice as wide, a time unit's factor, a self-rating key
on the wrong FSRS rating, an exercise bound made exclusive, the connection-reuse check counting
only the last request, the latency check's µs factor, verify accepting any JSON as /health, a
generator's percentile read from the wrong field or in the wrong unit, a diff's sign, the probe
not pinned to the CPUs it reports. No engine: where a check would need a server or a load
generator, a tiny loopback server or a recorded result stands in (the boundary being faked is
named in each test).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from fsrs import Rating

from labctl.learning import answer_units, exercise_checks, lessons, quiz
from labctl.learning.exercises import ConnectionReuseCheck, LatencyCheck, ThroughputCheck
from labctl.learning.quiz_ui import RATING_KEYS
from labctl.measure import stats
from labctl.measure.loadgen import oha, wrk
from labctl.measure.loadgen.options import LoadOptions, LoadResult
from labctl.measure.probe import FRESH, ProbeError, Prober, Sample
from labctl.measure.sampling import Series
from labctl.results import diff
from labctl.runtime import cpus

# -- stats: percentiles and intervals -----------------------------------------------------------


def test_percentile_is_nearest_rank_at_every_edge():
    values = [10.0, 20.0, 30.0, 40.0]
    # rank = ceil(q/100 * n): 25% → 1st, 25.1% → 2nd, 50% → 2nd, 75% → 3rd, 100% → 4th
    assert [stats.percentile(values, q) for q in (1, 25, 25.1, 50, 75, 75.1, 100)] == [
        10.0, 10.0, 20.0, 20.0, 30.0, 40.0, 40.0]


def test_percentile_of_one_sample_is_that_sample_for_any_q():
    assert {stats.percentile([7.0], q) for q in (0.001, 50, 100)} == {7.0}


def test_median_confidence_interval_has_the_binomial_width():
    values = [float(v) for v in range(1, 101)]
    # n = 100: ranks 50 ± 1.96·√100/2 = 50 ± 9.8 → the 40th and 60th values
    assert stats.median_interval(values) == (40.0, 60.0)
    assert stats.median_interval([float(v) for v in range(1, 401)]) == (180.0, 220.0)   # 200 ± 19.6


def test_median_confidence_interval_is_clamped_to_the_sample():
    assert stats.median_interval([1.0, 2.0, 3.0]) == (1.0, 3.0)


def test_summary_figures_are_the_named_percentiles():
    values = [float(v) for v in range(1, 201)]
    summary = stats.summarize(reversed(values))
    assert (summary.count, summary.min, summary.p50, summary.p90, summary.p99, summary.max) == (
        200, 1.0, 100.0, 180.0, 198.0, 200.0)
    assert (summary.p50_low, summary.p50_high) == stats.median_interval(values)
    assert summary.mean == 100.5
    assert not summary.p99_is_max
    assert stats.summarize([1.0] * 99).p99_is_max


def test_p99_is_the_maximum_below_100_samples_only():
    assert stats.summarize([float(v) for v in range(99)]).p99_is_max
    exactly_100 = stats.summarize([float(v) for v in range(1, 101)])
    assert not exactly_100.p99_is_max
    assert exactly_100.p99 == 99.0 != exactly_100.max


def test_a_summary_document_rounds_to_a_tenth_of_a_microsecond_and_cannot_be_changed():
    summary = stats.summarize([1.04, 1.26, 2.0])
    document = summary.as_dict()
    assert (document["min"], document["p50"], document["count"]) == (1.0, 1.3, 3)
    with pytest.raises(AttributeError):
        summary.p50 = 0.0


def test_intervals_that_touch_overlap_and_apart_ones_do_not():
    def with_interval(low: float, high: float) -> stats.Summary:
        return stats.Summary(10, low, low, high, high, high, low, low, high)

    assert stats.overlaps(with_interval(1, 5), with_interval(5, 9))
    assert stats.overlaps(with_interval(5, 9), with_interval(1, 5))
    assert not stats.overlaps(with_interval(1, 4.9), with_interval(5, 9))
    assert not stats.overlaps(with_interval(5, 9), with_interval(1, 4.9))


def test_ratio_to_the_best():
    assert stats.ratio(30.0, 10.0) == 3.0
    assert stats.ratio(2.0, 0.5) == 4.0   # a best under 1 µs is still a best
    assert stats.ratio(30.0, 0.0) == float("inf")


# -- sampling: the phases of a libcurl timing --------------------------------------------------


def test_phase_medians_come_from_successful_samples_only():
    series = Series(samples=[
        Sample(200, connect_us=10, ttfb_us=50, total_us=60),
        Sample(200, connect_us=30, ttfb_us=70, total_us=80),
        Sample(200, connect_us=20, ttfb_us=60, total_us=70),
        Sample(500, connect_us=900, ttfb_us=900, total_us=900),
    ])
    # Each phase's own median too: connect→first byte and first byte→end, never negative.
    assert series.phase_p50() == {"connect_us": 20, "ttfb_us": 60,
                                  "connect_to_first_byte_us": 40, "first_byte_to_end_us": 10}
    assert series.ok_totals == [60, 80, 70]
    assert series.non_2xx == 1
    document = series.as_dict()
    assert (document["samples"], document["non_2xx"], document["unit"]) == (4, 1, "microseconds")
    assert document["summary"]["p50"] == 70
    assert Series(samples=[Sample(404, 1, 2, 3)]).phase_p50() is None


def test_2xx_bounds_of_a_successful_sample():
    series = Series(samples=[Sample(code, 1, 2, 3) for code in (199, 200, 299, 300)])
    assert series.non_2xx == 2


def test_a_300_answer_is_neither_timed_nor_in_the_phases():
    series = Series(samples=[Sample(299, 1, 2, 3), Sample(300, 900, 900, 900)])
    assert series.ok_totals == [3]
    assert series.phase_p50()["connect_us"] == 1


class _CountingProber:
    """libcurl's side of sampling.measure, given: every request answers 200 at once, except
    that requests fail (ProbeError) while ``failures`` lasts."""

    failures = 0
    sent: list[str] = []

    def __init__(self, url: str, mode: str) -> None:
        self.base_url = url

    def request(self, path: str) -> Sample:
        _CountingProber.sent.append(path)
        if _CountingProber.failures > 0:
            _CountingProber.failures -= 1
            raise ProbeError("refused")
        return Sample(200, 1.0, 2.0, 3.0)

    def close(self) -> None:
        pass


@pytest.fixture
def counting_prober(monkeypatch):
    from labctl.measure import sampling

    monkeypatch.setattr(sampling, "Prober", _CountingProber)
    monkeypatch.setattr(_CountingProber, "failures", 0)
    monkeypatch.setattr(_CountingProber, "sent", [])
    return sampling


def test_measure_takes_exactly_the_samples_asked_when_blocks_do_not_divide_them(counting_prober):
    rounds: list[tuple[int, int]] = []
    results = counting_prober.measure({"a": "http://a"}, samples=5, warmup=0, block=2,
                                      paths=("/",), modes=(FRESH,),
                                      on_round=lambda done, total: rounds.append((done, total)))
    assert len(results["a"]["/"][FRESH].samples) == 5
    assert rounds == [(1, 3), (2, 3), (3, 3)]


def test_measure_needs_at_least_one_sample(counting_prober):
    with pytest.raises(ValueError):
        counting_prober.measure({"a": "http://a"}, samples=0, paths=("/",), modes=(FRESH,))
    one = counting_prober.measure({"a": "http://a"}, samples=1, warmup=0, paths=("/",),
                                  modes=(FRESH,))
    assert len(one["a"]["/"][FRESH].samples) == 1


@pytest.mark.parametrize(("samples", "failures", "aborts"), [
    (20, 5, False),    # a quarter of 20 may fail
    (20, 6, True),
    (8, 3, False),     # at least 3 may, however few the samples
    (8, 4, True),
])
def test_measure_gives_up_when_more_than_a_quarter_of_a_series_fails(counting_prober, samples,
                                                                     failures, aborts):
    _CountingProber.failures = failures
    run = lambda: counting_prober.measure({"a": "http://a"}, samples=samples, warmup=0,  # noqa: E731
                                          paths=("/",), modes=(FRESH,))
    if aborts:
        with pytest.raises(ProbeError):
            run()
    else:
        series = run()["a"]["/"][FRESH]
        assert len(series.errors) == failures and len(series.samples) == samples - failures


# -- answer units: every time factor ---------------------------------------------------------


@pytest.mark.parametrize(("answer", "seconds"), [
    ("1 ns", 1e-9), ("1 µs", 1e-6), ("1 us", 1e-6), ("1 μs", 1e-6), ("1 ms", 1e-3), ("1 s", 1.0),
    ("1 min", 60.0), ("1 h", 3600.0), ("1 hour", 3600.0),
])
def test_each_time_unit_converts_to_seconds_with_its_factor(answer, seconds):
    got = answer_units.convert(answer_units.parse(answer), answer_units.FILE_UNITS["s"])
    assert got == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize(("answer", "unit", "value"), [
    ("1 KB", "B", 1e3), ("1 MB", "B", 1e6), ("1 GB", "B", 1e9), ("1 KiB", "B", 1024),
    ("1 MiB", "B", 2 ** 20), ("1 GiB", "B", 2 ** 30), ("50%", "x", 0.5), ("2k req/s", "req/s", 2000),
    ("1.5M requests", "requests", 1.5e6), ("500 ms", "s", 0.5), ("0.5 s", "ms", 500),
    ("2K req/s", "req/s", 2000), ("1G requests", "requests", 1e9), ("2krps", "req/s", 2000),
    ("120 req/min", "req/s", 2), ("3 req/s", "req/s", 3), ("5 connections", "", 5),
    ("20 Milliseconds", "s", 0.02),
])
def test_each_unit_converts_with_its_factor(answer, unit, value):
    got = answer_units.convert(answer_units.parse(answer), answer_units.FILE_UNITS[unit])
    assert got == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(("value", "written"), [
    (500.0, "500"), (0.812, "0.812"), (1e-6, "0.000001"), (1.5e-6, "0.0000015"),
    (1.5e-8, "1.5e-08"),
])
def test_numbers_are_written_as_a_person_writes_them(value, written):
    assert answer_units.format_value(value) == written


def test_a_bare_count_is_written_without_a_unit():
    assert answer_units.format_quantity(5.0, "") == "5"


def test_a_time_is_not_accepted_as_a_count_nor_a_count_as_a_time():
    with pytest.raises(answer_units.WrongDimension):
        answer_units.convert(answer_units.parse("20 ms"), answer_units.FILE_UNITS["connections"])
    with pytest.raises(answer_units.WrongDimension):
        answer_units.convert(answer_units.parse("5 connections"), answer_units.FILE_UNITS["s"])


def test_the_other_scales_of_a_unit_are_its_dimensions_other_units():
    def symbols(unit: str) -> list[str]:
        return [u.symbol for u in answer_units.other_scales(answer_units.FILE_UNITS[unit])]

    assert symbols("s") == ["ns", "µs", "ms", "min"]
    assert symbols("req/s") == ["req/min"]
    assert symbols("%") == ["x"]
    assert symbols("") == []


def _numeric(answer: float, tolerance: float = 0.0, unit: str = "s") -> lessons.Item:
    return lessons.Item(id="n", kind="numeric", question="?", explanation="!", answer=answer,
                        tolerance=tolerance, unit=unit)


def test_numeric_tolerance_is_inclusive_and_its_epsilon_only_absorbs_float_error():
    item = _numeric(20.0, tolerance=0.1)
    assert quiz.grade(item, "20.1").correct and not quiz.grade(item, "20.11").correct
    small = _numeric(0.5)
    assert not quiz.grade(small, "0.5000000015").correct
    # The epsilon grows with the answer, so a large answer written in another unit still
    # matches through binary floating point; it stays far below one unit of the answer.
    large = _numeric(1e9, unit="B")
    assert quiz.grade(large, "1000000000.5").correct
    assert not quiz.grade(large, "1000000002").correct


def test_a_bare_number_right_only_in_another_scale_is_asked_about_not_marked_wrong():
    item = _numeric(0.5)
    with pytest.raises(quiz.OtherScale) as raised:
        quiz.grade(item, "500")
    assert "ms" in str(raised.value)
    assert quiz.grade(item, "500 ms").correct


@pytest.mark.parametrize(("word", "stem"), [
    ("blocking", "block"), ("fixed", "fix"), ("using", "using"), ("cache", "cach"),
    ("caches", "cach"), ("note", "not"), ("use", "use"),
])
def test_the_stemmer_strips_a_suffix_only_from_a_word_long_enough(word, stem):
    assert quiz.stem(word) == stem


def test_a_keyword_is_found_word_for_word_even_at_the_end_and_an_empty_one_never():
    answer = quiz.stems("the server reuses keep-alive connections")
    assert quiz.keyword_in("keep alive connection", answer) is True
    assert quiz.keyword_in("alive keep", answer) is False
    assert quiz.keyword_in("", answer) is False
    assert quiz.keyword_in("!!", answer) is False


def test_a_keyword_made_only_of_the_prompts_own_words_never_counts():
    prompt = SimpleNamespace(text="Why does keep alive help?")
    assert quiz.live_keywords(prompt, ("keep alive", "handshake", "alive")) == ["handshake"]
    # Exactly the prompt's words, in another order, are still only the prompt's words.
    assert quiz.live_keywords(SimpleNamespace(text="keep alive"), ("alive keep",)) == []


# -- the quiz's self-rating keys ----------------------------------------------------------------


def test_self_rating_keys_map_to_their_fsrs_ratings():
    expected = {Rating.Again: ("1", "a", "again"), Rating.Hard: ("2", "h", "hard"),
                Rating.Good: ("3", "g", "good"), Rating.Easy: ("4", "e", "easy")}
    for rating, keys in expected.items():
        for key in keys:
            assert RATING_KEYS[key] is rating, key
    assert len(RATING_KEYS) == 12


# -- exercise checks at their bounds ------------------------------------------------------------
# The boundary faked: the load generator's result (throughput) and libcurl's answers (latency,
# connection reuse) are given, so each bound is tested exactly at its edge.


def _instance(url: str = "http://127.0.0.1:9") -> SimpleNamespace:
    return SimpleNamespace(url=url, limits=SimpleNamespace(cpuset=None))


def _load_result(requests: int, duration_s: float, failed: int = 0,
                 non_2xx: int = 0) -> LoadResult:
    return LoadResult(
        generator="wrk", version="4", where="host", where_detail="", client_cpuset=None,
        target_url="http://x", options=LoadOptions(), threads=1, requests=requests,
        duration_s=duration_s, latency_us={"p50": 1500.0, "p99": 2500.0}, percentile_kind="",
        errors={"connect": failed, "read": 0, "write": 0, "timeout": 0}, non_2xx=non_2xx,
        non_2xx_definition="")


@pytest.mark.parametrize(("requests", "failed", "passes"), [
    (4000, 0, True),     # exactly min_rps: passes (≥)
    (3999, 0, False),
    (4000, 1, True),     # exactly max_errors: passes (≤)
    (4000, 2, False),
])
def test_throughput_check_bounds_are_inclusive(monkeypatch, requests, failed, passes):
    monkeypatch.setattr(exercise_checks.loadgen, "run_load",
                        lambda *args, **kwargs: _load_result(requests, 4.0, failed))
    check = ThroughputCheck(path="/", min_rps=1000, duration_s=4.0, max_errors=1)
    outcome = exercise_checks._throughput(None, _instance(), check, None)
    assert outcome.passed is passes
    assert outcome.figures["requests_per_s"] == round(requests / 4.0, 1)
    assert outcome.figures["latency_p50_ms"] == 1.5


def test_throughput_check_counts_socket_errors_and_non_2xx_answers_together(monkeypatch):
    monkeypatch.setattr(exercise_checks.loadgen, "run_load",
                        lambda *args, **kwargs: _load_result(4000, 4.0, failed=1, non_2xx=1))
    check = ThroughputCheck(path="/", min_rps=1000, duration_s=4.0, max_errors=1)
    outcome = exercise_checks._throughput(None, _instance(), check, None)
    assert outcome.figures["failed"] == 2
    assert not outcome.passed


class _FakeProber:
    """libcurl's answers, given: each request's total time and whether it opened a connection."""

    totals_us: list[float] = []
    opened: list[int] = []
    statuses: list[int] = []

    def __init__(self, url: str, mode: str) -> None:
        self.index = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def request(self, path: str) -> Sample:
        self.index += 1
        status = self.statuses[self.index] if self.statuses else 200
        total = self.totals_us[self.index % len(self.totals_us)] if self.totals_us else 100.0
        return Sample(status, 1.0, 2.0, total)

    def new_connections(self) -> int:
        return self.opened[self.index]


@pytest.mark.parametrize(("median_us", "max_ms", "passes"), [
    (2000.0, 2.0, True),     # a median of exactly max_ms passes
    (2001.0, 2.0, False),    # 1 µs over fails: µs → ms is ÷ 1000
    (2000.0, 1.999, False),
])
def test_latency_check_converts_microseconds_and_its_bound_is_inclusive(
        monkeypatch, median_us, max_ms, passes):
    monkeypatch.setattr(exercise_checks, "Prober", _FakeProber)
    monkeypatch.setattr(_FakeProber, "totals_us", [median_us] * 5)
    monkeypatch.setattr(_FakeProber, "statuses", [])
    check = LatencyCheck(path="/", max_ms=max_ms, samples=3)
    outcome = exercise_checks._latency(None, _instance(), check, None)
    assert outcome.passed is passes
    assert outcome.figures["median_ms"] == round(median_us / 1000, 2)


def test_latency_check_reports_its_slowest_answer_in_ms_and_names_the_statuses(monkeypatch):
    monkeypatch.setattr(exercise_checks, "Prober", _FakeProber)
    monkeypatch.setattr(_FakeProber, "totals_us", [1000.0, 3456.0, 1000.0, 1000.0])
    monkeypatch.setattr(_FakeProber, "statuses", [])
    outcome = exercise_checks._latency(None, _instance(), LatencyCheck(path="/", max_ms=5, samples=3), None)
    assert outcome.figures["max_ms"] == 3.46
    assert outcome.measured.endswith("every answer 200")
    assert exercise_checks._statuses([200, 500]) == "answers 200, 500"


def test_exercise_figures_are_ms_to_a_hundredth():
    assert exercise_checks._ms(1234567.0) == 1234.57
    assert exercise_checks._ms(None) is None


def test_latency_check_fails_a_non_200_answer(monkeypatch):
    monkeypatch.setattr(exercise_checks, "Prober", _FakeProber)
    monkeypatch.setattr(_FakeProber, "totals_us", [10.0])
    monkeypatch.setattr(_FakeProber, "statuses", [200, 200, 500, 200])
    outcome = exercise_checks._latency(None, _instance(), LatencyCheck(path="/", max_ms=5, samples=3), None)
    assert not outcome.passed
    assert outcome.figures["statuses"] == [200, 500]


def test_connection_reuse_counts_the_connections_of_every_request(monkeypatch):
    monkeypatch.setattr(exercise_checks, "Prober", _FakeProber)
    monkeypatch.setattr(_FakeProber, "statuses", [])
    monkeypatch.setattr(_FakeProber, "opened", [1, 0, 1, 0, 0])   # the last one reused
    check = ConnectionReuseCheck(path="/", requests=5, max_connections=1)
    outcome = exercise_checks._connection_reuse(None, _instance(), check, None)
    assert outcome.figures["connections_opened"] == 2
    assert not outcome.passed


def test_connection_reuse_bound_is_inclusive(monkeypatch):
    monkeypatch.setattr(exercise_checks, "Prober", _FakeProber)
    monkeypatch.setattr(_FakeProber, "statuses", [])
    monkeypatch.setattr(_FakeProber, "opened", [1, 0, 1, 0, 0])
    check = ConnectionReuseCheck(path="/", requests=5, max_connections=2)
    assert exercise_checks._connection_reuse(None, _instance(), check, None).passed


# -- verify: the /health body ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"status":"down"}', b'{"ok":true}', b'{}',
                                  b'{"status":"ok","extra":1}', b'["status","ok"]'])
def test_verify_health_body_must_be_exactly_status_ok(body):
    from test_verify_framing import answers, framed, tiny_server

    from labctl.measure import verify

    def respond(path: str) -> bytes:
        return framed(body, "application/json") if path == "/health" else answers(path)

    with tiny_server(respond) as url:
        result = verify.verify_responses(SimpleNamespace(name="t", greeting="Hello from a tiny test server\n"), url)
    health = next(c for c in result.checks if c.name == "GET /health body")
    assert health.status == verify.FAIL
    assert result.status == verify.FAIL


# -- load-generator parsers: every field and unit -----------------------------------------------

WRK_TEXT = """Running 5s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.00us  120.50us   1.50ms   90.00%
    Req/Sec   100.00k     2.00k  110.00k    70.00%
  Latency Distribution
     50%  401.00us
     75%  450.00us
     90%    2.00ms
     99%    1.10s
  500000 requests in 5.00s, 60.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec: 100000.00
"""


def test_wrk_text_reads_each_percentile_from_its_own_line_in_its_own_unit():
    figures = wrk.parse_wrk_text(WRK_TEXT)
    assert figures is not None
    assert figures["p50_us"] == pytest.approx(401.0)
    assert figures["p75_us"] == pytest.approx(450.0)
    assert figures["p90_us"] == pytest.approx(2000.0)
    assert figures["p99_us"] == pytest.approx(1.1e6)
    assert figures["mean_us"] == pytest.approx(412.0)
    assert figures["stdev_us"] == pytest.approx(120.5)
    assert figures["max_us"] == pytest.approx(1500.0)
    assert figures["requests"] == 500000
    assert figures["duration_us"] == pytest.approx(5e6)
    assert figures["bytes"] == 60 * 1024 ** 2
    assert [figures[f"errors_{k}"] for k in ("connect", "read", "write", "timeout", "status")] == [
        1, 2, 3, 4, 5]


@pytest.mark.parametrize(("text", "us"), [("3us", 3.0), ("3ms", 3e3), ("3s", 3e6), ("3m", 180e6),
                                         ("3h", 10800e6), ("1.25ms", 1250.0)])
def test_wrk_time_units(text, us):
    assert wrk._wrk_time_us(text) == pytest.approx(us)


@pytest.mark.parametrize(("text", "size"), [("7B", 7), ("7KB", 7 * 1024), ("7MB", 7 * 1024 ** 2),
                                           ("7GB", 7 * 1024 ** 3), ("7TB", 7 * 1024 ** 4)])
def test_wrk_byte_units(text, size):
    figures = wrk.parse_wrk_text(f"  10 requests in 1.00s, {text} read\n")
    assert figures is not None and figures["bytes"] == size
    # No error lines in the text: no errors, not a default of one.
    assert [figures[f"errors_{k}"] for k in ("connect", "read", "write", "timeout", "status")] == [
        0, 0, 0, 0, 0]


def test_wrk_result_puts_each_figure_under_its_name():
    figures = {"requests": 1000.0, "duration_us": 2e6, "p50_us": 50.0, "p90_us": 90.0,
               "p99_us": 99.0, "max_us": 200.0, "min_us": 10.0, "mean_us": 55.0, "stdev_us": 5.0,
               "p75_us": 75.0, "p999_us": 150.0, "errors_connect": 1.0, "errors_read": 2.0,
               "errors_write": 3.0, "errors_timeout": 4.0, "errors_status": 6.0, "bytes": 12345.0}
    result = wrk.result_from_wrk(figures, from_script=True, version="4", where="host",
                                 where_detail="", client_cpuset=None, target_url="u",
                                 options=LoadOptions(), threads=1)
    assert result.latency_us == {"p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 200.0,
                                 "min": 10.0, "mean": 55.0, "stdev": 5.0, "p75": 75.0,
                                 "p999": 150.0}
    assert result.errors == {"connect": 1, "read": 2, "write": 3, "timeout": 4}
    assert (result.non_2xx, result.requests, result.duration_s) == (6, 1000, 2.0)
    assert result.requests_per_s == 500.0
    assert result.bytes_read == 12345


def test_wrk_result_from_no_figures_is_all_zero_and_no_latency():
    result = wrk.result_from_wrk({}, from_script=False, version=None, where="host",
                                 where_detail="", client_cpuset=None, target_url="u",
                                 options=LoadOptions(), threads=1)
    assert (result.requests, result.duration_s, result.non_2xx, result.bytes_read) == (0, 0.0, 0, None)
    assert result.errors == {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    assert set(result.latency_us.values()) == {None}


def test_wrk_without_figures_is_one_error_carrying_its_output():
    from labctl.errors import LabctlError

    with pytest.raises(LabctlError) as caught:
        wrk.wrk_figures("wrk: unable to connect\n", "")
    assert "wrk produced no results (wrk: unable to connect)" in str(caught.value.args[0])
    assert caught.value.details == "wrk: unable to connect"


def test_oha_result_reads_each_percentile_from_its_field_in_seconds():
    report = {
        "summary": {"total": 2.0, "slowest": 0.2, "fastest": 0.00001, "average": 0.000055,
                    "totalData": 4096},
        "latencyPercentiles": {"p50": 0.00005, "p75": 0.000075, "p90": 0.00009, "p99": 0.000099,
                               "p99.9": 0.00015},
        "statusCodeDistribution": {"200": 990, "399": 1, "400": 4, "503": 6},
        "errorDistribution": {},
    }
    result = oha.result_from_oha(report, options=LoadOptions(), version="1", threads=1,
                                 where="host", where_detail="", client_cpuset=None, url="u",
                                 command=["/usr/bin/oha", "-z", "2s"], notes=[])
    expected = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p99": 99.0, "p999": 150.0,
                "max": 200000.0, "min": 10.0, "mean": 55.0}
    for key, value in expected.items():
        assert result.latency_us[key] == pytest.approx(value), key
    assert (result.requests, result.non_2xx, result.duration_s, result.bytes_read) == (
        1001, 10, 2.0, 4096)   # 400 and above are errors, as wrk counts them
    assert result.requests_per_s == 500.5
    assert result.by_hand == ["oha", "-z", "2s"]
    assert result.open_loop is not None and result.open_loop["achieved_rate"] == 500.5


def _oha(summary: dict, options: LoadOptions, statuses: dict | None = None) -> LoadResult:
    report = {"summary": summary, "latencyPercentiles": {},
              "statusCodeDistribution": statuses or {"200": 10}, "errorDistribution": {}}
    return oha.result_from_oha(report, options=options, version="1", threads=1, where="host",
                               where_detail="", client_cpuset=None, url="u", command=[],
                               notes=[])


def test_oha_open_loop_rate_is_rounded_to_a_tenth_and_counts_what_was_not_sent():
    result = _oha({"total": 3.0}, LoadOptions(rate=40.0, duration_s=3.0))
    loop = result.open_loop
    assert loop["achieved_rate"] == 3.3        # 10 answers in 3 s
    assert (loop["scheduled"], loop["sent"], loop["not_sent"]) == (120, 10, 110)
    over = _oha({"total": 1.0}, LoadOptions(rate=5.0, duration_s=1.0))
    assert over.open_loop["not_sent"] == 0     # sent more than scheduled: none missing
    assert _oha({"total": 0}, LoadOptions(rate=5.0, duration_s=0.0)).open_loop[
        "achieved_rate"] == 0.0                  # no time: no rate, not a division by zero


def test_oha_without_a_report_keeps_the_tail_of_its_output():
    from labctl.errors import LabctlError

    with pytest.raises(LabctlError) as raised:
        oha.parse_oha_report("x" * 3000 + "tail")
    assert raised.value.details.endswith("tail") and len(raised.value.details) == 2000
    with pytest.raises(LabctlError) as empty:
        oha.parse_oha_report("  ")
    assert empty.value.details is None


def test_oha_report_is_read_from_its_first_brace_and_must_have_a_summary():
    from labctl.errors import LabctlError

    assert oha.parse_oha_report('{"summary": {}}') == {"summary": {}}
    assert oha.parse_oha_report('note\n{"summary": {"total": 1}}')["summary"] == {"total": 1}
    for bad in ('{"latencyPercentiles": {}}', "[1]", "no report"):
        with pytest.raises(LabctlError):
            oha.parse_oha_report(bad)


def test_oha_errors_are_sorted_into_wrk_kinds():
    errors, cut = oha._error_kinds({"operation timed out": 2, "timeout": 3, "connection refused": 4,
                                    "broken pipe": 5, "connection reset by peer": 6})
    assert errors == {"timeout": 5, "connect": 4, "write": 5, "read": 6}
    assert cut == 0


# -- result diff: both directions -------------------------------------------------------------


def _run(p50: float, rps: float | None = None) -> dict:
    summary = stats.summarize([p50] * 50).as_dict()
    document = {"id": f"r{p50}", "server": {"name": "go"},
                "endpoints": {"/": {"fresh": {"summary": summary}}}}
    if rps is not None:
        document["load"] = {"requests_per_s": rps}
    return document


def test_diff_reports_a_slower_b_as_a_positive_change_and_a_faster_b_as_negative():
    slower = diff.diff(_run(100.0, 1000.0), _run(150.0, 800.0))
    assert slower["latency"][0]["p50_change_pct"] == 50.0
    assert slower["latency"][0]["beyond_noise"] is True
    assert slower["load"][0]["rps_change_pct"] == -20.0
    faster = diff.diff(_run(150.0, 800.0), _run(100.0, 1000.0))
    assert faster["latency"][0]["p50_change_pct"] == pytest.approx(-33.3)
    assert faster["load"][0]["rps_change_pct"] == 25.0
    same = diff.diff(_run(100.0), _run(100.0))
    assert same["latency"][0]["p50_change_pct"] == 0.0
    assert same["latency"][0]["beyond_noise"] is False


# -- the probe's CPU pinning, read back from the process ---------------------------------------


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs sched_setaffinity and two usable CPUs")
def test_probe_is_pinned_to_the_cpus_it_reports():
    before = os.sched_getaffinity(0)
    wanted = min(before)
    with cpus.pinned(str(wanted)) as reported:
        assert reported == str(wanted)
        assert os.sched_getaffinity(0) == {wanted}
    assert os.sched_getaffinity(0) == before


def test_probe_reports_no_cpu_set_when_not_pinned():
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    with cpus.pinned(None) as reported:
        assert reported is None
    if before is not None:
        assert os.sched_getaffinity(0) == before


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs sched_setaffinity and two usable CPUs")
def test_a_child_started_with_pin_child_runs_on_those_cpus_only():
    """The generators and one-shot curl run as children: read their CPU set back from the
    kernel, not from what labctl says it asked for."""
    wanted = max(os.sched_getaffinity(0))
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             preexec_fn=cpus.pin_child(str(wanted)))
    try:
        assert os.sched_getaffinity(child.pid) == {wanted}
    finally:
        child.kill()
        child.wait()
    assert cpus.pin_child(None) is None and cpus.pin_child("") is None


@pytest.mark.serial   # bounds libcurl's wait by the clock
def test_a_server_that_never_answers_fails_the_probe_at_its_timeout():
    """A hung server must cost the probe its timeout, not hang the run (libcurl's 0 means no
    timeout at all). The boundary faked: a loopback socket that accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        with Prober(f"http://127.0.0.1:{port}", FRESH, timeout_s=0.3) as prober:
            began = time.monotonic()
            with pytest.raises(ProbeError):
                prober.request("/health")
            waited = time.monotonic() - began
        assert 0.25 <= waited < 3.0, waited
    finally:
        listener.close()


def test_json_of_a_diff_is_one_document():
    assert json.loads(json.dumps(diff.diff(_run(1.0), _run(2.0))))["schema"] == diff.DIFF_SCHEMA
