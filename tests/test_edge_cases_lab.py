"""The edge-cases lab end to end: real servers, real sockets, on Docker and on the local runtime."""

from __future__ import annotations

import subprocess
import sys

import labrun
import pytest

from labctl.labs import edgecases

CASE_NUMBERS = [str(c.number) for c in edgecases.CASES]
# Rows whose answer no conforming parser can vary: a space before the colon, an invalid method,
# two different Content-Lengths (RFC 9112 §5.1, §3, §6.3) — and pipelined GETs answered in order.
CERTAIN = {"7": "400", "15": "400", "3": "400", "12": "200, 200"}


def run_lab(*args: str) -> tuple[dict, int]:
    document, _, pid = labrun.run_lab("edge-cases", *args)
    return document, pid


def check_document(document: dict, columns: list[str]) -> None:
    assert document["schema"] == "labctl.lab.edge-cases/1"
    assert document["id"]
    assert [c["number"] for c in document["cases"]] == [int(n) for n in CASE_NUMBERS]
    for case in document["cases"]:
        assert case["why"] and case["reference"] and case["level"] in ("MUST", "SHOULD", "MAY", "—")
    assert list(document["servers"]) == columns
    for column, entry in document["servers"].items():
        assert set(entry["cells"]) == set(CASE_NUMBERS)
        for cell in entry["cells"].values():
            assert cell["connection"] in ("open", "closed", "reset")
            assert set(cell) >= {"outcome", "statuses", "predicted", "prediction_holds",
                                 "breaks_must", "seconds"}
        for number, expected in CERTAIN.items():
            assert entry["cells"][number]["outcome"] == expected, (column, number)
            assert entry["cells"][number]["breaks_must"] is None
        assert entry["cells"]["12"]["in_order"] is True
        # A framing error ends the connection: nothing after it can be trusted.
        assert entry["cells"]["3"]["connection"] != "open"
    summary = document["summary"]
    assert set(summary) == {"musts_broken", "predictions_wrong", "rows_that_differ"}


@pytest.mark.docker
def test_edge_cases_on_docker(docker_engine, leftover_containers, tmp_path):
    predictions = tmp_path / "mine.toml"
    predictions.write_text('[go]\n7 = 400\n10 = "200 closed"\n[node]\nspace-before-colon = 400\n')
    document, pid = run_lab("go", "node", "--runtime", "docker", "--predict", str(predictions))
    check_document(document, ["go", "node"])
    # Go answers an HTTP/1.0 keep-alive request and keeps the connection (so "closed" is wrong);
    # it cleans a dot-segment path with a redirect; Node's header limit is 16 KiB.
    go, node = document["servers"]["go"]["cells"], document["servers"]["node"]["cells"]
    assert go["10"]["outcome"] == "200" and go["10"]["connection"] == "open"
    assert go["22"]["outcome"] == "307"
    assert node["16"]["outcome"] == "431"
    mine = document["your_predictions"]
    assert (mine["right"], mine["total"]) == (2, 3)
    assert labrun.own(leftover_containers(), pid) == []


@pytest.mark.local
def test_edge_cases_on_the_local_runtime():
    document, _ = run_lab("go", "node", "--runtime", "local")
    check_document(document, ["go", "node"])
    assert document["runtime"]["runtime"] == "local"


def test_a_bad_predictions_file_fails_before_any_server_starts(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[go\n7 = ")
    result = subprocess.run([sys.executable, "-m", "labctl", "lab", "edge-cases", "go",
                             "--predict", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr and "Traceback" not in result.stderr


def test_sheet_lists_every_row_and_column():
    result = subprocess.run([sys.executable, "-m", "labctl", "lab", "edge-cases", "go", "python",
                             "--sheet"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "[go]" in result.stdout and "[python-h11]" in result.stdout
    assert "[python-httptools]" in result.stdout
    assert result.stdout.count("# 22 = ") == 3
