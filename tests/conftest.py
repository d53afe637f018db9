"""Shared fixtures and rules for the whole suite.

- Every test gets its own user data directory, never the real one.
- The Docker engine: a test that uses it carries the ``docker`` marker (enforced: a test without
  it sees a dead engine socket), and is skipped without an engine, unless
  LABCTL_REQUIRE_DOCKER=1 (CI), where a missing engine is a failure. Only the errors that mean
  "no engine" count as no engine; anything else (a labctl bug) fails.
- LABCTL_REQUIRE_DOCKER=1 turns every skip into a failure (a missing wrk, pexpect or toolchain
  included): a skipped test proves nothing, and CI must not go green by skipping.
- The engine is shared (other test runs, other people's labctl): a test only ever looks at, and
  removes, the containers of the labctl processes it started itself (label ``labctl.pid``; every
  labctl a test starts through subprocess is noted, however it was started).
- A labctl child that a test interrupts starts with SIGINT at its default (``default_sigint``),
  whatever this runner inherited: from a background job (``cmd &``, nohup) SIGINT is ignored,
  the child would inherit that, and Ctrl-C would do nothing (tests/test_signals.py proves it).
- A test that measures time, sends load, drives a terminal or otherwise needs the machine to
  itself carries the ``serial`` marker: scripts/test runs the rest on two cores at once
  (pytest-xdist), then these with the ``docker`` and ``local`` tests, one at a time. Enforced
  for the server measured in this process (test_contracts.local_http): a test using it without
  the marker fails.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import stop_on_sigterm

if TYPE_CHECKING:
    from labctl.results.documents import LoadPart

# Keep Rich's output stable for assertions on text: a fixed width and no forced terminal codes.
os.environ.setdefault("LABCTL_WIDTH", "120")
os.environ.pop("FORCE_COLOR", None)

STRICT = os.environ.get("LABCTL_REQUIRE_DOCKER") == "1"

# Go's build cache and pip's download cache live under XDG_CACHE_HOME, which every test points
# at the session's own labctl cache (isolated_user_dirs, below); without these two lines each
# session would compile Go's SQLite driver (about 25 s) and download the Python server's wheels
# again. Both caches are content-addressed and shared by every build on the machine, as they are
# for a learner; labctl's own cache (builds, state) stays the session's.
_machine_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
os.environ.setdefault("GOCACHE", str(_machine_cache / "go-build"))
os.environ.setdefault("PIP_CACHE_DIR", str(_machine_cache / "pip"))

# Native Rust builds in the tests use a cheaper release profile: no LTO, 16 codegen units and
# opt-level 0 (the optimisation `cargo test` builds with). No test measures the native Rust
# server's speed; they check what it answers and how it behaves, which the profile does not
# change. The shipped profile (fat LTO, one codegen unit, opt-level 3) is what the Docker image
# builds and bench/rust_profile.py measures. On 2 cores, from nothing: 68 s shipped, 28 s this
# way; after a change to the server's own code (each exercise copy): 15.7 s shipped, 1.2 s this
# way. The variables are part of the local build's key (runtime/local.py), so these binaries
# are never taken for shipped ones. CFLAGS: SQLite's C source too, which Cargo.toml builds at -O2
# whatever the release profile says (cc puts CFLAGS last, so -O0 wins): 6.5 s instead of 27 s,
# the longest step of the tests' build from nothing.
for _name, _value in (("CARGO_PROFILE_RELEASE_LTO", "off"),
                      ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
                      ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
                      ("CFLAGS", "-O0")):
    os.environ.setdefault(_name, _value)

# Unique to this test run: names and tags of fixture images and containers carry it, so two test
# runs on one engine never build over, remove or reap each other's.
RUN_TOKEN = secrets.token_hex(3)

LABCTL_TIMEOUT_S = 1200   # a first Rust build on 2 cores takes minutes


# -- no silent skips --------------------------------------------------------------------------

def _strict_reason(report) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return f"skipped under LABCTL_REQUIRE_DOCKER=1, where every test must run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.longrepr = _strict_reason(report)
        report.outcome = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped as a whole (``pytest.importorskip``) fails too under the strict rule."""
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped:
        report.longrepr = _strict_reason(report)
        report.outcome = "failed"


# -- SIGTERM stops the run as Ctrl-C does (tests/stop_on_sigterm.py) -------------------------

def pytest_configure(config):
    stop_on_sigterm.install()


# -- a load generator's result, given -------------------------------------------------------

