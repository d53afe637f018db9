"""Counting the TCP connections a server accepted, from the kernel's own records.

Docker: the server has a network namespace of its own, in which only it listens, so the kernel's
``Tcp: PassiveOpens`` counter there (/proc/net/snmp, RFC 1213's tcpPassiveOpens: connections
that went from LISTEN to SYN-RCVD) counts exactly the connections made to it. labctl reads it
from a throw-away container that joins the server's namespace, before and after a batch.

Local runtime: every process shares the host's namespace, where that counter also counts
everyone else's connections. There, labctl reads the connection table (/proc/net/tcp and tcp6)
and collects the client-side ports of every connection to the server's port, in any state: a
connection closed during the batch is still there in TIME_WAIT (60 s on Linux) on whichever side
closed first, and both sides are in the same table. New ports after the batch = connections made.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from labctl.runtime.base import Instance, Runtime

LISTEN = "0A"       # the state column of /proc/net/tcp for a listening socket
METHOD_DOCKER = ("the kernel's Tcp PassiveOpens counter in the server container's network "
                 "namespace (/proc/net/snmp), read before and after")
METHOD_LOCAL = ("client ports of connections to the server's port in the host's connection "
                "table (/proc/net/tcp, TIME_WAIT included), before and after")


def parse_passive_opens(snmp: str) -> int:
    """PassiveOpens from the text of /proc/net/snmp (a "Tcp:" names line, then values)."""
    rows = [line.split() for line in snmp.splitlines() if line.startswith("Tcp:")]
    if len(rows) < 2:
        raise ValueError("no Tcp: lines in /proc/net/snmp")
    names, values = rows[0], rows[1]
    return int(values[names.index("PassiveOpens")])


def peer_ports(table: str, server_port: int) -> set[int]:
    """The client-side ports of every connection to ``server_port`` in a /proc/net/tcp text."""
    found = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] == LISTEN:
            continue
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if local_port == server_port:
            found.add(remote_port)
        elif remote_port == server_port:
            found.add(local_port)
    return found


class AcceptCounter:
    """Connections accepted by one server instance, counted between ``mark`` and ``since``."""

    def __init__(self, runtime: Runtime, instance: Instance) -> None:
        self.runtime, self.instance = runtime, instance
        self.docker = runtime.container_engine()
        self.method = METHOD_DOCKER if self.docker is not None else METHOD_LOCAL
        self._mark: int | set[int] = 0

    def _read(self) -> int | set[int]:
        if self.docker is not None:
            from labctl.labs.nginx_proxy import NGINX_TAG

            run = self.docker.run_tool(
                NGINX_TAG, name="conn-counter", role="counter", entrypoint=["cat"],
                command=["/proc/net/snmp"], cpuset=None, mem_limit="32m", timeout_s=30,
                network_mode=f"container:{self.instance.ident}")
            return parse_passive_opens(run.stdout)
        port = int(self.instance.url.rsplit(":", 1)[1])
        ports: set[int] = set()
        for name in ("tcp", "tcp6"):
            try:
                ports |= peer_ports(Path(f"/proc/net/{name}").read_text(), port)
            except OSError:
                continue
        return ports

    def mark(self) -> None:
        self._mark = self._read()

    def since(self) -> int:
        now = self._read()
        if isinstance(now, set):
            return len(now - cast(set, self._mark))
        return now - cast(int, self._mark)
