"""Exercises on real runtimes: for every exercise, its check fails on the starter and passes on
the solution (Docker engine and native processes); a learner's copy, started with `exercise
start` and edited to the solution, passes `exercise check`; --watch checks again after a save;
a copy that does not compile fails with the compiler's message and leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import default_sigint, labctl, remove_images_built_from

from labctl.learning import exercises

NAMES = [exercise.name for exercise in exercises.load_all()[0]]


def _one_per_check_kind_and_language(found: list[exercises.Exercise]) -> list[str]:
    """The first exercise of each check kind, then the first of each server not yet among them.

    Every exercise's check runs against its starter and its solution on Docker. The native
    runtime differs by check kind (where each check's clients run) and by the server's
    toolchain, not by exercise, so it runs on this sample: each kind and each language once,
    which keeps CI's time bounded as exercises are added."""
    chosen: list[exercises.Exercise] = []
    for exercise in found:
        if type(exercise.spec.check) not in {type(c.spec.check) for c in chosen}:
            chosen.append(exercise)
    for exercise in found:
        if exercise.spec.base not in {c.spec.base for c in chosen}:
            chosen.append(exercise)
    return [exercise.name for exercise in found if exercise in chosen]


SAMPLED = _one_per_check_kind_and_language(exercises.load_all()[0])


def _copy_kind(exercise: exercises.Exercise) -> tuple[str, frozenset[str]]:
    """What a learner's copy holds: a server's source in one language, or an nginx
    configuration in front of one."""
    return exercise.spec.base, frozenset(Path(name).suffix for name in exercise.spec.files)


def _one_per_kind_of_copy_and_the_starter_builds(found: list[exercises.Exercise]) -> list[str]:
    """The learner's path (start, edit, check in the copy) differs from the author's check
    only in where the server is built from: the copy, and for a speedup check the starter
    beside it (exercise_cmd._check_folder runs the same check code for both). So it runs on
    the first exercise of each kind of copy, and on the first speedup exercise."""
    chosen: list[exercises.Exercise] = []
    for exercise in found:
        if _copy_kind(exercise) not in {_copy_kind(c) for c in chosen}:
            chosen.append(exercise)
    speedup = next(e for e in found if isinstance(e.spec.check, exercises.SpeedupCheck))
    if speedup not in chosen:
        chosen.append(speedup)
    return [exercise.name for exercise in found if exercise in chosen]


LEARNER_SAMPLED = _one_per_kind_of_copy_and_the_starter_builds(exercises.load_all()[0])


def test_the_sample_covers_every_check_kind_and_every_server():
    found = {exercise.name: exercise for exercise in exercises.load_all()[0]}
    sampled = [found[name] for name in SAMPLED]
    assert {type(e.spec.check) for e in sampled} == {type(e.spec.check) for e in found.values()}
    assert {e.spec.base for e in sampled} == {e.spec.base for e in found.values()}
    assert len(SAMPLED) == len(set(SAMPLED)) < len(found)
    learner = [found[name] for name in LEARNER_SAMPLED]
    assert {_copy_kind(e) for e in learner} == {_copy_kind(e) for e in found.values()}
    assert any(isinstance(e.spec.check, exercises.SpeedupCheck) for e in learner)
CHECK_TIMEOUT_S = 1800   # a cold Rust build of a copy on a busy 2-core machine


def _author_check(name: str, runtime: str) -> dict:
    result = labctl("exercises", "check", name, "--run", "--runtime", runtime, "--json",
                    timeout=CHECK_TIMEOUT_S)
    # A check that could not run at all (a missing program) prints labctl's one-line reason and
    # no document: show that reason, not a JSON decoding error.
    assert result.stdout.strip(), f"{name}: no result (exit {result.returncode}): {result.stderr}"
    document = json.loads(result.stdout)
    entry = document["exercises"][0]
    assert entry["name"] == name
    assert not entry["starter"]["passed"], f"{name}: the starter passes: {entry['starter']}"
    assert entry["solution"]["passed"], f"{name}: the solution fails: {entry['solution']}"
    assert result.returncode == 0 and document["ok"], result.stderr
    return entry


@pytest.mark.docker
@pytest.mark.parametrize("name", NAMES)
def test_the_check_fails_the_starter_and_passes_the_solution_on_docker(name, docker_engine,
                                                                        leftover_containers):
    _author_check(name, "docker")
    assert leftover_containers() == []


@pytest.mark.local
@pytest.mark.parametrize("name", SAMPLED)
def test_the_check_fails_the_starter_and_passes_the_solution_on_local(name):
    _author_check(name, "local")


def _start(name: str, workspace: Path) -> None:
    started = labctl("exercise", "start", name, "--dir", str(workspace))
    assert started.returncode == 0, started.stderr


def _apply_solution(name: str, workspace: Path) -> None:
    """Edit the copy as the learner would: write the solution's files over it."""
    exercise = exercises.find(name)
    for relative in exercise.changed_files():
        (workspace / relative).write_text(exercises.solution_text(exercise, relative))


@pytest.fixture
def workspace_images(docker_engine):
    """Remove the images built from this test's workspaces (each path gets its own tag)."""
    built: list[str] = []
    yield built
    remove_images_built_from([Path(folder) for folder in built], docker_engine)


@pytest.mark.docker
@pytest.mark.parametrize("name", LEARNER_SAMPLED)
def test_start_edit_to_the_solution_and_check_passes(name, tmp_path, docker_engine,
                                                     workspace_images, leftover_containers):
    workspace = tmp_path / name
    _start(name, workspace)
    workspace_images.append(str(workspace))
    _apply_solution(name, workspace)
    checked = subprocess.run([sys.executable, "-m", "labctl", "exercise", "check", "--runtime",
                              "docker", "--json"], cwd=workspace, capture_output=True, text=True,
                             timeout=CHECK_TIMEOUT_S, env=os.environ.copy())
    assert checked.returncode == 0, checked.stderr
    document = json.loads(checked.stdout)
    assert document["check"]["passed"] and document["passed_before"]
    listed = json.loads(labctl("exercises", "--json").stdout)
    assert next(r for r in listed["exercises"] if r["name"] == name)["status"] == "passed"
    assert leftover_containers() == []


@pytest.mark.docker
def test_watch_checks_again_after_a_save(tmp_path, docker_engine, workspace_images,
                                         leftover_containers):
    name = "python-head"   # a build of seconds: the test is about the watching
    workspace = tmp_path / name
    _start(name, workspace)
    workspace_images.append(str(workspace))
    process = subprocess.Popen([sys.executable, "-m", "labctl", "exercise", "check", "--watch",
                                "--runtime", "docker"], cwd=workspace, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "LABCTL_WIDTH": "200"},
                               preexec_fn=default_sigint)   # it is stopped with SIGINT
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(process.stdout.readline, "")),
                              daemon=True)
    reader.start()

    def wait_for(text: str, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in seen):
            assert process.poll() is None, "".join(seen)
            assert time.monotonic() < deadline, f"no {text!r} within {timeout_s:g} s: {''.join(seen)}"
            time.sleep(0.1)

    def watching_count() -> int:
        return sum("watching" in line for line in seen)

    def save_and_wait(edit, then: str) -> None:
        before = watching_count()
        edit()
        wait_for(then)
        deadline = time.monotonic() + 300
        while watching_count() == before:   # checked, and watching again
            assert time.monotonic() < deadline and process.poll() is None, "".join(seen)
            time.sleep(0.1)

    main = workspace / "main.py"
    try:
        wait_for("FAIL")
        wait_for("watching")
        # A copy that does not start is shown and waited out, not the end of the watch.
        save_and_wait(lambda: main.write_text(main.read_text() + "\nthis is not python\n"),
                      "error:")
        assert process.poll() is None
        _apply_solution(name, workspace)
        wait_for("PASS")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert leftover_containers() == []


