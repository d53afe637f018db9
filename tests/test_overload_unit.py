"""Unit tests of the overload lab's arithmetic: the sweep planner, goodput from an oha result,
the kernel-queue parser and the queueing model's predictions. No engine: the inputs are the
shapes the real generators produce (labctl.loadgen's LoadResult.as_dict())."""

from __future__ import annotations

import math

import pytest

from labctl.labs import overload
from labctl.results.overload_render import bar


def test_the_sweep_climbs_through_the_fractions_with_enough_connections():
    steps = overload.plan_sweep(1000.0, (2.0, 0.5, 1.1), timeout_s=1.0)
    assert [s.fraction for s in steps] == [0.5, 1.1, 2.0]
    assert [s.rate for s in steps] == [500.0, 1100.0, 2000.0]
    # Little's law: past capacity up to rate × timeout requests wait for an answer at once, each
    # on its own connection; fewer would queue requests inside the generator.
    for step in steps[1:]:
        assert step.connections >= step.rate * 1.0
    # Below it, enough for twice the predicted p99 (M/M/1: ln 100 / (1000 − 500) = 9.2 ms) or
    # a quarter of a second, whichever is longer; not a connection for every request of the
    # timeout, which the step would spend its first second opening.
    assert steps[0].connections == math.ceil(500 * 0.25 * 1.25) + 10 == 167
    near = overload.plan_sweep(1000.0, (0.98,), timeout_s=1.0)[0]   # p99 230 ms: twice that
    assert near.connections == math.ceil(980 * 2 * math.log(100) / 20 * 1.25) + 10


def test_calibration_keeps_the_default_cost_inside_the_band_and_scales_it_outside():
    assert overload.calibrated_items(800.0) == overload.DEFAULT_ITEMS
    assert overload.calibrated_items(7000.0) == 2500        # ten times the target: ten times
    assert overload.calibrated_items(350.0) == 125
    assert overload.calibrated_items(1e9) == overload.MAX_ITEMS
    assert overload.report_path(250) == "/report" and \
        overload.report_path(2500) == "/report?items=2500"
    assert overload.plan_sweep(0.0, overload.FRACTIONS, 1.0) == []


def test_connections_are_capped_and_never_below_the_closed_loops():
    assert overload.connections_for(1.0, 1.0) >= overload.CAPACITY_CONNECTIONS
    assert overload.connections_for(1e6, 1.0) == overload.MAX_CONNECTIONS


def _oha(statuses: dict[int, int], *, duration=4.0, rate=500.0, timeouts=0, read=0, sent=None,
         p99_us=None) -> dict:
    answered = sum(statuses.values())
    scheduled = int(rate * duration)
    return {"requests": answered, "measured_duration_s": duration, "duration_s": duration,
            "errors": {"connect": 0, "read": read, "write": 0, "timeout": timeouts},
            "latency_us": {"mean": 2000.0},
            "open_loop": {"target_rate": rate, "scheduled": scheduled,
                          "sent": sent if sent is not None else answered + timeouts + read,
                          "statuses": {str(k): v for k, v in statuses.items()},
                          "latency_2xx_us": {"p50": 1500.0, "p90": 2500.0, "p99": p99_us}}}


def test_goodput_counts_only_2xx_per_second():
    step = overload.step_figures(_oha({200: 1200, 503: 600, 500: 3}, timeouts=150, read=2,
                                      p99_us=80_000.0), capacity_rps=400.0)
    assert step["ok_2xx"] == 1200 and step["shed_503"] == 600 and step["other_status"] == 3
    assert step["goodput_rps"] == 300.0            # 1200 in 4 s
    assert step["goodput_fraction"] == 0.75        # of 400 req/s
    assert step["achieved_rps"] == pytest.approx(1803 / 4, abs=0.1)
    assert step["timeouts"] == 150 and step["errors"] == 2
    assert step["p99_ms"] == 80.0
    assert not step["generator_limited"]


def test_a_generator_that_could_not_send_is_the_limit_not_the_server():
    step = overload.step_figures(_oha({200: 1000}, sent=1000), capacity_rps=400.0)  # 2000 due
    assert step["generator_limited"]


def test_verdicts():
    assert overload.goodput_verdict(0.1, 990.0, 1.0) == "collapsed"
    assert overload.goodput_verdict(0.9, 40.0, 1.0) == "bounded"
    assert overload.goodput_verdict(0.9, 600.0, 1.0) == "degraded"
    assert overload.goodput_verdict(0.9, 990.0, 1.0, timed_out_share=0.3) == "timing out"
    assert overload.goodput_verdict(0.9, 100.0, 1.0, timed_out_share=0.3) == "timing out"
    assert overload.goodput_verdict(None, None, 1.0) == "collapsed"


