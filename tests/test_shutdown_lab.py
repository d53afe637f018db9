"""The shutdown lab: its predictions and summary (pure), and the lab end to end on real servers
with a bound on its time and nothing left running."""

from __future__ import annotations

import labrun
import pytest

from labctl.labs import shutdown


def test_predictions_follow_pid_1():
    assert shutdown.predicted("node", "graceful", "docker") == {"stop_s": 1.5,
                                                               "in_flight": "completed"}
    # Without a handler, PID 1 ignores SIGTERM: Docker's SIGKILL after 10 s ends it.
    assert shutdown.predicted("node", "no-handler", "docker")["stop_s"] == 10
    # --quick shortens the grace, and with it only the stop of a PID 1 without a handler.
    quick = shutdown.QUICK.grace_s
    assert quick > shutdown.LONG_MS / 1000 - shutdown.STOP_AFTER_S
    assert shutdown.predicted("node", "no-handler", "docker", quick) == {
        "stop_s": quick, "in_flight": "completed"}
    assert shutdown.predicted("node", "graceful", "docker", quick)["stop_s"] == 1.5
    # Go's runtime exits on SIGTERM even as PID 1; outside a container every server dies at once.
    assert shutdown.predicted("go", "no-handler", "docker")["in_flight"] == "cut"
    assert shutdown.predicted("rust", "no-handler", "local")["stop_s"] == 0


def test_summary_splits_before_and_after_sigterm():
    sigterm = 100.0
    steady = [(99.5, "200"), (99.9, "200"), (100.1, "200"), (100.2, "refused"),
              (100.3, "refused")]
    idle = [{"index": 0, "how": "closed", "at": 100.05}, {"index": 1, "how": "open", "at": None}]
    long_out = [{"outcome": "200", "ended_at": 101.5}, {"outcome": "reset", "ended_at": 100.0}]
    summary = shutdown.summarise(sigterm, 1.6, idle, steady, [99.4, 99.4], long_out)
    assert summary["steady"]["before_stop"] == {"requests": 2, "answered": 2}
    assert summary["steady"]["after_sigterm"] == {"200": 1, "refused": 2}
    assert summary["steady"]["last_answered_after_sigterm_s"] == pytest.approx(0.1)
    assert summary["in_flight_verdict"] == "some cut" and summary["in_flight_completed"] == 1
    assert summary["idle"][0]["after_sigterm_s"] == pytest.approx(0.05)


def test_prediction_and_learner_judging():
    cell = {"in_flight_verdict": "completed", "stop_seconds": 10.2}
    assert shutdown.prediction_holds({"stop_s": 10.0, "in_flight": "completed"}, cell)
    assert not shutdown.prediction_holds({"stop_s": 1.5, "in_flight": "completed"}, cell)
    assert shutdown.judge_learner("completed 10", cell)
    assert shutdown.judge_learner("completed", cell)
    assert not shutdown.judge_learner("cut", cell)
    assert not shutdown.judge_learner("completed 2", cell)


def run_lab(*args: str) -> tuple[dict, float, int]:
    return labrun.run_lab("shutdown", *args)


def check_graceful(document: dict) -> None:
    assert document["schema"] == "labctl.lab.shutdown/1"
    for name, entry in document["servers"].items():
        graceful = entry["runs"]["graceful"]
        # Drained: every request in flight got its answer, and the stop waited for them only.
        assert graceful["in_flight_verdict"] == "completed", name
        assert graceful["stop_seconds"] < 5, name
        assert all(i["how"] != "open" for i in graceful["idle"]), name
        assert graceful["steady"]["before_stop"]["answered"] > 0


@pytest.mark.docker
def test_shutdown_on_docker(docker_engine, leftover_containers):
    document, seconds, pid = run_lab("go", "node", "--quick", "--runtime", "docker")
    check_graceful(document)
    grace_s = document["parameters"]["grace_s"]
    assert grace_s == 4
    go = document["servers"]["go"]["runs"]["no-handler"]
    node = document["servers"]["node"]["runs"]["no-handler"]
    # Go exits at once on SIGTERM without a handler, even as PID 1: the requests are cut.
    assert go["in_flight_verdict"] == "cut" and go["stop_seconds"] < 2
    # Node as PID 1 without a handler ignores SIGTERM: only Docker's SIGKILL at the end of the
    # grace ends it, and meanwhile the requests in flight finish.
    assert grace_s - 1 <= node["stop_seconds"] <= grace_s + 4
    assert node["predicted"]["stop_s"] == grace_s and node["prediction_holds"]
    assert node["in_flight_verdict"] == "completed"
    assert seconds < 240
    assert labrun.own(leftover_containers(), pid) == []


@pytest.mark.local
def test_shutdown_on_the_local_runtime():
    from labctl import paths

    document, seconds, _ = run_lab("go", "python", "--quick", "--runtime", "local")
    check_graceful(document)
    for entry in document["servers"].values():
        # Not PID 1: without a handler SIGTERM's default action ends the process at once.
        cut = entry["runs"]["no-handler"]
        assert cut["in_flight_verdict"] == "cut" and cut["stop_seconds"] < 2
    assert seconds < 240
    assert not list((paths.state_dir() / "local").glob("*.json"))
