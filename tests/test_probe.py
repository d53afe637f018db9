"""The libcurl probe against a real HTTP server on loopback (no engine needed)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labctl.measure import sampling as measure
from labctl.measure.probe import FRESH, KEEPALIVE, ProbeError, Prober, curl_command

# libcurl timing a server in this process: never beside another test.
pytestmark = pytest.mark.serial


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, like the real servers

    def do_GET(self):  # noqa: N802 - name fixed by http.server
        body = b'{"status":"ok"}' if self.path == "/health" else b"nope"
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    connections = []
    original = server.process_request

    def counting(request, client_address):
        connections.append(client_address)
        original(request, client_address)

    server.process_request = counting
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", connections
    server.shutdown()
    server.server_close()


def test_fresh_mode_opens_a_connection_per_request(http_server):
    url, connections = http_server
    with Prober(url, FRESH) as prober:
        samples = [prober.request("/health") for _ in range(5)]
        assert prober.last_body == b'{"status":"ok"}'
    assert len(connections) == 5
    for sample in samples:
        assert sample.status == 200
        assert 0 < sample.connect_us <= sample.ttfb_us <= sample.total_us


def test_keepalive_mode_reuses_one_connection(http_server):
    url, connections = http_server
    with Prober(url, KEEPALIVE) as prober:
        samples = [prober.request("/health") for _ in range(5)]
    assert len(connections) == 1
    # After the first request there is no connect phase on a reused connection.
    assert all(s.connect_us == 0 for s in samples[1:])


def test_the_probe_says_how_many_connections_each_request_opened(http_server):
    url, _ = http_server
    with Prober(url, FRESH) as fresh:
        fresh.request("/health")
        fresh.request("/health")
        assert fresh.new_connections() == 1
    with Prober(url, KEEPALIVE) as kept:
        kept.request("/health")
        assert kept.new_connections() == 1
        kept.request("/health")
        assert kept.new_connections() == 0


def test_measure_discards_warmup_and_counts_non_2xx(http_server):
    url, _ = http_server
    results = measure.measure({"fake": url}, samples=8, warmup=3, paths=("/health", "/missing"))
    health = results["fake"]["/health"][FRESH]
    assert len(health.samples) == 8
    assert health.non_2xx == 0
    summary = health.summary()
    assert summary.count == 8 and summary.min <= summary.p50 <= summary.max
    missing = results["fake"]["/missing"][KEEPALIVE]
    assert missing.non_2xx == 8
    assert missing.summary() is None
    assert missing.as_dict()["summary"] is None


def test_refused_connection_is_a_clear_error():
    with Prober("http://127.0.0.1:9", FRESH, timeout_s=1) as prober:
        with pytest.raises(ProbeError) as caught:
            prober.request("/health")
    assert "127.0.0.1:9/health failed" in caught.value.message
    assert caught.value.message.endswith("(curl 7)")   # libcurl's code for a refused connect


def test_libcurl_version_is_the_version_number():
    import re

    from labctl.measure.probe import libcurl_version

    assert re.fullmatch(r"\d+\.\d+\.\d+(-\w+)?", libcurl_version())


def test_curl_line_matches_the_lesson():
    assert curl_command("http://127.0.0.1:8080/") == (
        "curl -w 'time=%{time_total}\\n' -o /dev/null -s http://127.0.0.1:8080/")


@pytest.fixture
def two_servers():
    """Two servers that tell themselves apart: each request is logged as (server, path), in
    the order the requests arrived at either of them."""
    arrivals: list[tuple[str, str]] = []
    lock = threading.Lock()
    started = []
    for name in ("a", "b"):
        class Logging(_Handler):
            server_name = name

            def do_GET(self):  # noqa: N802 - name fixed by http.server
                with lock:
                    arrivals.append((self.server_name, self.path))
                super().do_GET()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Logging)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield {s.RequestHandlerClass.server_name: f"http://127.0.0.1:{s.server_address[1]}"
           for s in started}, arrivals
    for server in started:
        server.shutdown()
        server.server_close()


def test_measure_takes_turns_in_blocks(two_servers):
    """Two servers, blocks of 3: a, a, a, b, b, b, a, … — each series gets exactly its samples,
    warm-up excluded, and no server gets all its requests in one go."""
    urls, arrivals = two_servers
    results = measure.measure(urls, samples=7, warmup=2, block=3, paths=("/health",),
                              modes=(FRESH,))
    assert len(results["a"]["/health"][FRESH].samples) == 7
    assert len(results["b"]["/health"][FRESH].samples) == 7
    # 9 requests each (2 warm-up + 7 timed) in rounds of 3, 3 and the last 3.
    assert [name for name, _ in arrivals] == ["a"] * 3 + ["b"] * 3 + ["a"] * 3 + ["b"] * 3 \
        + ["a"] * 3 + ["b"] * 3


def test_turns_cover_every_path_and_mode_in_each_round(two_servers):
    """Within a round every path and mode takes its turn before the next round starts, so a
    slow moment on the machine cannot land on one series only."""
    urls, arrivals = two_servers
    measure.measure(urls, samples=2, warmup=0, block=1, paths=("/health", "/"),
                    modes=(FRESH, KEEPALIVE))
    one_round = [(name, path) for path in ("/health", "/") for _mode in (FRESH, KEEPALIVE)
                 for name in ("a", "b")]
    assert arrivals == one_round * 2
