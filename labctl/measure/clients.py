"""Where the measuring client runs, behind one interface (``MeasuringClient``) chosen in one place
(``for_runtime``).

``run``, ``compare`` and ``verify`` check and time servers through one of these, so the same code
decides the figures wherever the client runs:

- ``HereClient``: labctl's in-process libcurl probe, pinned to the CPUs the servers do not use.
  Used when the servers are reachable from this machine (local processes, or an engine here
  whose containers' bridge IPs this machine reaches).
- ``EngineClient``: the very same probe code (labctl/measure/agent.py, with this package copied
  into the image) in a container on the servers' engine, on the CPUs the servers do not use, over
  the engine's bridge network (labctl/runtime/probe_container.py starts it). Used when the engine
  is elsewhere; its answers come back as one JSON line through the engine's API.
- ``CrossEngineClient``: the same container on another engine (``--client-context``), reaching
  the servers through ports published on their engine's host (labctl/runtime/client_engine.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from labctl.measure import oneshot, sampling, verify
from labctl.results.documents import ClientFacts
from labctl.runtime import cpus
from labctl.runtime.base import ProgressCallback, Runtime
from labctl.runtime.probe_container import PROBE_IMAGE_TAG, ProbeContainer
from labctl.servers import Server

HERE_DESCRIPTION = "libcurl in-process (pycurl)"

Targets = dict[str, str]                        # server name → URL
RoundCallback = Callable[[int, int], None]      # (rounds done, rounds in all)


class MeasuringClient(Protocol):
    """What ``run``, ``compare`` and ``verify`` need of a client, wherever it runs."""

    description: str       # what the client is: "libcurl in-process (pycurl)"
    where: str             # where it runs, for people: "in labctl's own process on this machine"
    elsewhere: bool        # not in labctl's own process: progress lines then say ``where``
    # A phase line while ``prepare`` works (an image to build), or None when it has nothing to do.
    preparing: str | None

    def prepare(self, progress: ProgressCallback | None = None) -> None: ...

    def check_all(self, targets: dict[str, tuple[Server, str]]) -> dict[str, verify.Verification]:
        """Verify several servers: name → (server, url)."""
        ...

    def check(self, server: Server, url: str) -> verify.Verification: ...

    def measure(self, targets: Targets, *, cpuset: str | None, samples: int, warmup: int,
                block: int = 1, on_round: RoundCallback | None = None,
                one_shot: oneshot.Plan | None = None) -> tuple[dict, str | None]:
        """Latency series per server, path and mode, and the CPUs the client was pinned to.
        With ``one_shot``, also the curl series between the rounds, into ``one_shot.result``."""
        ...

    def date_changes(self, verification: verify.Verification, url: str) -> None: ...

    def facts(self) -> ClientFacts: ...


class SeriesDocument(dict):
    """A series already turned into its JSON form by the agent; answers ``as_dict`` like
    ``sampling.Series`` so documents are built the same way."""

    def as_dict(self) -> dict:
        return dict(self)


class HereClient:
    """The in-process probe on this machine."""

    description = HERE_DESCRIPTION
    where = "in labctl's own process on this machine"
    elsewhere = False
    preparing: str | None = None

    def prepare(self, progress: ProgressCallback | None = None) -> None:
        """Nothing to build: the probe is labctl's own process."""

    def check_all(self, targets: dict[str, tuple[Server, str]]) -> dict[str, verify.Verification]:
        return {name: self.check(server, url) for name, (server, url) in targets.items()}

    def check(self, server: Server, url: str) -> verify.Verification:
        return verify.verify_responses(server, url)

    def measure(self, targets: Targets, *, cpuset: str | None, samples: int, warmup: int,
                block: int = 1, on_round: RoundCallback | None = None,
                one_shot: oneshot.Plan | None = None) -> tuple[dict, str | None]:
        """Time the targets; with ``one_shot``, take the curl series between the rounds too
        (its processes inherit this process's CPUs, so they run where the probe does)."""
        with cpus.pinned(cpuset) as probe_cpus:
            curl = (oneshot.Interleaved(targets, sampling.DEFAULT_PATHS,
                                        samples=one_shot.samples, warmup=one_shot.warmup)
                    if one_shot else None)
            results = sampling.measure(targets, samples=samples, warmup=warmup, block=block,
                                       on_round=_also(curl, on_round))
            if curl is not None and one_shot is not None:
                one_shot.result = {**curl.finish().as_dict(one_shot.samples, one_shot.warmup),
                                   "where": self.where, "cpus": probe_cpus}
        return results, probe_cpus

    def date_changes(self, verification: verify.Verification, url: str) -> None:
        verify.verify_date_changes(verification, url)

    def facts(self) -> ClientFacts:
        return {"client": self.description, "where": self.where}


