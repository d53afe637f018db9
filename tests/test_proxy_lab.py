"""The proxy lab end to end: nginx in front of real servers, on the Docker engine and on the
local runtime with the host's nginx; the document's shape, the counted upstream connections,
the rolling restart without a failed request, and nothing left running."""

from __future__ import annotations

import labrun
import pytest
from test_contracts import assert_conforms, assert_renders

from labctl.labs import nginx_config


def check_document(document: dict, names: tuple[str, ...]) -> None:
    assert document["schema"] == "labctl.lab.proxy/1"
    assert_conforms(document)
    assert "The proxy lab" in assert_renders(document)
    assert document["nginx"]["version"].startswith("nginx/1.")
    assert document["nginx"]["limits"]["cpus"] == 1.0
    assert set(document["servers"]) == set(names)
    # The stand-in upstream saw nginx turn the absolute-form target into a path, and never
    # received the request with two different Content-Lengths.
    assert document["forwarded"]["13"]["rewrites"]
    assert not document["forwarded"]["3"]["forwarded"]
    for name, entry in document["servers"].items():
        per = entry["hop"]["upstream_per_1000"]
        # nginx's defaults: one upstream connection per request, counted by the kernel.
        assert per["nginx defaults"]["fresh"] >= 990, name
        # With upstream keep-alive a handful of connections serve every request.
        assert per["upstream keep-alive"]["fresh"] <= 10, name
        assert per["upstream keep-alive"]["kept-alive"] <= 10, name
        odd = entry["odd"]
        assert sum(odd["counts"].values()) == 22
        assert odd["rows"]["3"]["nginx"] == "refused"
        slow = entry["slowloris"]
        assert slow["defaults"]["how"] == "open at the end", name
        assert slow["tightened"]["how"] == "closed", name
        # nginx holds the attack: the server sees only the normal client's requests.
        assert slow["tightened"]["server_accepted_from_attack"] == 0, name
        restarts = entry["restarts"]
        assert restarts["one"]["failed"] > 0, name
        assert restarts["rolling"]["failed"] == 0, (name, restarts["rolling"]["outcomes"])
        assert restarts["rolling"]["requests"] > 20


@pytest.mark.docker
def test_proxy_lab_on_docker(docker_engine, leftover_containers):
    document, seconds, pid = labrun.run_lab("proxy", "go", "node", "--quick",
                                            "--runtime", "docker")
    check_document(document, ("go", "node"))
    assert document["parameters"]["requests_per_series"] == 100
    assert "PassiveOpens" in document["servers"]["go"]["hop"]["counted_by"]
    assert seconds < 600   # about 2 minutes on a quiet machine, builds apart
    assert labrun.own(leftover_containers(), pid) == []


@pytest.mark.local
@pytest.mark.skipif(nginx_config.host_nginx() is None, reason="no nginx on this host")
def test_proxy_lab_on_the_local_runtime():
    from labctl import paths

    document, seconds, _ = labrun.run_lab("proxy", "go", "node", "--quick", "--runtime", "local")
    check_document(document, ("go", "node"))
    assert document["nginx"]["source"] == "the host's nginx"
    assert "connection table" in document["servers"]["go"]["hop"]["counted_by"]
    assert seconds < 600   # a first local build of the Node server takes minutes
    assert not [p for p in (paths.state_dir() / "local").glob("*.json") if "nginx" in p.name]