def _broken_copy(tmp_path: Path) -> Path:
    name = next(n for n in NAMES if exercises.find(n).spec.base == "go")
    workspace = tmp_path / name
    _start(name, workspace)
    main = workspace / "main.go"
    main.write_text(main.read_text() + "\nfunc broken() { undefinedThing() }\n")
    return workspace


def _check_broken(workspace: Path, runtime: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "labctl", "exercise", "check", "--runtime",
                             runtime], cwd=workspace, capture_output=True, text=True,
                            timeout=CHECK_TIMEOUT_S, env=os.environ.copy())
    assert result.returncode != 0
    assert "undefined: undefinedThing" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.docker
def test_a_copy_that_does_not_compile_shows_the_compiler_on_docker(tmp_path, docker_engine,
                                                                   workspace_images,
                                                                   leftover_containers):
    workspace = _broken_copy(tmp_path)
    workspace_images.append(str(workspace))
    _check_broken(workspace, "docker")
    assert leftover_containers() == []


@pytest.mark.local
def test_a_copy_that_does_not_compile_shows_the_compiler_on_local(tmp_path):
    from labctl.runtime.local import LocalRuntime

    workspace = _broken_copy(tmp_path)
    _check_broken(workspace, "local")
    assert LocalRuntime().down() == []   # nothing was left running


@pytest.mark.docker
def test_a_drain_that_waits_out_keep_alive_fails_the_shutdown_check(tmp_path, docker_engine,
                                                                    workspace_images,
                                                                    leftover_containers):
    """Node's bare server.close() waits for the in-flight requests' kept-alive connections until
    its 5 s keep-alive timeout: the check must not pass it, only a server that closes them. A
    learner's copy with that drain, checked as the learner checks it."""
    name = "node-graceful-shutdown"
    workspace = tmp_path / name
    _start(name, workspace)
    workspace_images.append(str(workspace))
    _apply_solution(name, workspace)
    server = workspace / "server.js"
    text = server.read_text()
    server.write_text(text[:text.index("// Graceful stop")]
                      + "process.once('SIGTERM', () => server.close(() => process.exit(0)));\n")
    checked = subprocess.run([sys.executable, "-m", "labctl", "exercise", "check", "--runtime",
                              "docker", "--json"], cwd=workspace, capture_output=True, text=True,
                             timeout=CHECK_TIMEOUT_S, env=os.environ.copy())
    assert checked.returncode != 0, checked.stderr
    check = json.loads(checked.stdout)["check"]
    assert check["passed"] is False
    figures = check["figures"]
    assert figures["in_flight_completed"] == 3 and figures["stop_seconds"] > 5
    assert leftover_containers() == []
