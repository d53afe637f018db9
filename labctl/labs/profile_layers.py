"""Reading a folded profile: top functions by self and total samples, and the share per layer.

A sample belongs to one **layer**, the innermost one its stack shows. Walking from the leaf (the
function that was running) towards the root, the first frame that a stack's rules recognise
decides:

- ``kernel``: a system call was running (visible only where the profiler shows it: Go's and
  pprof-rs's native stacks end in the syscall wrapper; py-spy and V8 do not see the kernel);
- ``runtime``: the garbage collector or the allocator, the scheduler, the event loop;
- ``handler``: the server's own code (its files, its package or crate);
- ``framework``: the HTTP server and web framework (net/http, uvicorn/Starlette/FastAPI,
  Express and Node's http module, hyper/axum).

Frames no rule knows (JSON encoders, regular expressions, string helpers, ``memmove``) are
transparent: their time goes to the layer that called them, so ``json.dumps`` called by the
handler counts as handler time, and called by FastAPI as framework time. A stack with no
recognised frame at all is ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labctl.labs.profile_formats import Folded
from labctl.results.documents import TopFunction, TopFunctions

LAYERS = ("handler", "framework", "runtime", "kernel", "other")


@dataclass(frozen=True)
class Rules:
    """Ordered (layer, pattern) pairs for one stack; the first pattern a frame matches wins."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    def layer_of_frame(self, frame: str) -> str | None:
        for layer, pattern in self.patterns:
            if pattern.search(frame):
                return layer
        return None


def _rules(*pairs: tuple[str, str]) -> Rules:
    return Rules(tuple((layer, re.compile(pattern)) for layer, pattern in pairs))


GO_RULES = _rules(
    ("kernel", r"^(syscall\.(Raw)?Syscall|internal/runtime/syscall[/.]|runtime/internal/syscall[/.]"
               r"|runtime\.(futex|epollwait|usleep|osyield|write1|read|nanotime1|walltime)$)"),
    ("runtime", r"^runtime\.(gc|GC|mallocgc|malloc|(\(\*m(heap|cache|central|span)\))|sweep|"
                r"bgsweep|bgscavenge|\(\*scavenger|markroot|scanobject|scanblock|scanstack|"
                r"greyobject|findObject|wbBuf|bulkBarrier|schedule|findRunnable|park_m|netpoll|"
                r"mcall|mstart|stealWork|runqgrab|notesleep|gopark|goready|ready|wakep|startm|"
                r"stopm|sysmon|exitsyscall|entersyscall|morestack|newstack|newobject|"
                r"makeslice|growslice|nextFree|heapSetType|deductAssistCredit|(\(\*gcWork)|"
                r"(\(\*mspan))"),
    ("handler", r"^main\."),
    ("framework", r"^(net/http\.|net/textproto\.|net\.|internal/poll\.)"),
)

PYTHON_FRAMEWORK = r"\((fastapi|starlette|uvicorn|h11|httptools|anyio|pydantic|pydantic_core)/"
PYTHON_RULES = _rules(
    ("runtime", r"\((asyncio|selectors|concurrent|threading|uvloop)[/.]"),
    ("framework", PYTHON_FRAMEWORK),
    # handler: added per run from the server's own file names (python_rules).
)

NODE_RULES = _rules(
    # V8 shows a native binding as a frame without a script; for the socket calls that frame
    # is mostly the system call itself.
    ("kernel", r"^(writev|writeBuffer|writeUtf8String|writeLatin1String|readStart|readStop|"
               r"shutdown|close)$"),
    ("runtime", r"^\((garbage collector|program)\)$|\(node:internal/(timers|process/task_queues|"
                r"async_hooks|process/)"),
    ("framework", r"node_modules/(express|router|body-parser|finalhandler|send|serve-static|"
                  r"on-finished|raw-body|content-type|qs|cookie|etag|fresh|statuses|"
                  r"type-is|accepts|parseurl|encodeurl|depd)/|\(node:(_http|http|net|"
                  r"internal/(http|streams|stream_base|"
                  r"net|url|errors)|events|stream)"),
    # handler: added per run (node_rules).
)