def test_below_capacity_the_model_is_mm1_and_littles_law():
    p = overload.predict(1000.0, 500.0, timeout_s=1.0, step_s=4.0, shedding=False)
    assert p["utilisation"] == 0.5
    assert p["goodput_rps"] == 500.0
    assert p["p99_ms"] == pytest.approx(math.log(100) / 500 * 1000, abs=0.1)   # 9.2 ms
    assert p["in_system"] == 1.0                                               # ρ/(1−ρ)
    assert p["verdict"] == "keeps up"


def test_just_below_capacity_the_tail_crosses_the_timeout():
    p = overload.predict(1000.0, 998.0, timeout_s=1.0, step_s=4.0, shedding=False)
    assert p["verdict"] == "tail past the timeout" and p["p99_ms"] == 1000.0


def test_past_capacity_without_shedding_the_wait_reaches_the_timeout_and_goodput_collapses():
    p = overload.predict(500.0, 1000.0, timeout_s=1.0, step_s=4.0, shedding=False)
    # The queue grows by 500 requests a second; at 500 req/s that is one more second of wait
    # per second: the timeout is reached after 1 s, and a quarter of a 4 s step is goodput.
    assert p["timeout_crossed_after_s"] == 1.0
    assert p["goodput_rps"] == 125.0
    assert p["verdict"] == "collapses"
    mild = overload.predict(1000.0, 1100.0, timeout_s=1.0, step_s=4.0, shedding=False)
    assert mild["timeout_crossed_after_s"] == 10.0 and mild["verdict"] == "queue grows"
    assert mild["goodput_rps"] == 1000.0


def test_past_capacity_with_shedding_goodput_stays_at_capacity():
    p = overload.predict(500.0, 1000.0, timeout_s=1.0, step_s=4.0, shedding=True)
    assert p["goodput_rps"] == 500.0 and p["p99_ms"] == 250.0
    assert p["verdict"] == "sheds the excess"


def test_a_prediction_misses_on_goodput_or_on_the_side_of_the_p99_marks():
    predicted = overload.predict(500.0, 1000.0, timeout_s=1.0, step_s=4.0, shedding=True)
    held = {"goodput_rps": 450.0, "p99_ms": 60.0}
    assert overload.prediction_misses(predicted, held, 500.0, 1.0) == []
    missed = {"goodput_rps": 40.0, "p99_ms": 980.0}
    misses = overload.prediction_misses(predicted, missed, 500.0, 1.0)
    assert len(misses) == 2 and "goodput" in misses[0] and "p99" in misses[1]


PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000 10001 0 1 1
   1: 020011AC:1F90 010011AC:9C40 01 00000000:0000004E 00:00000000 00000000 10001 0 2 1
   2: 020011AC:1F90 010011AC:9C41 01 00000000:00000000 00:00000000 00000000 10001 0 3 1
   3: 020011AC:1F90 010011AC:9C42 01 00000000:0000004E 00:00000000 00000000 10001 0 4 1
   4: 020011AC:A000 010011AC:1F90 01 00000000:00000010 00:00000000 00000000 10001 0 5 1
