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


# -- the fix names the command for this machine ------------------------------------------------

DEBIAN_12 = {"ID": "debian", "NAME": "Debian GNU/Linux", "VERSION_ID": "12"}
UBUNTU_2404 = {"ID": "ubuntu", "ID_LIKE": "debian", "NAME": "Ubuntu", "VERSION_ID": "24.04"}
MINT_22 = {"ID": "linuxmint", "ID_LIKE": "ubuntu debian", "NAME": "Linux Mint", "VERSION_ID": "22"}
FEDORA_41 = {"ID": "fedora", "NAME": "Fedora Linux", "VERSION_ID": "41"}


@pytest.mark.parametrize("os_release,system,family,release", [
    (DEBIAN_12, "Linux", "apt", "debian 12"),
    (UBUNTU_2404, "Linux", "apt", "ubuntu 24.04"),
    (MINT_22, "Linux", "apt", "linuxmint 22"),      # a derivative: apt, but not a release we know
    (FEDORA_41, "Linux", "other", "fedora 41"),
    ({}, "Darwin", "brew", "macos"),
])
def test_platform_from_os_release(os_release, system, family, release):
    from labctl.doctor import this_platform

    found = this_platform(os_release, system)
    assert (found.family, found.release) == (family, release)


def test_apt_only_where_its_package_meets_the_pin():
    from labctl.doctor import install_fix, this_platform

    debian = this_platform(DEBIAN_12, "Linux")
    # Debian 12's Node (18.19) meets the Node server's 18; its Go (1.19) and Rust (1.65) do not.
    assert install_fix("node", (18, 0), debian) == "sudo apt-get install nodejs npm"
    go = install_fix("go", (1, 26), debian)
    assert "https://go.dev/dl/" in go and "golang-go is 1.19, older than the 1.26" in go
    assert "sh.rustup.rs" in install_fix("cargo", (1, 89), debian)
    # A pin raised past what apt has moves the fix to the toolchain's own installer.
    assert "https://nodejs.org" in install_fix("node", (22, 0), debian)
    assert install_fix("node", (18, 0), this_platform(UBUNTU_2404, "Linux")) == \
        "sudo apt-get install nodejs npm"
    # A release whose packages labctl does not know: the installer, and how to check apt's.
    mint = install_fix("node", (18, 0), this_platform(MINT_22, "Linux"))
    assert "https://nodejs.org" in mint and "apt-cache policy nodejs" in mint


def test_homebrew_on_macos_and_installers_elsewhere(monkeypatch):
    from labctl import doctor

    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/opt/homebrew/bin/brew")
    mac = doctor.this_platform({}, "Darwin")
    assert [doctor.install_fix(t, (1, 0), mac) for t in ("go", "cargo", "node")] == \
        ["brew install go", "brew install rust", "brew install node"]
    assert doctor.engine_fix(mac).startswith("brew install --cask docker")
    assert doctor.load_generator_fix("wrk", mac) == "brew install wrk"
    fedora = doctor.this_platform(FEDORA_41, "Linux")
    assert "https://go.dev/dl/" in doctor.install_fix("go", (1, 26), fedora)
    assert "docs.docker.com/engine/install" in doctor.engine_fix(fedora)
    for where in (mac, fedora, doctor.this_platform(DEBIAN_12, "Linux")):
        assert doctor.engine_fix(where).endswith("or use --runtime local")


def test_doctor_names_this_machines_package_manager(monkeypatch, tmp_path):
    """On this machine, for real: the System line, and the engine and toolchain fixes, name the
    package manager os-release implies (the Debian 12 container test checks the same there)."""
    from labctl import doctor

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")
    monkeypatch.setenv("PATH", str(tmp_path))   # no docker, go, cargo, node, npm, wrk
    report = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)
    where = doctor.this_platform()
    system = report["sections"]["System"][0]
    assert system["detail"].startswith(where.name)
    fixes = {item["name"]: item["fix"] for items in report["sections"].values() for item in items}
    assert fixes["Docker engine"] == doctor.engine_fix(where)
    if where.family == "apt":
        assert fixes["Docker engine"].startswith("sudo apt-get install docker.io")
        assert fixes["wrk on this host"] == "sudo apt-get install wrk"
    elif where.family == "brew":
        assert fixes["node"].startswith("brew install node")
    assert "https://go.dev/dl/" in fixes["go"] or fixes["go"].startswith("brew install go")
