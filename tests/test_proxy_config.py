"""The proxy lab's pure parts: every generated nginx configuration accepted by nginx's own
``nginx -t`` (the host's nginx), the kernel counters' parsers, what nginx forwarded, and the
judging of predictions."""

from __future__ import annotations

import pytest

from labctl.labs import edgecases, nginx_config, proxy
from labctl.labs.upstream_count import parse_passive_opens, peer_ports
from labctl.labs.upstream_recorder import parse_forwarded

NGINX = nginx_config.host_nginx()
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed on this host "
                                 "(sudo apt-get install nginx)")


@needs_nginx
@pytest.mark.parametrize("variant", sorted(proxy.configs(3)))
def test_nginx_accepts_every_generated_config(variant):
    text = proxy.configs(3, ("127.0.0.1:8080",))[variant].replace("SERVER_B_IP", "127.0.0.2")
    accepted, words = nginx_config.syntax_check(text, str(NGINX))
    assert accepted, words


@needs_nginx
def test_nginx_refuses_a_broken_config():
    # The check can fail: a directive nginx does not know is refused, with nginx's reason.
    text = nginx_config.render(nginx_config.DEFAULTS, ["127.0.0.1:8080"]).replace(
        "access_log off;", "access_log_typo off;")
    accepted, words = nginx_config.syntax_check(text, str(NGINX))
    assert not accepted and "access_log_typo" in words


def test_unset_lines_say_what_nginx_does_instead():
    defaults = nginx_config.render(nginx_config.DEFAULTS, ["10.0.0.1:8080"])
    assert "# (not set: proxy_http_version 1.0)" in defaults
    assert "# (not set: no idle upstream connections are kept)" in defaults
    assert "\n        keepalive" not in defaults
    kept = nginx_config.render(nginx_config.KEEPALIVE, ["10.0.0.1:8080"])
    assert "proxy_http_version 1.1;" in kept and 'proxy_set_header Connection "";' in kept
    assert f"keepalive {nginx_config.UPSTREAM_KEEPALIVE};" in kept
    assert "client_header_timeout 3s;" in nginx_config.render(nginx_config.tightened(3),
                                                              ["10.0.0.1:8080"])
    two = nginx_config.render(proxy.ROLLING, ["10.0.0.1:8080", "10.0.0.2:8080"])
    assert "server 10.0.0.1:8080;" in two and "server 10.0.0.2:8080;" in two
    assert "proxy_next_upstream error timeout;" in two
    assert "proxy_connect_timeout 250ms;" in two
    assert "{{" not in two and "@PORT@" in two
    with pytest.raises(ValueError):
        nginx_config.render(nginx_config.DEFAULTS, [])


SNMP = """Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 1234
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets
Tcp: 1 200 120000 -1 3 1017 0 2
Udp: InDatagrams NoPorts
Udp: 0 0
"""


def test_passive_opens_is_read_by_name():
    assert parse_passive_opens(SNMP) == 1017
    with pytest.raises(ValueError):
        parse_passive_opens("Ip: Forwarding\nIp: 1\n")


TCP_TABLE = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   1: 0100007F:1F90 0100007F:A000 06 00000000:00000000 03:00000000 00000000     0
   2: 0100007F:A001 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0
   3: 0100007F:1F91 0100007F:A002 01 00000000:00000000 00:00000000 00000000     0
"""


def test_peer_ports_take_both_sides_and_skip_the_listener():
    # 0x1F90 = 8080: a TIME_WAIT on the server's side (0xA000) and an established connection
    # seen from the client's side (0xA001); port 8081's connection is not the server's.
    assert peer_ports(TCP_TABLE, 8080) == {0xA000, 0xA001}


def test_forwarded_requests_are_parsed_with_their_body():
    chunked = parse_forwarded(b"POST /echo HTTP/1.0\r\nHost: app\r\nTransfer-Encoding: chunked"
                              b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert chunked is not None and chunked.body == b"hello"
    sized = parse_forwarded(b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nhiXX")
    assert sized is not None and sized.body == b"hi"
    assert parse_forwarded(b"GET / HTTP/1.0\r\n") is None


def _case(number: int) -> edgecases.Case:
    return next(c for c in edgecases.CASES if c.number == number)


def test_rewrites_ignore_what_nginx_does_to_every_request():
    plain = parse_forwarded(b"GET /health HTTP/1.0\r\nHost: app\r\nConnection: close\r\n\r\n")
    assert proxy.rewrites(_case(19), [plain]) == [] or proxy.rewrites(_case(19), [plain]) == [
        "request line HEAD /health -> GET /health"]
    absolute = proxy.rewrites(_case(13), [plain])
    assert absolute == ["request line GET http://labctl.test/health -> GET /health"]
    bare = proxy.rewrites(_case(6), [plain])
    assert bare == ["bare LF line ends re-sent as CRLF"]
    assert "2 requests on 2 upstream connections" in proxy.rewrites(_case(12), [plain, plain])


def test_learner_answers_are_judged_per_kind():
    assert proxy.judge_learner("1000", {"kind": "count", "value": 1000.0})
    assert proxy.judge_learner("1000", {"kind": "count", "value": 995.0})
    assert not proxy.judge_learner("1000", {"kind": "count", "value": 1.0})
    assert proxy.judge_learner("none", {"kind": "exact", "value": 0})
    assert proxy.judge_learner("some", {"kind": "exact", "value": 12})
    assert not proxy.judge_learner("0", {"kind": "exact", "value": 12})
    assert proxy.judge_learner("closed 3", {"kind": "ends", "how": "closed", "after_s": 3.1})
    assert not proxy.judge_learner("open", {"kind": "ends", "how": "closed", "after_s": 3.1})
    assert not proxy.judge_learner("", {"kind": "exact", "value": 0})
