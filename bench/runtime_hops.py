#!/usr/bin/env python3
"""How far the runtime choice travels in `labctl compare` before it is a runtime and a client.

Method: ``compare_command`` (the command's own function, as Typer calls it) runs for
``labctl compare go --runtime docker`` (or ``--runtime local``) under ``sys.setprofile``, from
its entry until ``measure.clients.for_runtime`` returns: by then the runtime object exists and
so does the measuring client chosen for it. Only the runtime's boundary is faked, so no engine
is needed and nothing starts: the docker SDK's ``from_env`` returns a client that answers
ping/info/version, and the runtime's ``prepare`` (the build, not part of the choice) returns a
reused artifact at once. Data directories are a fresh temporary one, DOCKER_HOST is the local
socket and LABCTL_* variables are cleared, so no configuration changes the path.

Followed: the calls the choice is handed to. A call counts when its function is in a file under
labctl/ and one of its arguments (``self`` included) is the runtime name as given (that very
string object) or a Runtime object, the one made from it; the rest (server lists, imports, the
spinner, the standard library, the SDK) is not the choice travelling. Counted over those calls:
- calls: how many, after the entry;
- files: the distinct labctl files they (and the entry) are in;
- returns to a file already left: the path is in the file of its innermost call (the entry's
  when none is open); each time it moves, by a call or a return, into a file it was in before
  and had left, that is one.

Usage: python bench/runtime_hops.py [--runtime docker|local] [--list]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import labctl

ROOT = Path(labctl.__file__).resolve().parent


class Reached(Exception):
    """The runtime and its measuring client exist: the end of the path."""


class FakeEngine:
    def ping(self) -> bool:
        return True

    def info(self) -> dict:
        return {"NCPU": os.cpu_count() or 1, "MemTotal": 8 << 30, "Name": "fake", "ID": "fake"}

    def version(self) -> dict:
        return {"Version": "28.0.0", "ApiVersion": "1.48", "Os": "linux"}


def labctl_file(frame) -> str | None:
    path = Path(frame.f_code.co_filename).resolve()
    return str(path.relative_to(ROOT.parent)) if path.is_relative_to(ROOT) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=("docker", "local"), default="docker")
    parser.add_argument("--list", action="store_true", help="print each call as it is made")
    args = parser.parse_args()

    for name in [n for n in os.environ if n.startswith("LABCTL_")]:
        del os.environ[name]
    home = tempfile.mkdtemp(prefix="runtime-hops-")
    os.environ.update(HOME=home, XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data",
                      XDG_CACHE_HOME=f"{home}/cache", DOCKER_HOST="unix:///var/run/docker.sock")
    os.environ.pop("DOCKER_CONTEXT", None)

    import docker

    from labctl.commands.compare_cmd import compare_command
    from labctl.measure import clients
    from labctl.runtime.base import BuildInfo, Runtime
    from labctl.runtime.docker import DockerRuntime
    from labctl.runtime.local import LocalRuntime

    docker.from_env = lambda **_kwargs: FakeEngine()
    for runtime_class in (DockerRuntime, LocalRuntime):
        runtime_class.prepare = lambda self, server, on_line=None, rebuild=False: BuildInfo(
            artifact=f"fake/{server.name}", built=False, seconds=0.0)
    real_for_runtime = clients.for_runtime

    def for_runtime(runtime):
        client = real_for_runtime(runtime)
        sys.setprofile(None)
        raise Reached(f"{type(runtime).__name__} and {type(client).__name__}")

    clients.for_runtime = for_runtime

    choice = "".join(args.runtime)   # a string of its own, followed by identity
    calls: list[str] = []
    visited: list[str] = []          # the file the path is in, each time it changes
    open_frames: list[tuple[object, str]] = []   # the counted calls not returned yet

    def handed_the_choice(frame) -> bool:
        code = frame.f_code
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        values = [frame.f_locals.get(name) for name in names]
        return any(isinstance(v, Runtime) or v is choice for v in values)

    def moved(file: str) -> None:
        if not visited or visited[-1] != file:
            visited.append(file)

    def profile(frame, event, _arg) -> None:
        if event == "call":
            file = labctl_file(frame)
            if not open_frames:
                if frame.f_code is compare_command.__code__:
                    open_frames.append((frame, file))
                    moved(file)
                return
            if file and handed_the_choice(frame):
                calls.append(f"{file}:{frame.f_code.co_name}")
                if args.list:
                    print(f"  {calls[-1]}", file=sys.stderr)
                open_frames.append((frame, file))
                moved(file)
        elif event == "return" and len(open_frames) > 1 and open_frames[-1][0] is frame:
            open_frames.pop()
            moved(open_frames[-1][1])

    sys.setprofile(profile)
    try:
        compare_command(names=["go"], samples=10, warmup=0, cold_starts=1, load=False,
                        connections=1, duration="1s", cpus=1.0, memory=512, json_out=True,
                        csv_out=False, svg=None, html=None, report_file=None,
                        runtime_name=choice, sources=None, client_context=None)
    except Reached as reached:
        end = str(reached)
    else:
        sys.exit("compare_command finished without choosing a measuring client")
    finally:
        sys.setprofile(None)

    files = set(visited)
    returns = sum(1 for i, file in enumerate(visited) if file in visited[:i])
    print(f"labctl compare --runtime {args.runtime}, to {end}:")
    print(f"  calls: {len(calls)}")
    print(f"  distinct labctl files: {len(files)}")
    print(f"  returns to a file already left: {returns}")


if __name__ == "__main__":
    main()