class EngineClient:
    """The same probe, in a container next to the servers on the Docker engine."""

    elsewhere = True

    def __init__(self, probe: ProbeContainer) -> None:
        self.probe = probe
        self.machine = probe.machine
        self.description = f"{HERE_DESCRIPTION} in a container ({PROBE_IMAGE_TAG})"
        self.where = f"in a container next to the server on {self.machine}"
        self.preparing: str | None = "preparing the probe that runs next to the servers"
        self._first_dates: dict[str, tuple[str, list]] = {}   # name → (url, [wall, date])
        self._date_checks: dict[str, list[dict]] = {}
        self.libcurl: str | None = None

    def prepare(self, progress: ProgressCallback | None = None) -> None:
        self.probe.prepare(progress)

    def _run(self, job: dict, *, cpuset: str | None, timeout_s: float) -> dict:
        return self.probe.run_job(job, cpuset=cpuset, timeout_s=timeout_s, where=self.where)

    def check_all(self, targets: dict[str, tuple[Server, str]]) -> dict[str, verify.Verification]:
        """Verify several servers in one container run."""
        job = {"job": "verify", "servers": {name: {"url": url, "greeting": server.greeting}
                                            for name, (server, url) in targets.items()}}
        answer = self._run(job, cpuset=None, timeout_s=30.0 * len(targets))
        found = {}
        for name, (server, url) in targets.items():
            entry = answer["servers"][name]
            verification = verify.Verification(server=server.name)
            verification.checks = [verify.Check(c["check"], c["status"], c["reason"])
                                   for c in entry["verification"]["checks"]]
            if entry.get("first_date"):
                self._first_dates[name] = (url, entry["first_date"])
            found[name] = verification
        return found

    def check(self, server: Server, url: str) -> verify.Verification:
        return self.check_all({server.name: (server, url)})[server.name]

    def measure(self, targets: Targets, *, cpuset: str | None, samples: int, warmup: int,
                block: int = 1, on_round: RoundCallback | None = None,
                one_shot: oneshot.Plan | None = None) -> tuple[dict, str | None]:
        """Time in one container run; the Date checks of the verified servers ride along (the
        timing takes longer than the second they need), and so does the curl series asked for
        with ``one_shot`` (the image installs curl)."""
        dates = {name: {"url": url, "first_date": first}
                 for name, (url, first) in self._first_dates.items() if name in targets}
        job = {"job": "measure", "targets": targets, "samples": samples, "warmup": warmup,
               "block": block, "paths": list(sampling.DEFAULT_PATHS),
               "modes": list(sampling.MODES), "dates": dates}
        if one_shot:
            job["one_shot"] = {"samples": one_shot.samples, "warmup": one_shot.warmup}
        # A generous bound: the slowest server answers well under 50 ms per request, and a
        # curl process starts in a few milliseconds (a slow engine: ten times that).
        requests = (samples + warmup) * len(targets) * len(sampling.DEFAULT_PATHS) * 2
        processes = ((one_shot.samples + one_shot.warmup) * len(targets)
                     * len(sampling.DEFAULT_PATHS) if one_shot else 0)
        answer = self._run(job, cpuset=cpuset,
                           timeout_s=30.0 + requests * 0.05 + processes * 0.2)
        if one_shot:
            one_shot.result = {**answer["one_shot"], "where": self.where, "cpus": cpuset}
        self.libcurl = answer.get("libcurl")
        for name in dates:
            self._first_dates.pop(name, None)
            self._date_checks[name] = answer["dates"].get(name, [])
        results = {name: {path: {mode: SeriesDocument(series) for mode, series in by_mode.items()}
                          for path, by_mode in by_path.items()}
                   for name, by_path in answer["results"].items()}
        return results, cpuset

    def date_changes(self, verification: verify.Verification, url: str) -> None:
        name = verification.server
        if name not in self._date_checks and name in self._first_dates:
            # Not measured (it failed a check): a job of its own for the Date check.
            _, first = self._first_dates.pop(name)
            job = {"job": "measure", "targets": {}, "samples": 1, "warmup": 0,
                   "paths": [], "modes": [], "dates": {name: {"url": url, "first_date": first}}}
            self._date_checks[name] = self._run(job, cpuset=None, timeout_s=10)["dates"][name]
        for check in self._date_checks.pop(name, []):
            verification.checks.append(verify.Check(check["check"], check["status"],
                                                    check["reason"]))

    def facts(self) -> ClientFacts:
        return {"client": self.description, "where": self.where, "engine": self.machine,
                "libcurl": self.libcurl, "image": self.probe.image.get("artifact")}


class CrossEngineClient(EngineClient):
    """The probe container on another engine than the servers' (``--client-context``): the URLs
    it is given are ports published on the server engine's host, so the figures include the
    network between the two engines."""

    def __init__(self, runtime: Runtime) -> None:
        client_engine = runtime.client_engine
        assert client_engine is not None    # for_runtime chose this class because there is one
        super().__init__(client_engine.runtime.own_probe_container())
        self.client_engine = client_engine
        self.machine = client_engine.phrase
        self.where = (f"in a container on {client_engine.phrase}, across the network to the "
                      f"servers' ports published on {client_engine.server_address.address}")


def _also(curl: oneshot.Interleaved | None,
          on_round: RoundCallback | None) -> RoundCallback | None:
    """An ``on_round`` that takes the curl series' share of the rounds, then reports."""
    if curl is None:
        return on_round

    def after(done: int, total: int) -> None:
        curl.after_round(done, total)
        if on_round:
            on_round(done, total)
    return after


def for_runtime(runtime: Runtime) -> MeasuringClient:
    """The client that can reach ``runtime``'s servers: the one place where that is decided."""
    if runtime.client_engine is not None:
        return CrossEngineClient(runtime)
    probe = runtime.probe_container()
    if probe is not None:   # the servers' addresses exist only on the engine's machine
        return EngineClient(probe)
    return HereClient()
