"""The bottleneck lab: its predictions (pure) and the lab end to end on the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labctl import bottleneck, servers
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
    result = subprocess.run(
        [sys.executable, "-m", "labctl", "lab", "bottleneck", "go", "python", "--json",
         "-d", "2s", "--runtime", "docker"],
        capture_output=True, text=True, timeout=1200, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "labctl.lab.bottleneck/1"
    measured = {name: {s["step"]: s for s in entry["steps"]}
                for name, entry in document["servers"].items()}
    for steps in measured.values():
        assert [s for s in steps] == ["baseline", "blocking", "async", "sequential", "parallel"]
        for step in steps.values():
            assert step["measured"]["socket_errors"] == 0 and step["measured"]["non_2xx"] == 0
        db = steps["async"]["server_timing"]["server_timing_ms"]["db"]
        assert 50 <= db < 60
        # Coarse bounds, far from both predictions, so a busy machine cannot flip them: 10
        # connections waiting 50 ms without blocking allow ~200 req/s.
        assert steps["async"]["measured"]["requests_per_s"] > 100
        assert steps["parallel"]["measured"]["requests_per_s"] > \
            steps["sequential"]["measured"]["requests_per_s"]
    # The lesson's point: a blocking wait stalls Python's one event loop (~20 req/s), while Go
    # parks only the goroutine of that connection (~200 req/s).
    assert measured["python"]["blocking"]["measured"]["requests_per_s"] < 40
    assert measured["go"]["blocking"]["measured"]["requests_per_s"] > 100
    assert measured["python"]["blocking"]["prediction"]["requests_per_s"] == 20
    assert leftover_containers() == []
