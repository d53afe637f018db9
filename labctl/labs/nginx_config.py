"""The nginx configurations of the proxy lab, generated from one template a learner can read.

labctl/labs/nginx/proxy.conf holds every line; a ``ProxySettings`` fills the few places the lab
varies (upstream keep-alive, the header timeout, retries) and the upstream servers. A line the
settings leave at nginx's default is written as a comment saying so, so the generated file shows
what is *not* set as plainly as what is. ``@PORT@`` stays in the text: the entry point (the
image's start.sh, or the local runtime's command) puts in the port nginx listens on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).parent / "nginx" / "proxy.conf"
PORT_PLACEHOLDER = "@PORT@"
HEALTH_PATH = "/nginx-health"
UPSTREAM_KEEPALIVE = 16          # idle upstream connections kept per worker when enabled
_FILL_RE = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class ProxySettings:
    """What one variant of the proxy sets; None / False leave nginx's default."""

    variant: str = "defaults"
    keepalive: int | None = None             # `keepalive N` in the upstream block
    http11: bool = False                     # `proxy_http_version 1.1`
    clear_connection: bool = False           # `proxy_set_header Connection ""`
    client_header_timeout_s: int | None = None
    next_upstream: str | None = None         # `proxy_next_upstream ...`
    connect_timeout_ms: int | None = None    # `proxy_connect_timeout`


DEFAULTS = ProxySettings()
KEEPALIVE = ProxySettings("upstream keep-alive", keepalive=UPSTREAM_KEEPALIVE, http11=True,
                          clear_connection=True)


def tightened(timeout_s: int) -> ProxySettings:
    return ProxySettings(f"client_header_timeout {timeout_s}s",
                         client_header_timeout_s=timeout_s)


def _line(indent: int, directive: str | None, default_note: str) -> str:
    pad = " " * indent
    return f"{pad}{directive}" if directive else f"{pad}# (not set: {default_note})"


def render(settings: ProxySettings, upstreams: list[str], what: str = "the server") -> str:
    """The configuration text for ``upstreams`` ("172.17.0.2:8080", "127.0.0.1:41234")."""
    if not upstreams:
        raise ValueError("an nginx upstream block needs at least one server")
    values = {
        "what": what,
        "variant": settings.variant,
        "servers": "\n".join(f"        server {address};" for address in upstreams),
        "keepalive": _line(8, f"keepalive {settings.keepalive};" if settings.keepalive
                           else None, "no idle upstream connections are kept"),
        "http_version": _line(12, "proxy_http_version 1.1;" if settings.http11 else None,
                              "proxy_http_version 1.0"),
        "connection_header": _line(12, 'proxy_set_header Connection "";'
                                   if settings.clear_connection else None,
                                   "Connection: close"),
        "client_header_timeout": _line(4, f"client_header_timeout "
                                          f"{settings.client_header_timeout_s}s;"
                                       if settings.client_header_timeout_s else None,
                                       "client_header_timeout 60s"),
        "next_upstream": _line(12, f"proxy_next_upstream {settings.next_upstream};"
                               if settings.next_upstream else None,
                               "proxy_next_upstream error timeout"),
        "connect_timeout": _line(12, f"proxy_connect_timeout {settings.connect_timeout_ms}ms;"
                                 if settings.connect_timeout_ms else None,
                                 "proxy_connect_timeout 60s"),
    }
    return _FILL_RE.sub(lambda m: values[m.group(1)], TEMPLATE.read_text(encoding="utf-8"))


def with_port(text: str, port: int) -> str:
    return text.replace(PORT_PLACEHOLDER, str(port))


def host_nginx() -> str | None:
    """The host's nginx binary (on PATH, or Debian's /usr/sbin, which is not on every PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def nginx_version(binary: str) -> str | None:
    """ "nginx/1.22.1" from ``nginx -v`` (which writes to stderr)."""
    try:
        out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"nginx/[\w.]+", out.stderr + out.stdout)
    return match.group(0) if match else None


def syntax_check(text: str, binary: str, port: int = 18080) -> tuple[bool, str]:
    """Run ``nginx -t`` on ``text`` in a scratch prefix: (accepted, nginx's own words)."""
    with tempfile.TemporaryDirectory(prefix="labctl-nginx-") as prefix:
        conf = Path(prefix) / "nginx.conf"
        conf.write_text(with_port(text, port), encoding="utf-8")
        out = subprocess.run([binary, "-t", "-q", "-p", prefix + "/", "-c", str(conf),
                              "-e", "stderr"], capture_output=True, text=True, timeout=20,
                             check=False)
    return out.returncode == 0, (out.stderr + out.stdout).strip()
