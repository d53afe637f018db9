"""Each stack's CPU profile, turned into one common format: folded (collapsed) stacks.

A folded profile maps a stack, written root first with frames joined by ``;``, to the number of
samples that saw exactly that stack: ``main;serve;handler 42``. It is the format Brendan Gregg's
flamegraph.pl reads, and every other picture (top functions, layers, the flame graph) is drawn
from it. The four inputs:

- **pprof** (Go's ``net/http/pprof``): a gzip-compressed protocol buffer, profile.proto;
- **py-spy raw** (``py-spy record --format raw``): already folded, frames ``func (file:line)``;
- **V8 .cpuprofile** (Node's ``--cpu-prof`` or the inspector's ``Profiler.stop``): a JSON tree of
  call-frame nodes and the list of sampled node ids;
- **pprof-rs** (Rust's ``pprof`` crate): the report's stacks as the Rust server writes them, root
  first, with the profiler's own signal-handler frames at the leaf end and symbol hashes.

Frames are normalised so that a function is one name however often it is sampled: line numbers
go, the profiler's own frames go, ``;`` inside a name becomes ``:``. Nothing here runs a profiler.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator

Folded = dict[str, int]


class ProfileFormatError(ValueError):
    """The bytes are not a profile of the format asked for."""


def fold(stacks: Iterable[tuple[list[str], int]]) -> Folded:
    """(frames root first, count) pairs → folded stacks; empty stacks and zero counts dropped."""
    folded: Folded = {}
    for frames, count in stacks:
        cleaned = [frame.replace(";", ":").strip() for frame in frames if frame.strip()]
        if not cleaned or count <= 0:
            continue
        key = ";".join(cleaned)
        folded[key] = folded.get(key, 0) + count
    return folded


def folded_text(folded: Folded) -> str:
    """The collapsed-stack text flamegraph.pl, inferno and speedscope read."""
    return "".join(f"{stack} {count}\n" for stack, count in sorted(folded.items()))


def _as_is(frame: str) -> str:
    return frame


def parse_folded_text(text: str, *, frame_name: Callable[[str], str] = _as_is,
                      what: str = "line") -> Folded:
    """Collapsed-stack text ("frame;frame;... count" a line) → folded stacks; ``frame_name``
    rewrites each frame (py-spy's carry line numbers to drop)."""
    stacks = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            raise ProfileFormatError(f"{what} {number} is not 'frame;frame;... count'")
        stacks.append(([frame_name(f) for f in stack.split(";")], int(count)))
    return fold(stacks)


# --- pprof (profile.proto) -----------------------------------------------------------------------

def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ProfileFormatError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise ProfileFormatError("varint too long")


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of one protobuf message: an int for varints, bytes for
    length-delimited fields. Fixed 32/64-bit fields are skipped (profile.proto has none we use)."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, wire, value
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > len(data):
                raise ProfileFormatError("truncated field")
            yield number, wire, data[at:at + length]
            at += length
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        else:
            raise ProfileFormatError(f"unknown wire type {wire}")


def _ints(wire: int, value: int | bytes) -> list[int]:
    """A repeated integer field, packed (one length-delimited run) or not."""
    if wire == 0:
        assert isinstance(value, int)
        return [value]
    assert isinstance(value, bytes)
    out, at = [], 0
    while at < len(value):
        number, at = _varint(value, at)
        out.append(number)
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def parse_pprof(data: bytes) -> Folded:
    """A pprof profile (gzip-compressed or not) → folded stacks of sample counts.

    Each sample lists location ids leaf first; a location holds one line per function inlined
    there, the innermost first. The value used is the ``samples`` column when the profile has
    one (Go's CPU profile: samples/count and cpu/nanoseconds), else the first.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ProfileFormatError(f"bad gzip stream: {exc}") from None
    strings: list[str] = []
    sample_types: list[tuple[int, int]] = []
    samples: list[tuple[list[int], list[int]]] = []
    functions: dict[int, int] = {}                 # function id → name string index
    locations: dict[int, list[int]] = {}           # location id → function ids, innermost first
    for number, _wire, value in _fields(data):
        if number == 6 and isinstance(value, bytes):
            strings.append(value.decode("utf-8", "replace"))
        elif number == 1 and isinstance(value, bytes):
            kind = dict((n, v) for n, _, v in _fields(value) if isinstance(v, int))
            sample_types.append((kind.get(1, 0), kind.get(2, 0)))
        elif number == 2 and isinstance(value, bytes):
            ids: list[int] = []
            values: list[int] = []
            for n, w, v in _fields(value):
                if n == 1:
                    ids += _ints(w, v)
                elif n == 2:
                    values += [_signed(x) for x in _ints(w, v)]
            samples.append((ids, values))
        elif number == 4 and isinstance(value, bytes):
            location_id, lines = 0, []
            for n, _, v in _fields(value):
                if n == 1 and isinstance(v, int):
                    location_id = v
                elif n == 4 and isinstance(v, bytes):
                    line = dict((ln, lv) for ln, _, lv in _fields(v) if isinstance(lv, int))
                    lines.append(line.get(1, 0))
            locations[location_id] = lines
        elif number == 5 and isinstance(value, bytes):
            fields = dict((n, v) for n, _, v in _fields(value) if isinstance(v, int))
            functions[fields.get(1, 0)] = fields.get(2, 0)
    if not strings and not samples:
        raise ProfileFormatError("not a pprof profile (no string table, no samples)")

    def text(index: int) -> str:
        return strings[index] if 0 <= index < len(strings) else f"?{index}"

    column = next((i for i, (kind, _) in enumerate(sample_types) if text(kind) == "samples"), 0)
    stacks = []
    for ids, values in samples:
        frames: list[str] = []
        for location_id in ids:                    # leaf first
            for function_id in locations.get(location_id, []):
                frames.append(text(functions.get(function_id, 0)) or f"0x{location_id:x}")
            if not locations.get(location_id):
                frames.append(f"0x{location_id:x}")
        count = values[column] if column < len(values) else 0
        stacks.append((frames[::-1], count))
    return fold(stacks)


# --- py-spy raw ----------------------------------------------------------------------------------

_PYSPY_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def pyspy_frame(frame: str) -> str:
    """``get_report (report.py:31)`` → ``get_report (report.py)``: one name per function."""
    match = _PYSPY_FRAME.match(frame.strip())
    return f"{match['name']} ({match['file']})" if match else frame.strip()


def parse_pyspy_raw(text: str) -> Folded:
    """py-spy's ``--format raw`` output (already root-first folded stacks) → folded stacks,
    without line numbers. ``process``/``thread`` frames (--subprocesses, --threads) are kept."""
    return parse_folded_text(text, frame_name=pyspy_frame, what="py-spy raw line")


# --- V8 .cpuprofile ------------------------------------------------------------------------------

# Nodes V8 adds that are not code: the tree's root, and samples taken while the thread was idle
# (not on the CPU at all). "(program)" (native code outside JavaScript) and "(garbage collector)"
# are kept: they are CPU time the runtime spent.
V8_NOT_CODE = {"(root)"}
V8_IDLE = "(idle)"


def v8_frame(call_frame: dict) -> str:
    name = call_frame.get("functionName") or "(anonymous)"
    url = str(call_frame.get("url") or "")
    if not url:
        return name
    short = url.removeprefix("file://")
    return f"{name} ({short})"


def parse_v8_cpuprofile(data: bytes | str | dict) -> Folded:
    """A V8 CPU profile (``.cpuprofile`` JSON: ``nodes``, ``samples``) → folded sample counts;
    idle samples are dropped (the thread was not on the CPU)."""
    try:
        profile = data if isinstance(data, dict) else json.loads(data)
        nodes = {node["id"]: node for node in profile["nodes"]}
        sampled = profile["samples"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProfileFormatError(f"not a V8 .cpuprofile ({exc})") from None
    parent: dict[int, int] = {}
    for node in nodes.values():
        for child in node.get("children") or []:
            parent[child] = node["id"]
    counts: dict[int, int] = {}
    for node_id in sampled:
        counts[node_id] = counts.get(node_id, 0) + 1
    stacks = []
    for node_id, count in counts.items():
        frames: list[str] = []
        current: int | None = node_id
        while current is not None and current in nodes:
            frame = v8_frame(nodes[current].get("callFrame") or {})
            if frame not in V8_NOT_CODE:
                frames.append(frame)
            current = parent.get(current)
        if frames and frames[0] == V8_IDLE:
            continue
        stacks.append((frames[::-1], count))
    return fold(stacks)


# --- pprof-rs ------------------------------------------------------------------------------------

# The profiler's own frames: SIGPROF's handler and the unwinder it calls. They sit at the leaf
# end of every stack pprof-rs records, above the frame that was really running.
_PPROF_RS_OWN = re.compile(r"^(pprof::|backtrace::|__restore_rt$|<pprof::|perf_signal_handler)")
_RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")


def rust_frame(frame: str) -> str:
    """Drop the symbol hash rustc appends to every mangled name (``::h0123456789abcdef``)."""
    return _RUST_HASH.sub("", frame.strip())


def parse_pprof_rs(text: str) -> Folded:
    """The Rust server's dump of a pprof-rs report: one line per stack, ``thread;root;...;leaf
    count``, names demangled. Drops the thread name and the profiler's own frames."""
    stacks = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.lstrip("-").isdigit():
            raise ProfileFormatError(f"pprof-rs line {number} is not 'thread;frame;... count'")
        frames = [rust_frame(f) for f in stack.split(";")][1:]   # the first is the thread
        while frames and _PPROF_RS_OWN.match(frames[-1]):
            frames.pop()
        stacks.append((frames, int(count)))
    return fold(stacks)


PARSERS = {
    "pprof": parse_pprof,
    "py-spy-raw": lambda data: parse_pyspy_raw(data.decode("utf-8", "replace")),
    "v8-cpuprofile": parse_v8_cpuprofile,
    "pprof-rs": lambda data: parse_pprof_rs(data.decode("utf-8", "replace")),
}


def to_folded(kind: str, data: bytes) -> Folded:
    """The profile ``data`` of format ``kind`` (a key of PARSERS) as folded stacks."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise ProfileFormatError(f"unknown profile format {kind!r}") from None
    return parser(data)
