"""The two connection modes every latency figure is labelled with.

A vocabulary of the result documents, kept apart from the libcurl prober that produces the
figures, so the renderers and document builders need not import libcurl.
"""

from __future__ import annotations

FRESH = "fresh"          # a new TCP connection for every request: what one `curl` call does
KEEPALIVE = "keepalive"  # one connection kept open and reused: what a browser or a client pool does
MODES = (FRESH, KEEPALIVE)

MODE_LABELS = {
    FRESH: "new connection per request",
    KEEPALIVE: "kept-alive connection",
}
MODE_SHORT = {FRESH: "new conn.", KEEPALIVE: "keep-alive"}