def fake_load_result(url: str, path: str, requests: int,
                     latency_us: dict[str, float | None]) -> LoadPart:
    """What a lab's load step returns (``LoadResult.as_dict()``), for tests that fake the
    generator: wrk's shape, no errors, one second."""
    from labctl.measure import loadgen

    return loadgen.LoadResult(
        generator="wrk", version="4.1", where="host", where_detail="a fake", client_cpuset="0",
        target_url=url + path, options=loadgen.LoadOptions(path=path), threads=1,
        requests=requests, duration_s=1.0, latency_us=latency_us, percentile_kind="fake",
        errors={"connect": 0, "read": 0, "write": 0, "timeout": 0}, non_2xx=0,
        non_2xx_definition="fake").as_dict()


# -- where the time went ---------------------------------------------------------------------

_seconds_by_file: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add each test's set-up, call and tear-down time to its file's total."""
    path = report.nodeid.split("::", 1)[0]
    _seconds_by_file[path] = _seconds_by_file.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """The files that cost the most, so every change sees what it adds to CI (the slowest single
    tests come from --durations, which scripts/test passes)."""
    if not _seconds_by_file:
        return
    total = sum(_seconds_by_file.values())
    terminalreporter.section("time by test file")
    for path, seconds in sorted(_seconds_by_file.items(), key=lambda kv: -kv[1])[:12]:
        terminalreporter.write_line(f"{seconds:8.1f} s  {100 * seconds / total:4.1f} %  {path}")
    # Under pytest-xdist (-n) the workers' times add up to more than the run's wall time.
    workers = getattr(terminalreporter.config.option, "numprocesses", None)
    summed = f", summed over {workers} workers" if workers else ""
    terminalreporter.write_line(f"{total:8.1f} s  in {len(_seconds_by_file)} files{summed}")


# -- isolation --------------------------------------------------------------------------------

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
    monkeypatch.delenv("LABCTL_RUNTIME", raising=False)   # the default is a test's own choice
    yield


@pytest.fixture(autouse=True)
def engine_only_with_the_marker(request, monkeypatch, tmp_path):
    """A test marked ``docker`` gets the engine (or is skipped/failed without one); any other
    test sees a dead engine socket, so one that touches the engine without the marker cannot
    pass by accident on a machine that happens to have Docker."""
    if request.node.get_closest_marker("docker"):
        request.getfixturevalue("docker_engine")
    else:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine-without-the-docker-marker.sock")


# Markers whose tests scripts/test runs one at a time, never beside another test.
ALONE_MARKERS = ("serial", "docker", "local")


@pytest.fixture(autouse=True)
def measuring_only_alone(request):
    """A test that measures the in-process server (``local_http``: its figures, and the widths
    they print at, depend on the machine being the test's alone) must not run in the parallel
    phase: without one of ALONE_MARKERS it fails, so it cannot pass there by luck."""
    if "local_http" in request.fixturenames and \
            not any(request.node.get_closest_marker(name) for name in ALONE_MARKERS):
        pytest.fail(f"{request.node.name} measures local_http without the serial marker",
                    pytrace=False)


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory):
    configured = os.environ.get("LABCTL_TEST_CACHE")
    if configured:
        yield configured       # kept between runs: so are the images built from it
        return
    cache = tmp_path_factory.mktemp("cache")
    yield str(cache)
    remove_images_built_from(sorted(cache.glob("labctl/exercise-checks/*/*")))


def remove_images_built_from(folders: list[Path], client=None) -> None:
    """Remove the images labctl built from ``folders`` (a copy of a server gets a tag per folder
    path, so each test's folders would otherwise leave their images on the engine): this run's
    `exercises check --run` cache at the end of the session, a test's workspaces after it.
    ``client``: the engine, connected here when not given."""
    if not folders:
        return
    from labctl import servers
    from labctl.runtime.docker import connect

    if client is None:
        try:
            client = connect()
        except Exception:  # noqa: BLE001 - no engine now: nothing of ours to remove there
            return
    for folder in folders:
        try:
            client.images.remove(servers.load_folder(folder).image_tag)
        except Exception:  # noqa: BLE001 - gone, in use, or not a server folder
            continue


# -- the engine -------------------------------------------------------------------------------

def _no_engine_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "no engine answers here", and nothing else."""
    import docker
    import requests

    from labctl.errors import EnvironmentProblem

    return (EnvironmentProblem, docker.errors.DockerException,
            requests.exceptions.ConnectionError)


@pytest.fixture(scope="session")
def _engine():
    """A client for the engine, or why there is none. Any other exception (a bug in labctl's
    connect()) propagates and fails every Docker test instead of skipping them."""
    from labctl.runtime.docker import connect

    try:
        return connect(), None
    except _no_engine_errors() as exc:
        return None, getattr(exc, "message", None) or str(exc)


@pytest.fixture
def docker_engine(request, _engine):
    """The Docker client. Only for tests marked ``docker``."""
    if not request.node.get_closest_marker("docker"):
        pytest.fail(f"{request.node.name} uses the Docker engine without the docker marker",
                    pytrace=False)
    client, problem = _engine
    if client is not None:
        return client
    if STRICT:
        pytest.fail(f"LABCTL_REQUIRE_DOCKER=1 but no Docker engine: {problem}", pytrace=False)
    pytest.skip(f"no Docker engine: {problem}")


# -- labctl processes and the containers they leave -------------------------------------------

_started_pids: list[int] = []   # labctl processes the current test started


def _runs_labctl(args) -> bool:
    words = [str(a) for a in args] if isinstance(args, (list, tuple)) else str(args).split()
    return any(Path(w).name == "labctl" for w in words) or \
        any(a == "-m" and b == "labctl" for a, b in zip(words, words[1:]))


class _RecordingPopen(subprocess.Popen):
    """subprocess.Popen that notes the pid of every labctl it starts, so a test that runs
    labctl with subprocess.run directly still has its containers counted as its own."""

    def __init__(self, args, *rest, **kwargs):
        super().__init__(args, *rest, **kwargs)
        if _runs_labctl(args):
            _started_pids.append(self.pid)


@pytest.fixture(autouse=True)
def _labctl_started_by_this_test(monkeypatch):
    _started_pids.clear()
    monkeypatch.setattr(subprocess, "Popen", _RecordingPopen)
    yield
    _started_pids.clear()


def default_sigint() -> None:
    """A ``preexec_fn``: SIGINT at its default in the child, so the child's Python turns it into
    KeyboardInterrupt even when this runner was started with SIGINT ignored (an ignored signal
    stays ignored across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_labctl(*args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    """``python -m labctl ARGS`` in the background, with SIGINT at its default (a test may
    interrupt it); its containers count as this test's."""
    popen.setdefault("preexec_fn", default_sigint)
    return subprocess.Popen([sys.executable, "-m", "labctl", *args], text=True,
                            env=env or os.environ.copy(), **popen)   # noted by _RecordingPopen


class LabctlRun(subprocess.CompletedProcess[str]):
    """A finished labctl run, and the process id its containers are labelled with."""

    pid: int


# How long a labctl child that a test no longer waits for gets to remove its servers.
CHILD_CLEANUP_S = 15


def end_labctl(process: subprocess.Popen) -> None:
    """Stop a labctl child that is still running when its test stops waiting (the test timed
    out, failed, or the run was interrupted by Ctrl-C or SIGTERM): SIGTERM first, which labctl
    handles as it does Ctrl-C, removing its servers; SIGKILL only after CHILD_CLEANUP_S. A child
    killed at once would leave its containers for the next labctl to reap."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(CHILD_CLEANUP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def labctl(*args: str, env: dict | None = None, timeout: float = LABCTL_TIMEOUT_S,
           input: str | None = None) -> LabctlRun:
    """Run ``python -m labctl ARGS`` to the end. The result's ``pid`` is that labctl's process id
    (label ``labctl.pid`` of every container it started)."""
    process = start_labctl(*args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
    try:
        stdout, stderr = process.communicate(input=input, timeout=timeout)
    finally:
        end_labctl(process)
    result = LabctlRun(process.args, process.returncode, stdout, stderr)
    result.pid = process.pid
    return result


def labctl_containers(client) -> list:
    """Every labctl container on the engine, whoever started it (look, never remove). Listed
    sparse and inspected one by one: another labctl may remove one in between."""
    import docker

    found = []
    for sparse in client.containers.list(all=True, sparse=True, filters={"label": "labctl"}):
        try:
            found.append(client.containers.get(sparse.id))
        except docker.errors.NotFound:
            continue
    return found


def started_by(client, pids) -> list:
    """The labctl containers that the labctl processes ``pids`` started and that still exist."""
    wanted = {str(pid) for pid in pids}
    return [c for c in labctl_containers(client) if c.labels.get("labctl.pid") in wanted]


@pytest.fixture
def leftover_containers(docker_engine):
    """A callable listing the containers this test's labctl runs (any labctl it started as a
    process, or labctl code called in this process) started and left behind.

    Containers of other labctl processes on the same engine (another test run, a person's kept
    server) are not this test's business, even when they appear during it."""
    before = {c.id for c in labctl_containers(docker_engine)}

    def leftovers() -> list:
        return [c for c in started_by(docker_engine, [*_started_pids, os.getpid()])
                if c.id not in before]

    return leftovers


def interrupt_when_ready(process, ready, what: str, timeout_s: float = 120) -> str:
    """Wait until ``ready()`` (a signal from what the labctl ``process`` started: a container
    running, a server answering), then Ctrl-C it as a person would, and return its stderr."""
    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, f"no {what} started within {timeout_s:g} s"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        end_labctl(process)
    return stderr


def answers(url: str) -> bool:
    """True when ``url`` answers 200 (a server that is up and serving)."""
    import httpx

    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False
