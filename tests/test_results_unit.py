"""Pure parts of compare and results: the analysis, the diff, CSV, and the result store."""

import json

import pytest

from labctl import compare
from labctl.errors import LabctlError
from labctl.measure import stats
from labctl.results import diff as resultdiff
from labctl.results import export, store


def series(values):
    summary = stats.summarize([float(v) for v in values])
    return {"unit": "microseconds", "samples": len(values), "non_2xx": 0, "errors": 0,
            "summary": summary.as_dict(), "phases_p50": {"connect_us": 10.0, "ttfb_us": 20.0}}


def entry(name, fresh, keep, language=None):
    latency = {p: {"fresh": series(fresh), "keepalive": series(keep)} for p in ("/", "/health")}
    return {"name": name, "language": language or name.title(), "framework": "fw",
            "processes": 1, "latency": latency, "measured": True,
            "verification": {"status": "pass", "checks": []},
            "cold_start_ms": {"median": 100.0, "samples": [100.0]},
            "idle_memory_bytes": 1000, "build": {"size_bytes": 10, "built": False}}


def document(**servers):
    doc = {"schema": "labctl.compare/1", "runtime": {"runtime": "docker"},
           "host": {"cpu": "x", "cores": 2}, "limits": {"cpus": 1.0, "memory_mb": 512},
           "parameters": {"samples": 200}, "servers": servers}
    doc["analysis"] = compare.analyse(doc)
    return doc


def test_ratios_and_reading_name_the_fastest():
    doc = document(go=entry("go", range(100, 300), range(40, 240)),
                   python=entry("python", range(400, 600), range(300, 500)))
    ratios = doc["analysis"]["ratios"]["/health fresh"]
    assert ratios["fastest"] == "go"
    assert ratios["p50_ratio"]["go"] == 1.0
    assert ratios["p50_ratio"]["python"] == pytest.approx(499 / 199, rel=0.01)
    reading = " ".join(doc["analysis"]["reading"])
    assert "Go fw answered GET /health fastest" in reading
    assert "Python fw 2.5×" in reading
    assert "noise" not in reading


def test_a_kept_alive_connection_slower_than_a_new_one_is_called_noise_not_a_saving():
    doc = document(go=entry("go", range(100, 300), range(40, 240)),
                   rust=entry("rust", range(100, 300), range(900, 1100)))
    reading = " ".join(doc["analysis"]["reading"])
    assert "saved" not in reading and "-" not in reading.split("Reusing")[1][:40]
    assert "did not come out faster for Rust fw on this run" in reading
    healthy = document(go=entry("go", range(100, 300), range(40, 240)))
    assert "Reusing the connection saved 60 µs per request" in " ".join(
        healthy["analysis"]["reading"])


def test_servers_within_noise_are_called_a_tie():
    doc = document(go=entry("go", range(100, 300), range(40, 240)),
                   rust=entry("rust", range(101, 301), range(41, 241)))
    assert {"path": "/health", "mode": "fresh", "servers": ["go", "rust"]} in doc["analysis"]["ties"]
    reading = doc["analysis"]["reading"]
    assert any("Go fw, Rust fw answered GET /health fastest, within this run's own noise" in s
               for s in reading), reading
    # Said once, with the fastest: no ratio for Rust, and no second sentence on the same pair.
    assert not any("Rust fw 1.0×" in s for s in reading)
    assert not any("differ by less than" in s for s in reading)


def test_a_tie_below_the_fastest_is_its_own_sentence_and_the_fastest_keeps_its_ratios():
    doc = document(go=entry("go", range(100, 300), range(40, 240)),
                   rust=entry("rust", range(400, 600), range(300, 500)),
                   node=entry("node", range(401, 601), range(301, 501)))
    reading = doc["analysis"]["reading"]
    assert any("Go fw answered GET /health fastest (median" in s and "Rust fw 2.5×" in s
               and "Node fw 2.5×" in s for s in reading), reading
    assert any("Rust fw and Node fw differ by less than this run's own noise" in s
               or "Node fw and Rust fw differ by less than this run's own noise" in s
               for s in reading), reading


def test_the_table_says_what_cold_start_and_idle_memory_are():
    from rich.console import Console

    from labctl.results import render

    def legend(parameters):
        doc = document(go=entry("go", range(100, 300), range(40, 240)))
        doc["parameters"].update({"warmup_discarded": 10, "block": 10, "paths": ["/", "/health"],
                                  **parameters})
        console = Console(width=200, record=True)
        console.print(render.render_compare(doc))
        return " ".join(console.export_text().split())

    now = legend({"cold_starts": 5, "idle_memory_after_s": 0.5})
    assert ("cold start: from the start request to the first 200 on /health, median of 5 "
            "starts; idle memory: read 0.5 s after that first 200, page cache excluded.") in now
    # A result saved before labctl recorded when memory was read does not claim a moment.
    assert "idle memory: page cache excluded." in legend({"cold_starts": 5})


def test_unmeasured_server_is_reported():
    failed = entry("node", [1], [1])
    failed.pop("latency")
    failed["measured"] = False
    doc = document(go=entry("go", range(100, 200), range(50, 150)), node=failed)
    assert "node" not in doc["analysis"]["ratios"]["/health fresh"]["p50_ratio"]
    assert any("Node fw failed its checks" in s for s in doc["analysis"]["reading"])


