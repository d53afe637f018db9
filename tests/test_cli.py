"""The command line through Typer's CliRunner: exit statuses, one-line errors, JSON purity."""

import json

import pytest
from typer.testing import CliRunner

from labctl.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "servers", "logs", "down"):
        assert command in result.stdout


def test_no_arguments_without_a_terminal_prints_help():
    result = runner.invoke(app, [])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_unknown_server_is_one_line_and_exit_2():
    result = runner.invoke(app, ["run", "cobol", "--runtime", "local"])
    assert result.exit_code == 2
    assert "unknown server 'cobol'" in result.stderr
    assert "go (golang/nethttp)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_dead_docker_socket_is_one_line_and_exit_2(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = runner.invoke(app, ["run", "go", "--runtime", "docker"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "no-engine.sock" in lines[0] and "--runtime local" in lines[0]
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = runner.invoke(app, ["--debug", "run", "go", "--runtime", "docker"])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_auto_falls_back_to_local_when_the_engine_is_dead(monkeypatch, tmp_path):
    from labctl import runtime

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    said = []
    chosen = runtime.select("auto", announce=said.append)
    assert chosen.name == "local"
    assert said and "local" in said[0] and "no-engine.sock" in said[0]


def test_unknown_runtime_is_rejected():
    result = runner.invoke(app, ["run", "go", "--runtime", "podman"])
    assert result.exit_code == 2
    assert "unknown runtime 'podman'" in result.stderr


def test_servers_json_is_the_only_stdout(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = runner.invoke(app, ["servers", "--json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert [s["name"] for s in document["servers"]] == ["go", "python", "rust", "node"]
    assert all(s["framework_version"] != "?" for s in document["servers"])


@pytest.mark.parametrize("alias,name", [("nethttp", "go"), ("FastAPI", "python"),
                                        ("axum", "rust"), ("express", "node")])
def test_aliases(alias, name):
    from labctl import servers

    assert servers.get(alias).name == name


def test_base_image_override_from_environment(monkeypatch):
    from labctl import config

    monkeypatch.setenv("LABCTL_GO_IMAGE", "mirror.example/golang:1.26")
    assert config.base_image("GO_IMAGE", "golang:1.26") == "mirror.example/golang:1.26"
    monkeypatch.delenv("LABCTL_GO_IMAGE")
    assert config.base_image("GO_IMAGE", "golang:1.26") == "golang:1.26"


def test_base_image_override_from_config_file(monkeypatch, tmp_path):
    from labctl import config

    config._file_settings.cache_clear()
    (tmp_path / "config" / "labctl").mkdir(parents=True)
    (tmp_path / "config" / "labctl" / "config.toml").write_text(
        '[images]\nRUST_IMAGE = "mirror.example/rust:1.95"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("LABCTL_RUST_IMAGE", raising=False)
    assert config.base_image("RUST_IMAGE", "rust:1.95") == "mirror.example/rust:1.95"
    config._file_settings.cache_clear()


def _config_file(tmp_path, text: str) -> None:
    from labctl import config

    folder = tmp_path / "config" / "labctl"   # XDG_CONFIG_HOME is tmp_path/config (conftest)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text)
    config._file_settings.cache_clear()


@pytest.mark.parametrize("where", ["environment", "config file"])
def test_the_default_runtime_comes_from_labctl_runtime_or_the_config_file(where, monkeypatch,
                                                                          tmp_path):
    """With no --runtime, LABCTL_RUNTIME (else the config file's runtime =) decides. Asked for
    docker with a dead engine, `run` fails at once, where auto would fall back to local."""
    if where == "environment":
        monkeypatch.setenv("LABCTL_RUNTIME", "docker")
    else:
        _config_file(tmp_path, 'runtime = "docker"\n')
    result = runner.invoke(app, ["run", "go"])
    assert result.exit_code == 2, result.output
    assert "no-engine" in result.stderr and "--runtime local" in result.stderr
    doctor = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)
    assert doctor["default_runtime"] == "docker"


def test_labctl_runtime_wins_over_the_config_file(monkeypatch, tmp_path):
    from labctl import runtime

    _config_file(tmp_path, 'runtime = "docker"\n')
    monkeypatch.setenv("LABCTL_RUNTIME", "local")
    assert runtime.select(None).name == "local"
    monkeypatch.delenv("LABCTL_RUNTIME")
    _config_file(tmp_path, 'runtime = "local"\n')
    assert runtime.select(None).name == "local"


def test_a_bad_default_runtime_is_one_line_and_exit_2(monkeypatch):
    monkeypatch.setenv("LABCTL_RUNTIME", "podman")
    result = runner.invoke(app, ["run", "go"])
    assert result.exit_code == 2
    assert "unknown runtime 'podman'" in result.stderr and "Traceback" not in result.stderr


def test_help_of_a_command_that_starts_servers_removes_nothing(monkeypatch):
    """`labctl run --help` only prints: the reaper (which removes what dead labctls left) runs for
    `labctl run`, not for its help."""
    from labctl.runtime import reaper

    calls: list[int] = []
    monkeypatch.setattr(reaper, "reap_everywhere", lambda **_: calls.append(1) or [])
    for args in (["run", "--help"], ["compare", "-h"], ["exercise", "check", "--help"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.stdout
    assert calls == []
    CliRunner().invoke(app, ["exercises", "check"])
    assert calls == [1]


def _commands(command, path):
    """Every command under `labctl`, with its path of names."""
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, [*path, name])


def _groups():
    import typer

    return [(path, command) for path, command in _commands(typer.main.get_command(app), [])
            if getattr(command, "commands", None)]


@pytest.mark.parametrize("columns", [80, 120])
def test_the_command_lists_show_every_summary_whole(columns):
    """Click's formatter would cut each summary with "..." to fit one line: labctl's group class
    wraps the whole first paragraph under the name instead, within the terminal's width."""
    from labctl.commands.group import summary

    for path, group in _groups():
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
        assert result.exit_code == 0, result.output
        commands = result.stdout.partition("Commands:")[2]
        assert commands and "..." not in commands, path
        assert max(len(line) for line in result.stdout.splitlines()) <= columns, path
        listed = "".join(commands.split())
        for name, command in group.commands.items():
            assert "".join(summary(command).split()) in listed, [*path, name]


def test_a_group_alone_prints_its_help():
    result = runner.invoke(app, ["lab"])
    assert result.exit_code == 2
    assert "Usage" in result.stdout and "bottleneck" in result.stdout and result.stderr == ""


def test_help_shows_no_rich_markup_literally():
    """Help is Click's plain text: a [bold] or [env: ...] meant for Rich would show as typed."""
    import re

    import typer

    for path, command in _commands(typer.main.get_command(app), []):
        texts = [command.help or ""] + [getattr(param, "help", None) or ""
                                         for param in command.params]
        assert not [text for text in texts if re.search(r"\[/?[a-z][a-z ]*(:[^\]]*)?\]", text)], path
