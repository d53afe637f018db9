"""A first compare shows each server as soon as it is built (labctl/measure/first_look.py).

The unit tests decide "while another build is under way" with events, never with a clock: the
second build is held until the test has seen what it needs. The local test is a real first run:
an empty build cache, real toolchains, the real probe.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading

import pytest
from conftest import labctl
from test_contracts import FakeRuntime, local_http  # noqa: F401 - local_http is a fixture

from labctl import compare
from labctl.measure import first_look, verify
from labctl.results import render
from labctl.runtime.base import BuildInfo
from labctl.servers import get as get_server

EVENT_TIMEOUT_S = 10


def test_the_cheapest_build_comes_first_and_equals_keep_their_order():
    go, python, rust, node = (get_server(n) for n in ("go", "python", "rust", "node"))
    ordered = first_look.cheapest_build_first([go, python, rust, node])
    assert [s.name for s in ordered] == ["node", "python", "go", "rust"]
    same = [dataclasses.replace(go, name="a", first_build_seconds=7),
            dataclasses.replace(go, name="b", first_build_seconds=7)]
    assert [s.name for s in first_look.cheapest_build_first(same)] == ["a", "b"]


def test_each_build_is_handed_over_with_the_one_still_under_way():
    first, second = get_server("node"), get_server("go")
    release = threading.Event()
    waited: list[str] = []

    def build(server):
        if server is second:
            assert release.wait(EVENT_TIMEOUT_S)
        return {"built": True, "server": server.name}

    handed = []
    for server, figures, running in first_look.built_in_turn(
            [first, second], build, waiting=lambda s: waited.append(s.name)):
        handed.append((server.name, figures["server"], running.name if running else None))
        release.set()   # the second build may end only once the first was handed over
    assert handed == [("node", "node", "go"), ("go", "go", None)]
    assert waited == ["node", "go"]


class _FirstRunRuntime(FakeRuntime):
    """Builds from nothing: the first server's build returns at once, the next is held until
    the first look was taken (so it is surely under way then)."""

    def __init__(self, url: str, *, built: bool) -> None:
        super().__init__(url)
        self.built = built
        self.looked = threading.Event()
        self.prepared: list[str] = []

    def prepare(self, server, progress=None, *, rebuild=False):
        if not rebuild:
            self.prepared.append(server.name)
            if len(self.prepared) > 1 and self.built:
                assert self.looked.wait(EVENT_TIMEOUT_S)
        return BuildInfo(artifact=f"fake/{server.name}", built=self.built and not rebuild,
                         seconds=0.0, size_bytes=1000)


def _quick_go():
    """The fake runtime's server answers as Go does: a second Go whose build is the quicker."""
    go = get_server("go")
    return dataclasses.replace(go, name="quick", framework="net/http (quick build)",
                               first_build_seconds=1, source_override=go.source_dir)


def _compare(runtime, looks):
    def on_first_look(look):
        looks.append(look)
        runtime.looked.set()
    chosen = [get_server("go"), _quick_go()]   # the learner's order: the slower build first
    return compare.run_compare(runtime, chosen,
                               compare.CompareOptions(samples=5, warmup=1, cold_starts=1),
                               on_first_look=on_first_look)


@pytest.mark.serial   # measures the server in this process
def test_a_first_run_looks_at_the_cheapest_server_while_the_next_builds(local_http,  # noqa: F811
                                                                        monkeypatch):
    monkeypatch.setattr(verify, "DATE_GAP_S", 0.0)
    runtime = _FirstRunRuntime(local_http, built=True)
    looks: list[first_look.FirstLook] = []
    document = _compare(runtime, looks)
    assert runtime.prepared == ["quick", "go"]      # cheapest first
    assert [(look.server, look.while_building) for look in looks] == [
        ("Go net/http (quick build)", "Go net/http")]
    look = looks[0]
    assert look.samples == first_look.FIRST_LOOK_SAMPLES and look.path == "/health"
    assert look.keepalive_p50_us and look.fresh_p50_us and look.cold_start_ms >= 0
    # The comparison itself is untouched: the learner's order, every server measured.
    assert list(document["servers"]) == ["go", "quick"]
    assert all(entry["measured"] for entry in document["servers"].values())
    shown = render.first_look_lines(look)
    from rich.console import Console
    console = Console(width=80, record=True, color_system=None)
    console.print(shown)
    text = console.export_text()
    assert "first look at Go net/http (quick build), while Go net/http builds" in text
    assert "measures it again" in text and max(map(len, text.splitlines())) <= 80
    assert "server on 1 core" in " ".join(text.split())    # the limits it ran under


@pytest.mark.serial   # measures the server in this process
def test_a_warm_run_takes_no_first_look(local_http, monkeypatch):  # noqa: F811
    monkeypatch.setattr(verify, "DATE_GAP_S", 0.0)
    runtime = _FirstRunRuntime(local_http, built=False)
    looks: list[first_look.FirstLook] = []
    _compare(runtime, looks)
    assert looks == []


@pytest.mark.local
def test_a_first_compare_on_the_local_runtime_shows_node_before_python_is_built(tmp_path):
    """Real builds from an empty cache (Node's npm install, Python's virtual environment):
    Node's first look is printed on stderr while Python builds, then the comparison."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "LABCTL_WIDTH": "80"}
    done = labctl("compare", "python", "node", "--runtime", "local", "--samples", "10",
                  "--cold-starts", "1", "--json", env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "first look at Node Express, while Python FastAPI builds" in done.stderr
    assert "first look at Python" not in done.stderr   # nothing was building after it
    document = json.loads(done.stdout)                 # stdout: the document alone
    assert list(document["servers"]) == ["python", "node"]
    assert all(entry["measured"] for entry in document["servers"].values())


def test_a_server_that_cannot_be_built_stops_the_compare_before_any_build():
    """Cheapest first must not mean "fail last": a missing toolchain for the learner's second
    server is reported before anything is built, as it was when builds went in their order."""
    from labctl.errors import EnvironmentProblem

    class NoNode(_FirstRunRuntime):
        def check_server(self, server):
            if server.name == "node":
                raise EnvironmentProblem("the Node Express server needs `node`")

    runtime = NoNode("http://127.0.0.1:9", built=True)   # never reached: nothing starts
    with pytest.raises(EnvironmentProblem, match="needs `node`"):
        compare.run_compare(runtime, [get_server("go"), get_server("node")],
                            compare.CompareOptions(samples=5, warmup=1, cold_starts=1),
                            on_first_look=lambda look: None)
    assert runtime.prepared == []
