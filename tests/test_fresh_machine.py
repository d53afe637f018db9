"""The README's set-up, as a new learner meets it: a fresh Debian 12 with the distribution's
python3, which is externally managed (PEP 668: `pip install` into it is refused).

A container from the plain Debian 12 image (the one labctl's wrk container uses: the official
one, or scripts/build-base-images.sh's stand-in where no registry answers) gets python3 and what
the README says to install first, from Debian's mirror, and a clean copy of this checkout
(tracked and untracked files, nothing .gitignore excludes: no .venv, no build products). There a
non-root user with no LABCTL_* variables runs the README's main-job line exactly as the README
writes it (read from the README, not copied here), then `labctl doctor`, then the README's test
command on one small test file. With no engine and no Go, Rust or Node, labctl must end the main
job with its own one-line message saying what is missing and how to get it: never a pip error,
never a traceback.

The container reaches PyPI as a learner's machine does, through the system's trust store, which
holds this machine's locally added CA certificates (copied in, as build-base-images.sh does):
Debian's pip reads that store, so nothing pip-specific is set. The image is cached under a label
holding a hash of its inputs (base image, Dockerfile, CAs), so a second run skips apt.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from conftest import RUN_TOKEN

REPO = Path(__file__).resolve().parents[1]
IMAGE = "labctl-test/fresh-debian12:latest"
INPUTS_LABEL = "labctl-test.fresh-machine-inputs"
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
LEARNER = "learner"
# Two pip installs from PyPI and a cold mypy run: about 2.5 minutes on a quiet 2-core machine, and
# ten times that when other builds load it (the learner's session is bounded inside the container
# 60 s sooner, so what it wrote so far comes back).
RUN_TIMEOUT_S = 1800

DOCKERFILE = """\
ARG BASE
FROM ${BASE}
COPY local-ca/ /usr/local/share/ca-certificates/
# What a learner's Debian 12 has (python3, the CA store) and what the README says to install
# first. The package lists stay: the test reads the versions apt offers.
RUN apt-get update -q \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ca-certificates python3 %(first)s \\
    && update-ca-certificates \\
    && useradd --create-home --shell /bin/bash %(user)s
"""


# -- what the README says --------------------------------------------------------------------

def setup_section() -> str:
    text = (REPO / "README.md").read_text()
    return text.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]


def main_job_line() -> str:
    found = re.search(r"\*\*Run the main job\*\*.*?```sh\n(.+?)\n```", setup_section(), re.S)
    assert found, "the README's set-up has no main-job command block"
    return found.group(1)


def install_first_packages() -> list[str]:
    found = re.search(r"`sudo apt install ([^`]+)`", setup_section())
    assert found, "the README's set-up does not say what to install first on Debian"
    return found.group(1).split()


def test_the_readme_never_installs_into_an_externally_managed_python():
    line = main_job_line()
    assert "\n" not in line, "the main job is one line"
    readme = (REPO / "README.md").read_text()
    for text, where in ((readme, "README.md"), ((REPO / "scripts" / "test").read_text(), "scripts/test")):
        assert "--break-system-packages" not in text, where
        assert not re.search(r"sudo\s+(\S+\s+-m\s+)?pip", text), where
    # Every pip in the README goes through the project's virtual environment.
    for command in re.findall(r"`([^`\n]*\bpip install[^`\n]*)`|^(.*\bpip install.*)$", readme, re.M):
        command = next(part for part in command if part)
        assert ".venv/bin/pip" in command, command
    # CI runs exactly the README's test command, nothing cleverer; exec'd, so that a runner's
    # SIGTERM reaches the test command itself (which passes it on to pytest).
    assert re.search(r"```sh\n\./scripts/test\n```", setup_section())
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == "exec ./scripts/test", ci


# -- the container ---------------------------------------------------------------------------

def checkout_archive() -> bytes:
    """This checkout as the README's `git clone` would leave it, under labctl/, owned by the
    learner (uid 1000: the first user useradd makes)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True, timeout=60)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = 1000
            info.uname = info.gname = LEARNER
            return info

        archive.add(REPO, arcname="labctl", recursive=False, filter=owned)
        folders: set[Path] = set()
        for name in sorted(set(listed.stdout.decode().split("\0")) - {""}):
            path = REPO / name
            if not (path.is_file() or path.is_symlink()):   # tracked, but deleted in the work tree
                continue
            for parent in reversed(Path(name).parents[:-1]):
                if parent not in folders:
                    folders.add(parent)
                    archive.add(REPO / parent, arcname=f"labctl/{parent}", recursive=False, filter=owned)
            archive.add(path, arcname=f"labctl/{name}", recursive=False, filter=owned)
    return buffer.getvalue()