RUST_RULES = _rules(
    ("kernel", r"^(__GI_)?(__)?(libc_)?(epoll_wait|writev|write|sendmsg|recv|recvfrom|read|send|"
               r"sendto|syscall|futex|__lll_lock_wait|accept4?|clock_gettime)$"),
    ("runtime", r"^(tokio::runtime::|tokio::io::|tokio::time::|mio::|std::sys::.*(futex|thread)|"
                r"(__)?(libc_)?(malloc|free|cfree|realloc|calloc)$|_int_(malloc|free|realloc)$|"
                r"malloc_consolidate$|alloc::alloc::|__rdl_|__rust_(alloc|dealloc|realloc))"),
    ("framework", r"^<?(axum|hyper|hyper_util|tower|tower_service|http|httparse|axum_core)::"),
    # handler: added per run (rust_rules).
)


def python_rules(own_files: list[str]) -> Rules:
    """The Python rules with the server's own files (``report.py``…) as the handler."""
    names = "|".join(re.escape(name) for name in own_files) or r"(?!x)x"
    # <module> is the file's own top level: start-up code under which every thread runs, not
    # a request's work.
    return Rules(PYTHON_RULES.patterns + (
        ("handler", re.compile(rf"^(?!<module> ).*\(({names})\)$")),))


def node_rules(own_files: list[str]) -> Rules:
    names = "|".join(re.escape(name) for name in own_files) or r"(?!x)x"
    return Rules(NODE_RULES.patterns + (
        ("handler", re.compile(rf"\((?!.*node_modules/).*/({names})\)$|\(({names})\)$")),))


def rust_rules(crate: str = "labctl_server") -> Rules:
    return Rules(RUST_RULES.patterns + (("handler", re.compile(rf"^<?{re.escape(crate)}::")),))


def layer_of_stack(frames: list[str], rules: Rules) -> str:
    for frame in reversed(frames):
        layer = rules.layer_of_frame(frame)
        if layer is not None:
            return layer
    return "other"


def layer_shares(folded: Folded, rules: Rules) -> dict[str, float]:
    """The share of samples in each layer (0-1, summing to 1), every layer present."""
    totals = dict.fromkeys(LAYERS, 0)
    for stack, count in folded.items():
        totals[layer_of_stack(stack.split(";"), rules)] += count
    whole = sum(totals.values())
    return {layer: (count / whole if whole else 0.0) for layer, count in totals.items()}


def top_functions(folded: Folded, rules: Rules, limit: int = 10) -> TopFunctions:
    """The functions with the most samples where they were running (self) and where they were
    on the stack at all (total: a recursive function counts once per sample); and the handler's
    own functions by total, where a hot spot is found (the framework's wrappers, on every
    request's stack, outrank them all in ``total``)."""
    own: dict[str, int] = {}
    on_stack: dict[str, int] = {}
    whole = 0
    for stack, count in folded.items():
        frames = stack.split(";")
        whole += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            on_stack[frame] = on_stack.get(frame, 0) + count

    def rows(counts: dict[str, int]) -> list[TopFunction]:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [{"function": name, "samples": count,
                 "share": round(count / whole, 4) if whole else 0.0,
                 "layer": rules.layer_of_frame(name) or "other"} for name, count in ranked]

    handler_total = {name: count for name, count in on_stack.items()
                     if rules.layer_of_frame(name) == "handler"}
    return {"self": rows(own), "total": rows(on_stack), "handler_total": rows(handler_total)}


def frames_layer(folded: Folded, rules: Rules) -> dict[str, str]:
    """Every frame's own layer (``other`` when no rule knows it), for colouring a flame graph."""
    layers: dict[str, str] = {}
    for stack in folded:
        for frame in stack.split(";"):
            if frame not in layers:
                layers[frame] = rules.layer_of_frame(frame) or "other"
    return layers
