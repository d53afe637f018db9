"""Unit tests of an open-loop step judged on its settled part (labctl/labs/overload_settled.py):
which requests count, what an unanswered one is, and the nearest-rank percentiles. The inputs
are oha's answers as labctl parses them; the exercise checks run the real thing."""

from __future__ import annotations

import pytest

from labctl.labs.overload_settled import settled_step_figures, window
from labctl.measure.loadgen.oha import Answer


def test_the_window_starts_after_the_opening_and_ends_a_timeout_before_the_end():
    assert window(6, 1.5, 1) == (1.5, 5)
    with pytest.raises(ValueError, match="nothing left"):
        window(4, 3, 1)


def _answers(rate: float, duration_s: float, latency_s: float, status: int = 200,
             every: int = 1) -> list[Answer]:
    """Every ``every``-th request of an open loop at ``rate``, each answered after ``latency_s``."""
    return [Answer(i / rate, latency_s, status, new_connection=i < 10)
            for i in range(int(rate * duration_s)) if i % every == 0]


def test_only_requests_due_inside_the_window_count():
    # The opening second was slow (2xx after 900 ms); the settled part answers in 20 ms.
    answers = [a if a.due_s >= 1 else Answer(a.due_s, 0.9, 200, True)
               for a in _answers(100, 6, 0.02)]
    step = settled_step_figures(answers, rate=100, duration_s=6, settle_s=1.5, timeout_s=1,
                                capacity_rps=50)
    assert step["window_s"] == [1.5, 5]
    assert step["scheduled"] == 350 and step["ok_2xx"] == 350 and step["timeouts"] == 0
    assert step["p99_ms"] == 20.0 and step["p50_ms"] == 20.0     # the slow opening left out
    assert step["goodput_rps"] == 100.0 and step["goodput_fraction"] == 2.0
    assert step["answered_before_window"] == 150 and step["new_connections_in_window"] == 0


def test_a_request_without_an_answer_is_unanswered_and_a_503_is_not_goodput():
    # Half the requests get no line (they timed out); of the rest, every third is a 503.
    answers = [Answer(a.due_s, 0.05, 503 if i % 3 == 0 else 200, False)
               for i, a in enumerate(_answers(200, 6, 0.05, every=2))]
    step = settled_step_figures(answers, rate=200, duration_s=6, settle_s=1.5, timeout_s=1,
                                capacity_rps=100)
    counted = 350                                  # 700 due in the window, every second answered
    assert step["scheduled"] == 700 and step["timeouts"] == 700 - counted
    assert step["shed_503"] + step["ok_2xx"] == counted and step["shed_503"] == pytest.approx(
        counted / 3, abs=1)
    assert step["goodput_rps"] == pytest.approx(step["ok_2xx"] / 3.5, abs=0.1)
    assert step["generator_limited"] is False and step["sent"] is None


def test_nothing_answered_has_no_p99():
    step = settled_step_figures([], rate=100, duration_s=6, settle_s=1.5, timeout_s=1,
                                capacity_rps=50)
    assert step["p99_ms"] is None and step["goodput_fraction"] == 0 and step["timeouts"] == 350
