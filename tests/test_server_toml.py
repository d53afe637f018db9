"""server.toml: the four shipped servers are read from it, any folder with one can be named, and
every mistake in it is one line naming the file and the field (exit 2). No engine needed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl import paths, servers
from labctl.cli import app
from labctl.errors import UsageProblem

FIXTURE = Path(__file__).parent / "assets" / "stdlib-server"
runner = CliRunner()


def test_the_four_servers_come_from_their_server_toml():
    assert servers.NAMES == ("go", "python", "rust", "node")
    go = servers.get("golang")
    assert go.greeting == "Hello from Go net/http\n" and go.blocking_unit == "connection"
    assert go.show == ("main.go", "bottleneck.go", "report.go", "shedding.go", "users.go")
    assert go.source_file == "main.go"
    assert go.image_tag == "labctl/go:latest" and go.shipped
    assert go.framework_version().startswith("stdlib, go 1.")
    # Versions read by each file's pattern match the lockfiles' own text.
    assert servers.get("axum").framework_version().startswith("0.8.")
    assert servers.get("express").framework_version().startswith("5.")
    assert servers.get("fastapi").framework_version().count(".") == 2
    for server in servers.SERVERS:
        for name in server.show:
            assert (server.source_dir / name).is_file(), f"{server.name}: {name}"


def test_a_folder_is_a_server_wherever_a_name_goes(tmp_path):
    fixture = servers.get(str(FIXTURE))
    assert fixture.name == "stdlib" and fixture.port == 8000 and not fixture.shipped
    assert fixture.image_tag == "labctl/stdlib:latest" and fixture.source_dir == FIXTURE.resolve()
    assert servers.choose_one(None, FIXTURE) == fixture
    assert [s.name for s in servers.select(["go"], [FIXTURE])] == ["go", "stdlib"]
    # A copy of a shipped server keeps its name in results but gets its own image tag.
    copy = tmp_path / "go"
    shutil.copytree(paths.servers_dir() / "go", copy)
    copied = servers.load_folder(copy)
    assert copied.name == "go" and copied.image_tag != "labctl/go:latest"
    with pytest.raises(UsageProblem, match="two servers are named 'go'"):
        servers.select(["go"], [copy])


def _broken(tmp_path: Path, replace: tuple[str, str] | None = None, append: str = "") -> Path:
    folder = tmp_path / "server"
    shutil.copytree(FIXTURE, folder)
    toml = folder / "server.toml"
    text = toml.read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    toml.write_text(text + append)
    return folder


@pytest.mark.parametrize(("replace", "append", "message"), [
    (('name = "stdlib"\n', ""), "", "server.toml: name: missing (required)"),
    (('name = "stdlib"', 'name = "Std Lib"'), "", "server.toml: name: 'Std Lib' must be lower-case"),
    (('port = 8000', 'port = "8000"'), "", "server.toml: port: must be a whole number"),
    (('port = 8000', 'port = 70000'), "", "server.toml: port: 70000 is not a TCP port"),
    (('show = ["server.py"]', 'show = ["../server.py"]'), "", "show[0]: '../server.py' must be a path inside"),
    (('show = ["server.py"]', 'show = ["app.py"]'), "", "show[0]: 'app.py' is not a file"),
    (('blocking_unit = "connection"', 'blocking_unit = "thread"'), "", "blocking_unit: 'thread' is not one of"),
    (('dockerfile = "Dockerfile"', 'dockerfile = "Containerfile"'), "",
     "docker.dockerfile: 'Containerfile' is not a file"),
    (('base_image_arg = "PYTHON_IMAGE"\n', ""), "", "docker.base_image_arg: missing (required)"),
    (('toolchain = ["python3"]', 'toolchain = ["java"]'), "", "local.toolchain[0]: 'java' is not a toolchain"),
    (('command = ["{python}", "server.py"]', 'command = []'), "", "local.command: must not be empty"),
    (None, 'build = "make"\n', "local.build: must be a list"),
    (None, "colour = 'blue'\n", "local.colour: unknown field"),
    (('format_version = 1', 'format_version = 9'), "", "format_version: this labctl reads format 1"),
    (('name = "stdlib"', 'name = "stdlib'), "", "server.toml: TOML syntax"),
])
def test_a_mistake_names_the_file_and_the_field(tmp_path, replace, append, message):
    folder = _broken(tmp_path, replace, append)
    with pytest.raises(UsageProblem) as caught:
        servers.load_folder(folder)
    assert caught.value.exit_code == 2
    assert str(folder / "server.toml") in caught.value.message
    assert message in caught.value.message


def test_the_command_line_says_it_in_one_line_with_exit_2(tmp_path):
    folder = _broken(tmp_path, ('port = 8000', 'port = "x"'))
    for args in (["run", str(folder)], ["run", "--source", str(folder)],
                 ["verify", "--source", str(folder)], ["compare", "--source", str(folder)],
                 ["load", "--source", str(folder), "/health"]):
        result = runner.invoke(app, [*args, "--runtime", "local"])
        assert result.exit_code == 2, (args, result.output)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "server.toml: port: must be a whole number" in lines[0], args
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["run", "--source", str(empty), "--runtime", "local"])
    assert result.exit_code == 2 and "server.toml does not exist" in result.stderr
    result = runner.invoke(app, ["run", "go", "--source", str(FIXTURE)])
    assert result.exit_code == 2 and "Give one of them" in result.stderr
