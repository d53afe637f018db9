"""`labctl doctor` on this machine, with the real engine and with a dead one."""

import json

import pytest
from typer.testing import CliRunner

from labctl.cli import app

runner = CliRunner()


def test_doctor_without_an_engine_still_finds_the_toolchains(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    engine = next(i for i in report["sections"]["Docker"] if i["name"] == "Docker engine")
    assert engine["status"] == "missing"
    assert engine["fix"] and "--runtime local" in engine["fix"]
    assert report["can_run"]["docker"] == []
    # This machine has every toolchain, so the local runtime can run all four.
    assert report["can_run"]["local"] == ["go", "python", "rust", "node"]
    assert report["auto_would_use"] == "local"


@pytest.mark.docker
def test_doctor_with_the_engine(docker_engine):
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    engine = next(i for i in report["sections"]["Docker"] if i["name"] == "Docker engine")
    assert engine["status"] == "ok"
    assert report["can_run"]["docker"] == ["go", "python", "rust", "node"]
    assert report["auto_would_use"].startswith("docker")


def test_doctor_fails_when_nothing_can_run(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")
    monkeypatch.setenv("PATH", str(tmp_path))   # no go, cargo, node, npm
    from labctl import doctor

    monkeypatch.setitem(doctor.TOOLCHAINS, "python3",
                        doctor.TOOLCHAINS["python3"].__class__("no-such-python", ("--version",),
                                                               "install Python"))
    from labctl import ui

    monkeypatch.setattr(ui.console, "width", 400)   # no wrapping inside the table's cells
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2
    assert "nothing can run here" in result.stderr
    # Every missing piece comes with its fix, in the JSON and printed under it in the text.
    report = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)
    missing = [item for items in report["sections"].values() for item in items
               if item["status"] == "missing"]
    assert {"Docker engine", "python3", "go"} <= {item["name"] for item in missing}, missing
    for item in missing:
        assert item["fix"], f"{item['name']} is missing with no fix"
        assert "→ " + item["fix"] in result.stdout, item


@pytest.mark.parametrize("text,expected", [("go version go1.26.8 linux/amd64", (1, 26)),
                                           ("v20.20.2", (20, 20)), ("nonsense", None)])
def test_version_parsing(text, expected):
    from labctl.runtime.local import version_tuple

    assert version_tuple(text) == expected


def test_local_runtime_refuses_a_toolchain_older_than_the_servers_need(monkeypatch):
    from labctl import servers
    from labctl.errors import EnvironmentProblem
    from labctl.runtime import local

    monkeypatch.setattr(local, "toolchain_version", lambda name: "go version go1.20.1 linux/amd64")
    with pytest.raises(EnvironmentProblem) as caught:
        local.LocalRuntime().prepare(servers.get("go"))
    wanted = servers.required_toolchains()["go"]
    assert f"needs go ≥ {wanted[0]}.{wanted[1]}" in caught.value.message
    assert "--runtime docker" in caught.value.hint
