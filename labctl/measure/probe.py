"""Timing requests the way ``curl -w '%{time_total}'`` does, with libcurl in-process.

Why libcurl and not httpx: on a 2-core machine httpx adds 0.2–1 ms of its own to every request,
more than the Go server's whole response, and a ``curl`` process per request adds a cold start.
libcurl's CURLINFO_TOTAL_TIME_T is the very figure curl prints, in microseconds, and called
in-process it costs almost nothing. httpx is used for the functional checks (verify.py), where
correctness matters and time does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import pycurl

from labctl.errors import LabctlError
from labctl.measure.modes import FRESH, KEEPALIVE, MODE_LABELS, MODE_SHORT, MODES  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Sample:
    """One timed request, all times in microseconds from the start of the request."""

    status: int
    connect_us: float      # TCP connect done (time_connect)
    ttfb_us: float         # first byte of the response (time_starttransfer)
    total_us: float        # the whole response received (time_total)


class ProbeError(LabctlError):
    pass


class Prober:
    """A libcurl handle aimed at one server, timing requests on fresh or kept-alive connections.

    One handle is reused for both modes: creating a handle per request would time Python's
    allocator, not the server. In fresh mode libcurl is told to open a new connection and close
    it afterwards, which is exactly what a separate ``curl`` invocation does on the wire.
    """

    def __init__(self, base_url: str, mode: str, timeout_s: float = 5.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown probe mode {mode!r}")
        self.base_url = base_url.rstrip("/")
        self.mode = mode
        self._curl = pycurl.Curl()
        self._body = BytesIO()
        curl = self._curl
        curl.setopt(pycurl.WRITEFUNCTION, self._body.write)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.TIMEOUT_MS, int(timeout_s * 1000))
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(timeout_s * 1000))
        # No proxy, ever: the servers are on this machine, and a proxy from the environment
        # would put a third process in the timing.
        curl.setopt(pycurl.PROXY, "")
        curl.setopt(pycurl.NOPROXY, "*")
        fresh = 1 if mode == FRESH else 0
        curl.setopt(pycurl.FRESH_CONNECT, fresh)
        curl.setopt(pycurl.FORBID_REUSE, fresh)

    def request(self, path: str) -> Sample:
        curl = self._curl
        self._body.seek(0)
        self._body.truncate()
        curl.setopt(pycurl.URL, self.base_url + path)
        try:
            curl.perform()
        except pycurl.error as exc:
            code, message = exc.args if len(exc.args) == 2 else (None, str(exc))
            raise ProbeError(f"request to {self.base_url + path} failed: {message} (curl {code})",
                             "Check that the server is still running: labctl logs <server>") from None
        return Sample(
            status=curl.getinfo(pycurl.RESPONSE_CODE),
            connect_us=float(curl.getinfo(pycurl.CONNECT_TIME_T)),
            ttfb_us=float(curl.getinfo(pycurl.STARTTRANSFER_TIME_T)),
            total_us=float(curl.getinfo(pycurl.TOTAL_TIME_T)),
        )

    def new_connections(self) -> int:
        """How many connections libcurl had to open for the last request (0: it reused one)."""
        return int(self._curl.getinfo(pycurl.NUM_CONNECTS))

    @property
    def last_body(self) -> bytes:
        return self._body.getvalue()

    def close(self) -> None:
        self._curl.close()

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def curl_command(url: str) -> str:
    """The command a learner can paste to reproduce one fresh-connection sample by hand."""
    return f"curl -w 'time=%{{time_total}}\\n' -o /dev/null -s {url}"


def libcurl_version() -> str:
    return pycurl.version_info()[1]
