"""The profile converters (pprof, py-spy raw, V8 .cpuprofile, pprof-rs → folded stacks) and the
layer classifier, on small profiles these tests build byte by byte."""

from __future__ import annotations

import gzip
import json

import pytest

from labctl.labs import profile_formats as formats
from labctl.labs import profile_layers as layers

# --- a minimal protobuf writer, enough for profile.proto ------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _packed(number: int, values: list[int]) -> bytes:
    return _field(number, b"".join(_varint(v) for v in values))


def pprof_profile(stacks: list[tuple[list[str], int]], *, inline: dict[str, str] | None = None,
                  packed: bool = True) -> bytes:
    """A Go-style CPU profile: sample types samples/count and cpu/nanoseconds; ``stacks`` root
    first. ``inline`` maps a function to one inlined into it (one location, two lines)."""
    strings = [""]

    def string(text: str) -> int:
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    inline = inline or {}
    body = b""
    body += _field(1, _field(1, string("samples")) + _field(2, string("count")))
    body += _field(1, _field(1, string("cpu")) + _field(2, string("nanoseconds")))
    function_ids: dict[str, int] = {}
    location_ids: dict[str, int] = {}
    for frames, _ in stacks:
        for name in [*frames, *(inline[f] for f in frames if f in inline)]:
            function_ids.setdefault(name, len(function_ids) + 1)
    for name, fid in function_ids.items():
        body += _field(5, _field(1, fid) + _field(2, string(name)) + _field(4, string("x.go")))
    inlined_into = set(inline.values())
    for name in function_ids:
        if name in inlined_into:
            continue
        lid = location_ids.setdefault(name, len(location_ids) + 1)
        lines = b""
        if name in inline:   # innermost first: the inlined function, then the one it is in
            lines += _field(4, _field(1, function_ids[inline[name]]) + _field(2, 7))
        lines += _field(4, _field(1, function_ids[name]) + _field(2, 3))
        body += _field(4, _field(1, lid) + _field(3, 0x1000 + lid) + lines)
    for frames, count in stacks:
        ids = [location_ids[f] for f in reversed(frames)]   # leaf first
        values = [count, count * 10_000_000]
        if packed:
            body += _field(2, _packed(1, ids) + _packed(2, values))
        else:
            body += _field(2, b"".join(_field(1, i) for i in ids)
                           + b"".join(_field(2, v) for v in values))
    for text in strings:
        body += _field(6, text.encode())
    return gzip.compress(body)


# --- pprof -------------------------------------------------------------------------------------


def test_go_pprof_becomes_folded_sample_counts():
    data = pprof_profile([(["runtime.goexit", "net/http.(*conn).serve", "main.getReport"], 30),
                          (["runtime.goexit", "net/http.(*conn).serve", "main.getReport",
                            "encoding/json.Marshal"], 12),
                          (["runtime.gcBgMarkWorker", "runtime.gcDrain"], 5)])
    folded = formats.parse_pprof(data)
    assert folded == {
        "runtime.goexit;net/http.(*conn).serve;main.getReport": 30,
        "runtime.goexit;net/http.(*conn).serve;main.getReport;encoding/json.Marshal": 12,
        "runtime.gcBgMarkWorker;runtime.gcDrain": 5,
    }


def test_pprof_unpacked_and_uncompressed_read_the_same():
    stacks = [(["main.main", "main.work"], 4)]
    packed = formats.parse_pprof(pprof_profile(stacks))
    plain = formats.parse_pprof(gzip.decompress(pprof_profile(stacks, packed=False)))
    assert packed == plain == {"main.main;main.work": 4}


def test_pprof_inlined_functions_become_their_own_frames():
    data = pprof_profile([(["main.main", "main.render"], 3)], inline={"main.render": "strings.Repeat"})
    assert formats.parse_pprof(data) == {"main.main;main.render;strings.Repeat": 3}


def test_pprof_garbage_is_refused():
    with pytest.raises(formats.ProfileFormatError):
        formats.parse_pprof(b"\x1f\x8bnot gzip at all")
    with pytest.raises(formats.ProfileFormatError):
        formats.parse_pprof(b"\x0a\xff")


# --- py-spy raw --------------------------------------------------------------------------------


def test_pyspy_raw_loses_line_numbers_and_merges_the_stacks():
    raw = ("<module> (main.py:65);run (uvicorn/main.py:580);get_report (report.py:31) 7\n"
           "<module> (main.py:65);run (uvicorn/main.py:580);get_report (report.py:33) 5\n"
           "<module> (main.py:65);_run_once (asyncio/base_events.py:1922) 2\n")
    assert formats.parse_pyspy_raw(raw) == {
        "<module> (main.py);run (uvicorn/main.py);get_report (report.py)": 12,
        "<module> (main.py);_run_once (asyncio/base_events.py)": 2,
    }


def test_pyspy_raw_that_is_not_folded_is_refused():
    with pytest.raises(formats.ProfileFormatError, match="line 1"):
        formats.parse_pyspy_raw("py-spy> Sampling process 100 times a second\n")


# --- V8 .cpuprofile ----------------------------------------------------------------------------


def v8_profile() -> dict:
    def node(node_id, name, url="", children=()):
        return {"id": node_id, "callFrame": {"functionName": name, "url": url, "scriptId": "0",
                                             "lineNumber": 0, "columnNumber": 0},
                "hitCount": 0, "children": list(children)}

    return {"nodes": [node(1, "(root)", children=[2, 5, 6, 7]),
                      node(2, "handle", "file:///app/node_modules/router/lib/layer.js", [3]),
                      node(3, "getReport", "file:///app/report.js", [4]),
                      node(4, "stringify"),
                      node(5, "(garbage collector)"), node(6, "(idle)"), node(7, "(program)")],
            "startTime": 0, "endTime": 90_000, "samples": [3, 3, 4, 4, 4, 5, 6, 6, 7],
            "timeDeltas": [10_000] * 9}


