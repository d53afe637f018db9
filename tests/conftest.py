"""Shared fixtures: every test gets its own user data directory, never the real one."""

from __future__ import annotations

import os

import pytest

# Keep Rich's output stable for assertions on text: a fixed width and no forced terminal codes.
os.environ.setdefault("LABCTL_WIDTH", "120")
os.environ.pop("FORCE_COLOR", None)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path, monkeypatch, shared_cache_dir):
    """Results, quiz progress and server state go to a per-test directory.

    The cache (local runtime builds) is shared by the whole session: rebuilding the Rust server
    for every test would take minutes and prove nothing more.
    """
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache_dir))
    yield


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory):
    configured = os.environ.get("LABCTL_TEST_CACHE")
    if configured:
        return configured
    return str(tmp_path_factory.mktemp("cache"))


def _engine_problem() -> str | None:
    """None when a Docker engine answers, else why not."""
    try:
        from labctl.runtime.docker import connect

        connect()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine" here
        return getattr(exc, "message", None) or str(exc)


@pytest.fixture(scope="session")
def docker_engine():
    """Skip a Docker test when no engine answers, unless LABCTL_REQUIRE_DOCKER=1 (CI), where a
    missing engine is a failure: a skipped integration test proves nothing."""
    problem = _engine_problem()
    if problem is None:
        from labctl.runtime.docker import connect

        return connect()
    if os.environ.get("LABCTL_REQUIRE_DOCKER") == "1":
        pytest.fail(f"LABCTL_REQUIRE_DOCKER=1 but no Docker engine: {problem}", pytrace=False)
    pytest.skip(f"no Docker engine: {problem}")


def interrupt_when_ready(process, ready, what: str, timeout_s: float = 60) -> str:
    """Wait until ``ready()`` (e.g. a container of the run exists), then Ctrl-C the labctl
    ``process`` as a person would, and return its stderr."""
    import signal
    import time

    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, f"no {what} started within {timeout_s:g} s"
            time.sleep(0.1)
        time.sleep(0.5)   # let it get into its measuring loop
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return stderr


def labctl_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "labctl"})


@pytest.fixture
def leftover_containers(docker_engine):
    """A callable listing labctl containers that appeared during the test and are still there.

    Containers that existed before the test (another labctl run on the same engine) are not
    this test's business."""
    before = {c.id for c in labctl_containers(docker_engine)}

    def leftovers() -> list:
        return [c for c in labctl_containers(docker_engine) if c.id not in before]

    return leftovers