"""


def test_the_kernel_queues_come_from_rx_queue_of_the_servers_port():
    queues = overload.parse_proc_net_tcp(PROC_NET_TCP, 8080)
    # The listen socket's rx_queue: 3 connections not accepted yet. Two established connections
    # hold 78 unread bytes each (a request the server has not read); the last line is another
    # port's.
    assert queues == {"accept_queue": 3, "unread_requests": 2, "unread_bytes": 156}


def test_the_learners_answers_are_judged_by_share_or_within_a_factor_of_two():
    goodput = {"kind": "goodput", "value": 0.85}
    assert overload.judge_learner("0.9", goodput) and overload.judge_learner("90%", goodput)
    assert not overload.judge_learner("0.2", goodput)
    p99 = {"kind": "p99", "value": 40.0}
    assert overload.judge_learner("60", p99) and overload.judge_learner("30 ms", p99)
    assert not overload.judge_learner("900", p99) and not overload.judge_learner("fast", p99)


def test_bars_are_eighths_and_clip():
    assert bar(1.0, 4) == "████" and bar(0.0, 4) == "    " and bar(2.0, 4) == "████"
    assert bar(0.5, 4) == "██  " and bar(None, 3) == "   "


def _document() -> dict:
    """A lab document as run_lab builds it, from synthetic oha results (shapes only)."""
    capacity = 500.0
    runs = {}
    for run_name, shed in (("off", False), ("on", True)):
        steps = []
        for step in overload.plan_sweep(capacity, overload.FRACTIONS, 1.0):
            overloaded = step.fraction > 1
            ok = int(step.rate * 4 * (0.1 if overloaded and not shed else
                                      (1 / step.fraction if overloaded else 1)))
            statuses = {200: ok, **({503: int(step.rate * 4) - ok} if shed and overloaded else {})}
            load = _oha(statuses, rate=step.rate, timeouts=0 if shed else int(step.rate * 4) - ok,
                        p99_us=(950_000.0 if overloaded and not shed else 30_000.0))
            figures = overload.step_figures(load, capacity)
            predicted = overload.predict(capacity, step.rate, 1.0, 4.0, shed)
            steps.append({"fraction": step.fraction, "connections": step.connections, **figures,
                          "in_system_littles_law": 1.0, "drained_after_s": 0.1,
                          "kernel_queue": {"samples": 12, "every_s": 0.25,
                                           "unread_requests_median": 40,
                                           "unread_requests_max": 412,
                                           "accept_queue_median": 0, "accept_queue_max": 3},
                          "predicted": predicted,
                          "prediction_misses": overload.prediction_misses(predicted, figures,
                                                                          capacity, 1.0),
                          "load": load})
        runs[run_name] = {"env": {} if not shed else {"LOAD_SHEDDING": "on"}, "steps": steps}
    server = {"name": "node", "language": "Node", "framework": "Express",
              "framework_version": "5", "processes": 1, "concurrency": "one event loop",
              "capacity": {"requests_per_s": capacity, "connections": 10, "items": 2500,
                           "path": "/report?items=2500", "load": {}},
              "capacity_at_default_items": {"requests_per_s": 5000.0, "connections": 10,
                                            "items": 250, "path": "/report", "load": {}},
              "service_ms": 2.0, "runs": runs,
              "top_step": overload.summarise(capacity, runs, 1.0), "seconds": 80.0}
    return {"schema": overload.LAB_SCHEMA, "created": "2026-12-03T18:00:00+00:00",
            "runtime": {"name": "docker"}, "host": {}, "limits": {"cpus": 1.0, "memory_mb": 512,
                                                                 "cpuset": "1"},
            "parameters": {"path": "/report", "default_items": 250,
                           "calibration_band_rps": [400.0, 1200.0],
                           "target_capacity_rps": 700.0, "fractions": list(overload.FRACTIONS),
                           "step_s": 4.0, "capacity_s": 5.0, "warmup_s": 1.0, "timeout_s": 1.0,
                           "shed_env": "LOAD_SHEDDING", "quick": False,
                           "capacity_connections": 10, "collapse_goodput": 0.5,
                           "bounded_p99": 0.25, "timing_out_share": 0.05,
                           "goodput_tolerance": 0.2},
            "servers": {"node": server}}


def test_the_terminal_curve_fits_80_columns_and_names_the_verdicts():
    from rich.console import Console

    from labctl.results.overload_render import overload as render

    document = _document()
    assert document["servers"]["node"]["top_step"]["off"]["verdict"] == "collapsed"
    assert document["servers"]["node"]["top_step"]["on"]["verdict"] == "bounded"
    console = Console(width=80, record=True, force_terminal=False)
    console.print(render(document))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    table_rows = [line for line in text.splitlines() if line.strip().endswith(("ms", "ms *"))]
    assert len(table_rows) == len(overload.FRACTIONS)
    assert "collapsed" in text and "bounded" in text
    assert "412 requests unread in socket buffers" in text
    # A calibrated cost is named, with the capacity at the default that made it necessary.
    assert "5,000 req/s at the default 250 items" in text and "/report?items=2500" in text


def test_the_exercise_check_starts_at_its_items_and_still_scales(monkeypatch):
    """The overload check measures its first capacity at the check's ``items`` (a start near
    the band saves rounds); outside the band it scales as the lab does. The closed loop is
    faked: a server whose cost is 0.2 ms per request plus 0.4 µs per item."""
    from labctl.learning import exercise_checks
    from labctl.learning.exercises import OverloadCheck

    def capacity_of(path: str) -> float:
        items = int(path.partition("items=")[2] or overload.DEFAULT_ITEMS)
        return 1 / (200e-6 + 0.4e-6 * items)

    measured: list[str] = []

    def fake_closed_loop(_runtime, _instance, path, _check, _generators):
        measured.append(path)
        return None, capacity_of(path)

    monkeypatch.setattr(exercise_checks, "_closed_loop_capacity", fake_closed_loop)
    path, _, capacity = exercise_checks._calibrated_capacity(None, None, OverloadCheck(items=3000),
                                                             None)
    assert measured == ["/report?items=3000"] and path == measured[0]   # 714 a second: in band
    measured.clear()
    exercise_checks._calibrated_capacity(None, None, OverloadCheck(), None)
    assert measured[0] == "/report" and len(measured) > 1                # 3,333 a second: scaled
    measured.clear()
    exercise_checks._calibrated_capacity(None, None, OverloadCheck(path="/health", items=3000),
                                         None)
    assert measured == ["/health"]                                        # not /report: as given
