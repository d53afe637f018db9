"""What a warm compare waits for besides measuring, cut without touching what it measures.

Each test fails on the slow way back: stops one after another, the idle-memory reads one after
another (Docker answers a container's first stats request only at its next one-second tick), a
graceful stop of containers whose stop nobody times. Whether the overlap happened is
decided by a barrier (every party must be inside at once), never by a clock.
"""

from __future__ import annotations

import threading
import types

import pytest
from test_contracts import FakeRuntime, local_http  # noqa: F401 - local_http is a fixture

from labctl.measure import verify
from labctl.runtime.lifecycle import stop_together
from labctl.servers import get as get_server

BARRIER_TIMEOUT_S = 10


class _Stops:
    """A runtime's stop that waits until ``parties`` stops are under way at once."""

    def __init__(self, parties: int, fail_on: str | None = None) -> None:
        self.barrier = threading.Barrier(parties, timeout=BARRIER_TIMEOUT_S)
        self.stopped: list[str] = []
        self.fail_on = fail_on

    def stop(self, instance, grace_s=None) -> None:
        self.barrier.wait()
        self.stopped.append(instance.ident)
        if instance.ident == self.fail_on:
            raise RuntimeError(f"stopping {instance.ident} failed")


def _instances(*idents: str) -> list:
    return [types.SimpleNamespace(ident=ident) for ident in idents]


def test_stop_together_stops_every_server_at_once():
    stops = _Stops(parties=4)
    stop_together(stops, _instances("a", "b", "c", "d"))
    assert sorted(stops.stopped) == ["a", "b", "c", "d"]


def test_stop_together_stops_the_rest_when_one_fails_and_then_raises():
    stops = _Stops(parties=3, fail_on="b")
    with pytest.raises(RuntimeError, match="stopping b failed"):
        stop_together(stops, _instances("a", "b", "c"))
    assert sorted(stops.stopped) == ["a", "b", "c"]


class _RecordingRuntime(FakeRuntime):
    """The contracts' fake runtime, noting each stop's grace and meeting at a barrier for the
    idle-memory reads."""

    def __init__(self, url: str, servers: int) -> None:
        super().__init__(url)
        self.graces: list[float | None] = []
        self.events: list[str] = []
        self.started = 0
        self.memory_barrier = threading.Barrier(servers, timeout=BARRIER_TIMEOUT_S)

    def start(self, server, limits, **kwargs):
        instance = super().start(server, limits, **kwargs)
        self.started += 1
        instance.ident = str(self.started)
        self.events.append(f"start {server.name}{kwargs.get('instance', '')}")
        return instance

    def stop(self, instance, grace_s=None) -> None:
        self.graces.append(grace_s)
        self.events.append("stop")
        super().stop(instance, grace_s)

    def idle_memory_bytes(self, instance):
        self.memory_barrier.wait()
        return 4096


@pytest.mark.serial   # measures the server in this process
def test_compare_removes_without_grace_and_reads_idle_memory_at_once(local_http,  # noqa: F811
                                                                       monkeypatch):
    from labctl import compare

    monkeypatch.setattr(verify, "DATE_GAP_S", 0.0)
    chosen = [get_server("go"), get_server("node")]
    runtime = _RecordingRuntime(local_http, servers=len(chosen))
    document = compare.run_compare(runtime, chosen,
                                   compare.CompareOptions(samples=5, warmup=1, cold_starts=3))
    assert all(entry["idle_memory_bytes"] == 4096 for entry in document["servers"].values())
    assert document["parameters"]["idle_memory_after_s"] == compare.IDLE_MEMORY_SETTLE_S
    # The compared servers, then two more starts each: each of those removed before the next
    # start, as the compared ones were, and every removal forced (no stop is timed).
    assert runtime.events == ["start go", "start node", "stop", "stop", "start go", "stop",
                              "start go", "stop", "start node", "stop", "start node", "stop"]
    assert runtime.graces == [0] * 6
    assert all(len(entry["cold_start_ms"]["samples"]) == 3
               for entry in document["servers"].values())


def test_idle_memory_is_read_once_the_server_has_settled(monkeypatch):
    # Node's memory still grows for about 0.1 s after its first 200 (labctl/compare.py).
    from labctl import compare

    slept: list[float] = []
    monkeypatch.setattr(compare.time, "sleep", slept.append)
    monkeypatch.setattr(compare.time, "monotonic", lambda: 100.0)
    runtime = types.SimpleNamespace(idle_memory_bytes=lambda instance: 4096)
    for healthy_at in (100.0, 99.8, 90.0):   # just up; up for 0.2 s; up long ago
        assert compare._idle_memory_once_settled(runtime, None, healthy_at) == 4096
    settle = compare.IDLE_MEMORY_SETTLE_S
    assert slept == pytest.approx([settle, settle - 0.2, 0.0])


def test_a_stop_without_grace_is_one_forced_removal(monkeypatch):
    from labctl.runtime import docker as docker_runtime

    calls: list[str] = []
    container = types.SimpleNamespace(stop=lambda **_: calls.append("stop"),
                                      remove=lambda force=False: calls.append(f"remove {force}"))
    runtime = docker_runtime.DockerRuntime()
    monkeypatch.setattr(runtime, "_container", lambda ident: container)
    instance = types.SimpleNamespace(ident="x", extra={})
    runtime.stop(instance, grace_s=0)
    assert calls == ["remove True"] and "stop_seconds" in instance.extra
    calls.clear()
    runtime.stop(instance)
    assert calls == ["stop", "remove True"]
