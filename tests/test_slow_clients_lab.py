"""The slow-clients lab: its trickling client against in-process socket servers that answer 408,
close silently or never react; its judging (pure); and the lab end to end on real servers."""

from __future__ import annotations

import socket
import threading
import time

import labrun
import pytest

from labctl.labs import slowclients

FAST = slowclients.Settings(connections=3, interval_s=0.1, window_s=1.5, normal_every_s=0.05,
                            normal_timeout_s=1.0, baseline_s=0.2)


def _server(behaviour: str, after_s: float = 0.4):
    """Accepts connections; after ``after_s`` answers 408 and closes, closes silently, or does
    nothing (``keep``)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    held = []

    def handle(conn):
        time.sleep(after_s)
        # Read what arrived, as a real server does: closing a socket with unread bytes makes
        # Linux send a reset instead of a FIN.
        conn.setblocking(False)
        try:
            while conn.recv(65536):
                pass
        except BlockingIOError:
            pass
        if behaviour == "408":
            conn.sendall(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n")
        if behaviour in ("408", "close"):
            conn.shutdown(socket.SHUT_WR)   # a FIN now; bytes still arriving are not refused
            held.append(conn)
        else:
            held.append(conn)

    def run():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
        listener.close()
        for conn in held:
            conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], stop, thread


@pytest.mark.serial   # bounds when the server cut by the clock
@pytest.mark.parametrize("behaviour,how", [("408", "408"), ("close", "closed"),
                                           ("keep", "open at the end")])
def test_trickle_sees_how_each_connection_ends(behaviour, how):
    port, stop, thread = _server(behaviour)
    try:
        connections = slowclients.trickle("127.0.0.1", port, FAST)
    finally:
        stop.set()
        thread.join(5)
    assert [c["how"] for c in connections] == [how] * 3
    summary = slowclients.summarise_connections(connections)
    if how == "open at the end":
        assert summary["cut"] == 0 and summary["cut_after_s"] is None
        assert all(c["bytes_sent"] > len(slowclients.SLOW_HEAD) for c in connections)
    else:
        assert summary["cut"] == 3 and 0.3 <= summary["cut_after_s"]["median"] < 1.4
    assert slowclients.typical_end(summary)[0] == how


def test_the_slow_head_never_ends_a_request():
    assert slowclients.SLOW_HEAD.startswith(b"GET /health HTTP/1.1\r\n")
    assert b"\r\n\r\n" not in slowclients.SLOW_HEAD


def test_predictions_hold_within_the_tolerance():
    holds = slowclients.prediction_holds
    assert holds(("closed", 5.0), "closed", 5.9)
    assert not holds(("closed", 5.0), "closed", 9.0)
    assert not holds(("408", 5.0), "closed", 5.0)
    assert holds(("open at the end", None), "open at the end", None)


@pytest.mark.parametrize("answer,right", [("408", True), ("408 at 6 s", True), ("closed", False),
                                          ("408 20", False), ("open", False)])
def test_learner_answers(answer, right):
    cell = {"how": "408", "after_s": 5.9}
    assert slowclients.judge_learner(answer, cell) is right


def test_learner_open():
    assert slowclients.judge_learner("open", {"how": "open at the end", "after_s": None})


# -- end to end -------------------------------------------------------------------------------


def run_lab(*args: str) -> tuple[dict, float, int]:
    return labrun.run_lab("slow-clients", *args, "--quick")


def check_document(document: dict, names: list[str]) -> None:
    assert document["schema"] == "labctl.lab.slow-clients/1"
    assert list(document["servers"]) == names
    for entry in document["servers"].values():
        assert list(entry["runs"]) == ["shipped", "defaults"]
        for run in entry["runs"].values():
            assert len(run["connections"]) == slowclients.QUICK.connections
            assert sum(run["summary"]["ended_by"].values()) == slowclients.QUICK.connections
            assert run["server_still_running"] is True
            # The normal client was served throughout: 20 idle sockets hurt nobody.
            assert run["normal_during"]["answered"] > 0
        # With the stack's defaults nothing cuts a trickling connection within 8 s.
        assert entry["runs"]["defaults"]["how"] == "open at the end"
    go = document["servers"]["go"]["runs"]["shipped"]
    # Go's ReadHeaderTimeout (5 s) ends every trickling connection without an answer.
    assert go["how"] == "closed" and 4 <= go["after_s"] <= 7


@pytest.mark.docker
def test_slow_clients_on_docker(docker_engine, leftover_containers):
    document, seconds, pid = run_lab("go", "node", "--runtime", "docker")
    check_document(document, ["go", "node"])
    node = document["servers"]["node"]["runs"]["shipped"]
    assert node["how"] == "408" and 4 <= node["after_s"] <= 8
    # Two servers, two runs each, 8 s windows: well inside the lab's 2 minutes per server.
    assert seconds < 240
    assert labrun.own(leftover_containers(), pid) == []


@pytest.mark.local
def test_slow_clients_on_the_local_runtime():
    from labctl import paths

    document, _, _ = run_lab("go", "python", "--runtime", "local")
    check_document(document, ["go", "python"])
    # uvicorn has no header timeout to turn on or off.
    assert document["servers"]["python"]["runs"]["shipped"]["how"] == "open at the end"
    assert not list((paths.state_dir() / "local").glob("*.json"))