def test_v8_cpuprofile_becomes_folded_without_idle():
    folded = formats.parse_v8_cpuprofile(json.dumps(v8_profile()))
    assert folded == {
        "handle (/app/node_modules/router/lib/layer.js);getReport (/app/report.js)": 2,
        "handle (/app/node_modules/router/lib/layer.js);getReport (/app/report.js);stringify": 3,
        "(garbage collector)": 1,
        "(program)": 1,
    }


def test_v8_cpuprofile_without_samples_is_refused():
    with pytest.raises(formats.ProfileFormatError, match="cpuprofile"):
        formats.parse_v8_cpuprofile('{"nodes": []}')


# --- pprof-rs ----------------------------------------------------------------------------------


def test_pprof_rs_drops_the_thread_the_profiler_and_the_hashes():
    text = ("tokio-runtime-worker;std::sys::pal::unix::thread::Thread::new::thread_start::h0123456789abcdef;"
            "labctl_server::report::get_report::h1111111111111111;"
            "pprof::profiler::perf_signal_handler::h2222222222222222;"
            "backtrace::backtrace::trace_unsynchronized::h3333333333333333 9\n"
            "tokio-runtime-worker;tokio::runtime::scheduler::multi_thread::worker::run;"
            "epoll_wait;__restore_rt;pprof::profiler::perf_signal_handler 2\n")
    assert formats.parse_pprof_rs(text) == {
        "std::sys::pal::unix::thread::Thread::new::thread_start;labctl_server::report::get_report": 9,
        "tokio::runtime::scheduler::multi_thread::worker::run;epoll_wait": 2,
    }


def test_folded_text_round_trips():
    folded = {"a;b": 3, "a;c;d": 1}
    assert formats.parse_folded_text(formats.folded_text(folded)) == folded
    assert formats.to_folded("py-spy-raw", b"f (x.py:1) 2\n") == {"f (x.py)": 2}
    with pytest.raises(formats.ProfileFormatError):
        formats.to_folded("perf", b"")


# --- layers and top functions ------------------------------------------------------------------


def test_go_layers_follow_the_innermost_known_frame():
    rules = layers.GO_RULES
    folded = {
        "runtime.goexit;net/http.(*conn).serve;main.getReport;encoding/json.Marshal": 50,
        "runtime.goexit;net/http.(*conn).serve;main.getReport;runtime.mallocgc": 20,
        "runtime.goexit;net/http.(*conn).serve;net/http.(*conn).readRequest;bufio.(*Reader).fill": 10,
        "runtime.goexit;net/http.(*conn).serve;internal/poll.(*FD).Write;syscall.Syscall": 10,
        "runtime.gcBgMarkWorker;runtime.gcDrain;runtime.scanobject": 10,
    }
    shares = layers.layer_shares(folded, rules)
    assert shares == {"handler": 0.5, "framework": 0.1, "runtime": 0.3, "kernel": 0.1,
                      "other": 0.0}


def test_python_handler_is_the_servers_own_files():
    rules = layers.python_rules(["main.py", "report.py"])
    folded = {"<module> (main.py);run (uvicorn/main.py);get_report (report.py);dumps (json/__init__.py)": 6,
              "<module> (main.py);run (uvicorn/main.py);serialize_response (fastapi/routing.py)": 3,
              "<module> (main.py);_run_once (asyncio/base_events.py);select (selectors.py)": 1}
    shares = layers.layer_shares(folded, rules)
    assert (shares["handler"], shares["framework"], shares["runtime"]) == (0.6, 0.3, 0.1)


def test_node_and_rust_layers():
    node = layers.node_rules(["server.js", "report.js"])
    assert layers.layer_of_stack(
        ["handle (/app/node_modules/router/lib/layer.js)", "getReport (/app/report.js)",
         "stringify"], node) == "handler"
    assert layers.layer_of_stack(["(garbage collector)"], node) == "runtime"
    assert layers.layer_of_stack(["write (node:_http_outgoing)"], node) == "framework"
    rust = layers.rust_rules()
    assert layers.layer_of_stack(["tokio::runtime::task::raw::poll",
                                  "labctl_server::report::get_report",
                                  "serde_json::ser::to_string"], rust) == "handler"
    assert layers.layer_of_stack(["labctl_server::report::get_report", "_int_malloc"],
                                 rust) == "runtime"
    assert layers.layer_of_stack(["hyper::proto::h1::dispatch", "writev"], rust) == "kernel"
    assert layers.layer_of_stack(["mystery"], rust) == "other"


def test_top_functions_by_self_and_total():
    folded = {"main.a;main.b": 6, "main.a;main.c": 3, "main.a": 1, "main.r;main.r": 2}
    top = layers.top_functions(folded, layers.GO_RULES, limit=3)
    assert [(r["function"], r["samples"]) for r in top["self"]] == [
        ("main.b", 6), ("main.c", 3), ("main.r", 2)]
    # Total: main.a is on 10 of 12 stacks; the recursive main.r counts once per sample.
    assert [(r["function"], r["samples"]) for r in top["total"]] == [
        ("main.a", 10), ("main.b", 6), ("main.c", 3)]
    assert top["total"][0]["share"] == round(10 / 12, 4)
    assert top["self"][0]["layer"] == "handler"