def fresh_debian_image(client) -> str:
    """The Debian 12 image with python3 and the README's first installs, built once per inputs."""
    import docker

    from labctl import config

    base = config.base_image(config.DEBIAN_IMAGE_ARG, config.DEFAULT_DEBIAN_IMAGE)
    try:
        base_id = client.images.get(base).id
    except docker.errors.ImageNotFound:
        base_id = client.images.pull(base).id
    dockerfile = DOCKERFILE % {"first": " ".join(install_first_packages()), "user": LEARNER}
    cas = sorted(LOCAL_CA_DIR.glob("*.crt")) if LOCAL_CA_DIR.is_dir() else []
    inputs = hashlib.sha256("\0".join([base_id, dockerfile]).encode())
    for ca in cas:
        inputs.update(ca.name.encode() + b"\0" + ca.read_bytes())
    wanted = inputs.hexdigest()[:16]
    try:
        existing = client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        existing = None
    if existing is not None and existing.labels.get(INPUTS_LABEL) == wanted:
        return IMAGE
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Dockerfile").write_text(dockerfile)
        (Path(context) / "local-ca").mkdir()
        for ca in cas:
            (Path(context) / "local-ca" / ca.name).write_bytes(ca.read_bytes())
        client.images.build(path=context, tag=IMAGE, buildargs={"BASE": base}, pull=False,
                            rm=True, forcerm=True, labels={INPUTS_LABEL: wanted})
    if existing is not None:   # the image this build replaced; kept if something still uses it
        try:
            client.images.remove(existing.id)
        except docker.errors.APIError:
            pass
    return IMAGE


def learner_script(main_job: str) -> str:
    """Each step's output into its own file under /tmp/out; the README's line verbatim."""
    return f"""
set +e
mkdir -p /tmp/out && cd ~/labctl
env > /tmp/out/env
id -u > /tmp/out/uid
test -f /usr/lib/python3.11/EXTERNALLY-MANAGED && echo yes > /tmp/out/externally-managed
echo "the README's main-job line" > /tmp/out/step
date +%s.%N > /tmp/out/main.start
(
{main_job}
) > /tmp/out/main.out 2> /tmp/out/main.err
echo $? > /tmp/out/main.rc
date +%s.%N > /tmp/out/main.end
echo "labctl doctor" > /tmp/out/step
date +%s.%N > /tmp/out/doctor.start
.venv/bin/labctl doctor --json > /tmp/out/doctor.json 2> /tmp/out/doctor.err
echo $? > /tmp/out/doctor.rc
echo "./scripts/test" > /tmp/out/step
date +%s.%N > /tmp/out/test.start
./scripts/test tests/test_stats.py -q -p no:cacheprovider > /tmp/out/test.out 2> /tmp/out/test.err
echo $? > /tmp/out/test.rc
date +%s.%N > /tmp/out/test.end
apt-cache policy golang-go cargo nodejs npm > /tmp/out/apt-policy 2>&1
echo done > /tmp/out/step
"""


_session: list = []   # the one session's files, or why it failed (not retried: it takes minutes)


def run_on_a_fresh_debian(client) -> dict[str, str]:
    """Run the learner's session once per test run; every file of /tmp/out, by name."""
    if not _session:
        try:
            _session.append(_learner_session(client))
        except Exception as exc:  # noqa: BLE001 - kept and raised again, for the second test too
            _session.append(exc)
    if isinstance(_session[0], Exception):
        raise _session[0]
    return _session[0]


def _learner_session(client) -> dict[str, str]:
    image = fresh_debian_image(client)
    container = client.containers.create(
        image, ["timeout", str(RUN_TIMEOUT_S - 60), "bash", "-lc", learner_script(main_job_line())],
        user=LEARNER, working_dir=f"/home/{LEARNER}", name=f"labctl-test-fresh-debian-{RUN_TOKEN}",
        labels={"labctl-test": "fresh-machine"}, environment={"HOME": f"/home/{LEARNER}"})
    try:
        container.put_archive(f"/home/{LEARNER}", checkout_archive())
        container.start()
        container.wait(timeout=RUN_TIMEOUT_S)
        chunks, _ = container.get_archive("/tmp/out")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            return {Path(member.name).name: archive.extractfile(member).read().decode()  # type: ignore[union-attr]
                    for member in archive.getmembers() if member.isfile()}
    finally:
        container.remove(force=True)


def shown(out: dict[str, str], *names: str) -> str:
    return "\n".join(f"--- {name}:\n{out.get(name, '(missing)')}" for name in names)