def test_csv_has_a_row_per_server_path_and_mode():
    doc = document(go=entry("go", range(100, 200), range(50, 150)))
    lines = export.compare_csv(doc).splitlines()
    assert lines[0].startswith("server,path,connection,samples")
    assert len(lines) == 1 + 4
    assert lines[1].startswith("go,/,fresh,100,")


def test_diff_lists_conditions_then_figures():
    a = document(go=entry("go", range(100, 200), range(50, 150)))
    b = document(go=entry("go", range(300, 400), range(50, 150)))
    b["runtime"] = {"runtime": "local"}
    b["parameters"] = {"samples": 50}
    changes = resultdiff.diff(a, b)
    assert [c["what"] for c in changes["context"]][:1] == ["runtime"]
    assert changes["warnings"] and "different runtimes" in changes["warnings"][0]
    health = next(c for c in changes["latency"]
                  if c["path"] == "/health" and c["connection"] == "fresh")
    assert health["beyond_noise"] is True and health["p50_change_pct"] > 100
    same = next(c for c in changes["latency"]
                if c["path"] == "/health" and c["connection"] == "keepalive")
    assert same["beyond_noise"] is False


def test_diff_names_a_change_of_engine_but_not_an_engine_an_old_result_never_named():
    a = document(go=entry("go", range(100, 200), range(50, 150)))
    b = document(go=entry("go", range(100, 200), range(50, 150)))
    here = {"runtime": "docker", "engine": {"name": "vm", "id": "CY6G:I43S"}}
    a["runtime"] = here
    b["runtime"] = {"runtime": "docker", "engine": {"name": "labctl-elsewhere", "id": "CBP5:2JD7"}}
    changes = resultdiff.diff(a, b)
    assert changes["context"][0] == {"what": "engine", "a": "vm (CY6G:I43S)",
                                     "b": "labctl-elsewhere (CBP5:2JD7)"}
    assert "different Docker engines" in changes["warnings"][0]
    # The same engine: nothing to say.
    b["runtime"] = {"runtime": "docker", "engine": {"name": "vm", "id": "CY6G:I43S"}}
    assert resultdiff.diff(a, b)["context"] == [] and resultdiff.diff(a, b)["warnings"] == []
    # A result saved before engines were named cannot be called different.
    b["runtime"] = {"runtime": "docker", "engine": {"endpoint": "unix:///var/run/docker.sock"}}
    assert resultdiff.diff(a, b)["context"] == [] and resultdiff.diff(a, b)["warnings"] == []


def test_store_saves_lists_and_finds_by_prefix():
    first = store.save_result("compare", {"schema": "labctl.compare/1", "created": "t1",
                                          "servers": {"go": {}}})
    second = store.save_result("load", {"schema": "labctl.load/1", "created": "t2",
                                        "server": {"name": "node"}})
    listing = store.list_results()
    assert {e["id"] for e in listing} == {first, second}
    assert store.load_result(first)["id"] == first
    assert store.load_result(second[:-1])["id"] == second
    with pytest.raises(LabctlError, match="no saved result"):
        store.load_result("nothing-like-this")
    saved = json.loads((store.results_dir() / f"{first}.json").read_text())
    assert saved["id"] == first


def test_store_without_results_says_what_to_do():
    with pytest.raises(LabctlError) as caught:
        store.load_result("latest")
    assert "labctl compare" in caught.value.hint


def test_results_are_listed_newest_first_even_within_one_second():
    from typer.testing import CliRunner

    from labctl.cli import app

    saved = [store.save_result(kind, {"schema": f"labctl.{kind}/1", "created": "t",
                                      "servers": {"go": {}}})
             for kind in ("load", "compare", "load", "compare")]
    assert [e["id"] for e in store.list_results()] == saved[::-1]
    result = CliRunner().invoke(app, ["results", "--json"])
    assert result.exit_code == 0, result.output
    assert [e["id"] for e in json.loads(result.stdout)["results"]] == saved[::-1]
    assert store.load_result("latest")["id"] == saved[-1]


def test_a_corrupt_result_is_moved_aside_with_a_warning():
    from typer.testing import CliRunner

    from labctl.cli import app

    good = store.save_result("compare", {"schema": "labctl.compare/1", "created": "t",
                                         "servers": {"go": {}}})
    corrupt = store.results_dir() / "20260101-000000.000000-compare-dead.json"
    corrupt.write_text('{"schema": "labctl.compare/1", "servers": {')   # cut short
    result = CliRunner().invoke(app, ["results", "--json"])
    assert result.exit_code == 0, result.output
    assert [e["id"] for e in json.loads(result.stdout)["results"]] == [good]
    assert "warning:" in result.stderr and corrupt.stem in result.stderr
    assert not corrupt.exists()
    moved = list(store.results_dir().glob(corrupt.name + ".corrupt-*"))
    assert len(moved) == 1 and str(moved[0]) in "".join(result.stderr.split())   # Rich wraps
    assert moved[0].read_text().startswith('{"schema"')   # kept as it was, for the learner
    again = CliRunner().invoke(app, ["results", "show", "latest", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["id"] == good
    assert "warning" not in again.stderr   # moved once, not warned about forever
