"""Which generator sends the load, with the fallbacks of ``auto``, and the entry points the
commands call: ``prepare_generator``, ``run_load`` and ``load_for_compare``."""

from __future__ import annotations

import shutil
from dataclasses import replace
from typing import Any

from labctl.errors import LabctlError, UsageProblem
from labctl.measure.loadgen.generators import (
    BuiltinClient,
    ContainerGenerator,
    ContainerWrk,
    Generator,
    HostWrk,
)
from labctl.measure.loadgen.oha import ContainerOha, HostOha
from labctl.measure.loadgen.options import LoadOptions, LoadResult
from labctl.results.documents import LoadPart
from labctl.runtime.base import Instance, ProgressCallback, Runtime


def choose_generator(runtime: Runtime, options: LoadOptions) -> Generator:
    """The generator ``options.generator`` names; for ``auto``, the first choice (see
    ``prepare_generator`` for the fallbacks).

    ``--generator`` says where the load comes from (a container, this machine, labctl's own
    client); the tool follows from the loop: wrk for a closed loop, oha for a fixed ``--rate``
    (Debian's wrk cannot pace requests).
    """
    choice = options.generator
    open_loop = options.rate is not None
    client_engine = runtime.client_engine
    if client_engine is not None:
        # --client-context: the load comes from a container on that engine, nowhere else.
        if choice in {"builtin", "host"}:
            raise UsageProblem(
                f"--generator {choice} runs on this machine, but --client-context puts the load "
                f"generator on {client_engine.phrase}",
                "Use --generator container (the default), or drop --client-context")
        return ContainerOha(client_engine.runtime) if open_loop \
            else ContainerWrk(client_engine.runtime)
    if choice in {"builtin", "host"} and _engine_elsewhere(runtime):
        raise UsageProblem(
            f"--generator {choice} runs on this machine, which cannot reach servers on "
            f"{_engine_phrase(runtime)}",
            "Use --generator container (the default there): it runs next to the server")
    if choice == "builtin":
        return BuiltinClient()
    if choice == "host":
        return HostOha() if open_loop else HostWrk()
    if choice == "container":
        docker_runtime = _docker_runtime(runtime)
        return ContainerOha(docker_runtime) if open_loop else ContainerWrk(docker_runtime)
    # auto: a container on the servers' engine where they run in one, else this machine's tools
    engine = runtime.container_engine()
    if open_loop:
        return ContainerOha(engine) if engine is not None else HostOha()
    if engine is not None:
        return ContainerWrk(engine)
    return HostWrk() if shutil.which("wrk") else _fallback_builtin("no wrk on PATH")


def _fallback_builtin(why: str) -> BuiltinClient:
    generator = BuiltinClient()
    generator.notes.append(f"no real load generator could be had ({why}): falling back to the "
                           "built-in Python client")
    return generator


def _engine_elsewhere(runtime: Runtime) -> bool:
    """Are the servers on an engine whose bridge only a container next to them can reach, or
    measured from another engine (--client-context)? A generator here will not do then."""
    return runtime.client_engine is not None or runtime.measures_on_engine()


def _engine_phrase(runtime: Runtime) -> str:
    location = runtime.location
    return location.engine_phrase if location is not None else "another machine"


def _docker_runtime(runtime: Runtime):
    from labctl.runtime.docker import DockerRuntime

    engine = runtime.container_engine()
    if engine is not None:
        return engine
    docker_runtime = DockerRuntime()
    docker_runtime.check()
    return docker_runtime


def prepare_generator(runtime: Runtime, options: LoadOptions,
                      progress: ProgressCallback | None = None) -> Generator:
    """Choose and prepare the generator (building the wrk image if needed).

    With ``auto``, a container wrk that cannot be built falls back to a host wrk, then to the
    built-in client; each fallback is recorded in the generator's ``notes``.
    """
    options.validate()
    generator = choose_generator(runtime, options)
    try:
        generator.prepare(progress)
        return generator
    except LabctlError as problem:
        if options.generator != "auto" or not isinstance(generator, ContainerGenerator):
            raise
        if _engine_elsewhere(runtime):
            raise   # a host fallback could not reach a server on another machine
        why = f"the {generator.name} image could not be built: {problem.message}"
    if isinstance(generator, ContainerOha):
        host_oha = HostOha(may_compile=False)
        if host_oha.find():
            host_oha.prepare(progress)
            host_oha.notes.append(f"{why}; using the oha installed on this machine instead")
            return host_oha
        return _fallback_builtin(why)
    if shutil.which("wrk"):
        host = HostWrk()
        host.prepare(progress)
        host.notes.append(f"{why}; using the wrk installed on this machine instead")
        return host
    return _fallback_builtin(why)


def run_load(runtime: Runtime, instance: Instance, options: LoadOptions,
             client_cpus: str | None, *, generator: Generator | None = None,
             warmup_s: float = 0.0, progress: ProgressCallback | None = None) -> LoadResult:
    """Send ``options``' load to a running, healthy ``instance`` and return what came back.

    The entry point for ``labctl load`` and ``labctl compare --load``:

    - ``runtime``: the runtime ``instance`` runs on (the container generator builds its image
      with it, or with a Docker runtime of its own when ``runtime`` is local);
    - ``client_cpus``: the CPUs the generator is pinned to, e.g. ``client_cpuset(instance.limits)``
      ("0" on a 2-core machine whose servers run on CPU 1); None when they cannot be separated;
    - ``generator``: one from ``prepare_generator`` to reuse across several servers (the image is
      built once); chosen and prepared here when None;
    - ``warmup_s``: a load of that many seconds sent first, with the same options, and discarded.

    Never prints. Raises LabctlError when the generator cannot run at all; a run with socket
    errors or error responses is returned with ``flagged`` set and its ``reasons``.
    """
    options.validate()
    if generator is None:
        generator = prepare_generator(runtime, options, progress)
    if warmup_s > 0:
        generator.run(instance, replace(options, duration_s=warmup_s), client_cpus)
    result = generator.run(instance, options, client_cpus)
    result.warmup_s = warmup_s
    return result


COMPARE_WARMUP_S = 1.0
_prepared: dict[tuple[Any, str, bool], Generator] = {}


def load_for_compare(runtime: Runtime, instance: Instance, options: LoadOptions) -> LoadPart:
    """What ``labctl compare --load`` calls for each server: ``run_load`` with the generator on
    the CPUs the server is not pinned to (``client_cpuset``), a discarded warm-up of
    ``COMPARE_WARMUP_S`` (at most the load's own duration), and the generator chosen and
    prepared once per runtime, so every server meets the same generator. Returns
    ``LoadResult.as_dict()``.
    """
    key = (runtime, options.generator, options.rate is None)
    generator = _prepared.get(key)
    if generator is None:
        generator = _prepared[key] = prepare_generator(runtime, options)
    from labctl.runtime.client_engine import client_cpus

    result = run_load(runtime, instance, options, client_cpus(runtime, instance.limits),
                      generator=generator, warmup_s=min(COMPARE_WARMUP_S, options.duration_s))
    return result.as_dict()
