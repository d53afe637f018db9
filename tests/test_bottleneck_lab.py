"""The bottleneck lab: its predictions (pure) and the lab end to end on the real engine."""

from __future__ import annotations

import json

import pytest
from conftest import labctl
from test_contracts import assert_conforms

from labctl import servers
from labctl.labs import bottleneck
from labctl.runtime.base import Limits

STEPS = {s.key: s for s in bottleneck.STEPS}
ONE_CORE = Limits(cpus=1.0, memory_mb=512, cpuset="1")


@pytest.mark.parametrize("name,slots", [("go", 10), ("python", 1), ("node", 1), ("rust", 1)])
def test_blocking_prediction_follows_each_runtime_model(name, slots):
    prediction = bottleneck.predict(STEPS["blocking"], servers.get(name), 10, ONE_CORE, 10_000)
    assert prediction.requests_per_s == slots * 1000 / 50
    # Little's law: 10 connections over that throughput.
    assert prediction.latency_ms == pytest.approx(10 / prediction.requests_per_s * 1000)


def test_tokio_gets_one_slot_per_core():
    two = Limits(cpus=2.0, memory_mb=512, cpuset="0-1")
    prediction = bottleneck.predict(STEPS["blocking"], servers.get("rust"), 10, two, 10_000)
    assert prediction.requests_per_s == 40


def test_the_lessons_arithmetic():
    go = servers.get("go")
    assert bottleneck.predict(STEPS["async"], go, 1, ONE_CORE, None).requests_per_s == 20
    assert bottleneck.predict(STEPS["sequential"], go, 10, ONE_CORE, None).latency_ms == 80
    assert bottleneck.predict(STEPS["parallel"], go, 10, ONE_CORE, None).latency_ms == 50


def test_a_cpu_bound_server_is_capped_by_its_baseline():
    prediction = bottleneck.predict(STEPS["async"], servers.get("python"), 1000, ONE_CORE, 3000)
    assert prediction.requests_per_s == 3000
    assert "CPU is the limit" in prediction.why


def test_agreement_and_sentences():
    gap, agrees = bottleneck.agreement(20, 18)
    assert gap == pytest.approx(-0.1) and agrees
    gap, agrees = bottleneck.agreement(200, 100)
    assert not agrees
    prediction = bottleneck.predict(STEPS["blocking"], servers.get("node"), 10, ONE_CORE, None)
    sentence = bottleneck.gap_sentence(STEPS["blocking"], prediction, 19.5, -0.025, True)
    assert "Predicted 20 req/s" in sentence and "event loop" in sentence


def test_server_timing_parsing():
    assert bottleneck.parse_server_timing("parse;dur=0.012, db;dur=50.3, render;dur=0.01") == {
        "parse": 0.012, "db": 50.3, "render": 0.01}
    assert bottleneck.parse_server_timing('db;desc="SQLite";dur=1.5') == {"db": 1.5}
    assert bottleneck.parse_server_timing(None) == {}


@pytest.mark.docker
def test_lab_end_to_end_on_go_and_python(docker_engine, leftover_containers):
    result = labctl("lab", "bottleneck", "go", "python", "--json", "--quick",
                    "--runtime", "docker")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert_conforms(document)
    assert document["schema"] == "labctl.lab.bottleneck/1"
    measured = {name: {s["step"]: s for s in entry["steps"]}
                for name, entry in document["servers"].items()}
    rps = {name: {key: step["measured"]["requests_per_s"] for key, step in steps.items()}
           for name, steps in measured.items()}
    # One at a time, a 50 ms wait allows 20 req/s at most: what a stalled event loop gets.
    one_at_a_time = 1000 / 50
    for name, steps in measured.items():
        assert list(steps) == ["baseline", "blocking", "async", "sequential", "parallel"]
        for step in steps.values():
            assert step["measured"]["socket_errors"] == 0 and step["measured"]["non_2xx"] == 0
        timing = steps["async"]["server_timing"]
        # The db step waited the 50 ms asked for, and is part of the request's own total.
        assert 50 <= timing["server_timing_ms"]["db"] <= timing["x_timing_ms"] + 0.5, timing
        # 10 connections waiting without blocking overlap their waits: several times what one
        # at a time allows (~200 req/s predicted; a busy machine lowers it, not to 20).
        assert rps[name]["async"] > 4 * one_at_a_time, rps
        assert rps[name]["parallel"] > rps[name]["sequential"], rps
    # The lesson's point: a blocking wait stalls Python's one event loop (~20 req/s: it cannot
    # exceed one at a time), while Go parks only the goroutine of that connection (~200 req/s).
    assert rps["python"]["blocking"] <= one_at_a_time * 1.25, rps   # edge effects of a 2 s run
    assert rps["go"]["blocking"] > 4 * rps["python"]["blocking"], rps
    assert measured["python"]["blocking"]["prediction"]["requests_per_s"] == 20
    assert leftover_containers() == []
