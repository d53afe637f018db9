"""A second Docker engine that is really elsewhere: a second machine on this host.

It runs in network, mount and UTS namespaces of its own, so it has what a separate machine has:
its own interfaces and routes, its own bridge subnet and iptables, its own data root, its own
``/etc/docker`` (so its own key.json and therefore its own engine ID: Docker 20.10 derives the ID
from that key) and its own host name. The only way between it and this machine is one veth pair
with a /30 of its own; its API listens only on its end of that pair. No route leaves it, and
everything it publishes is on an address of that pair: all traffic stays on addresses that this
machine's namespaces own.

How it is started, and why (see also ../shared/notes/second-engine.md when you have it):
- ``unshare --mount --uts`` then ``mount --bind`` over /etc/docker and ``hostname``: its own key
  file and name, invisible to the first engine;
- ``nsenter --net=/var/run/netns/NAME``, not ``ip netns exec``: the latter remounts /sys for the
  namespace, which hides the cgroup mounts, and dockerd stops with "Devices cgroup isn't mounted";
- ``--tls=false``: without it, dockerd 20.10 sleeps 15 s at start-up to warn about a TCP
  listener without TLS (this one is reachable only through the veth).
Images come from the first engine with ``docker save | docker load``: builds there would need
a way out to the registries, which this "machine" deliberately lacks.

Needs root, iproute2, util-linux (unshare, nsenter) and dockerd, as scripts/test provides.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

NAMESPACE = "labctl-elsewhere"
HOST_SIDE = "lc-elsewhere-h"      # interface names: at most 15 characters
ENGINE_SIDE = "lc-elsewhere-n"
HOST_ADDRESS = "10.231.0.1"       # this machine's end of the veth
ENGINE_ADDRESS = "10.231.0.2"     # the second engine's end, and where its API listens
PREFIX = 30
BRIDGE = "10.232.0.1/24"          # its docker0, apart from the first engine's
HOST_NAME = "labctl-elsewhere"
ENDPOINT = f"tcp://{ENGINE_ADDRESS}:2375"
START_TIMEOUT_S = 60
TOOLS = ("ip", "unshare", "nsenter", "dockerd", "docker")


def missing_requirement() -> str | None:
    """Why this machine cannot host a second engine, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, mounts, a second dockerd)"
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if absent:
        return f"needs {', '.join(absent)} (iproute2, util-linux and docker.io)"
    return None


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)


class SecondEngine:
    """One second engine: ``start()``, use ``ENDPOINT``, then ``stop()`` (which also clears what
    an earlier, killed run left)."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="labctl-elsewhere-"))
        self.daemon: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.home / "dockerd.log"

    def start(self) -> None:
        self._clear_leftovers()
        self._check_addresses_free()
        _run("ip", "netns", "add", NAMESPACE)
        _run("ip", "link", "add", HOST_SIDE, "type", "veth", "peer", "name", ENGINE_SIDE)
        _run("ip", "link", "set", ENGINE_SIDE, "netns", NAMESPACE)
        _run("ip", "address", "add", f"{HOST_ADDRESS}/{PREFIX}", "dev", HOST_SIDE)
        _run("ip", "link", "set", HOST_SIDE, "up")
        _run("ip", "-n", NAMESPACE, "address", "add", f"{ENGINE_ADDRESS}/{PREFIX}", "dev",
             ENGINE_SIDE)
        _run("ip", "-n", NAMESPACE, "link", "set", ENGINE_SIDE, "up")
        _run("ip", "-n", NAMESPACE, "link", "set", "lo", "up")
        etc = self.home / "etc-docker"
        etc.mkdir()
        # sh runs in the new mount and UTS namespaces, then execs into dockerd (nsenter execs
        # too), so the Popen's pid is dockerd's own.
        inside = (f"mount --bind {etc} /etc/docker && hostname {HOST_NAME} && "
                  f"exec nsenter --net=/var/run/netns/{NAMESPACE} dockerd "
                  f"--data-root {self.home / 'data'} --exec-root {self.home / 'exec'} "
                  f"--pidfile {self.home / 'dockerd.pid'} -H unix://{self.home / 'docker.sock'} "
                  f"-H {ENDPOINT} --tls=false --bip {BRIDGE}")
        self.daemon = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", inside],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"), start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while _run("docker", "-H", ENDPOINT, "version", check=False).returncode != 0:
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text()[-2000:]
                self.stop()
                raise RuntimeError(f"the second dockerd did not answer on {ENDPOINT}:\n{tail}")
            time.sleep(0.5)

    def copy_images(self, *tags: str) -> None:
        """The first engine's images ``tags``, loaded into this one (labels and all, so labctl
        finds them up to date and builds nothing)."""
        save = subprocess.Popen(["docker", "save", *tags], stdout=subprocess.PIPE)
        load = subprocess.run(["docker", "-H", ENDPOINT, "load"], stdin=save.stdout,
                              capture_output=True, text=True, timeout=300)
        assert save.stdout is not None
        save.stdout.close()
        if save.wait(timeout=300) != 0 or load.returncode != 0:
            raise RuntimeError(f"copying {tags} to the second engine failed: {load.stderr}")

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self._remove_network()
        # The daemon's mounts lived in its own mount namespace and went with it.
        shutil.rmtree(self.home, ignore_errors=True)

    def _clear_leftovers(self) -> None:
        """An earlier run killed before its teardown: its daemon (found by its namespace's
        processes) and its network go first."""
        if Path(f"/var/run/netns/{NAMESPACE}").exists():
            pids = _run("ip", "netns", "pids", NAMESPACE, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
            time.sleep(2 if pids else 0)
        self._remove_network()

    @staticmethod
    def _remove_network() -> None:
        _run("ip", "netns", "delete", NAMESPACE, check=False)   # takes the veth pair with it
        _run("ip", "link", "delete", HOST_SIDE, check=False)

    @staticmethod
    def _check_addresses_free() -> None:
        routes = _run("ip", "-4", "route", "show").stdout
        for taken in ("10.231.0.", "10.232.0."):
            if taken in routes:
                raise RuntimeError(f"this machine already routes {taken}0: the second engine's "
                                   f"addresses would clash\n{routes}")


def packets_across() -> int:
    """Packets that have crossed the veth so far, both ways (read on this machine's end)."""
    statistics = Path("/sys/class/net") / HOST_SIDE / "statistics"
    return sum(int((statistics / name).read_text()) for name in ("rx_packets", "tx_packets"))