def finished(out: dict[str, str]) -> dict[str, str]:
    """The session's files, once it is known to have run to its end."""
    step = out.get("step", "(not started)\n").strip()
    assert step == "done", (f"the learner's session stopped within {RUN_TIMEOUT_S - 60} s at: {step}\n"
                            + shown(out, "main.err", "doctor.err", "test.err", "test.out"))
    return out


@pytest.mark.docker
def test_readme_main_job_on_a_fresh_debian_12(docker_engine):
    out = finished(run_on_a_fresh_debian(docker_engine))
    print(f"$ {main_job_line()}   # took {float(out['main.end']) - float(out['main.start']):.0f} s")
    print(shown(out, "main.rc", "main.err"))
    assert out.get("externally-managed") == "yes\n", "Debian's python3 should be externally managed"
    assert not [v for v in out["env"].splitlines() if v.startswith("LABCTL_")]
    assert out["uid"].strip() != "0"
    stderr = out["main.err"]
    assert "Traceback" not in stderr and "externally-managed" not in stderr, shown(out, "main.err")
    assert not re.search(r"^ERROR:", out["main.out"] + stderr, re.M), shown(out, "main.out", "main.err")
    # pip installed labctl; then labctl itself stopped, on one line, naming what is missing
    # (no engine here; Go is the first server compare needs) and where to get it.
    assert "Successfully installed" in out["main.out"] and " labctl-" in out["main.out"], \
        shown(out, "main.out")
    assert out["main.rc"].strip() == "2", shown(out, "main.rc", "main.err")
    labctl_says = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(labctl_says) == 1, shown(out, "main.err")
    assert "needs `go`" in labctl_says[0] and "https://go.dev/dl/" in labctl_says[0]
    assert "Docker is not installed" in out["main.out"] + stderr   # why not on Docker


@pytest.mark.docker
def test_doctor_and_the_test_command_on_a_fresh_debian_12(docker_engine):
    out = finished(run_on_a_fresh_debian(docker_engine))
    print(f"doctor: {float(out['test.start']) - float(out['doctor.start']):.0f} s; "
          f"./scripts/test tests/test_stats.py: {float(out['test.end']) - float(out['test.start']):.0f} s")
    print(shown(out, "doctor.rc", "doctor.err", "test.rc", "test.err", "test.out"))
    # doctor: the Python server can run natively, so exit 0, and the fixes name Debian's packages
    # where Debian's versions meet the pins and the toolchains' installers where they do not.
    assert out["doctor.rc"].strip() == "0", shown(out, "doctor.err")
    report = json.loads(out["doctor.json"])
    fixes = {item["name"]: item["fix"] for items in report["sections"].values() for item in items}
    assert report["sections"]["System"][0]["detail"].startswith("Debian GNU/Linux 12:")
    assert fixes["Docker engine"].startswith("sudo apt-get install docker.io")
    assert fixes["node"] == fixes["npm"] == "sudo apt-get install nodejs npm"
    assert fixes["wrk on this host"] == "sudo apt-get install wrk"
    assert "golang-go is 1.19" in fixes["go"] and "https://go.dev/dl/" in fixes["go"]
    assert "cargo is 1.65" in fixes["cargo"] and "sh.rustup.rs" in fixes["cargo"]
    assert report["can_run"] == {"docker": [], "local": ["python"]}
    # The versions doctor believes Debian 12 packages are the ones its apt offers.
    from labctl import servers
    from labctl.doctor import APT_VERSIONS, NPM_MINIMUM

    candidates = dict(re.findall(r"^(\S+):\n\s+Installed: .*\n\s+Candidate: (\S+)", out["apt-policy"], re.M))
    offered = {package: tuple(int(n) for n in re.search(r"(?:\d+:)?(\d+)\.(\d+)", version).groups())
               for package, version in candidates.items()}
    # Debian's cargo 0.66 is Rust 1.65's (cargo's own numbers run one ahead of Rust's, from 0).
    offered["cargo"] = (1, offered["cargo"][1] - 1)
    offered = {"go": offered["golang-go"], "cargo": offered["cargo"], "node": offered["nodejs"],
               "npm": offered["npm"]}
    known = APT_VERSIONS["debian 12"]
    pins = {**servers.required_toolchains(), "npm": NPM_MINIMUM}
    for tool, version in offered.items():   # point releases move on; the table must stay a floor
        assert version >= known[tool], (tool, offered)
        assert (version >= pins[tool]) == (known[tool] >= pins[tool]), (tool, offered)
    # The README's test command: its own .venv (the one the main job made), as a non-root user
    # without an engine: ruff, mypy and the tests asked for.
    assert out["test.rc"].strip() == "0", shown(out, "test.out", "test.err")
    assert "[test] Python: the project's virtual environment .venv" in out["test.err"]
    assert "passed" in out["test.out"]
