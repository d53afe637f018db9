"""A server's {deps} on the local runtime: the dependency files' install is made once per their
contents and shared by every copy of the server (an exercise's starter and solution, each
edit). Engine-free: the fixture server's deps_build is a Python one-liner, not pip or npm; the
real installs run in the local tests (test_local_runtime, the exercises on the local runtime)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labctl import servers
from labctl.errors import LabctlError
from labctl.runtime.local import LocalRuntime

ASSETS = Path(__file__).parent / "assets" / "stdlib-server"

# deps_build: records each install in the deps folder, beside a copy of the dependency file.
DEPS_TOML = '''
[local]
toolchain = ["python3"]
deps = ["deps.txt"]
deps_build = [["{python}", "-c", "open('installed', 'a').write(open('deps.txt').read())"]]
build = [["{python}", "-c", "open('deps-used', 'w').write(r'{deps}')"]]
command = ["{python}", "server.py"]
'''


def _copy(tmp_path: Path, name: str, deps: str = "flask==3\n", local: str = DEPS_TOML) -> Path:
    folder = tmp_path / name
    shutil.copytree(ASSETS, folder)
    text = (folder / "server.toml").read_text()
    (folder / "server.toml").write_text(text[:text.index("[local]")] + local.lstrip())
    (folder / "deps.txt").write_text(deps)
    return folder


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return LocalRuntime()


def test_two_copies_share_one_install_and_a_new_dependency_gets_its_own(tmp_path, runtime):
    starter = servers.load_folder(_copy(tmp_path, "starter"))
    solution = servers.load_folder(_copy(tmp_path, "solution"))
    first = runtime.prepare(starter)
    second = runtime.prepare(solution)
    assert first.details["deps_built"] is True and second.details["deps_built"] is False
    deps = Path(first.details["deps_dir"])
    assert second.details["deps_dir"] == str(deps)
    assert (deps / "installed").read_text() == "flask==3\n"              # installed once
    for build in (first, second):                                          # both copies use it
        assert (Path(build.artifact) / "src" / "deps-used").read_text() == str(deps)
    edited = servers.load_folder(_copy(tmp_path, "edited", deps="flask==3\nrich\n"))
    third = runtime.prepare(edited)
    assert third.details["deps_built"] is True and third.details["deps_dir"] != str(deps)


def test_a_deps_folder_removed_from_the_cache_is_installed_again(tmp_path, runtime):
    server = servers.load_folder(_copy(tmp_path, "copy"))
    deps = Path(runtime.prepare(server).details["deps_dir"])
    shutil.rmtree(deps)
    runtime.prepare(server)          # the build is complete; its deps are not
    assert (deps / "installed").read_text() == "flask==3\n"


def test_a_rebuild_installs_the_deps_again(tmp_path, runtime):
    server = servers.load_folder(_copy(tmp_path, "copy"))
    deps = Path(runtime.prepare(server).details["deps_dir"])
    again = runtime.prepare(server, rebuild=True)
    assert again.details["deps_built"] is True
    assert (deps / "installed").read_text() == "flask==3\n"      # a fresh folder, not appended


def test_a_failed_install_leaves_nothing_that_counts_as_installed(tmp_path, runtime):
    failing = DEPS_TOML.replace("open('installed', 'a')", "exit(3) or open('installed', 'a')")
    server = servers.load_folder(_copy(tmp_path, "copy", local=failing))
    with pytest.raises(LabctlError, match="exited with 3"):
        runtime.prepare(server)
    assert not (runtime.deps_dir(server) / ".complete").exists()


@pytest.mark.parametrize("local, field", [
    (DEPS_TOML.replace('deps = ["deps.txt"]\n', ""), "deps"),
    (DEPS_TOML.replace('deps_build = [', "ignored = [").replace("ignored", "# ignored"),
     "deps_build"),
    (DEPS_TOML.replace('"deps.txt"]', '"../deps.txt"]'), "deps[0]"),
    (DEPS_TOML.replace('deps = ["deps.txt"]', 'deps = ["missing.txt"]'), "deps[0]"),
])
def test_server_toml_mistakes_in_deps_name_the_field(tmp_path, local, field):
    folder = _copy(tmp_path, "copy", local=local)
    with pytest.raises(LabctlError) as raised:
        servers.load_folder(folder)
    assert field in str(raised.value), raised.value


def test_the_shipped_python_and_node_share_their_installs():
    for name in ("python", "node"):
        server = servers.get(name)
        assert server.local_deps and server.local_deps_build, name
        assert any("{deps}" in arg for step in (*server.local_build, server.local_command)
                   for arg in step), name

