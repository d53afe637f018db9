"""The wheel carries servers/ and lessons/, so an installed labctl works outside a checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(root / "dist"),
                    str(REPO)], check=True, capture_output=True, timeout=600)
    return next((root / "dist").glob("labctl-*.whl"))


@pytest.fixture(scope="module")
def installed_labctl(built_wheel, tmp_path_factory) -> Path:
    """labctl installed from a freshly built wheel into a new virtual environment."""
    root = tmp_path_factory.mktemp("venv")
    wheel = built_wheel
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    str(wheel)], check=True, capture_output=True, timeout=900)
    return root / "venv" / "bin" / "labctl"


def test_installed_labctl_lists_servers_from_an_empty_directory(installed_labctl, tmp_path,
                                                                 monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = subprocess.run([str(installed_labctl), "servers", "--json"], cwd=empty, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [s["name"] for s in document["servers"]] == ["go", "python", "rust", "node"]
    for server in document["servers"]:
        # The sources come from the installed package, not from this checkout.
        assert "/_data/servers/" in server["source"], server["source"]
        assert not server["source"].startswith(str(REPO) + "/servers")
        assert Path(server["source"]).is_file()
        assert server["framework_version"] != "?"
    assert not list(empty.iterdir())   # nothing written to the working directory


def test_installed_labctl_has_the_lessons(installed_labctl, tmp_path):
    result = subprocess.run([str(installed_labctl), "lessons", "check"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout


def test_python_dash_m_works_and_says_the_version_built(installed_labctl, built_wheel):
    from labctl import __version__

    assert built_wheel.name.startswith(f"labctl-{__version__}-")
    python = installed_labctl.parent / "python"
    result = subprocess.run([str(python), "-m", "labctl", "--version"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"labctl {__version__}"


def test_wheel_has_no_build_products(built_wheel):
    import zipfile

    names = zipfile.ZipFile(built_wheel).namelist()
    assert "labctl/_data/servers/go/main.go" in names
    assert not [n for n in names if "node_modules" in n or "/target/" in n or "/.venv/" in n]


def test_installed_labctl_has_the_exercises(installed_labctl, tmp_path):
    checked = subprocess.run([str(installed_labctl), "exercises", "check"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr + checked.stdout
    started = subprocess.run([str(installed_labctl), "exercise", "start", "go-slow-clients"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    copy = tmp_path / "labctl-exercises" / "go-slow-clients"
    assert (copy / "server.toml").is_file() and (copy / "main.go").is_file()


def test_build_products_left_in_servers_stay_out_of_the_wheel(tmp_path):
    """A developer's own `cargo build` or `npm install` in servers/ must not be packaged."""
    import shutil
    import zipfile

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    copy = tmp_path / "repo"
    for name in tracked:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, copy / name)
    for product in ("servers/rust/target/release/labctl-server", "servers/node/node_modules/x/index.js",
                    "servers/python/__pycache__/main.cpython-311.pyc"):
        (copy / product).parent.mkdir(parents=True, exist_ok=True)
        (copy / product).write_text("build product")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"),
                    str(copy)], check=True, capture_output=True, timeout=600)
    names = zipfile.ZipFile(next((tmp_path / "dist").glob("labctl-*.whl"))).namelist()
    assert "labctl/_data/servers/rust/Cargo.toml" in names
    assert "labctl/_data/exercises/go-slow-clients/exercise.toml" in names
    assert not [n for n in names if "/target/" in n or "node_modules" in n or "__pycache__" in n]
