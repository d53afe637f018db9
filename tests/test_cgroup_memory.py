"""A container's idle memory read from its cgroup (labctl/runtime/cgroup_memory.py): the same
figure `docker stats` gives, usage less the droppable page cache, on cgroup v1 and v2; nothing
when the process's cgroup does not name the container; and, on the real engine, the same
number as the engine's own stats for a server at rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from labctl.runtime.cgroup_memory import container_memory_bytes

CONTAINER = "3f1c" + "0" * 60


def _tree(tmp_path: Path, cgroup_lines: str, files: dict[str, str]) -> tuple[Path, Path]:
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "cgroup").write_text(cgroup_lines)
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return proc, root


def test_cgroup_v2_usage_less_inactive_file(tmp_path):
    folder = f"system.slice/docker-{CONTAINER}.scope"
    proc, root = _tree(tmp_path, f"0::/{folder}\n", {
        f"{folder}/memory.current": "10485760\n",
        f"{folder}/memory.stat": "anon 8000000\nfile 2485760\ninactive_file 1048576\n"})
    assert container_memory_bytes(42, CONTAINER, proc=proc, cgroup_root=root) == 10485760 - 1048576


def test_cgroup_v1_reads_the_memory_controller(tmp_path):
    proc, root = _tree(tmp_path, (f"12:pids:/docker/{CONTAINER}\n"
                                  f"9:memory:/docker/{CONTAINER}\n"
                                  f"1:name=systemd:/docker/{CONTAINER}\n"), {
        f"memory/docker/{CONTAINER}/memory.usage_in_bytes": "5000000\n",
        # inactive_file is this cgroup's alone; docker stats takes the hierarchy's total.
        f"memory/docker/{CONTAINER}/memory.stat": ("cache 900000\ninactive_file 1\n"
                                                   "total_inactive_file 400000\n")})
    assert container_memory_bytes(42, CONTAINER, proc=proc, cgroup_root=root) == 4600000


def test_a_cgroup_that_does_not_name_the_container_is_not_read(tmp_path):
    # Another PID namespace or an engine elsewhere: the pid is some other process here.
    proc, root = _tree(tmp_path, "0::/user.slice/session-3.scope\n", {
        "user.slice/session-3.scope/memory.current": "123\n",
        "user.slice/session-3.scope/memory.stat": "inactive_file 0\n"})
    assert container_memory_bytes(42, CONTAINER, proc=proc, cgroup_root=root) is None


def test_missing_or_unreadable_files_give_none(tmp_path):
    proc, root = _tree(tmp_path, f"0::/docker/{CONTAINER}\n",
                       {f"docker/{CONTAINER}/memory.current": "not a number\n",
                        f"docker/{CONTAINER}/memory.stat": ""})
    assert container_memory_bytes(42, CONTAINER, proc=proc, cgroup_root=root) is None
    assert container_memory_bytes(7, CONTAINER, proc=proc, cgroup_root=root) is None   # no pid


@pytest.mark.docker
def test_on_the_engine_it_is_the_figure_docker_stats_gives(docker_engine, leftover_containers,
                                                          monkeypatch):
    from labctl import servers
    from labctl.runtime.base import Limits
    from labctl.runtime.docker import DockerRuntime
    from labctl.runtime.lifecycle import running

    runtime = DockerRuntime()
    go = servers.get("go")
    runtime.prepare(go)
    with running(runtime, go, Limits()) as instance:
        container = docker_engine.containers.get(instance.ident)
        pid = container.attrs["State"]["Pid"]
        from_cgroup = container_memory_bytes(pid, container.id)
        memory = container.stats(stream=False, one_shot=True)["memory_stats"]
        detail = memory.get("stats") or {}
        from_engine = memory["usage"] - detail.get("total_inactive_file",
                                                   detail.get("inactive_file", 0))
        assert from_cgroup is not None, "this engine's containers are on this machine"
        # Go at rest: the two reads, a second apart, agree to within a page or two.
        assert abs(from_cgroup - from_engine) <= 64 * 1024, (from_cgroup, from_engine)
        # The runtime reads the cgroup, not the stats endpoint, when it can.
        monkeypatch.setattr(type(container), "stats", _no_stats)
        assert runtime.idle_memory_bytes(instance) == pytest.approx(from_cgroup, abs=64 * 1024)
    assert leftover_containers() == []


def _no_stats(*_args, **_kwargs):
    raise AssertionError("the engine's stats endpoint was asked")
